#!/usr/bin/env bash
# The shipped binary against an implementation that is not ours: the Python SCEP server of
# Tests/Oracle (asn1crypto and cryptography from Debian). Every pkiStatus, every failInfo without
# content (RFC 8894 section 3.3.2), every CA bag (CA alone, NDES-style RA pair, an issuing
# intermediate, and a device-issued "RA" that must be refused), micromdm-style algorithms, and
# EC keys answered by key agreement and by password. Issued certificates go through
# `openssl verify`; every refusal leaves the keystore as it was.
#
#   Tests/Interop/oracle.sh BINARY [RUNNER]
set -u
BIN=$(readlink -f "$1")
RUNNER=${2:-}
HERE=$(dirname "$(readlink -f "$0")")
. "$HERE/../lib/checks.sh"
ORACLE=$HERE/../Oracle/scep_oracle.py

PORT=$(test_port_base)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$SCRATCH"
}
trap cleanup EXIT

# serve NAME [oracle options...]: a fresh oracle (its own CA) for one scenario.
serve() {
    local name=$1
    shift
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    PORT=$((PORT + 1))
    STATE=$SCRATCH/oracle-$name
    mkdir -p "$STATE"
    /usr/bin/python3 "$ORACLE" --port "$PORT" --state "$STATE" "$@" >"$STATE/out" 2>"$STATE/log" &
    SERVER_PID=$!
    for _ in $(seq 100); do grep -q ready "$STATE/out" 2>/dev/null && return 0; sleep 0.1; done
    echo "the oracle did not start: $(tail -2 "$STATE/log")" >&2
    return 1
}

printf 's3cret\n' > "$SCRATCH/challenge"
chmod 600 "$SCRATCH/challenge"
agent() { # COMMAND KEYSTORE [options]
    local command=$1 keystore=$2
    shift 2
    $RUNNER "$BIN" "$command" --url "http://127.0.0.1:$PORT/scep" --ca-fingerprint "$(cat "$STATE/ca.sha256")" \
        --subject "CN=dev-0042,O=Acme" --keystore "$keystore" --poll-interval 1s --poll-timeout 4s "$@"
}
snapshot() { find "$1" -type f ! -name lock -exec sha256sum {} + 2>/dev/null | sort; }
verify_issued() { # NAME KEYSTORE [extra openssl verify options]
    local name=$1 keystore=$2
    shift 2
    local generation
    generation=$(sed -n 's/^generation=//p' "$keystore/current")
    if openssl verify -CAfile "$STATE/ca.pem" "$@" "$keystore/$generation/cert.pem" >/dev/null 2>&1; then
        pass "$name: openssl verify accepts the issued certificate"
    else
        fail "$name: openssl verify rejects the issued certificate"
    fi
}

# --- SUCCESS, with each CA bag --------------------------------------------------------------
for bag in ca ca-ra intermediate; do
    serve "$bag" --bag "$bag" || { fail "oracle --bag $bag starts"; continue; }
    KS=$SCRATCH/ks-$bag
    expect_status "--bag $bag: enroll" 0 agent enroll "$KS" --challenge-file "$SCRATCH/challenge"
    extra=()
    [ "$bag" = intermediate ] && extra=(-untrusted "$KS/$(sed -n 's/^generation=//p' "$KS/current")/chain.pem")
    verify_issued "--bag $bag enroll" "$KS" "${extra[@]}"
    expect_status "--bag $bag: renew" 0 agent renew "$KS"
    verify_issued "--bag $bag renew" "$KS" "${extra[@]}"
done
# NDES's RA pair is marked (Certificate Request Agent): no warning about an unmarked RA.
serve ca-ra-warn --bag ca-ra
expect_status "--bag ca-ra: enroll at debug level" 0 agent enroll "$SCRATCH/ks-ra-warn" --challenge-file "$SCRATCH/challenge" --log-level debug
expect_text "--bag ca-ra: requests go to the encryption RA" "$ERR" "recipient=\"CN="
case "$ERR" in *"not marked as an RA"*) fail "--bag ca-ra: a marked RA is warned about" ;; *) pass "--bag ca-ra: no warning for a marked RA" ;; esac

# --- the reproduced attack: an "RA" issued by another device's key ----------------------------
serve device-ra --bag device-ra
expect_status "--bag device-ra: enroll is refused" 1 agent enroll "$SCRATCH/ks-attack" --challenge-file "$SCRATCH/challenge"
expect_text "--bag device-ra: the refusal names the rule" "$ERR" "its issuer"
expect_text "--bag device-ra: ... and that the issuer is not a CA" "$ERR" "is not a CA"
[ ! -e "$SCRATCH/ks-attack/current" ] && pass "--bag device-ra: nothing committed" || fail "--bag device-ra: an identity was committed"

# --- PENDING and FAILURE without content ------------------------------------------------------
serve pending --pending-count 2
expect_status "PENDING (no eContent) twice, then SUCCESS" 0 agent enroll "$SCRATCH/ks-pending" --challenge-file "$SCRATCH/challenge" --poll-timeout 30s
expect_text "PENDING is polled" "$ERR" "event=pending"
grep -c "PKIOperation" "$STATE/log" | grep -q '^3$' && pass "PENDING: one request and two polls" || fail "PENDING: $(grep -c PKIOperation "$STATE/log") operations"
serve pending-forever --status pending
expect_status "PENDING (no eContent) forever exits 3" 3 agent enroll "$SCRATCH/ks-forever" --challenge-file "$SCRATCH/challenge"
expect_text "PENDING forever says so" "$ERR" "polling timed out"
serve pending-content --pending-count 1 --pending-with-content
expect_status "PENDING with an empty eContent (micromdm's form)" 0 agent enroll "$SCRATCH/ks-pending-content" --challenge-file "$SCRATCH/challenge" --poll-timeout 30s

names=(badAlg badMessageCheck badRequest badTime badCertId)
for info in 0 1 2 3 4; do
    name=${names[$info]}
    serve "failure-$info" --status failure --fail-info "$info" --fail-text "oracle says $name"
    expect_status "FAILURE $name (no eContent): enroll exits 1" 1 agent enroll "$SCRATCH/ks-failure-$info" --challenge-file "$SCRATCH/challenge"
    expect_text "FAILURE $name: the failInfo is reported" "$ERR" "FAILURE $name ("
    expect_text "FAILURE $name: the failInfoText is reported" "$ERR" "oracle says $name"
    [ ! -e "$SCRATCH/ks-failure-$info/current" ] && pass "FAILURE $name: nothing committed" || fail "FAILURE $name: an identity was committed"
done
# A refusal of a renewal leaves the identity in service as it was.
serve refuse-renewal
KS=$SCRATCH/ks-held
agent enroll "$KS" --challenge-file "$SCRATCH/challenge" >/dev/null 2>&1 || fail "setup enroll for the renewal refusal"
before=$(snapshot "$KS")
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
/usr/bin/python3 "$ORACLE" --port "$PORT" --state "$STATE" --status failure --fail-info 2 --fail-text "no renewals today" \
    >"$STATE/out2" 2>"$STATE/log2" &
SERVER_PID=$!
for _ in $(seq 100); do grep -q ready "$STATE/out2" 2>/dev/null && break; sleep 0.1; done
expect_status "FAILURE on a renewal exits 1" 1 agent renew "$KS"
expect_text "... naming its failInfo and text" "$ERR" "FAILURE badRequest (transaction not permitted or supported): no renewals today"
[ "$before" = "$(snapshot "$KS")" ] && pass "... and the identity in service is untouched" || fail "the keystore changed"

# --- micromdm's algorithms, GET, and faults ---------------------------------------------------
serve legacy --reply-cipher des --reply-digest sha1 --signature-oid sha1WithRSAEncryption
expect_status "DES and SHA-1 replies are accepted" 0 agent enroll "$SCRATCH/ks-legacy" --challenge-file "$SCRATCH/challenge"
expect_text "... with a warning about SHA-1" "$ERR" "signed its reply with SHA-1"
expect_text "... and about DES" "$ERR" "encrypted its reply with DES-CBC"
serve get --caps "AES,SHA-256,Renewal"
expect_status "GET PKIOperation (no POSTPKIOperation)" 0 agent enroll "$SCRATCH/ks-get" --challenge-file "$SCRATCH/challenge"
for fault in bad-signature wrong-nonce wrong-transaction; do
    serve "fault-$fault" --fault "$fault"
    expect_status "--fault $fault is refused" 1 agent enroll "$SCRATCH/ks-$fault" --challenge-file "$SCRATCH/challenge"
    expect_text "--fault $fault: reply rejected" "$ERR" "reply rejected"
done

# --- EC device keys: key agreement (NDES) and password recipients ----------------------------
for curve in p256 p384; do
    serve "kari-$curve" --ec-reply kari
    KS=$SCRATCH/ks-kari-$curve
    expect_status "ec:$curve, key agreement: enroll" 0 agent enroll "$KS" --challenge-file "$SCRATCH/challenge" --key-type "ec:$curve"
    verify_issued "ec:$curve key agreement" "$KS"
    generation=$(sed -n 's/^generation=//p' "$KS/current")
    openssl x509 -in "$KS/$generation/cert.pem" -noout -text | grep -q "$( [ $curve = p256 ] && echo P-256 || echo P-384 )" \
        && pass "ec:$curve: the certificate carries the EC key" || fail "ec:$curve: not an EC certificate"
    expect_status "ec:$curve, key agreement: renew (RenewalReq signed with ECDSA)" 0 agent renew "$KS"
    verify_issued "ec:$curve key agreement renew" "$KS"
done
serve kari-ukm --ec-reply kari --kari-ukm
expect_status "ec:p256, key agreement with ukm" 0 agent enroll "$SCRATCH/ks-ukm" --challenge-file "$SCRATCH/challenge" --key-type ec:p256
serve pwri --ec-reply pwri
KS=$SCRATCH/ks-pwri
expect_status "ec:p256, password recipient: enroll" 0 agent enroll "$KS" --challenge-file "$SCRATCH/challenge" --key-type ec:p256
verify_issued "ec:p256 password recipient" "$KS"
expect_status "ec:p256, password recipient: renew with the challenge" 0 agent renew "$KS" --challenge-file "$SCRATCH/challenge"
before=$(snapshot "$KS")
expect_status "ec:p256, password recipient: renew without a challenge fails" 1 agent renew "$KS"
expect_text "... and says why" "$ERR" "encrypted to a password, and no challenge password is configured"
[ "$before" = "$(snapshot "$KS")" ] && pass "... keeping the identity" || fail "the keystore changed"
serve ec-refused --ec-reply refuse
expect_status "a server that refuses EC keys: exit 1" 1 agent enroll "$SCRATCH/ks-ec-refused" --challenge-file "$SCRATCH/challenge" --key-type ec:p256
expect_text "... with its badAlg" "$ERR" "FAILURE badAlg"

finish
