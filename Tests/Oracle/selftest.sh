#!/usr/bin/env bash
# The independent SCEP oracle, checked with openssl, then the shipped scep-agent run against it.
# Prints "ok   NAME" / "FAIL NAME" per check, "info ..." for client behaviour that is recorded
# but not judged here (README.md, "Known client behaviour"), and "N passed, M failed"; exits 1
# when anything failed.
#
#   Tests/Oracle/selftest.sh [AGENT]      AGENT defaults to dist/scep-agent of this checkout
#
# Needs /usr/bin/python3 with Debian's python3-asn1crypto and python3-cryptography, openssl 3
# (its legacy provider, for single DES) and curl. The servers bind to 127.0.0.1 only.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
AGENT=$(readlink -f "${1:-$HERE/../../dist/scep-agent}")
ORACLE=$HERE/scep_oracle.py
T=$(mktemp -d /tmp/scep-oracle-selftest.XXXXXX)
# Below the kernel's ephemeral ports (32768 and up), as Tests/lib/checks.sh's test_port_base.
PORT=$((20000 + RANDOM % 11000))
SERVER_PID=
passed=0
failed=0

pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ $# -gt 1 ] && printf '     %s\n' "$2"; }
info() { echo "info $1"; }
oracle() { /usr/bin/python3 "$ORACLE" "$@"; }

# check NAME COMMAND...: passes when COMMAND exits 0. refute: when it exits non-zero.
check() {
    local name=$1; shift
    if "$@" >"$T/last.out" 2>"$T/last.err"; then pass "$name"; else fail "$name" "$(tail -n 3 "$T/last.err" | tr '\n' ' ')"; fi
}
refute() {
    local name=$1; shift
    if "$@" >"$T/last.out" 2>"$T/last.err"; then fail "$name" "succeeded, should not have"; else pass "$name"; fi
}
# expect NAME TEXT NEEDLE: TEXT contains NEEDLE. same / differ NAME A B: non-empty and (un)equal.
expect() { case "$2" in *"$3"*) pass "$1" ;; *) fail "$1" "'$3' not in: $(printf '%s' "$2" | head -c 400)" ;; esac; }
same() { if [ -n "$2" ] && [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "'$2' != '$3'"; fi; }
differ() { if [ -n "$2" ] && [ -n "$3" ] && [ "$2" != "$3" ]; then pass "$1"; else fail "$1" "'$2' vs '$3'"; fi; }

# --- openssl helpers ------------------------------------------------------------------------
# cms_verify MESSAGE [options]: openssl cms -verify. An absent eContent (PENDING, FAILURE) makes
# the signature a detached one over the empty string, which openssl needs as -content /dev/null.
cms_verify() {
    local in=$1; shift
    local detached=()
    openssl cms -cmsout -print -inform DER -in "$in" | grep -q 'eContent: <ABSENT>' && detached=(-content /dev/null)
    openssl cms -verify -inform DER -in "$in" "${detached[@]}" -out "$in.content" "$@"
}
cms_print() { openssl cms -cmsout -print -inform DER -in "$1"; }
# ossl_attr MESSAGE OID: a signed attribute's value as openssl prints it (TYPE:value)
ossl_attr() { cms_print "$1" | awk -v oid="($2)" 'index($0, "object:") && index($0, oid) {getline; getline; sub(/^ +/, ""); print; exit}'; }
# attr MESSAGE NAME: an attribute as the oracle's own parser (`show`) reads it
attr() { oracle show --in "$1" | sed -n "s/^$2=//p"; }
# open_reply REPLY CERTS [openssl cms -decrypt options]: the certificates inside a SUCCESS reply
open_reply() {
    local in=$1 out=$2; shift 2
    openssl cms -verify -inform DER -in "$in" -noverify -out "$in.env" 2>/dev/null &&
        openssl cms -decrypt -inform DER -in "$in.env" -out "$in.p7" "$@" &&
        openssl pkcs7 -inform DER -in "$in.p7" -print_certs -out "$out"
}
# pick CERTS CN OUT: the certificate of a PEM bundle whose subject has CN = CN
pick() {
    rm -f "$T"/pick.*.pem
    awk -v p="$T/pick" '/-----BEGIN/ {n++} n {print > (p "." n ".pem")}' "$1"
    local c
    for c in "$T"/pick.*.pem; do
        openssl x509 -in "$c" -noout -subject 2>/dev/null | grep -q "CN = $2\(,\|$\)" && { cp "$c" "$3"; return 0; }
    done
    return 1
}
flat() { tr -d '\n ' ; }
ext() { openssl x509 -in "$1" -noout -ext "$2" 2>/dev/null | flat; }

# --- client material made by openssl --------------------------------------------------------
mkcnf() { printf '[req]\nprompt = no\ndistinguished_name = dn\nattributes = attrs\n[dn]\nCN = %s\nO = Acme\n[attrs]\nchallengePassword = %s\n' "$1" "$2"; }
# client NAME NEWKEY...: NAME.key, NAME.self (self-signed) and NAME.csr (challenge s3cret)
client() {
    local name=$1; shift
    mkcnf "$name" s3cret >"$T/$name.cnf"
    openssl req -new -newkey "$@" -nodes -keyout "$T/$name.key" -config "$T/$name.cnf" -out "$T/$name.csr" 2>/dev/null &&
        openssl req -x509 -new -key "$T/$name.key" -subj "/CN=$name-self" -days 2 -out "$T/$name.self" 2>/dev/null
}
# request CLIENT TYPE OUT [options]: the oracle's test client signs with CLIENT.key and .self
request() {
    local c=$1 type=$2 out=$3; shift 3
    oracle request --state "$S" --key "$T/$c.key" --cert "$T/$c.self" --csr "$T/$c.csr" --type "$type" --out "$out" "$@"
}
reply() { oracle reply --state "$S" --request "$1" --out "$2" "${@:3}"; }

# --- servers and the agent ------------------------------------------------------------------
start_server() { # DIR ARGS...: the oracle on a fresh port with state in DIR; sets URL
    stop_server
    local dir=$1; shift
    PORT=$((PORT + 1))
    mkdir -p "$dir"
    /usr/bin/python3 "$ORACLE" --port "$PORT" --state "$dir" "$@" >"$dir.out" 2>"$dir.log" &  # not the function: $! is python
    SERVER_PID=$!
    URL=http://127.0.0.1:$PORT/scep
    for _ in $(seq 150); do grep -qx ready "$dir.out" 2>/dev/null && return 0; sleep 0.1; done
    echo "the oracle did not start: $(cat "$dir.log")" >&2
    return 1
}
stop_server() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; SERVER_PID=; }
trap 'stop_server; rm -rf "$T"' EXIT
printf 's3cret\n' >"$T/challenge"
chmod 600 "$T/challenge"

agent() { # COMMAND STATE KEYSTORE [options]: enroll adds the subject and the challenge
    local command=$1 dir=$2 keystore=$3; shift 3
    local extra=()
    [ "$command" = enroll ] && extra=(--subject CN=dev-0042,O=Acme --challenge-file "$T/challenge")
    timeout 120 "$AGENT" "$command" --url "$URL" --ca-fingerprint "$(cat "$dir/ca.sha256")" --keystore "$keystore" \
        --poll-interval 1s --poll-timeout 5s "${extra[@]}" "$@"
}
current_cert() { echo "$1/$(sed -n 's/^generation=//p' "$1/current" 2>/dev/null)/cert.pem"; }
# agent_outcome COMMAND STATE KEYSTORE: "exit N: last line of stderr", for the info lines
agent_outcome() { agent "$@" >/dev/null 2>"$T/agent.err"; echo "exit $?: $(tail -n 1 "$T/agent.err")"; }

###############################################################################################
echo "# offline: replies to requests made from openssl keys, checked with openssl"
S=$T/off
PIN=$(oracle init --state "$S")
same "init prints the SHA-256 of the CA certificate" "$PIN" "$(openssl x509 -in "$S/ca.pem" -outform DER | sha256sum | cut -c1-64)"
same "ca.sha256 holds the pin" "$(cat "$S/ca.sha256")" "$PIN"
expect "CA: basicConstraints critical CA:TRUE" "$(ext "$S/ca.pem" basicConstraints)" "BasicConstraints:criticalCA:TRUE"
expect "CA: keyUsage critical, keyCertSign and cRLSign" "$(ext "$S/ca.pem" keyUsage)" "CertificateSign,CRLSign"
check "CA: self-signed, verifies with itself" openssl verify -CAfile "$S/ca.pem" "$S/ca.pem"

client rsa rsa:2048 && client p256 ec -pkeyopt ec_paramgen_curve:P-256 && client p384 ec -pkeyopt ec_paramgen_curve:P-384 ||
    fail "openssl made the client keys and requests"

# SUCCESS to an RSA PKCSReq
request rsa pkcsreq "$T/rsa.req"
check "reply: SUCCESS to an RSA PKCSReq" reply "$T/rsa.req" "$T/ok.rep" --lifetime 3600
check "SUCCESS: openssl cms -verify -noverify" cms_verify "$T/ok.rep" -noverify
check "SUCCESS: openssl cms -verify -CAfile ca.pem" cms_verify "$T/ok.rep" -CAfile "$S/ca.pem" -purpose any
same "SUCCESS: messageType 3 (openssl)" "$(ossl_attr "$T/ok.rep" 2.16.840.1.113733.1.9.2)" "PRINTABLESTRING:3"
same "SUCCESS: pkiStatus 0 (openssl)" "$(ossl_attr "$T/ok.rep" 2.16.840.1.113733.1.9.3)" "PRINTABLESTRING:0"
same "SUCCESS: transactionID is the request's (openssl)" "$(ossl_attr "$T/ok.rep" 2.16.840.1.113733.1.9.7)" \
    "$(ossl_attr "$T/rsa.req" 2.16.840.1.113733.1.9.7)"
same "SUCCESS: recipientNonce is the request's senderNonce" "$(attr "$T/ok.rep" recipientNonce)" "$(attr "$T/rsa.req" senderNonce)"
differ "SUCCESS: a fresh senderNonce" "$(attr "$T/ok.rep" senderNonce)" "$(attr "$T/rsa.req" senderNonce)"
expect "SUCCESS: signingTime present" "$(cms_print "$T/ok.rep")" "UTCTIME:"
check "SUCCESS: openssl decrypts the envelope (ktri)" open_reply "$T/ok.rep" "$T/ok.certs" -recip "$T/rsa.self" -inkey "$T/rsa.key"
expect "SUCCESS: the degenerate SignedData holds the CA too" "$(grep -c BEGIN "$T/ok.certs")" 2
if pick "$T/ok.certs" rsa "$T/ok.leaf"; then
    check "issued: verifies against ca.pem" openssl verify -CAfile "$S/ca.pem" "$T/ok.leaf"
    same "issued: the CSR's public key" "$(openssl x509 -in "$T/ok.leaf" -noout -pubkey)" "$(openssl pkey -in "$T/rsa.key" -pubout)"
    expect "issued: the CSR's subject" "$(openssl x509 -in "$T/ok.leaf" -noout -subject | flat)" "subject=CN=rsa,O=Acme"
    expect "issued: keyUsage digitalSignature, keyEncipherment" "$(ext "$T/ok.leaf" keyUsage)" "KeyUsage:criticalDigitalSignature,KeyEncipherment"
    expect "issued: CA:FALSE" "$(ext "$T/ok.leaf" basicConstraints)" "CA:FALSE"
    same "issued: AKI is the CA's SKI" "$(ext "$T/ok.leaf" authorityKeyIdentifier | sed 's/.*Identifier://')" \
        "$(ext "$S/ca.pem" subjectKeyIdentifier | sed 's/.*Identifier://')"
    start=$(date -d "$(openssl x509 -in "$T/ok.leaf" -noout -startdate | cut -d= -f2)" +%s)
    end=$(date -d "$(openssl x509 -in "$T/ok.leaf" -noout -enddate | cut -d= -f2)" +%s)
    same "issued: notBefore 60 s back, --lifetime 3600" "$((end - start))" 3660
else
    fail "SUCCESS: the issued certificate is in the reply"
fi

# PENDING, FAILURE: no pkcsPKIEnvelope; --pending-with-content: an empty one
check "reply: PENDING" reply "$T/rsa.req" "$T/pending.rep" --status pending
check "PENDING: openssl cms -verify -noverify" cms_verify "$T/pending.rep" -noverify
check "PENDING: openssl cms -verify -CAfile ca.pem" cms_verify "$T/pending.rep" -CAfile "$S/ca.pem" -purpose any
expect "PENDING: openssl -cmsout -print shows no eContent" "$(cms_print "$T/pending.rep")" "eContent: <ABSENT>"
expect "PENDING: messageDigest is SHA-256 of nothing" "$(cms_print "$T/pending.rep")" "e3 b0 c4 42 98 fc 1c 14"
same "PENDING: pkiStatus 3 (openssl)" "$(ossl_attr "$T/pending.rep" 2.16.840.1.113733.1.9.3)" "PRINTABLESTRING:3"
same "PENDING: recipientNonce is the request's senderNonce" "$(attr "$T/pending.rep" recipientNonce)" "$(attr "$T/rsa.req" senderNonce)"
check "reply: FAILURE badCertId with a failInfoText" reply "$T/rsa.req" "$T/failure.rep" --status failure --fail-info 4 --fail-text "denied by policy"
check "FAILURE: openssl cms -verify -noverify" cms_verify "$T/failure.rep" -noverify
check "FAILURE: openssl cms -verify -CAfile ca.pem" cms_verify "$T/failure.rep" -CAfile "$S/ca.pem" -purpose any
expect "FAILURE: no eContent" "$(cms_print "$T/failure.rep")" "eContent: <ABSENT>"
same "FAILURE: pkiStatus 2 (openssl)" "$(ossl_attr "$T/failure.rep" 2.16.840.1.113733.1.9.3)" "PRINTABLESTRING:2"
same "FAILURE: failInfo 4 (openssl)" "$(ossl_attr "$T/failure.rep" 2.16.840.1.113733.1.9.4)" "PRINTABLESTRING:4"
same "FAILURE: failInfoText, UTF8String (openssl)" "$(ossl_attr "$T/failure.rep" 1.3.6.1.5.5.7.24.1)" "UTF8STRING:denied by policy"
check "reply: PENDING --pending-with-content" reply "$T/rsa.req" "$T/pwc.rep" --status pending --pending-with-content
check "PENDING with content: openssl cms -verify, no detached content" openssl cms -verify -inform DER -in "$T/pwc.rep" -noverify -out /dev/null
same "PENDING with content: an empty eContent" "$(attr "$T/pwc.rep" eContent)" empty

# Legacy and alternative algorithms in replies (single DES needs openssl's legacy provider)
for variant in "des sha1 rsaEncryption des-cbc" "des3 sha512 sha512WithRSAEncryption des-ede3-cbc" \
    "aes256 sha256 sha256WithRSAEncryption aes-256-cbc" "aes128 sha256 rsaEncryption aes-128-cbc"; do
    set -- $variant
    name="reply $1/$2/$3"
    if reply "$T/rsa.req" "$T/v.rep" --reply-cipher "$1" --reply-digest "$2" --signature-oid "$3" 2>/dev/null; then
        check "$name: openssl cms -verify -CAfile" cms_verify "$T/v.rep" -CAfile "$S/ca.pem" -purpose any
        expect "$name: digestAlgorithm" "$(cms_print "$T/v.rep")" "algorithm: $2 ("
        expect "$name: signatureAlgorithm" "$(cms_print "$T/v.rep" | sed -n '/signatureAlgorithm:/{n;p}' | flat)" "algorithm:$3"
        check "$name: openssl decrypts" open_reply "$T/v.rep" "$T/v.certs" -recip "$T/rsa.self" -inkey "$T/rsa.key" \
            -provider legacy -provider default
        expect "$name: content cipher" "$(cms_print "$T/v.rep.env")" "$4"
        pick "$T/v.certs" rsa "$T/v.leaf" && check "$name: issued certificate verifies" openssl verify -CAfile "$S/ca.pem" "$T/v.leaf"
    else
        fail "$name"
    fi
done
refute "reply: --signature-oid must name the --reply-digest" reply "$T/rsa.req" "$T/x.rep" --reply-digest sha1 --signature-oid sha256WithRSAEncryption

# EC signers: KeyAgreeRecipientInfo (openssl decrypts with the key), PWRI (with the password), refuse
for curve in p256 p384; do
    case $curve in p256) scheme=sha256kdf wrap=id-aes128-wrap ;; p384) scheme=sha384kdf wrap=id-aes256-wrap ;; esac
    request "$curve" pkcsreq "$T/$curve.req"
    check "$curve: the request is ECDSA-signed and verifies (openssl)" openssl cms -verify -inform DER -in "$T/$curve.req" -noverify -out /dev/null
    for mode in kari kari-ukm pwri; do
        extra=(--ec-reply "${mode%-ukm}")
        [ "$mode" = kari-ukm ] && extra+=(--kari-ukm)
        name="$curve $mode"
        check "$name: reply" reply "$T/$curve.req" "$T/$curve-$mode.rep" "${extra[@]}"
        check "$name: openssl cms -verify -CAfile" cms_verify "$T/$curve-$mode.rep" -CAfile "$S/ca.pem" -purpose any
        if [ "$mode" = pwri ]; then
            check "$name: openssl decrypts with -pwri_password" open_reply "$T/$curve-$mode.rep" "$T/$curve-$mode.certs" -pwri_password s3cret
            refute "$name: not with a wrong password" open_reply "$T/$curve-$mode.rep" "$T/x.certs" -pwri_password wrong
            expect "$name: PBKDF2 and id-alg-PWRI-KEK" "$(cms_print "$T/$curve-$mode.rep.env" | flat)" "1.2.840.113549.1.9.16.3.9"
        else
            check "$name: openssl decrypts with the EC key" open_reply "$T/$curve-$mode.rep" "$T/$curve-$mode.certs" \
                -recip "$T/$curve.self" -inkey "$T/$curve.key"
            expect "$name: dhSinglePass-stdDH-$scheme-scheme" "$(cms_print "$T/$curve-$mode.rep.env" | flat)" "$scheme-scheme"
            expect "$name: $wrap" "$(cms_print "$T/$curve-$mode.rep.env")" "$wrap"
            expect "$name: originatorKey names the curve" "$(cms_print "$T/$curve-$mode.rep.env" | grep -A3 originatorKey | flat)" "parameter:OBJECT"
        fi
        pick "$T/$curve-$mode.certs" "$curve" "$T/$curve.leaf" &&
            check "$name: issued certificate verifies" openssl verify -CAfile "$S/ca.pem" "$T/$curve.leaf"
    done
    expect "$curve: issued keyUsage digitalSignature, keyAgreement" "$(ext "$T/$curve.leaf" keyUsage)" "DigitalSignature,KeyAgreement"
    check "$curve refuse: reply" reply "$T/$curve.req" "$T/$curve-refuse.rep" --ec-reply refuse
    same "$curve refuse: failInfo badAlg (openssl)" "$(ossl_attr "$T/$curve-refuse.rep" 2.16.840.1.113733.1.9.4)" "PRINTABLESTRING:0"
    same "$curve refuse: failInfoText" "$(attr "$T/$curve-refuse.rep" failInfoText)" "EC keys are not supported"
done

# RenewalReq: signed by the issued certificate, answered to it; a stranger's is refused
openssl req -new -newkey rsa:2048 -nodes -keyout "$T/renew.key" -subj "/CN=rsa/O=Acme" -out "$T/renew.csr" 2>/dev/null
oracle request --state "$S" --key "$T/rsa.key" --cert "$T/ok.leaf" --csr "$T/renew.csr" --type renewalreq --out "$T/renew.req"
check "RenewalReq: reply" reply "$T/renew.req" "$T/renew.rep"
same "RenewalReq: SUCCESS" "$(attr "$T/renew.rep" pkiStatus)" 0
check "RenewalReq: openssl decrypts with the old certificate's key" open_reply "$T/renew.rep" "$T/renew.certs" -recip "$T/ok.leaf" -inkey "$T/rsa.key"
pick "$T/renew.certs" rsa "$T/renew.leaf"
same "RenewalReq: the new key is certified" "$(openssl x509 -in "$T/renew.leaf" -noout -pubkey 2>/dev/null)" "$(openssl pkey -in "$T/renew.key" -pubout)"
oracle request --state "$S" --key "$T/rsa.key" --cert "$T/rsa.self" --csr "$T/renew.csr" --type renewalreq --out "$T/renew-bad.req"
reply "$T/renew-bad.req" "$T/renew-bad.rep" 2>/dev/null
same "RenewalReq signed by a stranger: FAILURE badRequest" "$(attr "$T/renew-bad.rep" pkiStatus)/$(attr "$T/renew-bad.rep" failInfo)" 2/2

# challengePassword
mkcnf rsa wrong >"$T/bad.cnf"
openssl req -new -key "$T/rsa.key" -config "$T/bad.cnf" -out "$T/bad.csr"
openssl req -new -key "$T/rsa.key" -subj /CN=rsa -out "$T/none.csr"
oracle request --state "$S" --key "$T/rsa.key" --cert "$T/rsa.self" --csr "$T/bad.csr" --type pkcsreq --out "$T/bad.req"
oracle request --state "$S" --key "$T/rsa.key" --cert "$T/rsa.self" --csr "$T/none.csr" --type pkcsreq --out "$T/none.req"
reply "$T/bad.req" "$T/bad.rep" 2>/dev/null
same "wrong challenge: FAILURE badRequest" "$(attr "$T/bad.rep" pkiStatus)/$(attr "$T/bad.rep" failInfo)/$(attr "$T/bad.rep" failInfoText)" \
    "2/2/wrong challenge password"
reply "$T/none.req" "$T/none.rep" 2>/dev/null
same "no challenge: FAILURE badRequest" "$(attr "$T/none.rep" pkiStatus)/$(attr "$T/none.rep" failInfo)" 2/2
reply "$T/bad.req" "$T/bad2.rep" --no-challenge 2>/dev/null
same "--no-challenge: SUCCESS" "$(attr "$T/bad2.rep" pkiStatus)" 0

# --pending-count and CertPoll
request rsa pkcsreq "$T/poll1.req" --transaction-id POLL-1
request rsa certpoll "$T/poll2.req" --transaction-id POLL-1
request rsa certpoll "$T/poll3.req" --transaction-id NO-SUCH-TRANSACTION
reply "$T/poll1.req" "$T/poll1.rep" --pending-count 1 2>/dev/null
same "--pending-count 1: PKCSReq is PENDING" "$(attr "$T/poll1.rep" pkiStatus)" 3
reply "$T/poll2.req" "$T/poll2.rep" --pending-count 1 2>/dev/null
same "--pending-count 1: then CertPoll is SUCCESS" "$(attr "$T/poll2.rep" pkiStatus)" 0
check "CertPoll: openssl opens the certificate" open_reply "$T/poll2.rep" "$T/poll2.certs" -recip "$T/rsa.self" -inkey "$T/rsa.key"
reply "$T/poll3.req" "$T/poll3.rep" 2>/dev/null
same "CertPoll for an unknown transaction: FAILURE badCertId" "$(attr "$T/poll3.rep" pkiStatus)/$(attr "$T/poll3.rep" failInfo)" 2/4

# --fault
reply "$T/rsa.req" "$T/f1.rep" --fault bad-signature 2>/dev/null
refute "--fault bad-signature: openssl cms -verify refuses" cms_verify "$T/f1.rep" -noverify
refute "--fault bad-signature: so does the oracle's parser" oracle show --in "$T/f1.rep"
reply "$T/rsa.req" "$T/f2.rep" --fault wrong-nonce 2>/dev/null
differ "--fault wrong-nonce: recipientNonce is not the senderNonce" "$(attr "$T/f2.rep" recipientNonce)" "$(attr "$T/rsa.req" senderNonce)"
reply "$T/rsa.req" "$T/f3.rep" --fault wrong-transaction 2>/dev/null
differ "--fault wrong-transaction: another transactionID" "$(attr "$T/f3.rep" transactionID)" "$(attr "$T/rsa.req" transactionID)"
check "--fault wrong-transaction: still verifies" cms_verify "$T/f3.rep" -CAfile "$S/ca.pem" -purpose any

# Requests the oracle must refuse, each with one line
printf 'not DER' >"$T/garbage.req"
head -c 600 "$T/rsa.req" >"$T/truncated.req"
/usr/bin/python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[-20] ^= 1; open(sys.argv[2], "wb").write(d)' "$T/rsa.req" "$T/tampered.req"
openssl req -in "$T/rsa.csr" -outform DER -out "$T/rsa.csr.der"
/usr/bin/python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[-5] ^= 1; open(sys.argv[2], "wb").write(d)' "$T/rsa.csr.der" "$T/badsig.csr"
oracle request --state "$S" --key "$T/rsa.key" --cert "$T/rsa.self" --csr "$T/badsig.csr" --type pkcsreq --out "$T/badcsr.req"
for case in "garbage:malformed pkiMessage" "truncated:malformed pkiMessage" "tampered:signature does not verify" "badcsr:CSR: the signature"; do
    file=${case%%:*} reason=${case#*:}
    refute "refused: $file request" reply "$T/$file.req" "$T/x.rep"
    expect "refused: $file request, saying why in one line" "$(cat "$T/last.err")" "$reason"
done

# The other bags, offline: RA and intermediate certificates (openssl), who decrypts and signs
oracle init --state "$T/offra" --bag ca-ra >/dev/null
check "ca-ra: both RA certificates verify against the CA" openssl verify -CAfile "$T/offra/ca.pem" "$T/offra/ra-enc.pem" "$T/offra/ra-sign.pem"
expect "ca-ra: encryption RA: keyEncipherment" "$(ext "$T/offra/ra-enc.pem" keyUsage)" "KeyUsage:criticalKeyEncipherment"
expect "ca-ra: signing RA: digitalSignature" "$(ext "$T/offra/ra-sign.pem" keyUsage)" "KeyUsage:criticalDigitalSignature"
expect "ca-ra: RAs carry the Certificate Request Agent EKU" "$(ext "$T/offra/ra-sign.pem" extendedKeyUsage)" "1.3.6.1.4.1.311.20.2.1"
expect "ca-ra: the root has only CA key usages" "$(ext "$T/offra/ca.pem" keyUsage)" "KeyUsage:criticalCertificateSign,CRLSign"
oracle request --state "$T/offra" --bag ca-ra --key "$T/rsa.key" --cert "$T/rsa.self" --csr "$T/rsa.csr" --type pkcsreq --out "$T/ra.req"
check "ca-ra: reply" oracle reply --state "$T/offra" --bag ca-ra --request "$T/ra.req" --out "$T/ra.rep"
check "ca-ra: the reply verifies against the CA (signed by the signing RA)" cms_verify "$T/ra.rep" -CAfile "$T/offra/ca.pem" -purpose any
expect "ca-ra: signer is the signing RA" "$(attr "$T/ra.rep" signer)" "RA (signing)"
oracle request --state "$T/offra" --bag ca --key "$T/rsa.key" --cert "$T/rsa.self" --csr "$T/rsa.csr" --type pkcsreq --out "$T/ra-wrong.req"
refute "ca-ra: a request encrypted to the root is refused" oracle reply --state "$T/offra" --bag ca-ra --request "$T/ra-wrong.req" --out "$T/x.rep"
expect "ca-ra: ... naming whom it was encrypted to" "$(cat "$T/last.err")" "encrypted to"
oracle init --state "$T/offint" --bag intermediate >/dev/null
check "intermediate: verifies against the root" openssl verify -CAfile "$T/offint/ca.pem" "$T/offint/intermediate.pem"
expect "intermediate: CA:TRUE" "$(ext "$T/offint/intermediate.pem" basicConstraints)" "CA:TRUE"
oracle init --state "$T/offdev" --bag device-ra >/dev/null
check "device-ra: the device certificate verifies against the CA" openssl verify -CAfile "$T/offdev/ca.pem" "$T/offdev/device.pem"
refute "device-ra: the device-issued RA does not (openssl)" openssl verify -CAfile "$T/offdev/ca.pem" -untrusted "$T/offdev/device.pem" "$T/offdev/device-ra.pem"

###############################################################################################
echo "# HTTP"
D=$T/http
if start_server "$D"; then
    curl -s "$URL?operation=GetCACaps" >"$T/caps"
    check "GetCACaps: the default capabilities, CRLF" cmp "$T/caps" <(printf 'POSTPKIOperation\r\nRenewal\r\nSHA-256\r\nAES\r\nSCEPStandard\r\n')
    headers=$(curl -s -D - -o "$T/cacert.der" "$URL?operation=GetCACert&message=any")
    expect "GetCACert --bag ca: application/x-x509-ca-cert" "$headers" "Content-Type: application/x-x509-ca-cert"
    check "GetCACert --bag ca: the CA certificate's DER" cmp "$T/cacert.der" <(openssl x509 -in "$D/ca.pem" -outform DER)
    oracle request --state "$D" --key "$T/rsa.key" --cert "$T/rsa.self" --csr "$T/rsa.csr" --type pkcsreq --out "$T/h.req"
    code=$(curl -s -o "$T/h-post.rep" -w '%{http_code}' --data-binary @"$T/h.req" -H 'Content-Type: application/x-pki-message' "$URL?operation=PKIOperation")
    same "POST PKIOperation: 200" "$code" 200
    check "POST PKIOperation: the reply verifies" cms_verify "$T/h-post.rep" -CAfile "$D/ca.pem" -purpose any
    code=$(curl -s -G -o "$T/h-get.rep" -w '%{http_code}' --data operation=PKIOperation --data-urlencode "message=$(base64 -w0 "$T/h.req")" "$URL")
    same "GET PKIOperation&message=: 200" "$code" 200
    check "GET PKIOperation: the reply verifies" cms_verify "$T/h-get.rep" -CAfile "$D/ca.pem" -purpose any
    same "POST garbage: 400" "$(curl -s -o /dev/null -w '%{http_code}' --data-binary 'garbage' "$URL?operation=PKIOperation")" 400
    same "GET message= not base64: 400" "$(curl -s -o /dev/null -w '%{http_code}' "$URL?operation=PKIOperation&message=%%%")" 400
    same "unknown operation: 400" "$(curl -s -o /dev/null -w '%{http_code}' "$URL?operation=GetNextCACert")" 400
    expect "log: one line per request, the refusal's reason" "$(cat "$D.log")" "POST PKIOperation 400 refused: malformed pkiMessage"
    expect "log: the answer" "$(cat "$D.log")" "-> SUCCESS serial="
fi
if start_server "$T/http2" --caps "A,B,C"; then
    check "--caps A,B,C" cmp <(curl -s "$URL?operation=GetCACaps") <(printf 'A\r\nB\r\nC\r\n')
fi

###############################################################################################
echo "# scep-agent ($AGENT) against the oracle"
for bag in ca ca-ra intermediate; do
    D=$T/srv-$bag KS=$T/ks-$bag
    start_server "$D" --bag "$bag" || { fail "--bag $bag: server starts"; continue; }
    verify=(-CAfile "$D/ca.pem")
    case $bag in
        ca) decrypter=ca count=1 ;;
        ca-ra) decrypter=ra-enc count=3 ;;
        intermediate) decrypter=intermediate count=2 verify+=(-untrusted "$D/intermediate.pem") ;;
    esac
    if [ "$bag" != ca ]; then
        headers=$(curl -s -D - -o "$T/bag.der" "$URL?operation=GetCACert")
        expect "--bag $bag: GetCACert is application/x-x509-ca-ra-cert" "$headers" "Content-Type: application/x-x509-ca-ra-cert"
        same "--bag $bag: $count certificates in the bag (openssl pkcs7)" \
            "$(openssl pkcs7 -inform DER -in "$T/bag.der" -print_certs | grep -c '^subject=')" "$count"
    fi
    check "--bag $bag: agent enroll exits 0" agent enroll "$D" "$KS"
    check "--bag $bag: enrolled certificate verifies (openssl)" openssl verify "${verify[@]}" "$(current_cert "$KS")"
    same "--bag $bag: subject CN=dev-0042,O=Acme (RFC 4514: O=Acme is the first RDN)" \
        "$(openssl x509 -in "$(current_cert "$KS")" -noout -subject -nameopt RFC2253 2>/dev/null)" "subject=CN=dev-0042,O=Acme"
    # openssl reads the agent's PKCSReq as the oracle did
    req=$(ls "$D"/messages/*-PKCSReq.req.der 2>/dev/null | head -1)
    check "--bag $bag: openssl verifies the agent's PKCSReq" openssl cms -verify -inform DER -in "${req:-/dev/null}" -noverify -out "$T/agent.env"
    check "--bag $bag: openssl decrypts it with the $decrypter key" openssl cms -decrypt -inform DER -in "$T/agent.env" \
        -recip "$D/$decrypter.pem" -inkey "$D/$decrypter.key" -out "$T/agent.csr"
    check "--bag $bag: openssl verifies the agent's CSR" openssl req -inform DER -in "$T/agent.csr" -verify -noout
    expect "--bag $bag: the CSR carries the challenge" "$(openssl req -inform DER -in "$T/agent.csr" -noout -text 2>/dev/null)" "challengePassword"
    first=$(openssl x509 -in "$(current_cert "$KS")" -noout -serial 2>/dev/null)
    check "--bag $bag: agent renew exits 0" agent renew "$D" "$KS"
    check "--bag $bag: renewed certificate verifies (openssl)" openssl verify "${verify[@]}" "$(current_cert "$KS")"
    differ "--bag $bag: a new certificate" "$(openssl x509 -in "$(current_cert "$KS")" -noout -serial 2>/dev/null)" "$first"
    expect "--bag $bag: the oracle saw a RenewalReq" "$(cat "$D.log")" "RenewalReq"
done

D=$T/srv-legacy KS=$T/ks-legacy
if start_server "$D" --reply-cipher des --reply-digest sha1; then
    check "micromdm-style replies (DES, SHA-1): agent enroll exits 0" agent enroll "$D" "$KS"
    check "micromdm-style replies (DES, SHA-1): agent renew exits 0" agent renew "$D" "$KS"
    check "micromdm-style replies: the certificate verifies" openssl verify -CAfile "$D/ca.pem" "$(current_cert "$KS")"
fi
D=$T/srv-get KS=$T/ks-get
if start_server "$D" --caps "Renewal,SHA-256,AES"; then
    check "no POSTPKIOperation: agent enroll exits 0" agent enroll "$D" "$KS"
    check "no POSTPKIOperation: agent renew exits 0" agent renew "$D" "$KS"
    expect "no POSTPKIOperation: the agent used GET" "$(cat "$D.log")" "GET PKIOperation 200 RenewalReq"
fi
D=$T/srv-poll KS=$T/ks-poll
if start_server "$D" --pending-count 1 --pending-with-content; then
    check "PENDING once (with empty eContent), then CertPoll: enroll exits 0" agent enroll "$D" "$KS"
    expect "... the agent polled with CertPoll" "$(cat "$D.log")" "CertPoll"
    check "... renew exits 0" agent renew "$D" "$KS"
fi
D=$T/srv-chal KS=$T/ks-chal
if start_server "$D" --challenge other; then
    refute "wrong challenge: agent enroll fails" agent enroll "$D" "$KS"
    expect "wrong challenge: the oracle said FAILURE" "$(cat "$D.log")" "FAILURE failInfo=2"
fi
for fault in bad-signature wrong-nonce wrong-transaction; do
    D=$T/srv-$fault KS=$T/ks-$fault
    start_server "$D" --fault "$fault" || continue
    refute "--fault $fault: agent enroll fails" agent enroll "$D" "$KS"
    [ -e "$KS/current" ] && fail "--fault $fault: the agent committed an identity" || pass "--fault $fault: no identity committed"
done

# Recorded, not judged (README.md, "Known client behaviour at the time of writing")
D=$T/srv-devra KS=$T/ks-devra
if start_server "$D" --bag device-ra; then
    info "--bag device-ra (a correct client refuses): enroll $(agent_outcome enroll "$D" "$KS")"
    req=$(ls "$D"/messages/*.rep.der 2>/dev/null | head -1)
    refute "--bag device-ra: openssl refuses the device-RA-signed reply" \
        cms_verify "${req:-/dev/null}" -CAfile "$D/ca.pem" -certfile "$D/device.pem" -purpose any
fi
for mode in "pending" "failure --fail-text denied"; do
    D=$T/srv-nocontent KS=$T/ks-nocontent
    rm -rf "$D" "$KS"
    start_server "$D" --status $mode || continue
    info "--status $mode (no eContent): enroll $(agent_outcome enroll "$D" "$KS")"
    rep=$(ls "$D"/messages/*.rep.der 2>/dev/null | head -1)
    check "--status ${mode%% *}: the oracle's reply verifies (openssl, empty detached content)" \
        cms_verify "${rep:-/dev/null}" -CAfile "$D/ca.pem" -purpose any
done
stop_server

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
