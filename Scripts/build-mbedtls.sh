#!/usr/bin/env bash
# Builds static mbedTLS libraries from Debian's source package, for the shipped binaries:
# -Os, one section per function and datum (so --gc-sections drops what we never call), and
# Board/mbedtls/scep-agent-config.h (so what we never use is not even compiled).
#
#   Scripts/build-mbedtls.sh OUTDIR [CC] [EXTRA_CFLAGS...]
#
# MBEDTLS_DEFINES="NAME ..." are defined at the top of OUTDIR's copy of the config, so the Swift
# code compiled against OUTDIR/include sees the same choice (the tiny build: SCEP_AGENT_NO_TLS).
#
# MBEDTLS_FAST_SOURCES="bignum.c ..." are compiled with -O2 rather than -Os: the big-number
# arithmetic under every RSA operation is ~5% faster for ~8 KB, which matters most where keygen
# takes seconds (ARM boards). The tiny build leaves it empty.
#
# OUTDIR gets lib/*.a and include/ (the headers the libraries were built with). Reruns are free
# while OUTDIR/lib/libmbedcrypto.a is newer than the config.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:?usage: build-mbedtls.sh OUTDIR [CC] [CFLAGS...]}")
cc=${2:-cc}
shift $(( $# >= 2 ? 2 : 1 ))
config=$(realpath Board/mbedtls/scep-agent-config.h)

# What the libraries were built with; a change of compiler, flags or defines rebuilds them.
recipe="$cc $* defines: ${MBEDTLS_DEFINES:-} fast: ${MBEDTLS_FAST_SOURCES:-}"
if [ -f "$out/lib/libmbedcrypto.a" ] && [ "$out/lib/libmbedcrypto.a" -nt "$config" ] && [ "$out/lib/libmbedcrypto.a" -nt "$0" ] \
   && [ "$(cat "$out/recipe" 2>/dev/null)" = "$recipe" ]; then
    exit 0
fi

source_root=.build-mbedtls/source
if [ ! -d "$source_root/library" ]; then
    Scripts/install-deps.sh --mbedtls-source
    rm -rf .build-mbedtls/download && mkdir -p .build-mbedtls/download
    (cd .build-mbedtls/download && apt-get source -qq mbedtls >/dev/null 2>&1)
    rm -rf "$source_root"
    mv .build-mbedtls/download/mbedtls-*/ "$source_root"
fi

echo "building mbedTLS ($cc) into $out"
build=$out/build
rm -rf "$build" && mkdir -p "$build" "$out/lib"
cp -r "$source_root/library" "$source_root/3rdparty" "$build/"
rm -rf "$out/include" && cp -r "$source_root/include" "$out/include"
{
    for name in ${MBEDTLS_DEFINES:-}; do echo "#define $name"; done
    cat "$config"
} > "$out/include/scep-agent-config.h"
ln -s "$out/include" "$build/include"
common="-ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables -I$out/include -DMBEDTLS_CONFIG_FILE='\"scep-agent-config.h\"' $*"
fast_objects=$(for source in ${MBEDTLS_FAST_SOURCES:-}; do printf '%s ' "${source%.c}.o"; done)
# Objects built first are up to date for the second make, which compiles the rest for size.
if [ -n "$fast_objects" ]; then
    make -s -C "$build/library" -j"$(nproc)" $fast_objects CC="$cc" CFLAGS="-O2 $common" >/dev/null
fi
make -s -C "$build/library" -j"$(nproc)" libmbedcrypto.a libmbedx509.a libmbedtls.a CC="$cc" AR="${AR:-ar}" \
    CFLAGS="-Os $common" >/dev/null
mv "$build"/library/libmbed*.a "$out/lib/"
rm -rf "$build"
printf '%s' "$recipe" > "$out/recipe"
