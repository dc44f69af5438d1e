#!/usr/bin/env bash
# make fuzz: every parser that meets untrusted bytes under libFuzzer and AddressSanitizer.
#
#   Tests/Fuzz/fuzz.sh [SECONDS] [TARGET...]
#
# Builds the package's modules with `--sanitize=fuzzer --sanitize=address` (.build-fuzz), links
# Tests/Fuzz/FuzzTargets.swift against them, and runs each target for SECONDS (default 60) from
# its committed seeds (Tests/Fuzz/corpus/TARGET: real micromdm and openssl messages, see
# capture-seeds.sh). What the fuzzer adds goes to .build-fuzz/corpus, never into the repository.
# A crash stops the run with the input saved under .build-fuzz/crashes; turn it into a test.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(der cms certrep http caps config keystore wire dns tpm)

scratch=.build-fuzz
swift build --scratch-path "$scratch" --sanitize=fuzzer --sanitize=address --target CLI >/dev/null
bin=$(swift build --scratch-path "$scratch" --sanitize=fuzzer --sanitize=address --show-bin-path)

# The library modules' objects, without any executable's main.
objects=()
for module in CLibc CMbedTLS Platform Encoding ASN1 Crypto X509 CMS HTTP Protocol Keystore TPM Agent Separation CLI; do
    objects+=("$bin/$module.build"/*.o)
done
harness=$scratch/scep-fuzz
if [ ! -x "$harness" ] || [ -n "$(find Tests/Fuzz/FuzzTargets.swift "${objects[@]}" -newer "$harness")" ]; then
    swiftc -sanitize=fuzzer,address -parse-as-library -g -Onone -enable-testing \
        -I "$bin/Modules" \
        -Xcc -fmodule-map-file=Sources/CLibc/include/module.modulemap -Xcc -I -Xcc Sources/CLibc/include \
        -Xcc -fmodule-map-file=Sources/CMbedTLS/include/module.modulemap -Xcc -I -Xcc Sources/CMbedTLS/include \
        Tests/Fuzz/FuzzTargets.swift "${objects[@]}" -lmbedtls -lmbedx509 -lmbedcrypto -lm -use-ld=lld -o "$harness"
fi

# Symbolizing a report needs llvm-symbolizer; without one ASan hangs looking for it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1:external_symbolizer_path=$(dirname "$(command -v swiftc)")/llvm-symbolizer}
export SCEP_FUZZ_FIXTURES=$PWD/Tests/Fuzz/corpus/fixtures
mkdir -p "$scratch/crashes"
printf '| target | seconds | runs | corpus: kept + seeds | result |\n|---|---|---|---|---|\n' > "$scratch/summary.md"
status=0
for target in "${targets[@]}"; do
    seeds=Tests/Fuzz/corpus/$target
    work=$scratch/corpus/$target
    mkdir -p "$work"
    log=$scratch/$target.log
    echo "== fuzz $target for ${seconds}s ($(ls "$seeds" | wc -l) seeds)"
    result=ok
    if ! SCEP_FUZZ_TARGET=$target timeout -k 10 $((seconds + 120)) "$harness" "$work" "$seeds" \
            -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
            -artifact_prefix="$scratch/crashes/$target-" -print_final_stats=1 >"$log" 2>&1; then
        result="CRASH (see $log, $scratch/crashes/$target-*)"
        status=1
        tail -30 "$log"
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    printf '| %s | %s | %s | %s | %s |\n' "$target" "$seconds" "${runs:-?}" "$(ls "$work" | wc -l) + $(ls "$seeds" | wc -l)" "$result" >> "$scratch/summary.md"
done
echo
cat "$scratch/summary.md"
exit $status
