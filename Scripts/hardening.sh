#!/usr/bin/env bash
# make hardening: what each binary hardening costs the shipped x86_64 build, measured.
#
#   Scripts/hardening.sh [OUTPUT]     (default docs/generated/hardening.md)
#
# Builds the static Embedded binary once per variant, each in a scratch folder of its own (so the
# shipped build's cache is untouched), and records its size and what readelf says it got:
#   baseline         the shipped flags
#   relro-now        + -z relro -z now (full RELRO: relocations done at start, then read-only)
#   stack-protector  + Swift's stack protector and -fstack-protector-strong for the C shims
#   static-pie       + -static-pie (a static binary the kernel may load at a random address)
# A variant that cannot be built says why. Nothing here changes the shipped flags; the verdict
# (which variants are kept) is in docs/architecture.md and Package.swift.
set -uo pipefail
cd "$(dirname "$0")/.."
. Scripts/lib/generated.sh
output=${1:-docs/generated/hardening.md}
work=$(mktemp -d /tmp/scep-hardening.XXXXXX)
trap 'rm -rf "$work"' EXIT

variants=(
    "baseline|"
    "relro-now|-Xlinker -z -Xlinker relro -Xlinker -z -Xlinker now"
    "stack-protector|-Xswiftc -Xfrontend -Xswiftc -enable-stack-protector -Xcc -fstack-protector-strong"
    "static-pie|-Xswiftc -Xclang-linker -Xswiftc -static-pie -Xcc -fPIE -Xswiftc -Xcc -Xswiftc -fPIE"
)

rows=()
baseline_size=
for entry in "${variants[@]}"; do
    name=${entry%%|*}
    flags=${entry#*|}
    echo "== $name"
    binary=$work/$name/scep-agent
    if SCRATCH_SUFFIX="-hardening-$name" SIZES_TABLE= EXTRA_SWIFT_BUILD_FLAGS="$flags" \
            Scripts/build-target.sh x86_64-linux-gnu "$binary" > "$work/$name.log" 2>&1 && [ -x "$binary" ]; then
        size=$(stat -c %s "$binary")
        [ "$name" = baseline ] && baseline_size=$size
        headers=$(readelf -lhd "$binary" 2>/dev/null)
        type=$(sed -n 's/^ *Type: *\([A-Z]*\).*/\1/p' <<<"$headers")
        relro=no; grep -q GNU_RELRO <<<"$headers" && relro=yes
        now=no; grep -qE 'BIND_NOW|FLAGS_1.*NOW' <<<"$headers" && now=yes
        # Stack protector: calls to the failure handler in the unstripped binary.
        unstripped=$(find ".build-embedded-hardening-$name" -path '*/release/scep-agent' -type f 2>/dev/null | head -1)
        canaries=$(objdump -d "${unstripped:-$binary}" 2>/dev/null | grep -c 'call.*<__stack_chk_fail' || true)
        runs=no; "$binary" --version >/dev/null 2>&1 && runs=yes
        delta=
        [ -n "$baseline_size" ] && delta=$((size - baseline_size))
        rows+=("| $name | $size | ${delta:+$delta} | $type | $relro | $now | $canaries | $runs |")
    else
        reason=$(grep -m1 -E 'error|undefined|relocation' "$work/$name.log" | cut -c1-160)
        rows+=("| $name | - | - | - | - | - | - | cannot be built: \`${reason:-see the build log}\` |")
    fi
done

{
    generated_header "Binary hardening" "Scripts/hardening.sh"
    echo "Each variant is the shipped x86_64 static Embedded build with one more hardening flag."
    echo "ELF type DYN means position-independent (static-pie); canaries counts the calls to"
    echo "\`__stack_chk_fail\` in the binary (functions with a stack protector)."
    echo
    echo "| variant | bytes | vs baseline | ELF type | GNU_RELRO | BIND_NOW | canaries | runs |"
    echo "|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
} > "$output"
cat "$output"
