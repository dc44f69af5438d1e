#!/usr/bin/env bash
# The shipped binary against the real micromdm scepserver (Debian package `scep`): caps, getca,
# enroll and renew, every issued certificate checked with `openssl verify`.
#
# The server listens on every interface, so it runs inside a network namespace of this test's
# own (loopback only) when the kernel lets us make one; otherwise on 127.0.0.1.
#
#   Tests/Interop/micromdm.sh BINARY [RUNNER]
#
# RUNNER runs the binary, for cross builds under emulation (e.g. qemu-aarch64-static).
set -u
BIN=$(readlink -f "$1")
RUNNER=${2:-}
. "$(dirname "$0")/../lib/checks.sh"

. "$(dirname "$0")/../../Scripts/lib/scepserver.sh"

NS="scep-agent-test-$$"
if loopback_namespace "$NS"; then
    echo "# running scepserver in network namespace $NS"
else
    NS=
    echo "# no network namespace (not permitted here); running scepserver on 127.0.0.1"
fi
SCEPSERVER_PID=
cleanup() {
    [ -n "$SCEPSERVER_PID" ] && kill "$SCEPSERVER_PID" 2>/dev/null && wait "$SCEPSERVER_PID" 2>/dev/null
    [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
    rm -rf "$SCRATCH"
}
trap cleanup EXIT

PORT=$(test_port_base)
URL="http://127.0.0.1:$PORT/scep"
DEPOT="$SCRATCH/depot"
start_scepserver "$DEPOT" "$PORT" factory-secret "$SCRATCH/server.log" || { fail "micromdm scepserver starts"; finish; exit 1; }

FP=$CA_FINGERPRINT
printf 'factory-secret\n' > "$SCRATCH/challenge"
chmod 600 "$SCRATCH/challenge"
printf 'wrong-secret\n' > "$SCRATCH/wrong"
chmod 600 "$SCRATCH/wrong"
KS="$SCRATCH/keystore"
agent() { "${IN_NS[@]}" $RUNNER "$BIN" "$@"; }
pubkey() { openssl x509 -in "$1" -noout -pubkey | sha256sum; }

expect_status "caps" 0 agent caps --url "$URL"
if "${IN_NS[@]}" ip -6 addr show dev lo 2>/dev/null | grep -q '::1'; then
    expect_status "caps over an IPv6 literal" 0 agent caps --url "http://[::1]:$PORT/scep"
    expect_text "caps over IPv6 lists capabilities" "$OUT" "SCEPStandard"
else
    echo "# no ::1 on loopback here; IPv6 literal not tested"
fi
expect_text "caps lists SCEPStandard" "$OUT" "SCEPStandard"
expect_text "caps lists Renewal" "$OUT" "Renewal"
# Only inside the namespace: there a lookup cannot leave the machine (no route but loopback).
if [ -n "$NS" ]; then
    expect_status "an unknown host name fails" 1 agent caps --url "http://no-such-host.invalid/scep"
    expect_text "the failure names the lookup and its reason" "$ERR" "resolve no-such-host.invalid: "
    case "$ERR" in *"No route to host"*) fail "the lookup failure says 'No route to host'" "$ERR" ;; *) pass "the lookup failure says why, once" ;; esac
fi

expect_status "getca with the right pin" 0 agent getca --url "$URL" --ca-fingerprint "sha256:$FP" --out "$SCRATCH/ca-out.pem"
expect_text "getca prints the fingerprint" "$OUT" "$(echo "$FP" | tr a-f A-F | sed 's/../&:/g; s/:$//')"
cmp -s <(openssl x509 -in "$SCRATCH/ca-out.pem" -outform DER) <(openssl x509 -in "$DEPOT/ca.pem" -outform DER) \
    && pass "getca --out wrote the CA" || fail "getca --out differs from the CA"

WRONG=$(printf '%s' "$FP" | tr 0-9a-f 1-9a-f0)
expect_status "getca with a wrong pin exits 1" 1 agent getca --url "$URL" --ca-fingerprint "$WRONG"
expect_text "the mismatch names both fingerprints" "$ERR" "expected $WRONG, the server sent $FP"

expect_status "enroll with a wrong challenge exits 1" 1 agent enroll --url "$URL" --ca-fingerprint "$FP" \
    --subject "CN=dev-0042,O=Acme" --keystore "$KS" --challenge-file "$SCRATCH/wrong"
expect_text "a wrong challenge is reported as FAILURE badRequest" "$ERR" "FAILURE badRequest"
[ ! -e "$KS/current" ] && ! agent status --keystore "$KS" >/dev/null 2>&1 && pass "a refused enroll stores nothing" \
    || fail "a refused enroll stored an identity"

# micromdm 2.1 cannot issue to an EC key (it signs with the CSR's algorithm, ECDSA, under its RSA
# CA key, fails, and answers FAILURE badRequest): the agent says so and stores nothing.
expect_status "an EC enrollment against micromdm exits 1" 1 agent enroll --url "$URL" --ca-fingerprint "$FP" \
    --subject "CN=dev-ec" --keystore "$SCRATCH/ks-ec" --challenge-file "$SCRATCH/challenge" --key-type ec:p256
expect_text "it reports micromdm's FAILURE" "$ERR" "FAILURE badRequest"
expect_text "it says an EC key may be why" "$ERR" "for an ec:p256 key, and some servers issue only to RSA keys"
[ ! -e "$SCRATCH/ks-ec/current" ] && ! agent status --keystore "$SCRATCH/ks-ec" >/dev/null 2>&1 && pass "the refused EC enrollment stored nothing" \
    || fail "the refused EC enrollment stored an identity"

expect_status "enroll" 0 agent enroll --url "$URL" --ca-fingerprint "$FP" --subject "CN=dev-0042,O=Acme" \
    --keystore "$KS" --challenge-file "$SCRATCH/challenge" --cert-out "$SCRATCH/cert.pem" --key-out "$SCRATCH/key.pem" \
    --san "DNS:dev-0042.example,IP:192.0.2.42"
expect_text "enroll warns about micromdm's SHA-1" "$ERR" "SHA-1"
openssl verify -CAfile "$DEPOT/ca.pem" "$SCRATCH/cert.pem" >/dev/null 2>&1 && pass "openssl verify accepts the enrolled certificate" \
    || fail "openssl verify rejects the enrolled certificate"
[ "$(stat -c %a "$KS")" = 700 ] && pass "keystore directory is 0700" || fail "keystore mode $(stat -c %a "$KS")"
loose=$(find "$KS" -type f ! -perm 600; find "$KS" -type d ! -perm 700)
[ -z "$loose" ] && [ -e "$KS/current" ] && pass "keystore files are 0600 and directories 0700" || fail "loose modes: $loose"
[ "$(stat -c %a "$SCRATCH/key.pem")" = 600 ] && pass "published key is 0600" || fail "published key mode"
[ "$(openssl rsa -in "$SCRATCH/key.pem" -pubout 2>/dev/null | sha256sum)" = "$(openssl x509 -in "$SCRATCH/cert.pem" -pubkey -noout | sha256sum)" ] \
    && pass "published key matches published certificate" || fail "published key and certificate differ"
first_key=$(pubkey "$SCRATCH/cert.pem")
openssl x509 -in "$SCRATCH/cert.pem" -noout -subject | grep -q "CN = dev-0042" && pass "subject as requested" || fail "subject differs"
openssl x509 -in "$SCRATCH/cert.pem" -noout -ext subjectAltName 2>/dev/null | grep -q "DNS:dev-0042.example" \
    && pass "micromdm copied the requested subjectAltName" || echo "# micromdm did not copy the subjectAltName (server policy)"

expect_status "renew" 0 agent renew --url "$URL" --ca-fingerprint "$FP" --keystore "$KS" \
    --challenge-file "$SCRATCH/challenge" --cert-out "$SCRATCH/cert.pem"
openssl verify -CAfile "$DEPOT/ca.pem" "$SCRATCH/cert.pem" >/dev/null 2>&1 && pass "openssl verify accepts the renewed certificate" \
    || fail "openssl verify rejects the renewed certificate"
[ "$(pubkey "$SCRATCH/cert.pem")" != "$first_key" ] && pass "the renewed certificate carries a new key" || fail "the key was reused"
previous=$(sed -n 's/^generation=//p' "$KS/previous")
[ -n "$previous" ] && [ "$(pubkey "$KS/$previous/cert.pem")" = "$first_key" ] && pass "the previous identity is kept" || fail "previous identity missing"
agent status --keystore "$KS" --json > "$SCRATCH/status.json"
grep -q '"subject": "CN=dev-0042,O=Acme"' "$SCRATCH/status.json" && pass "status --json names the subject" || fail "status --json: $(cat "$SCRATCH/status.json")"

expect_status "renew --reuse-key" 0 agent renew --url "$URL" --ca-fingerprint "$FP" --keystore "$KS" \
    --challenge-file "$SCRATCH/challenge" --cert-out "$SCRATCH/cert2.pem" --reuse-key
[ "$(pubkey "$SCRATCH/cert2.pem")" = "$(pubkey "$SCRATCH/cert.pem")" ] && pass "--reuse-key keeps the key" || fail "--reuse-key changed the key"

# One transaction (GetCACaps, GetCACert, PKIOperation) over one kept-alive connection.
expect_status "renew at debug level" 0 agent renew --url "$URL" --ca-fingerprint "$FP" --keystore "$KS" \
    --challenge-file "$SCRATCH/challenge" --log-level debug
expect_text "a renewal's three requests share one connection" "$(printf '%s\n' "$ERR" | grep 'event="http response"' | tail -1)" "connections_opened=1"

finish
