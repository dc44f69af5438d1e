#!/usr/bin/env bash
# Device keys inside a TPM 2.0, through the shipped binary, against parts that are not ours:
#   swtpm            the TPM (Debian's software TPM, on its raw command port)
#   micromdm         the SCEP server for RSA keys; the Python oracle for EC keys (key agreement)
#   tpm2-openssl     an independent TSS (tpm2-tss ESYS under openssl 3) that loads the agent's key
#                    files from the keystore, recreating the storage root itself, and signs with them
#   tpm2-tools       loads the same blobs and reads the object's public area and attributes
#   openssl verify   every issued certificate
#
#   Tests/Interop/tpm.sh BINARY RESPONDER [RUNNER [RENEWALS]]
#
# RUNNER runs the binary (qemu-aarch64-static for the ARM builds); with a RUNNER only the
# enrollment, renewal, cross-checks and errors run. RENEWALS (default 200) is the kill test's count.
set -u
BIN=$(readlink -f "$1")
RESPONDER=$(readlink -f "$2")
RUNNER=${3:-}
RENEWALS=${4:-200}
HERE=$(dirname "$(readlink -f "$0")")
. "$HERE/../lib/checks.sh"
. "$HERE/../../Scripts/lib/scepserver.sh"
. "$HERE/../../Scripts/lib/swtpm.sh"

NS="scep-agent-tpm-$$"
if loopback_namespace "$NS"; then
    echo "# running swtpm and the servers in network namespace $NS"
else
    NS=
    echo "# no network namespace (not permitted here); running swtpm and the servers on 127.0.0.1"
fi
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    stop_swtpm
    wait 2>/dev/null
    [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
    rm -rf "$SCRATCH"
}
trap cleanup EXIT

BASE=$(test_port_base)
start_swtpm "$SCRATCH/tpm" "$BASE" "$SCRATCH/swtpm.log" || { fail "swtpm starts"; finish; exit 1; }
TPM=$TPM_DEVICE
TPM_PORT=$BASE
# The independent TSS, inside the namespace, on the same TPM.
tss() { "${IN_NS[@]}" env TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$TPM_PORT" \
        TPM2OPENSSL_TCTI="swtpm:host=127.0.0.1,port=$TPM_PORT" "$@"; }
# swtpm has no resource manager and three object slots: between tools (and after a killed agent),
# flush what is loaded, as the kernel's /dev/tpmrm0 does when a client goes.
flush_tpm() { tss tpm2_flushcontext -t >/dev/null 2>&1; }

MDM_PORT=$((BASE + 10))
start_scepserver "$SCRATCH/depot" "$MDM_PORT" factory-secret "$SCRATCH/server.log" || { fail "micromdm scepserver starts"; finish; exit 1; }
PIDS+=("$SCEPSERVER_PID")
MDM_URL="http://127.0.0.1:$MDM_PORT/scep"
FP=$CA_FINGERPRINT
printf 'factory-secret\n' > "$SCRATCH/challenge"
chmod 600 "$SCRATCH/challenge"
KS="$SCRATCH/ks"
agent() { "${IN_NS[@]}" $RUNNER "$BIN" "$@"; }
mdm() { # COMMAND [options]: against micromdm, which wants the challenge on renewals too
    agent "$1" --url "$MDM_URL" --ca-fingerprint "$FP" --keystore "$KS" --challenge-file "$SCRATCH/challenge" \
        --tpm-device "$TPM" "${@:2}"
}
status_field() { agent status --keystore "${2:-$KS}" 2>/dev/null | sed -n "s/^$1=//p"; }
current_generation() { sed -n 's/^generation=//p' "${1:-$KS}/current"; }
cert_pub() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64; }

# cross_check NAME KEYFILE CERT: the key file loads in an independent TSS, on this TPM, to the
# certificate's public key; it signs there; and the TPM object cannot leave the TPM.
cross_check() {
    local name=$1 keyfile=$2 cert=$3 work="$SCRATCH/check-$1"
    mkdir -p "$work"
    local want
    want=$(cert_pub "$cert")
    # The key file's layout, read by asn1crypto (not by our DER code).
    if /usr/bin/python3 - "$keyfile" "$work" > "$work/layout" 2>&1 <<'PY'
import sys
from asn1crypto import core, pem
class TPMKey(core.Sequence):
    _fields = [('type', core.ObjectIdentifier), ('emptyAuth', core.Boolean, {'explicit': 0, 'optional': True}),
               ('parent', core.Integer), ('pubkey', core.OctetString), ('privkey', core.OctetString)]
kind, _, der = pem.unarmor(open(sys.argv[1], 'rb').read())
key = TPMKey.load(der, strict=True)
open(sys.argv[2] + '/key.pub', 'wb').write(key['pubkey'].native)
open(sys.argv[2] + '/key.priv', 'wb').write(key['privkey'].native)
print(kind, key['type'].dotted, key['emptyAuth'].native, hex(key['parent'].native))
PY
    then
        [ "$(cat "$work/layout")" = "TSS2 PRIVATE KEY 2.23.133.10.1.3 True 0x40000001" ] \
            && pass "$name: the key file is a TSS2 PRIVATE KEY (loadable, empty auth, owner hierarchy parent)" \
            || fail "$name: key file layout" "$(cat "$work/layout")"
    else
        fail "$name: asn1crypto reads the key file" "$(cat "$work/layout")"
        return
    fi
    flush_tpm
    # tpm2-openssl: recreates the storage root from the key-file convention's template, loads the
    # blob under it, and signs inside the TPM; plain openssl verifies with the certificate.
    if tss openssl pkey -provider tpm2 -provider default -in "$keyfile" -pubout -outform DER -out "$work/provider-pub.der" 2>"$work/err" \
        && [ "$(sha256sum < "$work/provider-pub.der" | cut -c1-64)" = "$want" ]; then
        pass "$name: tpm2-openssl reads the key file to the certificate's public key"
    else
        fail "$name: tpm2-openssl reads the key file" "$(cat "$work/err")"
    fi
    head -c 200 /dev/urandom > "$work/message"
    openssl dgst -sha256 -binary "$work/message" > "$work/digest"
    openssl x509 -in "$cert" -noout -pubkey > "$work/cert-pub.pem"
    if tss openssl pkeyutl -provider tpm2 -provider default -propquery '?provider=tpm2' -sign -inkey "$keyfile" \
            -in "$work/digest" -pkeyopt digest:sha256 -out "$work/signature" 2>"$work/err" \
        && openssl pkeyutl -verify -pubin -inkey "$work/cert-pub.pem" -in "$work/digest" -sigfile "$work/signature" \
            -pkeyopt digest:sha256 >/dev/null 2>&1; then
        pass "$name: the TPM signs with the key (tpm2-openssl), and the certificate verifies it"
    else
        fail "$name: a TPM signature with the key verifies" "$(cat "$work/err")"
    fi
    # tpm2-tools: the same storage root, the blobs loaded, the public area read back.
    flush_tpm
    if tss tpm2_createprimary -Q -C o -g sha256 -G ecc256:aes128cfb \
            -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt' -c "$work/srk.ctx" 2>"$work/err" \
        && flush_tpm && tss tpm2_load -Q -C "$work/srk.ctx" -u "$work/key.pub" -r "$work/key.priv" -c "$work/key.ctx" 2>>"$work/err" \
        && flush_tpm && tss tpm2_readpublic -c "$work/key.ctx" -f der -o "$work/tools-pub.der" > "$work/readpublic" 2>>"$work/err"; then
        [ "$(sha256sum < "$work/tools-pub.der" | cut -c1-64)" = "$want" ] \
            && pass "$name: tpm2-tools loads the blobs; the object's public area is the certificate's key" \
            || fail "$name: tpm2-tools public area differs from the certificate"
        attributes=$(sed -n 's/^ *value: //p' "$work/readpublic" | grep fixedtpm | head -1)
        case "$attributes" in
            *fixedtpm*fixedparent*sensitivedataorigin*)
                pass "$name: the object is fixedTPM, fixedParent and made inside the TPM: it cannot be exported ($attributes)" ;;
            *) fail "$name: exportable attributes" "$attributes" ;;
        esac
        flush_tpm
        if tss tpm2_duplicate -c "$work/key.ctx" -C null -G null -r "$work/dup.priv" -s "$work/dup.seed" >/dev/null 2>"$work/dup.err"; then
            fail "$name: TPM2_Duplicate copied the key out"
        else
            pass "$name: TPM2_Duplicate is refused ($(grep -o 'TPM_RC[A-Z_]*\|0x[0-9a-fA-F]*' "$work/dup.err" | head -1))"
        fi
    else
        fail "$name: tpm2-tools loads the key file's blobs" "$(cat "$work/err")"
    fi
    flush_tpm
}

# --- Enrollment with a TPM key, against micromdm ------------------------------------------------
expect_status "enroll with --key-storage tpm" 0 mdm enroll --subject "CN=tpm-0042,O=Acme" --key-storage tpm \
    --cert-out "$SCRATCH/cert.pem" --chain-out "$SCRATCH/chain.pem"
expect_text "the enrollment says where the key lives" "$ERR" "key_storage=tpm"
GEN=$(current_generation)
[ -s "$KS/$GEN/key.tpm2" ] && [ ! -e "$KS/$GEN/key.pem" ] && [ ! -e "$KS/$GEN/key.enc" ] \
    && pass "the generation holds the TPM key file and no private key" || fail "generation files" "$(ls "$KS/$GEN")"
[ "$(status_field key_storage)" = tpm ] && [ "$(status_field key_type)" = rsa:2048 ] \
    && pass "status: key_storage=tpm key_type=rsa:2048" || fail "status" "$(agent status --keystore "$KS" 2>&1)"
openssl verify -CAfile "$SCRATCH/depot/ca.pem" "$SCRATCH/cert.pem" >/dev/null 2>&1 \
    && pass "openssl verifies the TPM key's certificate" || fail "openssl verify"
cross_check enrolled "$KS/$GEN/key.tpm2" "$SCRATCH/cert.pem"

expect_status "--key-out with a TPM key is refused" 2 mdm renew --key-storage tpm --key-out "$SCRATCH/key.pem"
expect_text "the refusal says why" "$ERR" "nothing to publish with --key-out or --bundle-out"
expect_status "--bundle-out with a TPM key is refused" 2 mdm renew --key-storage tpm --bundle-out "$SCRATCH/bundle.pem"
[ ! -e "$SCRATCH/key.pem" ] && [ ! -e "$SCRATCH/bundle.pem" ] && pass "no key file was published" || fail "a key file was published"

# --- Renewal: a new TPM key; the old one stays usable until the commit ----------------------------
OLD_GEN=$GEN
OLD_PUB=$(cert_pub "$SCRATCH/cert.pem")
cp "$SCRATCH/cert.pem" "$SCRATCH/old-cert.pem"
expect_status "renew, no --key-storage given" 0 mdm renew --cert-out "$SCRATCH/cert.pem"
GEN=$(current_generation)
[ "$(status_field key_storage)" = tpm ] && pass "a renewal keeps the key in the TPM when --key-storage is not given" \
    || fail "the renewal moved the key out of the TPM"
[ "$(cert_pub "$SCRATCH/cert.pem")" != "$OLD_PUB" ] && pass "the renewal made a new TPM key" || fail "same key after renewal"
openssl verify -CAfile "$SCRATCH/depot/ca.pem" "$SCRATCH/cert.pem" >/dev/null 2>&1 \
    && pass "openssl verifies the renewed certificate" || fail "openssl verify (renewed)"
cross_check renewed "$KS/$GEN/key.tpm2" "$SCRATCH/cert.pem"
[ "$(sed -n 's/^generation=//p' "$KS/previous")" = "$OLD_GEN" ] && cross_check previous "$KS/$OLD_GEN/key.tpm2" "$SCRATCH/old-cert.pem" \
    || fail "the previous generation is kept"

# --- TPM errors: a clear message, exit 1, the identity in service kept --------------------------
SERIAL=$(status_field serial)
kept() { [ "$(status_field serial)" = "$SERIAL" ] && [ "$(current_generation)" = "$GEN" ]; }
expect_status "a TPM port nobody listens on" 1 mdm renew --tpm-device "tcp:127.0.0.1:$((BASE + 7))"
expect_text "it names the TPM and the refusal" "$ERR" "TPM"
expect_text "it names the TPM and the refusal (errno)" "$ERR" "Connection refused"
kept && pass "the identity in service is kept" || fail "the identity changed"
expect_status "a missing TPM device" 1 mdm renew --tpm-device /dev/no-such-tpm
expect_text "it says the device is missing" "$ERR" "/dev/no-such-tpm: No such file or directory"
: > "$SCRATCH/not-a-tpm"
mkfifo "$SCRATCH/fifo-tpm"
expect_status "a regular file as the TPM device" 1 mdm renew --tpm-device "$SCRATCH/not-a-tpm"
expect_text "it is refused as not a device" "$ERR" "not a character device"
expect_status "a FIFO as the TPM device is refused, not waited on" 1 timeout 20 "${IN_NS[@]}" $RUNNER "$BIN" renew --url "$MDM_URL" \
    --ca-fingerprint "$FP" --keystore "$KS" --challenge-file "$SCRATCH/challenge" --tpm-device "$SCRATCH/fifo-tpm"
expect_text "the FIFO is named" "$ERR" "not a character device"
kept && pass "the identity in service survived the device errors" || fail "the identity changed"

# Another TPM: the key file belongs to the first one's storage root.
FIRST_SWTPM=$SWTPM_PID
start_swtpm "$SCRATCH/tpm2" $((BASE + 20)) "$SCRATCH/swtpm2.log" || fail "a second swtpm starts"
PIDS+=("$SWTPM_PID")
SWTPM_PID=$FIRST_SWTPM
expect_status "renewing with another TPM" 1 mdm renew --tpm-device "tcp:127.0.0.1:$((BASE + 20))"
expect_text "it says the key belongs to another TPM" "$ERR" "does not belong to this TPM"
kept && pass "the identity survived the wrong TPM" || fail "the identity changed"

if [ -z "$RUNNER" ]; then
    # An owner hierarchy with a password: refused without it, used with it.
    tss tpm2_changeauth -c owner owner-pass 2>"$SCRATCH/err" || fail "tpm2_changeauth sets an owner password" "$(cat "$SCRATCH/err")"
    expect_status "renew when the owner hierarchy has a password" 1 mdm renew
    expect_text "it says the authorization failed" "$ERR" "authorization failed"
    case "$ERR" in *owner-pass*) fail "the error shows the password" ;; *) pass "no password in the error" ;; esac
    kept && pass "the identity survived the refused authorization" || fail "the identity changed"
    printf 'owner-pass\n' > "$SCRATCH/owner-auth"
    chmod 644 "$SCRATCH/owner-auth"
    expect_status "an owner password file readable by others is refused" 2 mdm renew --tpm-owner-auth-file "$SCRATCH/owner-auth"
    chmod 600 "$SCRATCH/owner-auth"
    expect_status "renew with --tpm-owner-auth-file" 0 mdm renew --tpm-owner-auth-file "$SCRATCH/owner-auth" --cert-out "$SCRATCH/cert.pem"
    tss tpm2_changeauth -c owner -p owner-pass 2>/dev/null || fail "the owner password is cleared again"
    GEN=$(current_generation); SERIAL=$(status_field serial)

    # Dictionary-attack lockout: one wrong password on another program's DA-protected object
    # locks the TPM. The agent's key is noDA: it goes on renewing.
    flush_tpm
    tss tpm2_dictionarylockout -Q -s -n 1 -t 600 -l 600 2>/dev/null
    tss tpm2_createprimary -Q -C o -g sha256 -G ecc256:aes128cfb -c "$SCRATCH/da-srk.ctx" 2>/dev/null; flush_tpm
    tss tpm2_create -Q -C "$SCRATCH/da-srk.ctx" -G ecc256 -p right -u "$SCRATCH/da.pub" -r "$SCRATCH/da.priv" 2>/dev/null; flush_tpm
    tss tpm2_load -Q -C "$SCRATCH/da-srk.ctx" -u "$SCRATCH/da.pub" -r "$SCRATCH/da.priv" -c "$SCRATCH/da.ctx" 2>/dev/null; flush_tpm
    echo x > "$SCRATCH/da.msg"
    tss tpm2_sign -Q -c "$SCRATCH/da.ctx" -p wrong -g sha256 -o "$SCRATCH/da.sig" "$SCRATCH/da.msg" 2>/dev/null
    if tss tpm2_getcap properties-variable 2>/dev/null | grep -q 'inLockout: *1'; then
        expect_status "renew while another program has put the TPM in lockout (the key is noDA)" 0 mdm renew \
            --cert-out "$SCRATCH/cert.pem"
        flush_tpm
        tss tpm2_dictionarylockout -Q -c 2>/dev/null
        tss tpm2_dictionarylockout -Q -s -n 32 -t 600 -l 600 2>/dev/null
    else
        fail "tpm2-tools put the TPM in lockout"
    fi
    GEN=$(current_generation)
fi

# --- Where the key in service lives decides, unless told otherwise -------------------------------
expect_status "--key-out while the key in service lives in the TPM is refused" 2 mdm renew --key-out "$SCRATCH/key.pem"
expect_text "the refusal says why" "$ERR" "the key in service lives in the TPM"
expect_status "a tcp: TPM address that is not loopback is refused" 2 mdm renew --tpm-device tcp:192.0.2.1:2321
cp -a "$KS" "$SCRATCH/ks-move"
rm -f "$SCRATCH/ks-move/lock"
expect_status "--key-storage file moves the identity out of the TPM" 0 mdm renew --keystore "$SCRATCH/ks-move" --key-storage file
expect_text "with a warning" "$ERR" "moves the identity out of the TPM"
[ "$(status_field key_storage "$SCRATCH/ks-move")" = file ] && pass "the moved identity's key is a file" || fail "not moved"

# --- EC and larger RSA keys in the TPM, against the Python oracle ------------------------------
ORACLE_PORT=$((BASE + 30))
mkdir -p "$SCRATCH/oracle"
"${IN_NS[@]}" /usr/bin/python3 "$HERE/../Oracle/scep_oracle.py" --port "$ORACLE_PORT" --state "$SCRATCH/oracle" \
    >"$SCRATCH/oracle/out" 2>"$SCRATCH/oracle/log" &
PIDS+=($!)
for _ in $(seq 100); do grep -q ready "$SCRATCH/oracle/out" 2>/dev/null && break; sleep 0.1; done
printf 's3cret\n' > "$SCRATCH/oracle-challenge"
chmod 600 "$SCRATCH/oracle-challenge"
oracle_enroll() { # NAME KEY_TYPE [options]
    local ks="$SCRATCH/ks-$1"
    expect_status "$1: enroll a $2 TPM key with the oracle" 0 agent enroll --url "http://127.0.0.1:$ORACLE_PORT/scep" \
        --ca-fingerprint "$(cat "$SCRATCH/oracle/ca.sha256")" --subject "CN=tpm-$1" --keystore "$ks" \
        --challenge-file "$SCRATCH/oracle-challenge" --key-storage tpm --key-type "$2" --tpm-device "$TPM" \
        --cert-out "$SCRATCH/$1.pem" "${@:3}"
    [ "$(status_field key_type "$ks")" = "$2" ] && [ "$(status_field key_storage "$ks")" = tpm ] \
        && pass "$1: status says $2 in the TPM" || fail "$1: status" "$(agent status --keystore "$ks" 2>&1)"
    openssl verify -CAfile "$SCRATCH/oracle/ca.pem" "$SCRATCH/$1.pem" >/dev/null 2>&1 \
        && pass "$1: openssl verifies the certificate" || fail "$1: openssl verify"
}
# The oracle answers EC keys by key agreement (KARI): the TPM computes the ECDH secret (TPM2_ECDH_ZGen).
oracle_enroll p256 ec:p256
[ -z "$RUNNER" ] && cross_check p256 "$SCRATCH/ks-p256/$(current_generation "$SCRATCH/ks-p256")/key.tpm2" "$SCRATCH/p256.pem"
oracle_enroll p384 ec:p384
oracle_enroll rsa3072 rsa:3072

if [ -n "$RUNNER" ]; then
    finish
    exit
fi

# --- SIGKILL at random moments during TPM-backed renewals -------------------------------------
RESPONDER_PORT=$((BASE + 40))
mkdir -p "$SCRATCH/responder"
"${IN_NS[@]}" "$RESPONDER" --port "$RESPONDER_PORT" --fault none --state "$SCRATCH/responder" --max-requests 100000 \
    >"$SCRATCH/responder/out" 2>"$SCRATCH/responder/log" &
PIDS+=($!)
for _ in $(seq 100); do grep -q ready "$SCRATCH/responder/out" 2>/dev/null && break; sleep 0.1; done
printf 's3cret\n' > "$SCRATCH/responder-challenge"
chmod 600 "$SCRATCH/responder-challenge"
KKS="$SCRATCH/kill-ks"
kill_args=(--url "http://127.0.0.1:$RESPONDER_PORT/scep" --ca-fingerprint "$(cat "$SCRATCH/responder/ca.sha256")"
           --subject "CN=tpm-kill" --keystore "$KKS" --challenge-file "$SCRATCH/responder-challenge" --tpm-device "$TPM"
           --cert-out "$SCRATCH/kill-cert.pem")
expect_status "kill test: first enrollment with a TPM key" 0 agent enroll "${kill_args[@]}" --key-storage tpm
start=$(date +%s%N); agent renew "${kill_args[@]}" >/dev/null 2>&1; duration_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "# one TPM-backed renewal takes about ${duration_ms} ms; killing $RENEWALS at random moments"
unopenable=0; unloadable=0; unrepaired=0; killed=0
for i in $(seq "$RENEWALS"); do
    "${IN_NS[@]}" "$BIN" renew "${kill_args[@]}" >/dev/null 2>&1 &
    pid=$!
    delay=$(( RANDOM % (duration_ms + duration_ms / 5 + 1) ))
    sleep "$(printf '0.%03d' "$delay")" 2>/dev/null || sleep 0
    # The agent is a child of `ip netns exec` (which execs it), so $! is the agent itself.
    kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
    wait "$pid" 2>/dev/null
    if ! agent status --keystore "$KKS" >/dev/null 2>"$SCRATCH/status.err"; then
        unopenable=$((unopenable + 1))
        echo "# kill $i after ${delay} ms: $(cat "$SCRATCH/status.err")"
        continue
    fi
    if [ $((i % 20)) -eq 0 ]; then
        # The TPM key the keystore names loads and signs in the independent TSS, and matches the
        # certificate beside it; then the agent runs again on the same TPM.
        gen=$(current_generation "$KKS")
        flush_tpm
        openssl x509 -in "$KKS/$gen/cert.pem" -noout -pubkey > "$SCRATCH/kill-pub.pem"
        openssl dgst -sha256 -binary "$SCRATCH/challenge" > "$SCRATCH/kill-digest"
        if ! tss openssl pkeyutl -provider tpm2 -provider default -propquery '?provider=tpm2' -sign -inkey "$KKS/$gen/key.tpm2" \
                -in "$SCRATCH/kill-digest" -pkeyopt digest:sha256 -out "$SCRATCH/kill-sig" 2>/dev/null \
            || ! openssl pkeyutl -verify -pubin -inkey "$SCRATCH/kill-pub.pem" -in "$SCRATCH/kill-digest" \
                -sigfile "$SCRATCH/kill-sig" -pkeyopt digest:sha256 >/dev/null 2>&1; then
            unloadable=$((unloadable + 1))
            echo "# kill $i: the TPM key of $gen does not load or sign"
        fi
        agent renew "${kill_args[@]}" >/dev/null 2>"$SCRATCH/rerun.err" || { unrepaired=$((unrepaired + 1)); echo "# $i: $(tail -1 "$SCRATCH/rerun.err")"; }
    fi
done
echo "# killed $killed of $RENEWALS TPM-backed renewals mid-flight"
[ "$unopenable" -eq 0 ] && pass "status opened the keystore after every kill ($RENEWALS)" || fail "$unopenable kills left an unopenable keystore"
[ "$unloadable" -eq 0 ] && pass "the TPM key the keystore names always loaded and signed (tpm2-openssl)" || fail "$unloadable unloadable keys"
[ "$unrepaired" -eq 0 ] && pass "every rerun after a kill succeeded (nothing left loaded in the TPM)" || fail "$unrepaired reruns failed"

# --- The daemon, with short certificates, on TPM keys ------------------------------------------
DAEMON_PORT=$((BASE + 50))
mkdir -p "$SCRATCH/short"
"${IN_NS[@]}" "$RESPONDER" --port "$DAEMON_PORT" --fault none --lifetime 30 --state "$SCRATCH/short" --max-requests 100000 \
    >"$SCRATCH/short/out" 2>"$SCRATCH/short/log" &
PIDS+=($!)
for _ in $(seq 100); do grep -q ready "$SCRATCH/short/out" 2>/dev/null && break; sleep 0.1; done
DKS="$SCRATCH/daemon-ks"
"${IN_NS[@]}" "$BIN" run --url "http://127.0.0.1:$DAEMON_PORT/scep" --ca-fingerprint "$(cat "$SCRATCH/short/ca.sha256")" \
    --subject "CN=tpm-daemon" --keystore "$DKS" --challenge-file "$SCRATCH/responder-challenge" --key-storage tpm \
    --tpm-device "$TPM" --cert-out "$SCRATCH/daemon-cert.pem" --renew-before 50% --retry-min 2s --retry-max 5s \
    2>"$SCRATCH/daemon.log" &
DAEMON=$!
PIDS+=("$DAEMON")
keys=(); invalid=0
for _ in $(seq 70); do
    sleep 1
    [ -s "$SCRATCH/daemon-cert.pem" ] || continue
    openssl x509 -in "$SCRATCH/daemon-cert.pem" -noout -checkend 0 >/dev/null 2>&1 || invalid=$((invalid + 1))
    key=$(cert_pub "$SCRATCH/daemon-cert.pem" 2>/dev/null)
    last=
    [ "${#keys[@]}" -gt 0 ] && last=${keys[${#keys[@]}-1]}
    [ -n "$key" ] && [ "$last" != "$key" ] && keys+=("$key")
    [ "${#keys[@]}" -ge 4 ] && break
done
kill "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null
[ "${#keys[@]}" -ge 4 ] && pass "the daemon enrolled and renewed 3 times with new TPM keys (${#keys[@]} keys)" \
    || fail "the daemon's TPM renewals" "$(tail -3 "$SCRATCH/daemon.log")"
[ "$invalid" -eq 0 ] && pass "the published certificate was valid at every sample" || fail "$invalid expired samples"
[ "$(status_field key_storage "$DKS")" = tpm ] && pass "the daemon's identity is in the TPM" || fail "daemon key storage"
for gen in "$DKS"/gen-*; do [ -e "$gen/key.pem" ] && fail "a daemon generation holds a key file: $gen"; done

finish
