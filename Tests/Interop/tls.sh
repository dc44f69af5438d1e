#!/usr/bin/env bash
# HTTPS: the shipped binary against `openssl s_server -WWW` on loopback, which serves GetCACaps
# from a file. Checks CA verification, name verification, SNI, and that https needs --tls-ca.
# With RESPONDER, whole enrollments and renewals over TLS (socat in front of the test responder),
# and a renewal refused for a server certificate with the wrong name leaves the keystore as it was.
#
#   Tests/Interop/tls.sh BINARY [RESPONDER]
set -u
BIN=$(readlink -f "$1")
RESPONDER=${2:+$(readlink -f "$2")}
. "$(dirname "$0")/../lib/checks.sh"
. "$(dirname "$0")/../../Scripts/lib/scepserver.sh"
SERVER_PID=
RESPONDER_PID=
trap '[ -n "$SERVER_PID" ] && kill $SERVER_PID 2>/dev/null; [ -n "$RESPONDER_PID" ] && kill $RESPONDER_PID 2>/dev/null; rm -rf "$SCRATCH"' EXIT
cd "$SCRATCH"

openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=TLS Test CA" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 2 -subj "/CN=Other CA" 2>/dev/null
issue() { # NAME SAN
    openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
    printf 'subjectAltName=%s\n' "$2" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
issue localhost "DNS:localhost,DNS:127.0.0.1"
issue elsewhere "DNS:elsewhere.example"
mkdir -p www && printf 'AES\nSHA-256\nPOSTPKIOperation\n' > 'www/scep?operation=GetCACaps'

PORT=$(test_port_base)
serve() { # CERT [s_server options]
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    PORT=$((PORT + 1))
    (cd www && exec openssl s_server -accept "127.0.0.1:$PORT" -cert "../$1.pem" -key "../$1.key" -WWW -quiet "${@:2}") >/dev/null 2>&1 &
    SERVER_PID=$!
    # Wait for the listener without connecting: a probe connection would upset -servername_fatal.
    for _ in $(seq 50); do ss -ltnH "sport = :$PORT" | grep -q . && return; sleep 0.1; done
}

serve localhost
expect_status "https with the right CA" 0 "$BIN" caps --url "https://localhost:$PORT/scep" --tls-ca ca.pem
expect_text "capabilities came over TLS" "$OUT" "POSTPKIOperation"
expect_status "an IPv4 literal named in the certificate" 0 "$BIN" caps --url "https://127.0.0.1:$PORT/scep" --tls-ca ca.pem
expect_status "an untrusted server is refused" 1 "$BIN" caps --url "https://localhost:$PORT/scep" --tls-ca other.pem
expect_text "untrusted is explained" "$ERR" "not signed by a trusted CA"
expect_status "https without --tls-ca is a configuration error" 2 "$BIN" caps --url "https://localhost:$PORT/scep"
expect_text "https without --tls-ca is explained" "$ERR" "needs --tls-ca"

serve elsewhere
expect_status "a certificate for another name is refused" 1 "$BIN" caps --url "https://localhost:$PORT/scep" --tls-ca ca.pem
expect_text "the name mismatch is explained" "$ERR" "name mismatch"

# The server insists on SNI naming it: a client that sent no (or another) name would fail.
serve elsewhere -servername localhost -cert2 ../localhost.pem -key2 ../localhost.key -servername_fatal
expect_status "SNI selects the right certificate" 0 "$BIN" caps --url "https://localhost:$PORT/scep" --tls-ca ca.pem

if [ -n "$RESPONDER" ]; then
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
    RPORT=$((PORT + 1))
    mkdir -p responder
    launch_responder responder/out --port "$RPORT" --fault none --state responder
    RESPONDER_PID=$LAUNCHED_PID
    printf 's3cret\n' > challenge
    chmod 600 challenge
    front() { # CERT: TLS in front of the responder
        [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
        PORT=$((PORT + 2))
        socat "OPENSSL-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork,cert=$1.pem,key=$1.key,verify=0" "TCP:127.0.0.1:$RPORT" 2>/dev/null &
        SERVER_PID=$!
        for _ in $(seq 50); do ss -ltnH "sport = :$PORT" | grep -q . && return; sleep 0.1; done
    }
    scep() { # COMMAND [options]
        "$BIN" "$1" --url "https://localhost:$PORT/scep" --tls-ca ca.pem --ca-fingerprint "$(cat responder/ca.sha256)" \
            --keystore ks --challenge-file challenge --subject CN=tls-device "${@:2}"
    }
    front localhost
    expect_status "enroll over TLS" 0 scep enroll
    expect_status "renew over TLS, a new key" 0 scep renew
    before=$(find ks -type f ! -name lock -exec sha256sum {} + | sort)
    front elsewhere
    expect_status "renew refused: the server's certificate names another host" 1 scep renew
    expect_text "the refusal names the mismatch" "$ERR" "name mismatch"
    expect_one_line "the refusal is one line" "$(printf '%s\n' "$ERR" | grep -v 'level=')"
    [ "$before" = "$(find ks -type f ! -name lock -exec sha256sum {} + | sort)" ] \
        && pass "the refused renewal left the keystore unchanged" || fail "the refused renewal changed the keystore"
fi

# micromdm behind TLS: Go's server keeps connections open, so a renewal's three requests share
# one TLS session. scepserver listens on every interface: it runs in a network namespace.
NS="scep-agent-tls-$$"
if command -v scepserver >/dev/null && loopback_namespace "$NS"; then
    start_scepserver depot 18443 factory micromdm.log || fail "micromdm scepserver starts"
    MICROMDM_PID=$SCEPSERVER_PID
    ip netns exec "$NS" socat OPENSSL-LISTEN:18444,bind=127.0.0.1,reuseaddr,fork,cert=localhost.pem,key=localhost.key,verify=0 \
        TCP:127.0.0.1:18443 2>/dev/null &
    SOCAT_PID=$!
    printf 'factory\n' > mchallenge
    chmod 600 mchallenge
    FP=$CA_FINGERPRINT
    mdm() { ip netns exec "$NS" "$BIN" "$1" --url https://localhost:18444/scep --tls-ca ca.pem --ca-fingerprint "$FP" \
                --keystore mks --challenge-file mchallenge --subject CN=tls-mdm "${@:2}"; }
    for _ in $(seq 50); do mdm caps >/dev/null 2>&1 && break; sleep 0.1; done
    expect_status "enroll with micromdm over TLS" 0 mdm enroll
    expect_status "renew with micromdm over TLS, at debug level" 0 mdm renew --log-level debug
    expect_text "the renewal's requests share one TLS connection" \
        "$(printf '%s\n' "$ERR" | grep 'event="http response"' | tail -1)" "connections_opened=1"
    kill "$SOCAT_PID" "$MICROMDM_PID" 2>/dev/null
    wait "$SOCAT_PID" "$MICROMDM_PID" 2>/dev/null
    ip netns del "$NS"
else
    echo "# no network namespace or scepserver here: micromdm over TLS not tested"
fi

finish
