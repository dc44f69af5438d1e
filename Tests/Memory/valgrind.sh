#!/usr/bin/env bash
# The agent's paths under valgrind's memcheck: enroll, renew (new key and --reuse-key), status,
# caps, getca, and a refused renewal. Each run must report no memory errors and no definitely
# lost blocks.
#
#   Tests/Memory/valgrind.sh BINARY RESPONDER
#
# BINARY is a normal-mode build with DWARF 4 debug info (make memcheck builds it): valgrind 3.19
# cannot read the toolchain's default DWARF 5, and in the static Embedded binary it cannot
# replace malloc, so it could not see heap errors there.
set -u
BIN=$(readlink -f "$1")
RESPONDER=$(readlink -f "$2")
. "$(dirname "$0")/../lib/checks.sh"
export LD_LIBRARY_PATH=$(dirname "$(command -v swiftc)")/../lib/swift/linux

PORT=$((20000 + RANDOM % 20000))
PID=
start() { # FAULT
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    PORT=$((PORT + 1))
    mkdir -p "$SCRATCH/state"
    launch_responder "$SCRATCH/responder.out" --port "$PORT" --fault "$1" --state "$SCRATCH/state"
    PID=$LAUNCHED_PID
}
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$SCRATCH"' EXIT
printf 's3cret\n' > "$SCRATCH/challenge"

# memcheck NAME EXPECTED-STATUS COMMAND...
memcheck() {
    local name=$1 want=$2
    shift 2
    valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --log-file="$SCRATCH/vg.log" \
        "$BIN" "$@" --url "http://127.0.0.1:$PORT/scep" --ca-fingerprint "$(cat "$SCRATCH/state/ca.sha256")" \
        >/dev/null 2>"$SCRATCH/err"
    local got=$?
    local summary lost
    summary=$(sed -n 's/^==[0-9]*== ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$SCRATCH/vg.log")
    lost=$(sed -n 's/^==[0-9]*==    definitely lost: \([0-9,]*\) bytes.*/\1/p' "$SCRATCH/vg.log")
    if [ "$got" -eq "$want" ] && [ "$summary" = 0 ] && [ "${lost:-0}" = 0 ]; then
        pass "$name: exit $got, 0 memory errors, 0 bytes definitely lost"
    else
        fail "$name: exit $got (wanted $want), $summary memory errors, ${lost:-0} bytes definitely lost" "$(grep -m 20 '^==' "$SCRATCH/vg.log" | tail -12)"
    fi
}

start none
KS=$SCRATCH/ks
memcheck "enroll" 0 enroll --subject CN=valgrind,O=Acme --keystore "$KS" --challenge-file "$SCRATCH/challenge" --cert-out "$SCRATCH/cert.pem"
memcheck "renew, new key" 0 renew --keystore "$KS" --challenge-file "$SCRATCH/challenge" --cert-out "$SCRATCH/cert.pem"
memcheck "renew --reuse-key" 0 renew --keystore "$KS" --challenge-file "$SCRATCH/challenge" --reuse-key
memcheck "caps" 0 caps
memcheck "getca" 0 getca --out "$SCRATCH/ca.pem"
start bad-signature
memcheck "a refused renewal (bad signature)" 1 renew --keystore "$KS" --challenge-file "$SCRATCH/challenge"
valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --log-file="$SCRATCH/vg.log" \
    "$BIN" status --keystore "$KS" --json >/dev/null 2>&1
[ $? -eq 0 ] && pass "status --json: 0 memory errors, 0 bytes definitely lost" || fail "status --json" "$(tail -12 "$SCRATCH/vg.log")"
finish
