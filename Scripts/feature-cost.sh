#!/usr/bin/env bash
# make feature-cost: what an optional part of the agent costs the shipped x86_64 binary, and what
# the code generation saves it and the tiny build, measured by building each with and without.
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
#   no-lto    LTO=0: without link-time optimisation and the outliner it runs (Scripts/build-target.sh)
#   default-inliner  LTO_INLINE_THRESHOLD=default: LLVM's own inliner threshold at link time
#   tiny, tiny-no-lto, tiny-default-inliner  the same three for the tiny build
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
    "no-lto|x86_64-linux-gnu||LTO=0"
    "default-inliner|x86_64-linux-gnu||LTO_INLINE_THRESHOLD=default"
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
    echo "What the code generation (Scripts/build-target.sh) saves, in the stripped x86_64 binary and in"
    echo "the tiny build (x86_64 musl, no TLS, no TPM; 700 KB budget): each build without it beside the"
    echo "shipped one."
    echo
    echo "| code generation | build | without it | with it | saves |"
    echo "|---|---|---|---|---|"
    for build in x86_64:"" tiny:tiny-; do
        label=${build%%:*} prefix=${build#*:}
        [ -z "$prefix" ] && shipped=${size[shipped]} || shipped=${size[tiny]}
        echo "| link-time optimisation and the machine outliner (\`LTO=0\` leaves both out) | $label | ${size[${prefix}no-lto]} | $shipped | $((size[${prefix}no-lto] - shipped)) |"
        echo "| inliner threshold 0 at link time (\`LTO_INLINE_THRESHOLD=default\`: LLVM's own) | $label | ${size[${prefix}default-inliner]} | $shipped | $((size[${prefix}default-inliner] - shipped)) |"
    done
} > "$output"
cat "$output"
