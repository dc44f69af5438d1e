#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, only when one is missing, so a warm
# machine pays nothing and a fresh one (CI) gets everything.
set -euo pipefail

packages=(
    libmbedtls-dev  # crypto, X.509 and TLS, linked statically
    binutils        # strip, nm
    file            # the static-binary smoke test asks file(1)
    openssl         # cross-checks our DER and CMS
    time            # /usr/bin/time for peak RSS in benchmarks
    dpkg-dev        # dpkg-source, to unpack mbedTLS's source for the static builds
    make
    scep            # micromdm scepserver: the real SCEP server of the interop tests and the demo
    iproute2        # ip netns: the test server runs in a network namespace of its own
    systemd         # systemd-analyze verify, for the packaged unit
    adduser         # the package's maintainer scripts
    # make cross (Board/README.md): cross compilers and C libraries for the ARM boards, musl for
    # the tiny build, and qemu to run what they build in the tests.
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross
    gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
    musl-tools
    qemu-user-static
    valgrind        # make memcheck
    socat           # TLS in front of the test responder (Tests/Interop/tls.sh)
    tinyproxy       # a real HTTP proxy (Tests/Interop/proxy.sh)
    bubblewrap      # the OpenWrt service's jail, rebuilt from its init script (Tests/Packaging/openwrt.sh)
    busybox         # the OpenWrt package's shell and tools, for its upgrade step (Tests/Packaging/openwrt.sh)
    # The independent SCEP server the replies are checked against (Tests/Oracle), and its selftest.
    python3 python3-asn1crypto python3-cryptography curl
    # A TPM 2.0 for the TPM-backed keys (Tests/Interop/tpm.sh, the bench, the demo), and an
    # independent TSS to check the agent's key files against: tpm2-tools and the openssl provider.
    swtpm tpm2-tools tpm2-openssl
)

# --mbedtls-source: make Debian's source packages reachable (a deb-src entry) for
# Scripts/build-mbedtls.sh, which builds mbedTLS for the static binaries.
if [ "${1:-}" = "--mbedtls-source" ]; then
    if ! apt-get source --print-uris -qq mbedtls >/dev/null 2>&1; then
        src=/etc/apt/sources.list.d/scep-agent-deb-src.sources
        echo "adding $src (Debian source packages) for building mbedTLS"
        sed -n '/^Types: deb$/,/^$/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | sed 's/^Types: deb$/Types: deb-src/' > "$src"
        [ -s "$src" ] || printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > "$src"
        apt-get update -qq
    fi
    exit 0
fi

# --bench: what make bench adds, beside the above: the peer clients certmonger (with the D-Bus
# daemon it talks through) and strongSwan's pki (with the plugin that gives it an HTTP fetcher).
if [ "${1:-}" = "--bench" ]; then packages+=(certmonger dbus strongswan-pki libstrongswan-extra-plugins); fi
# --system: what make test-system adds: the image builder, the ext4 tools and the emulator.
if [ "${1:-}" = "--system" ]; then packages+=(mmdebstrap e2fsprogs qemu-system-x86); fi

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
