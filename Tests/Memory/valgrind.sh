#!/usr/bin/env bash
# The agent's paths under valgrind's memcheck: enroll, renew (new key and --reuse-key), status,
# caps, getca, enroll and renew with a key in swtpm, and a refused renewal. Each run must report
# no memory errors and no definitely lost blocks.
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

PORT=$(test_port_base)
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
chmod 600 "$SCRATCH/challenge"

# The network process runs under memcheck too (it is where the parsers run): the key process
# starts it through this runner (SCEP_AGENT_NETWORK_RUNNER), each with a log of its own. Under
# valgrind the kernel's seccomp and Landlock calls are unknown, so the network process runs
# unsandboxed here; Tests/Interop/sandbox.sh checks the sandbox on the real binary.
VALGRIND=$(command -v valgrind)
cat > "$SCRATCH/net-runner" <<RUNNER
#!/bin/sh
exec $VALGRIND --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --log-file=$SCRATCH/vg-net.%p.log "\$@"
RUNNER
chmod 755 "$SCRATCH/net-runner"
export SCEP_AGENT_NETWORK_RUNNER=$SCRATCH/net-runner

# memcheck NAME EXPECTED-STATUS COMMAND...: the key process and every network process it started.
memcheck() {
    local name=$1 want=$2
    shift 2
    rm -f "$SCRATCH"/vg-net.*.log; [ -n "${KEEP_VG:-}" ] && cp "$SCRATCH"/vg-net.*.log "$KEEP_VG"/ 2>/dev/null
    valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --log-file="$SCRATCH/vg.log" \
        "$BIN" "$@" --url "http://127.0.0.1:$PORT/scep" --ca-fingerprint "$(cat "$SCRATCH/state/ca.sha256")" \
        >/dev/null 2>"$SCRATCH/err"
    local got=$?
    local summary=0 lost=0 logs=0 log count bytes
    for log in "$SCRATCH/vg.log" "$SCRATCH"/vg-net.*.log; do
        [ -f "$log" ] || continue
        logs=$((logs + 1))
        count=$(sed -n 's/^==[0-9]*== ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log")
        bytes=$(sed -n 's/^==[0-9]*==    definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d ,)
        summary=$((summary + ${count:-1}))
        lost=$((lost + ${bytes:-0}))
    done
    if [ "$got" -eq "$want" ] && [ "$summary" = 0 ] && [ "$lost" = 0 ] && [ "$logs" -ge 2 ]; then
        pass "$name: exit $got, $logs processes, 0 memory errors, 0 bytes definitely lost"
    else
        fail "$name: exit $got (wanted $want), $logs processes, $summary memory errors, $lost bytes definitely lost" \
            "$(cat "$SCRATCH/err"; grep -h -m 20 '^==' "$SCRATCH/vg.log" "$SCRATCH"/vg-net.*.log 2>/dev/null | tail -12)"
    fi
}

start none
KS=$SCRATCH/ks
memcheck "enroll" 0 enroll --subject CN=valgrind,O=Acme --keystore "$KS" --challenge-file "$SCRATCH/challenge" --cert-out "$SCRATCH/cert.pem"
memcheck "renew, new key" 0 renew --keystore "$KS" --challenge-file "$SCRATCH/challenge" --cert-out "$SCRATCH/cert.pem"
memcheck "renew --reuse-key" 0 renew --keystore "$KS" --challenge-file "$SCRATCH/challenge" --reuse-key
memcheck "caps" 0 caps
memcheck "getca" 0 getca --out "$SCRATCH/ca.pem"
# The TPM path: every command marshalled, every response read, buffers wiped, over swtpm.
IN_NS=()
. "$(dirname "$0")/../../Scripts/lib/swtpm.sh"
if start_swtpm "$SCRATCH/tpm" $((PORT + 100)) "$SCRATCH/swtpm.log"; then
    TPM_KS=$SCRATCH/tpm-ks
    memcheck "enroll, key in swtpm" 0 enroll --subject CN=valgrind-tpm --keystore "$TPM_KS" --challenge-file "$SCRATCH/challenge" \
        --key-storage tpm --tpm-device "$TPM_DEVICE"
    memcheck "renew, new key in swtpm" 0 renew --keystore "$TPM_KS" --tpm-device "$TPM_DEVICE"
    stop_swtpm
else
    fail "swtpm starts"
fi
start bad-signature
memcheck "a refused renewal (bad signature)" 1 renew --keystore "$KS" --challenge-file "$SCRATCH/challenge"
valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --log-file="$SCRATCH/vg.log" \
    "$BIN" status --keystore "$KS" --json >/dev/null 2>&1
[ $? -eq 0 ] && pass "status --json: 0 memory errors, 0 bytes definitely lost" || fail "status --json" "$(tail -12 "$SCRATCH/vg.log")"
finish
