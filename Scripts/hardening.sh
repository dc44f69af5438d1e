#!/usr/bin/env bash
# make hardening: what each binary hardening costs the shipped x86_64 build, measured.
#
#   Scripts/hardening.sh [OUTPUT]     (default docs/generated/hardening.md)
#
# Builds the static Embedded binary once per variant, each in a scratch folder of its own (so the
# shipped build's cache is untouched), and records its size and what readelf says it got:
#   baseline            the shipped build: static-pie, full RELRO and BIND_NOW, packed relative
#                       relocations (DT_RELR), the stack protector (Scripts/build-target.sh,
#                       Package.swift)
#   not-pie             STATIC_PIE=0: the plain static link, loaded at a fixed address
#   no-relr             relative relocations as plain RELA entries
#   no-stack-protector  without Swift's stack protector and the C shims' -fstack-protector-strong
# A negative delta is what that hardening costs the shipped build. A variant that cannot be built
# says why. Nothing here changes the shipped flags; the verdict is in docs/architecture.md.
set -uo pipefail
cd "$(dirname "$0")/.."
# The variants set these themselves; one left in the caller's environment would change the baseline.
unset STATIC_PIE SCEP_AGENT_SPEED_PASSES LTO LTO_INLINE_THRESHOLD
. Scripts/lib/generated.sh
output=${1:-docs/generated/hardening.md}
work=$(mktemp -d /tmp/scep-hardening.XXXXXX)
trap 'rm -rf "$work"' EXIT

# name|swift build flags|environment
variants=(
    "baseline||"
    "not-pie||STATIC_PIE=0"
    "no-relr|-Xlinker -z -Xlinker nopack-relative-relocs|"
    "no-stack-protector|-Xswiftc -Xfrontend -Xswiftc -disable-stack-protector -Xcc -fno-stack-protector|"
)

rows=()
shim_canaries=()
shims_with_stack_arrays="scep_seccomp_network_filter scep_seccomp_key_process_filter scep_landlock_deny_all_files scep_ecdh_shared_secret scep_spawn_hook scep_signals_install"
baseline_size=
for entry in "${variants[@]}"; do
    IFS='|' read -r name flags environment <<<"$entry"
    echo "== $name"
    binary=$work/$name/scep-agent
    if env $environment SCRATCH_SUFFIX="-hardening-$name" SIZES_TABLE= EXTRA_SWIFT_BUILD_FLAGS="$flags" \
            Scripts/build-target.sh x86_64-linux-gnu "$binary" > "$work/$name.log" 2>&1 && [ -x "$binary" ]; then
        size=$(stat -c %s "$binary")
        [ "$name" = baseline ] && baseline_size=$size
        headers=$(readelf -lhd "$binary" 2>/dev/null)
        type=$(sed -n 's/^ *Type: *\([A-Z]*\).*/\1/p' <<<"$headers")
        relro=no; grep -q GNU_RELRO <<<"$headers" && relro=yes
        now=no; grep -qE 'BIND_NOW|FLAGS_1.*NOW' <<<"$headers" && now=yes
        relr=no; grep -q '(RELR)' <<<"$headers" && relr=yes
        # Stack protector: calls to the failure handler in the unstripped binary.
        unstripped=$(find ".build-embedded-hardening-$name" -path '*/release/scep-agent' -type f 2>/dev/null | head -1)
        canaries=$(objdump -d "${unstripped:-$binary}" 2>/dev/null | grep -c 'call.*<__stack_chk_fail' || true)
        "$binary" --version >/dev/null 2>&1
        status=$?
        case $status in 0) runs=yes ;; 1[3-9][0-9]) runs="no: killed by signal $((status - 128)) at start" ;; *) runs="no: exit $status" ;; esac
        delta=
        [ -n "$baseline_size" ] && delta=$((size - baseline_size))
        rows+=("| $name | $size | ${delta:+$delta} | $type | $relro | $now | $relr | $canaries | $runs |")
        # The C shims that hold arrays on the stack, each checked for its own canary: under
        # link-time optimisation, inlined into Swift, they had lost it (Sources/CLibc/include/clibc.h).
        if [ "$name" = baseline ]; then
            for function in $shims_with_stack_arrays; do
                body=$(objdump -d "${unstripped:-$binary}" 2>/dev/null | awk -v f="<$function>:" '$2 == f { on = 1; next } on && /^$/ { exit } on')
                if [ -z "$body" ]; then shim_canaries+=("| \`$function\` | not a function of its own (inlined) |")
                elif grep -q '__stack_chk_fail' <<<"$body"; then shim_canaries+=("| \`$function\` | yes |")
                else shim_canaries+=("| \`$function\` | no |"); fi
            done
        fi
    else
        reason=$(grep -m1 -E 'error|undefined|relocation' "$work/$name.log" | cut -c1-160)
        rows+=("| $name | - | - | - | - | - | - | - | cannot be built: \`${reason:-see the build log}\` |")
    fi
done

{
    generated_header "Binary hardening" "Scripts/hardening.sh"
    echo "Each variant is the shipped x86_64 static Embedded build (baseline) with one hardening taken away:"
    echo "see Scripts/hardening.sh for what each is."
    echo "ELF type DYN means position-independent (static-pie); canaries counts the calls to"
    echo "\`__stack_chk_fail\` in the binary (functions with a stack protector)."
    echo
    echo "| variant | bytes | vs baseline | ELF type | GNU_RELRO | BIND_NOW | DT_RELR | canaries | runs |"
    echo "|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "The C shims that hold arrays on the stack, in the baseline: each must have a stack protector"
    echo "of its own (a call to \`__stack_chk_fail\`)."
    echo
    echo "| function | stack protector |"
    echo "|---|---|"
    printf '%s\n' "${shim_canaries[@]}"
} > "$output"
cat "$output"
