#!/usr/bin/env bash
# make demo: the whole story on one machine. A local micromdm scepserver (in a network namespace
# of its own when allowed, else on 127.0.0.1), first-boot enrollment with the factory challenge,
# a renewal with a new key, and what ended up in the keystore.
set -euo pipefail
BIN=$(readlink -f "${1:?usage: demo.sh BINARY}")
WORK=$(mktemp -d /tmp/scep-agent-demo.XXXXXX)
NS="scep-agent-demo-$$"
SCEPSERVER_PID=
SWTPM_PID=
cleanup() {
    [ -n "$SCEPSERVER_PID" ] && kill "$SCEPSERVER_PID" 2>/dev/null
    [ -n "$SWTPM_PID" ] && kill "$SWTPM_PID" 2>/dev/null
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" | sed "s|$WORK|\$DEMO|g; s|$BIN|scep-agent|g"; "${IN_NS[@]}" "$@"; }

. "$(dirname "$0")/lib/scepserver.sh"
. "$(dirname "$0")/lib/swtpm.sh"
loopback_namespace "$NS" || true
PORT=8080
URL="http://127.0.0.1:$PORT/scep"

step "the binary"
file "$BIN" | sed "s|$BIN|scep-agent|"
"$BIN" --version

step "a local SCEP server: micromdm scepserver with a fresh CA"
start_scepserver "$WORK/depot" "$PORT" factory-secret "$WORK/server.log" -crtvalid 1
FP=$CA_FINGERPRINT
echo "factory CA pin (SHA-256 of the CA certificate): $FP"
printf 'factory-secret\n' > "$WORK/challenge"
chmod 600 "$WORK/challenge"

step "what the server offers"
run "$BIN" caps --url "$URL"
run "$BIN" getca --url "$URL" --ca-fingerprint "$FP"

step "first boot: enroll with the factory challenge"
run "$BIN" enroll --url "$URL" --ca-fingerprint "$FP" --subject "CN=dev-0042,O=Acme" \
    --challenge-file "$WORK/challenge" --keystore "$WORK/keystore" --cert-out "$WORK/cert.pem" --key-out "$WORK/key.pem"
openssl x509 -in "$WORK/cert.pem" -noout -subject -issuer -serial -enddate
openssl verify -CAfile "$WORK/depot/ca.pem" "$WORK/cert.pem" | sed "s|$WORK|\$DEMO|"
first=$(openssl x509 -in "$WORK/cert.pem" -noout -pubkey | sha256sum | cut -c1-16)

step "renewal: RenewalReq signed by the current certificate, with a new key"
run "$BIN" renew --url "$URL" --ca-fingerprint "$FP" --challenge-file "$WORK/challenge" \
    --keystore "$WORK/keystore" --cert-out "$WORK/cert.pem" --key-out "$WORK/key.pem"
openssl x509 -in "$WORK/cert.pem" -noout -subject -serial -enddate
openssl verify -CAfile "$WORK/depot/ca.pem" "$WORK/cert.pem" | sed "s|$WORK|\$DEMO|"
second=$(openssl x509 -in "$WORK/cert.pem" -noout -pubkey | sha256sum | cut -c1-16)
echo "public key before: $first...  after: $second..."

if command -v swtpm >/dev/null; then
    step "a device key inside a TPM 2.0 (swtpm, a software TPM, stands in for /dev/tpmrm0)"
    start_swtpm "$WORK/tpm" 2321 "$WORK/swtpm.log"
    run "$BIN" enroll --url "$URL" --ca-fingerprint "$FP" --subject "CN=dev-0043,O=Acme" --challenge-file "$WORK/challenge" \
        --keystore "$WORK/tpm-keystore" --cert-out "$WORK/tpm-cert.pem" --key-storage tpm --tpm-device "$TPM_DEVICE"
    run "$BIN" renew --url "$URL" --ca-fingerprint "$FP" --challenge-file "$WORK/challenge" \
        --keystore "$WORK/tpm-keystore" --cert-out "$WORK/tpm-cert.pem" --tpm-device "$TPM_DEVICE"
    openssl verify -CAfile "$WORK/depot/ca.pem" "$WORK/tpm-cert.pem" | sed "s|$WORK|\$DEMO|"
    run "$BIN" status --keystore "$WORK/tpm-keystore"
    generation=$(sed -n 's/^generation=//p' "$WORK/tpm-keystore/current")
    echo "the keystore holds no private key, only the TPM's key file (useless on any other TPM):"
    ls "$WORK/tpm-keystore/$generation"
    head -1 "$WORK/tpm-keystore/$generation/key.tpm2"
    stop_swtpm
else
    step "(swtpm is not installed: the TPM-backed enrollment is skipped; Scripts/install-deps.sh installs it)"
fi

step "the daemon: unattended renewals"
# micromdm issues certificates for a day at least, so renewals would fall due hours from now. To
# show the daemon at work, this step uses the project's test responder (a SCEP CA of its own)
# issuing 30-second certificates; the agent renews each when a third of its life remains.
RESPONDER=.build/debug/scep-test-responder
mkdir -p "$WORK/responder"
"${IN_NS[@]}" "$RESPONDER" --port 8081 --lifetime 30 --state "$WORK/responder" >"$WORK/responder/out" 2>/dev/null &
RESPONDER_PID=$!
for _ in $(seq 100); do grep -q ready "$WORK/responder/out" 2>/dev/null && break; sleep 0.1; done
printf 's3cret\n' > "$WORK/responder-challenge"
chmod 600 "$WORK/responder-challenge"
echo "$ scep-agent run --url http://127.0.0.1:8081/scep ... --keystore \$DEMO/daemon-keystore --retry-min 5s"
"${IN_NS[@]}" "$BIN" run --url "http://127.0.0.1:8081/scep" --ca-fingerprint "$(cat "$WORK/responder/ca.sha256")" \
    --subject "CN=dev-0042,O=Acme" --challenge-file "$WORK/responder-challenge" --keystore "$WORK/daemon-keystore" \
    --cert-out "$WORK/daemon-cert.pem" --retry-min 5s 2>"$WORK/daemon.log" &
DAEMON=$!
for _ in $(seq 600); do [ "$(grep -c 'event=renewed' "$WORK/daemon.log")" -ge 2 ] && break; sleep 0.1; done
sed "s|$WORK|\$DEMO|g" "$WORK/daemon.log"
kill -TERM "$DAEMON"
wait "$DAEMON" && echo "(SIGTERM: the daemon exited with status 0)"
kill "$RESPONDER_PID" 2>/dev/null

step "status of the daemon's keystore"
run "$BIN" status --keystore "$WORK/daemon-keystore"

step "status of the first keystore, as JSON"
run "$BIN" status --keystore "$WORK/keystore" --json

step "the keystore"
ls -l "$WORK/keystore" | sed "s|$WORK|\$DEMO|"

step "a wrong pin is refused before any request is sent"
set +e
run "$BIN" enroll --url "$URL" --ca-fingerprint "$(printf '%064d' 0)" --subject CN=x --keystore "$WORK/other"
echo "exit status: $?"
