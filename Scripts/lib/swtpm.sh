# swtpm, the software TPM 2.0 of the TPM tests, the bench and the demo, started the same way
# everywhere. Source it (after Scripts/lib/scepserver.sh when it should run inside IN_NS).
#
# swtpm takes raw TPM 2.0 commands on its TCP server port, the same command stream the kernel's
# /dev/tpmrm0 takes; the agent reaches it with --tpm-device tcp:127.0.0.1:PORT. It serves one
# client at a time and has no resource manager: the agent flushes what a killed run left behind.
. "$(dirname "${BASH_SOURCE[0]}")/listening.sh"

# start_swtpm STATE_DIR PORT LOG: a TPM with fresh state in STATE_DIR (manufactured on first
# start, then started up), listening on 127.0.0.1:PORT (and PORT+1 for its control channel),
# inside IN_NS when set. Sets SWTPM_PID and TPM_DEVICE; status 1, saying why, when it is not up in 5 s.
start_swtpm() {
    local state=$1 port=$2 log=$3
    mkdir -p "$state"
    state=$(readlink -f "$state")
    "${IN_NS[@]}" swtpm socket --tpm2 --tpmstate dir="$state" \
        --server type=tcp,port="$port",bindaddr=127.0.0.1 --ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
        --flags not-need-init,startup-clear >"$log" 2>&1 &
    SWTPM_PID=$!
    TPM_DEVICE="tcp:127.0.0.1:$port"
    wait_listening "$port" "$SWTPM_PID" && return 0
    echo "swtpm did not start on port $port: $(tail -n 1 "$log")" >&2
    return 1
}

# stop_swtpm: ends the TPM started by start_swtpm.
stop_swtpm() {
    [ -n "${SWTPM_PID:-}" ] && kill "$SWTPM_PID" 2>/dev/null && wait "$SWTPM_PID" 2>/dev/null
    SWTPM_PID=
}
