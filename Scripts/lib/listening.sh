# wait_listening PORT PID: waits until 127.0.0.1:PORT (inside IN_NS when set) accepts a
# connection, for 5 s at most, giving up at once when PID has exited. Status 0 once it listens.
# Sourced by the server helpers (scepserver.sh, swtpm.sh).
wait_listening() {
    for _ in $(seq 50); do
        "${IN_NS[@]}" bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
