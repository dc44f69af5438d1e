#!/usr/bin/env bash
# make feature-cost: what an optional part of the agent costs the shipped x86_64 binary, and what
# the tiny build's code generation saves it, measured by building each once with and once without.
#
#   Scripts/feature-cost.sh [OUTPUT]     (default docs/generated/feature-cost.md)
#
# Each build has a scratch folder of its own, so the shipped build's cache is untouched.
#   shipped   the shipped flags
#   no-tpm    -DSCEP_NO_TPM: the TPM 2.0 code left out, as in the tiny build (issue 21 allows
#             the TPM code at most 120 KB)
#   speed-passes  SCEP_AGENT_SPEED_PASSES=1: the three SIL optimisations Package.swift leaves out
#             of the shipped binary (the performance inliner, closure and function-signature
#             specialisation) put back
#   tiny, tiny-no-lto, tiny-default-inliner  the tiny build as shipped, without link-time
#             optimisation (LTO=0), and with LLVM's default inliner threshold at link time
#             (LTO_INLINE_THRESHOLD=default); Scripts/build-target.sh
set -uo pipefail
cd "$(dirname "$0")/.."
# The variants set these themselves; one left in the caller's environment would change the baseline.
unset STATIC_PIE SCEP_AGENT_SPEED_PASSES LTO LTO_INLINE_THRESHOLD
. Scripts/lib/generated.sh
output=${1:-docs/generated/feature-cost.md}
work=$(mktemp -d /tmp/scep-feature-cost.XXXXXX)
trap 'rm -rf "$work"' EXIT

# name|target|swift build flags|environment
variants=(
    "shipped|x86_64-linux-gnu||"
    "no-tpm|x86_64-linux-gnu|-Xswiftc -DSCEP_NO_TPM|"
    "speed-passes|x86_64-linux-gnu||SCEP_AGENT_SPEED_PASSES=1"
    "tiny|x86_64-linux-musl-tiny||"
    "tiny-no-lto|x86_64-linux-musl-tiny||LTO=0"
    "tiny-default-inliner|x86_64-linux-musl-tiny||LTO_INLINE_THRESHOLD=default"
)
declare -A size
for entry in "${variants[@]}"; do
    IFS='|' read -r name target flags environment <<<"$entry"
    echo "== $name"
    if env $environment SCRATCH_SUFFIX="-cost-$name" SIZES_TABLE= EXTRA_SWIFT_BUILD_FLAGS="$flags" \
            Scripts/build-target.sh "$target" "$work/$name" > "$work/$name.log" 2>&1; then
        size[$name]=$(stat -c %s "$work/$name")
    else
        echo "feature-cost.sh: the $name build failed: $(grep -m1 error "$work/$name.log")" >&2
        exit 1
    fi
done

{
    generated_header "What optional parts cost" "Scripts/feature-cost.sh"
    echo "The stripped static x86_64 binary with and without each part."
    echo
    echo "| part | with it | without it | cost |"
    echo "|---|---|---|---|"
    echo "| TPM 2.0 device keys (\`Sources/TPM\`, \`SCEP_NO_TPM\`) | ${size[shipped]} | ${size[no-tpm]} | $((size[shipped] - size[no-tpm])) |"
    echo "| Swift's performance inliner, closure and function-signature specialisation (left out of the shipped build: Package.swift's \`embeddedSizePasses\`, \`SCEP_AGENT_SPEED_PASSES=1\`) | ${size[speed-passes]} | ${size[shipped]} | $((size[speed-passes] - size[shipped])) |"
    echo
    echo "The stripped tiny build (x86_64 musl, no TLS, no TPM; 700 KB budget) as shipped, and what"
    echo "each part of its code generation (Scripts/build-target.sh) saves."
    echo
    echo "| code generation | without it | with it | saves |"
    echo "|---|---|---|---|"
    echo "| link-time optimisation (\`LTO=0\` leaves it out; the outliner then runs in swiftc) | ${size[tiny-no-lto]} | ${size[tiny]} | $((size[tiny-no-lto] - size[tiny])) |"
    echo "| inliner threshold 0 at link time (\`LTO_INLINE_THRESHOLD=default\`: LLVM's own) | ${size[tiny-default-inliner]} | ${size[tiny]} | $((size[tiny-default-inliner] - size[tiny])) |"
} > "$output"
cat "$output"
