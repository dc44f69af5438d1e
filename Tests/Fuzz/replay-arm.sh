#!/usr/bin/env bash
# The fuzz targets on 32-bit ARM: every committed seed and everything the fuzzer kept here
# (.build-fuzz/corpus, from make fuzz or fuzz-smoke) through the armv7hf replay driver
# (Tests/Fuzz/main.swift, built by `make fuzz-replay-arm`) under qemu-arm-static. Embedded Swift
# has no libFuzzer or sanitizers, so a replay is what runs there: a trap or crash on any input fails.
#
#   Tests/Fuzz/replay-arm.sh REPLAY_BINARY [TARGET...]
#
# REPLAY_TABLE=FILE appends the results to FILE as a Markdown table (make fuzz: to its summary).
set -u
replay=$(readlink -f "${1:?usage: replay-arm.sh REPLAY_BINARY [TARGET...]}")
shift
cd "$(dirname "$0")/../.."
. Tests/lib/checks.sh
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(der cms certrep http caps config keystore wire dns tpm)
table=${REPLAY_TABLE:-}
[ -n "$table" ] && printf '\n| target, replayed on armv7hf (qemu-arm-static) | inputs | result |\n|---|---|---|\n' >> "$table"
[ -x "$replay" ] || { fail "no armv7hf replay driver at $replay (make fuzz-replay-arm)"; finish; exit 1; }
for target in "${targets[@]}"; do
    inputs=(Tests/Fuzz/corpus/"$target"/*)
    [ -d ".build-fuzz/corpus/$target" ] && inputs+=($(find ".build-fuzz/corpus/$target" -type f))
    out=$(SCEP_FUZZ_TARGET=$target SCEP_FUZZ_FIXTURES=$PWD/Tests/Fuzz/corpus/fixtures timeout 1200 \
          qemu-arm-static "$replay" "${inputs[@]}" 2>&1)
    code=$?
    if [ "$code" -eq 0 ] && [ "$(tail -1 <<<"$out")" = "replayed ${#inputs[@]} inputs" ]; then
        pass "fuzz $target on armv7hf: ${#inputs[@]} inputs replayed"
        result=ok
    else
        fail "fuzz $target on armv7hf: exit $code: $(tail -2 <<<"$out" | tr '\n' ' ')"
        result="FAILED (exit $code)"
    fi
    [ -n "$table" ] && printf '| %s | %s | %s |\n' "$target" "${#inputs[@]}" "$result" >> "$table"
done
finish
