#!/usr/bin/env bash
# The shipped binary through a real HTTP proxy (tinyproxy from Debian), all in a network
# namespace of the test's own: plain HTTP forwarded, HTTPS through a CONNECT tunnel with the
# server's certificate verified end to end, http_proxy and no_proxy, a proxy that refuses
# CONNECT, one that wants credentials, and one that is down.
#
#   Tests/Interop/proxy.sh BINARY RESPONDER
set -u
BIN=$(readlink -f "$1")
RESPONDER=$(readlink -f "$2")
. "$(dirname "$0")/../lib/checks.sh"
. "$(dirname "$0")/../../Scripts/lib/scepserver.sh"

command -v tinyproxy >/dev/null || { fail "tinyproxy is installed (Scripts/install-deps.sh)"; finish; exit 1; }
NS="scep-agent-proxy-$$"
loopback_namespace "$NS" && echo "# in network namespace $NS" || echo "# no network namespace here; on the host's 127.0.0.1"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${IN_NS[*]}" ] && ip netns del "$NS" 2>/dev/null
    rm -rf "$SCRATCH"
}
trap cleanup EXIT
cd "$SCRATCH"
run() { "${IN_NS[@]}" "$@"; }

BASE=$(test_port_base)
RPORT=$BASE; TPORT=$((BASE + 1)); PROXY=$((BASE + 2)); STRICT=$((BASE + 3)); AUTH=$((BASE + 4))

# The test responder (plain HTTP) and an HTTPS server (openssl s_server) behind the proxies.
mkdir -p responder
run "$RESPONDER" --port "$RPORT" --fault none --state responder >responder/out 2>responder/log &
PIDS+=($!)
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=Proxy Test CA" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 2 -subj "/CN=Other CA" 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout localhost.key -out localhost.csr -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' > localhost.ext
openssl x509 -req -in localhost.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile localhost.ext -out localhost.pem 2>/dev/null
mkdir -p www && printf 'AES\nSHA-256\nPOSTPKIOperation\n' > 'www/scep?operation=GetCACaps'
(cd www && exec "${IN_NS[@]}" openssl s_server -accept "127.0.0.1:$TPORT" -cert ../localhost.pem -key ../localhost.key -WWW -quiet) \
    >/dev/null 2>&1 &
PIDS+=($!)

proxy() { # NAME PORT [extra config lines]
    { printf 'Port %s\nListen 127.0.0.1\nTimeout 20\nLogFile "%s"\nLogLevel Info\nMaxClients 8\nAllow 127.0.0.1\nDisableViaHeader Yes\n' \
          "$2" "$SCRATCH/$1.log"
      printf '%s\n' "${@:3}"; } > "$1.conf"
    : > "$1.log"
    run tinyproxy -d -c "$1.conf" >/dev/null 2>&1 &
    PIDS+=($!)
}
proxy open "$PROXY"
proxy strict "$STRICT" "ConnectPort 1"          # CONNECT only to port 1: refuses ours
proxy auth "$AUTH" "BasicAuth scep-device s3cret-proxy-pass"
for _ in $(seq 50); do
    grep -q ready responder/out 2>/dev/null && run bash -c "exec 3<>/dev/tcp/127.0.0.1/$PROXY && exec 4<>/dev/tcp/127.0.0.1/$TPORT && exec 5<>/dev/tcp/127.0.0.1/$AUTH" 2>/dev/null && break
    sleep 0.1
done
FP=$(cat responder/ca.sha256)
printf 's3cret\n' > challenge && chmod 600 challenge
URL="http://127.0.0.1:$RPORT/scep"
agent() { run env ${AGENT_ENV:-} "$BIN" "$@"; }
requests() { grep -c "$2" "$SCRATCH/$1.log"; }

# Plain HTTP, forwarded in absolute form.
expect_status "caps through --proxy" 0 agent caps --url "$URL" --proxy "http://127.0.0.1:$PROXY"
expect_text "the capabilities came back" "$OUT" "POSTPKIOperation"
[ "$(requests open "GET http://127.0.0.1:$RPORT/scep?operation=GetCACaps")" -ge 1 ] && pass "the proxy forwarded GetCACaps" \
    || fail "the proxy's log shows no GetCACaps: $(tail -3 open.log)"
expect_status "enroll through the proxy" 0 agent enroll --url "$URL" --ca-fingerprint "$FP" --subject CN=dev-proxy \
    --keystore ks --challenge-file challenge --proxy "http://127.0.0.1:$PROXY"
[ "$(requests open "POST http://127.0.0.1:$RPORT/scep?operation=PKIOperation")" -ge 1 ] && pass "the PKIOperation went through the proxy" \
    || fail "no PKIOperation in the proxy's log"

# The environment, as curl and wget read it, and no_proxy.
before=$(requests open GetCACaps)
AGENT_ENV="http_proxy=http://127.0.0.1:$PROXY" expect_status "caps through http_proxy" 0 agent caps --url "$URL"
[ "$(requests open GetCACaps)" -gt "$before" ] && pass "http_proxy was honoured" || fail "http_proxy was not used"
before=$(requests open GetCACaps)
AGENT_ENV="http_proxy=http://127.0.0.1:$PROXY no_proxy=localhost,127.0.0.1" expect_status "caps with no_proxy naming the host" 0 agent caps --url "$URL"
[ "$(requests open GetCACaps)" -eq "$before" ] && pass "no_proxy went direct" || fail "no_proxy was ignored"

# HTTPS through CONNECT: TLS runs end to end, verified against --tls-ca, not the proxy's word.
expect_status "https through a CONNECT tunnel" 0 agent caps --url "https://localhost:$TPORT/scep" --tls-ca ca.pem \
    --proxy "http://127.0.0.1:$PROXY"
expect_text "the capabilities came over the tunnel" "$OUT" "POSTPKIOperation"
[ "$(requests open "CONNECT localhost:$TPORT")" -ge 1 ] && pass "the proxy saw a CONNECT" || fail "no CONNECT in the proxy's log"
expect_status "through the tunnel, an untrusted server is still refused" 1 agent caps --url "https://localhost:$TPORT/scep" \
    --tls-ca other.pem --proxy "http://127.0.0.1:$PROXY"
expect_text "the refusal is TLS's" "$ERR" "not signed by a trusted CA"

# A proxy that refuses CONNECT, one that is down, one that wants credentials.
expect_status "a proxy refusing CONNECT" 1 agent caps --url "https://localhost:$TPORT/scep" --tls-ca ca.pem \
    --proxy "http://127.0.0.1:$STRICT"
expect_text "the refusal is named" "$ERR" "the proxy refused CONNECT to localhost:$TPORT"
expect_status "a proxy that is down" 1 agent caps --url "$URL" --proxy "http://127.0.0.1:1"
expect_text "the proxy is named" "$ERR" "cannot reach the proxy 127.0.0.1:1"
expect_status "a proxy that wants credentials" 1 agent caps --url "$URL" --proxy "http://127.0.0.1:$AUTH"
expect_text "the agent says where credentials go" "$ERR" "--proxy-credentials-file"
printf 'scep-device:s3cret-proxy-pass\n' > proxy-credentials
chmod 644 proxy-credentials
expect_status "credentials readable by others are refused" 2 agent caps --url "$URL" --proxy "http://127.0.0.1:$AUTH" \
    --proxy-credentials-file proxy-credentials
chmod 600 proxy-credentials
expect_status "with --proxy-credentials-file" 0 agent caps --url "$URL" --proxy "http://127.0.0.1:$AUTH" \
    --proxy-credentials-file proxy-credentials --log-level debug
expect_status "https through an authenticating proxy" 0 agent caps --url "https://localhost:$TPORT/scep" --tls-ca ca.pem \
    --proxy "http://127.0.0.1:$AUTH" --proxy-credentials-file proxy-credentials --log-level debug
case "$ERR" in *s3cret-proxy-pass*|*c2NlcC1kZXZpY2U6*) fail "the proxy credentials reached the log" ;; *) pass "no credentials in the log" ;; esac
expect_status "credentials in the proxy URL are refused" 2 agent caps --url "$URL" --proxy "http://u:p@127.0.0.1:$AUTH"
expect_text "and the refusal says where they go" "$ERR" "--proxy-credentials-file"

finish
