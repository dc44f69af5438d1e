#!/usr/bin/env bash
# The keystore under abuse, through the shipped binary: SIGKILL at random moments during
# renewals, a planted symlink, a second agent, loose modes, and a full or read-only disk.
#
#   Tests/Interop/keystore.sh BINARY RESPONDER [RENEWALS [KEY_TYPE]]
#
# KEY_TYPE (--key-type, e.g. ec:p256) runs the kill test with keys of that type.
set -u
BIN=$(readlink -f "$1")
RESPONDER=$(readlink -f "$2")
RENEWALS=${3:-200}
KEY_TYPE=${4:-}
. "$(dirname "$0")/../lib/checks.sh"

PORT=$(test_port_base)
mkdir -p "$SCRATCH/responder"
launch_responder "$SCRATCH/responder/out" --port "$PORT" --fault none --state "$SCRATCH/responder" --max-requests 100000
RESPONDER_PID=$LAUNCHED_PID
MOUNTED=
cleanup() {
    kill "$RESPONDER_PID" 2>/dev/null
    [ -n "$MOUNTED" ] && umount "$MOUNTED" 2>/dev/null
    rm -rf "$SCRATCH"
}
trap cleanup EXIT
printf 's3cret\n' > "$SCRATCH/challenge"
chmod 600 "$SCRATCH/challenge"
FP=$(cat "$SCRATCH/responder/ca.sha256")
KS="$SCRATCH/ks"
PUB="$SCRATCH/pub"
mkdir -p "$PUB"
ARGS=(--url "http://127.0.0.1:$PORT/scep" --ca-fingerprint "$FP" --subject "CN=dev-0042,O=Acme"
      --challenge-file "$SCRATCH/challenge" --keystore "$KS" --cert-out "$PUB/cert.pem" --key-out "$PUB/key.pem"
      --bundle-out "$PUB/bundle.pem" ${KEY_TYPE:+--key-type "$KEY_TYPE"})
agent() { "$BIN" "$1" "${ARGS[@]}" "${@:2}"; }
# Each prints nothing for a missing or unreadable file, so a comparison of two blanks never passes.
key_hash() { local k; k=$(openssl pkey -in "$1" -pubout 2>/dev/null) && [ -n "$k" ] && printf '%s' "$k" | sha256sum | cut -c1-64; }
cert_hash() { local k; k=$(openssl x509 -in "$1" -pubkey -noout 2>/dev/null) && [ -n "$k" ] && printf '%s' "$k" | sha256sum | cut -c1-64; }
same() { [ -n "$1" ] && [ "$1" = "$2" ]; }
status_serial() { "$BIN" status --keystore "$KS" 2>/dev/null | sed -n 's/^serial=//p'; }
cert_serial() { openssl x509 -in "$1" -noout -serial 2>/dev/null | sed 's/^serial=//' | tr A-F a-f | sed 's/^0*//'; }

expect_status "first enrollment" 0 agent enroll

# SIGKILL at random moments during renewals.
start=$(date +%s%N); agent renew >/dev/null 2>&1; duration_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "# one renewal takes about ${duration_ms} ms; killing $RENEWALS renewals at random moments"
unopenable=0; mismatched=0; unrepaired=0; killed=0
for i in $(seq "$RENEWALS"); do
    # The binary itself in the background (not a shell function), so $! is the agent we kill.
    "$BIN" renew "${ARGS[@]}" >/dev/null 2>&1 &
    pid=$!
    delay=$(( RANDOM % (duration_ms + duration_ms / 5 + 1) ))
    sleep "$(printf '0.%03d' "$delay")" 2>/dev/null || sleep 0
    kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
    wait "$pid" 2>/dev/null
    # The keystore opens, and its key matches its certificate (status checks both).
    if ! "$BIN" status --keystore "$KS" >/dev/null 2>"$SCRATCH/status.err"; then
        unopenable=$((unopenable + 1))
        echo "# kill $i after ${delay} ms left: $(cat "$SCRATCH/status.err")"
        ls -laR "$KS" | sed 's/^/#   /' | head -40
        continue
    fi
    # Once the agent has run again, the published copies match each other and the keystore.
    if [ $((i % 10)) -eq 0 ]; then
        agent renew >/dev/null 2>"$SCRATCH/rerun.err" || { unrepaired=$((unrepaired + 1)); continue; }
        same "$(key_hash "$PUB/key.pem")" "$(cert_hash "$PUB/cert.pem")" || { mismatched=$((mismatched + 1)); echo "# $i: key.pem vs cert.pem"; }
        same "$(cert_serial "$PUB/cert.pem")" "$(status_serial | sed 's/^0*//')" \
            || { mismatched=$((mismatched + 1)); echo "# $i: cert.pem $(cert_serial "$PUB/cert.pem") vs status $(status_serial)"; }
        same "$(key_hash "$PUB/bundle.pem")" "$(cert_hash "$PUB/bundle.pem")" || { mismatched=$((mismatched + 1)); echo "# $i: bundle"; cp "$PUB/bundle.pem" /tmp/bad-bundle-$i.pem; cp "$SCRATCH/rerun.err" /tmp/bad-rerun-$i.err 2>/dev/null; }
    fi
done
echo "# killed $killed of $RENEWALS renewals mid-flight"
[ "$unopenable" -eq 0 ] && pass "status opened the keystore after every kill ($RENEWALS)" || fail "$unopenable kills left an unopenable keystore"
[ "$mismatched" -eq 0 ] && pass "published key, certificate and keystore always matched after a rerun" || fail "$mismatched mismatches"
[ "$unrepaired" -eq 0 ] && pass "every rerun after a kill succeeded" || fail "$unrepaired reruns failed"

# The published copies are repaired at start when they differ from the keystore.
printf 'stale\n' > "$PUB/cert.pem"
"$BIN" renew --url "http://127.0.0.1:1/scep" --ca-fingerprint "$FP" --keystore "$KS" --cert-out "$PUB/cert.pem" >/dev/null 2>"$SCRATCH/err"
same "$(cert_hash "$PUB/cert.pem")" "$(key_hash "$PUB/key.pem")" && pass "a stale published copy is repaired at start, even when the server is down" \
    || fail "the stale copy was not repaired: $(cat "$SCRATCH/err")"

# Modes: nothing in the keystore is readable by group or others.
loose=$(find "$KS" \( -perm -g=r -o -perm -o=r -o -perm -g=w -o -perm -o=w \) | head -3)
[ -z "$loose" ] && pass "no keystore file is group- or world-accessible" || fail "accessible: $loose"

# A second agent on the same keystore is refused while the first holds the lock.
launch_responder "$SCRATCH/p.out" --port $((PORT + 1)) --fault pending-forever --state "$SCRATCH/responder" --max-requests 1000
PENDING_PID=$LAUNCHED_PID
"$BIN" renew --url "http://127.0.0.1:$((PORT + 1))/scep" --ca-fingerprint "$(cat "$SCRATCH/responder/ca.sha256")" \
    --keystore "$KS" --challenge-file "$SCRATCH/challenge" --poll-interval 1s --poll-timeout 20s >/dev/null 2>&1 &
FIRST=$!
sleep 1.5
expect_status "a second agent is refused while the first holds the lock" 1 agent renew
expect_text "the refusal names the lock holder" "$ERR" "in use by another scep-agent (pid $FIRST)"
kill "$FIRST" "$PENDING_PID" 2>/dev/null; wait "$FIRST" "$PENDING_PID" 2>/dev/null
# The killed renewal left its PENDING transaction in the keystore; the next run polls it, and the
# server (another instance, which never saw it) refuses it: a fresh renewal follows in that run.
[ -s "$KS/pending" ] && pass "the interrupted PENDING renewal is recorded" || fail "no pending record after the interrupted renewal"
expect_status "a refused pending transaction gives way to a fresh renewal" 0 agent renew
expect_text "the refusal is explained" "$ERR" "refused the pending transaction"
[ ! -e "$KS/pending" ] && pass "the refused pending record is gone" || fail "the refused pending record remains"

# A symlink planted in the keystore is refused with a clear error.
before=$(find "$KS" -type f ! -name lock -exec sha256sum {} + | sort)
generation=$(ls "$KS" | grep '^gen-' | tail -1)
ln -s /etc/shadow "$KS/$generation/planted"
expect_status "a planted symlink is refused" 1 agent renew
expect_text "the refusal names the symlink" "$ERR" "planted is a symlink"
expect_status "status refuses it too" 1 "$BIN" status --keystore "$KS"
rm "$KS/$generation/planted"
[ "$before" = "$(find "$KS" -type f ! -name lock -exec sha256sum {} + | sort)" ] && pass "the refused runs changed nothing" || fail "the keystore changed"

# Full disk and read-only filesystem (needs a tmpfs mount; skipped where not permitted).
FULL="$SCRATCH/full"
mkdir -p "$FULL"
if mount -t tmpfs -o size=256k tmpfs "$FULL" 2>/dev/null; then
    MOUNTED=$FULL
    cp -a "$KS" "$FULL/ks"
    rm -rf "$FULL/ks/lock"
    before=$("$BIN" status --keystore "$FULL/ks" | sed -n 's/^serial=//p')
    dd if=/dev/zero of="$FULL/filler" bs=1k count=1024 2>/dev/null
    expect_status "renew on a full disk fails" 1 "$BIN" renew --url "http://127.0.0.1:$PORT/scep" --ca-fingerprint "$FP" \
        --keystore "$FULL/ks" --challenge-file "$SCRATCH/challenge"
    expect_text "the full disk is named" "$ERR" "no space left"
    rm -f "$FULL/filler"
    same "$before" "$("$BIN" status --keystore "$FULL/ks" | sed -n 's/^serial=//p')" && pass "the identity survived the full disk" \
        || fail "the identity changed on a full disk"
    mount -o remount,ro "$FULL"
    expect_status "renew on a read-only filesystem fails" 1 "$BIN" renew --url "http://127.0.0.1:$PORT/scep" --ca-fingerprint "$FP" \
        --keystore "$FULL/ks" --challenge-file "$SCRATCH/challenge"
    expect_text "the read-only filesystem is named" "$ERR" "read-only"
    expect_status "status still reads a read-only keystore" 0 "$BIN" status --keystore "$FULL/ks"
else
    echo "# tmpfs mounts not permitted here: full-disk and read-only checks skipped"
fi

finish
