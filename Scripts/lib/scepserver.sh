# micromdm scepserver, the real SCEP server of the demo, the bench, the interop tests and the
# fuzz seed capture, started the same way everywhere. Source it.
#
# scepserver listens on every interface, so it runs inside a network namespace of the caller's
# own, with only loopback up, whenever the kernel allows one.
. "$(dirname "${BASH_SOURCE[0]}")/listening.sh"

# loopback_namespace NAME: creates the namespace and sets IN_NS to the command prefix that runs
# inside it. Where namespaces are not permitted, IN_NS is empty (the host's 127.0.0.1) and the
# status is 1. The caller deletes the namespace (`ip netns del NAME`) when done.
loopback_namespace() {
    if ip netns add "$1" 2>/dev/null; then
        ip -n "$1" link set lo up
        IN_NS=(ip netns exec "$1")
        return 0
    fi
    IN_NS=()
    return 1
}

# start_scepserver DEPOT PORT CHALLENGE LOG [SCEPSERVER OPTIONS...]: a fresh CA in DEPOT, then
# scepserver on PORT inside IN_NS (renewal always allowed), its output to LOG. Sets SCEPSERVER_PID
# and CA_FINGERPRINT (the SHA-256 pin of the CA certificate) and returns once the port accepts
# connections; status 1, saying why, when the CA cannot be made or the server is not up in 5 s.
start_scepserver() {
    local depot=$1 port=$2 challenge=$3 log=$4
    shift 4
    if ! scepserver ca -init -depot "$depot" >"$log" 2>&1; then
        echo "scepserver ca -init failed: $(tail -n 1 "$log")" >&2
        return 1
    fi
    "${IN_NS[@]}" scepserver -depot "$depot" -port "$port" -challenge "$challenge" -allowrenew 0 "$@" >"$log" 2>&1 &
    SCEPSERVER_PID=$!
    CA_FINGERPRINT=$(openssl x509 -in "$depot/ca.pem" -outform DER | sha256sum | cut -d' ' -f1)
    wait_listening "$port" "$SCEPSERVER_PID" && return 0
    echo "scepserver did not start on port $port: $(tail -n 1 "$log")" >&2
    return 1
}
