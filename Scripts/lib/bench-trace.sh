# make bench's tracing job (sourced by Scripts/bench.sh): both clients' existing-key runs cut
# into phases from the kernel's syscall tracepoints, and tracefs put back as it was found.
# Uses bench.sh's WORK, RUNS, IN_NS, AGENT_EXISTING, CLIENT_EXISTING, enrolled_one, client_key_only.

# The syscall tracepoints client_phases enables, and tracefs as it found it (TRACING: its path,
# set while the bench holds it).
TRACING=
TRACING_EVENTS=(sched/sched_process_exec syscalls/sys_enter_connect syscalls/sys_enter_sendto syscalls/sys_enter_write
                syscalls/sys_enter_read syscalls/sys_exit_read syscalls/sys_enter_recvfrom syscalls/sys_exit_recvfrom
                syscalls/sys_enter_openat syscalls/sys_enter_mkdirat syscalls/sys_enter_exit_group)
# Puts tracefs back as client_phases found it; cleanup calls it too if the bench stops half-way.
tracing_restore() {
    local event
    [ -n "$TRACING" ] || return 0
    echo 0 > "$TRACING/tracing_on"
    for event in "${TRACING_EVENTS[@]}"; do echo 0 > "$TRACING/events/$event/enable" 2>/dev/null || true; done
    echo > "$TRACING/trace"; echo "$TRACING_SIZE" > "$TRACING/buffer_size_kb"; echo "$TRACING_ON" > "$TRACING/tracing_on"
    TRACING=
}
# Both clients with an existing key, phase by phase, from the kernel's syscall tracepoints
# (tracefs, as root): start, the requests, the server's wait, the reply, writing the result.
# Prints one line per run (Scripts/lib/syscall-phases.awk), or nothing without tracefs.
client_phases() {
    local tracing=/sys/kernel/tracing event
    [ -w "$tracing/trace" ] || tracing=/sys/kernel/debug/tracing
    # Absent, or somebody else's tracing (events enabled) in use: leave it alone.
    [ -w "$tracing/trace" ] && [ -z "$(cat "$tracing/set_event")" ] || return 0
    TRACING_ON=$(cat "$tracing/tracing_on"); TRACING_SIZE=$(cat "$tracing/buffer_size_kb"); TRACING=$tracing
    echo 8192 > "$tracing/buffer_size_kb"; echo > "$tracing/trace"
    for event in "${TRACING_EVENTS[@]}"; do echo 1 > "$tracing/events/$event/enable" 2>/dev/null || true; done
    echo 1 > "$tracing/tracing_on"
    for i in $(seq "$RUNS"); do
        enrolled_one; "${IN_NS[@]}" "${AGENT_EXISTING[@]}" >/dev/null 2>&1 || true
        client_key_only "$i"; "${IN_NS[@]}" "${CLIENT_EXISTING[@]}" >/dev/null 2>&1 || true
    done
    echo 0 > "$tracing/tracing_on"
    awk -f "$(dirname "$0")/lib/syscall-phases.awk" "$tracing/trace"
    tracing_restore
}
