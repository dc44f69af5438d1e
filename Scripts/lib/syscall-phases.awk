# Reads a trace of syscall tracepoints (bench.sh's client_phases) and prints one line per run of a
# client: "agent|client start pre server reply result total", in milliseconds, where
#   start   exec to the first connect
#   pre     to the request that waited longest for its answer being sent (the PKIOperation)
#   server  that wait: the server's work and the network
#   reply   to the first file opened or directory made after the answer (the result being written)
#   result  to exit
# Runs are told apart by exec; a client's threads share its command name (Go's scepclient has
# several), so state is kept per command name and the read fd per thread.
function stamp(   i, t) {
    for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { t = $i; sub(/:$/, "", t); return t + 0 }
    return 0
}
function argument(name,   start) {
    if (!match($0, name ": [0-9a-fx]+")) return ""
    start = RSTART + length(name) + 2
    return substr($0, start, RLENGTH - length(name) - 2)
}
function positive(value) { return value != "0x0" && value !~ /^0xffff/ }
function reset(command) {
    socket[command] = ""; connected[command] = 0; sent[command] = 0; longest[command] = -1
    posted[command] = 0; answered[command] = 0; written[command] = 0
}
{
    count = split($1, parts, "-"); thread = parts[count]
    command = $1; sub(/-[0-9]+$/, "", command)
    now = stamp()
}
/sched_process_exec: filename=/ {
    name = ""
    if ($0 ~ /filename=[^ ]*\/scep-agent /) name = "agent"
    if ($0 ~ /filename=[^ ]*\/scepclient /) name = "client"
    if (name != "") { who[command] = name; started[command] = now; reset(command) }
    next
}
!(command in who) { next }
/ sys_connect\(/ {
    if (!connected[command]) { connected[command] = now; socket[command] = argument("fd") }
    next
}
/ sys_(sendto|write)\(/ {
    if (connected[command] && argument("fd") == socket[command]) sent[command] = now
    next
}
/ sys_(read|recvfrom)\(/ { readfd[thread] = argument("fd"); next }
/ sys_(read|recvfrom) -> / {
    if (sent[command] && readfd[thread] == socket[command] && positive($NF)) {
        if (now - sent[command] > longest[command]) {
            longest[command] = now - sent[command]
            posted[command] = sent[command]; answered[command] = now; written[command] = 0
        }
        sent[command] = 0
    }
    next
}
/ sys_(openat|mkdirat)\(/ {
    if (answered[command] && !written[command]) written[command] = now
    next
}
/ sys_exit_group\(/ {
    if (answered[command] && written[command])
        printf "%s %.1f %.1f %.1f %.1f %.1f %.1f\n", who[command],
            (connected[command] - started[command]) * 1000, (posted[command] - connected[command]) * 1000,
            (answered[command] - posted[command]) * 1000, (written[command] - answered[command]) * 1000,
            (now - written[command]) * 1000, (now - started[command]) * 1000
    delete who[command]
}
