#!/usr/bin/env bash
# make deb: the Debian package, built offline with dpkg-deb from the static binary.
#
#   Scripts/build-deb.sh BINARY OUTDIR
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:?usage: build-deb.sh BINARY OUTDIR}
OUT=${2:?usage: build-deb.sh BINARY OUTDIR}
VERSION=$("$BIN" --version | awk '{ print $2 }')
ARCH=$(dpkg --print-architecture)
ROOT=$(mktemp -d /tmp/scep-agent-deb.XXXXXX)
chmod 0755 "$ROOT"
trap 'rm -rf "$ROOT"' EXIT

install -D -m 0755 "$BIN" "$ROOT/usr/sbin/scep-agent"
install -D -m 0644 Packaging/etc/scep-agent.conf "$ROOT/etc/scep-agent.conf"
install -D -m 0644 Packaging/systemd/scep-agent.service "$ROOT/lib/systemd/system/scep-agent.service"
install -m 0644 Packaging/systemd/scep-agent-reload.path Packaging/systemd/scep-agent-reload.service "$ROOT/lib/systemd/system/"
# An example drop-in, not active: docs/tpm.md says where it goes.
install -D -m 0644 Packaging/systemd/tpm.conf "$ROOT/usr/share/doc/scep-agent/examples/scep-agent.service.d/tpm.conf"
install -D -m 0644 Packaging/etc/default-scep-agent "$ROOT/etc/default/scep-agent"
install -D -m 0755 Packaging/sysvinit/scep-agent "$ROOT/etc/init.d/scep-agent"
mkdir -p "$ROOT/usr/share/man/man8" "$ROOT/usr/share/doc/scep-agent"
gzip -9n < Packaging/man/scep-agent.8 > "$ROOT/usr/share/man/man8/scep-agent.8.gz"
chmod 0644 "$ROOT/usr/share/man/man8/scep-agent.8.gz"
install -m 0644 README.md "$ROOT/usr/share/doc/scep-agent/README.md"
# README's links point into docs/ (generated figures included): ship them alongside, same layout.
install -d -m 0755 "$ROOT/usr/share/doc/scep-agent/docs/generated"
install -m 0644 docs/*.md "$ROOT/usr/share/doc/scep-agent/docs/"
install -m 0644 docs/generated/*.md "$ROOT/usr/share/doc/scep-agent/docs/generated/"

mkdir -p "$ROOT/DEBIAN"
SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE/" Packaging/debian/control.in > "$ROOT/DEBIAN/control"
install -m 0644 Packaging/debian/conffiles "$ROOT/DEBIAN/conffiles"
install -m 0755 Packaging/debian/postinst Packaging/debian/postrm Packaging/debian/prerm "$ROOT/DEBIAN/"

mkdir -p "$OUT"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$OUT/scep-agent_${VERSION}_${ARCH}.deb" >/dev/null
echo "$OUT/scep-agent_${VERSION}_${ARCH}.deb"
