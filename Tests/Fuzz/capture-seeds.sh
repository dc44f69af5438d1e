#!/usr/bin/env bash
# Captures the fuzz seed corpora (Tests/Fuzz/corpus) from real messages: an enrollment, a refused
# enrollment and a renewal against micromdm scepserver, recorded by a relay on loopback inside a
# network namespace; plus what the openssl CLI makes (certificates, requests, CMS). Run once; the
# result is committed, so CI and `make fuzz` need neither server.
#
#   Tests/Fuzz/capture-seeds.sh BINARY
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(readlink -f "${1:?usage: capture-seeds.sh BINARY}")
out=Tests/Fuzz/corpus
work=$(mktemp -d /tmp/scep-seeds.XXXXXX)
NS=scep-seeds-$$
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; ip netns del "$NS" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
. Scripts/lib/scepserver.sh
# The relay below listens on every interface too: no capture without a namespace.
loopback_namespace "$NS" || { echo "capture-seeds.sh needs a network namespace (ip netns add)" >&2; exit 1; }
in_ns() { "${IN_NS[@]}" "$@"; }

start_scepserver "$work/depot" 18080 factory "$work/server.log"
PIDS+=("$SCEPSERVER_PID")
in_ns python3 Tests/Fuzz/record-proxy.py 18081 18080 "$work/wire" >"$work/proxy.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q ready "$work/proxy.log" 2>/dev/null && in_ns "$BIN" caps --url http://127.0.0.1:18080/scep >/dev/null 2>&1 && break; sleep 0.1; done

url=http://127.0.0.1:18081/scep
fp=$CA_FINGERPRINT
printf 'factory\n' > "$work/challenge"
chmod 600 "$work/challenge"
printf 'wrong\n' > "$work/wrong"
chmod 600 "$work/wrong"
in_ns "$BIN" enroll --url "$url" --ca-fingerprint "$fp" --subject CN=seed-1,O=Acme --keystore "$work/ks" \
    --challenge-file "$work/challenge" --key-out "$work/key.pem" --cert-out "$work/cert.pem" 2>/dev/null
in_ns "$BIN" enroll --url "$url" --ca-fingerprint "$fp" --subject CN=seed-2 --keystore "$work/ks2" \
    --challenge-file "$work/wrong" 2>/dev/null || true
in_ns "$BIN" renew --url "$url" --ca-fingerprint "$fp" --keystore "$work/ks" --challenge-file "$work/challenge" 2>/dev/null
sleep 0.5

rm -rf "$out" && mkdir -p "$out"/{der,cms,certrep,http,caps,config,keystore,fixtures}
# Fixtures: the CA the replies are signed by, and the first enrollment's key and certificate
# (its CertRep is encrypted to them), so the certrep target gets past verification and decryption.
openssl x509 -in "$work/depot/ca.pem" -outform DER -out "$out/fixtures/ca.der"
cp "$work/key.pem" "$out/fixtures/device-key.pem"
openssl x509 -in "$work/cert.pem" -outform DER -out "$out/fixtures/device-cert.der"

# http_body MESSAGE OUT: the body of a recorded HTTP message, de-chunked (Go's server chunks).
http_body() {
    python3 - "$1" "$2" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
head, _, body = data.partition(b"\r\n\r\n")
if b"transfer-encoding: chunked" in head.lower():
    out = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, body = out + body[:size], body[size + 2:]
    body = out
open(sys.argv[2], "wb").write(body)
PY
}

n=0
for response in "$work"/wire/*.response; do
    n=$((n + 1))
    cp "$response" "$out/http/micromdm-$n"
    body=$work/body-$n
    http_body "$response" "$body"
    request=${response%.response}.request
    case "$(head -c 200 "$request")" in
        *GetCACaps*) cp "$body" "$out/caps/micromdm-caps" ;;
        *GetCACert*) cp "$body" "$out/caps/micromdm-getcacert"; cp "$body" "$out/der/micromdm-ca" ;;
        *PKIOperation*)
            cp "$body" "$out/certrep/micromdm-$n"
            cp "$body" "$out/cms/micromdm-certrep-$n"
            # The request's pkiMessage too: SignedData over EnvelopedData, as we build it.
            http_body "$request" "$out/cms/agent-pkimessage-$n"
            ;;
    esac
done

# openssl's own DER and CMS.
openssl req -new -newkey rsa:2048 -nodes -keyout "$work/o.key" -subj "/CN=openssl seed/O=Acme/C=DE" -outform DER -out "$out/der/openssl-csr" 2>/dev/null
openssl x509 -in "$work/depot/ca.pem" -outform DER -out "$out/der/micromdm-ca-cert"
openssl x509 -in "$work/cert.pem" -outform DER -out "$out/der/micromdm-issued"
printf 'seed content' > "$work/content"
openssl cms -sign -in "$work/content" -signer "$work/cert.pem" -inkey "$work/key.pem" -outform DER -nodetach -out "$out/cms/openssl-signed"
openssl cms -encrypt -in "$work/content" -aes256 -recip "$work/cert.pem" -outform DER -out "$out/cms/openssl-enveloped-aes256"
openssl cms -encrypt -in "$work/content" -des3 -recip "$work/cert.pem" -outform DER -out "$out/cms/openssl-enveloped-3des"
openssl crl2pkcs7 -nocrl -certfile "$work/depot/ca.pem" -outform DER -out "$out/caps/openssl-certs-only"

# Config files as images ship them, and one with every option.
cp Packaging/etc/scep-agent.conf "$out/config/packaged"
for profile in Board/profiles/*.conf; do cp "$profile" "$out/config/profile-$(basename "$profile" .conf)"; done
"$BIN" --help | sed -n 's/^  --\([a-z-]*\) \([A-Z]*\).*/\1 = \2/p' > "$out/config/every-option"

# A real keystore generation, in the keystore target's layout: cert, key, chain, meta at "\0--\0".
generation=$(sed -n 's/^generation=//p' "$work/ks/current")
for name in cert.pem key.pem chain.pem meta; do
    cat "$work/ks/$generation/$name" 2>/dev/null || true
    [ "$name" = meta ] || printf '\0--\0'
done > "$out/keystore/micromdm-generation"
cp "$work/ks/current" "$out/keystore/pointer"
cp "$work/ks/$generation/manifest" "$out/keystore/manifest"

find "$out" -type f | sort | sed "s|^$out/||" | awk -F/ '{ n[$1]++ } END { for (t in n) printf "%s: %d seeds\n", t, n[t] }'
