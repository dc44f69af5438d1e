#!/usr/bin/env bash
# The normal-mode build (swift build, what developers run) of the agent, command by command: the
# Swift 6.3 runtime once failed to find conformances of its concrete generic types there (caps
# and getca crashed, then `run`), which the shipped Embedded build never shows.
#
#   Tests/Smoke/debug-build.sh .build/debug/scep-agent
set -u
BIN=$(readlink -f "$1")
. "$(dirname "$0")/../lib/checks.sh"
export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}:$(dirname "$(readlink -f "$(command -v swift)")")/../lib/swift/linux
trap 'rm -rf "$SCRATCH"' EXIT
printf 'x\n' > "$SCRATCH/challenge"
chmod 600 "$SCRATCH/challenge"
PIN=$(printf '%064d' 0)
expect_status "caps fails cleanly with no server (exit 1)" 1 "$BIN" caps --url http://127.0.0.1:1/scep
expect_status "getca fails cleanly with no server (exit 1)" 1 "$BIN" getca --url http://127.0.0.1:1/scep --ca-fingerprint "$PIN"
expect_status "enroll fails cleanly with no server (exit 1)" 1 "$BIN" enroll --url http://127.0.0.1:1/scep --ca-fingerprint "$PIN" \
    --subject CN=x --keystore "$SCRATCH/ks" --challenge-file "$SCRATCH/challenge"
# The daemon keeps running after a failed attempt; timeout's 124 means it was still up.
expect_status "run keeps running after a failed attempt" 124 timeout 3 "$BIN" run --url http://127.0.0.1:1/scep \
    --ca-fingerprint "$PIN" --subject CN=x --keystore "$SCRATCH/ks" --challenge-file "$SCRATCH/challenge"
expect_text "run logged the failed attempt" "$ERR" "enrollment failed"
expect_status "status of an empty keystore (exit 1)" 1 "$BIN" status --keystore "$SCRATCH/ks"
finish
