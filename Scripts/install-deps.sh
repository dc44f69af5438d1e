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
)

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
