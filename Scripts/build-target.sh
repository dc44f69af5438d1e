#!/usr/bin/env bash
# Builds the shipped binary for one target: Embedded Swift, mbedTLS from Debian's source with our
# config, fully static, stripped.
#
#   Scripts/build-target.sh TARGET OUTPUT
#
# UNSTRIPPED_OUTPUT, when set, also gets a copy of the unstripped product (its symbols, for
# Scripts/size-breakdown.sh);
# EXTRA_SWIFT_BUILD_FLAGS, when set, is appended to `swift build` (for size experiments);
# SCRATCH_SUFFIX gives a variant its own scratch folder; PRODUCT builds another executable.
# LTO=0 and LTO_INLINE_THRESHOLD change the code generation (below), for size experiments.
# The binary's size is recorded in docs/generated/sizes.md (SIZES_TABLE), one row per target.
#
# Targets (Board/README.md):
#   x86_64-linux-gnu        the host build (`make static`), static glibc
#   aarch64-linux-gnu       64-bit ARM (Raspberry Pi 3/4/5, QEMU virt), static glibc
#   arm-linux-gnueabihf     32-bit ARMv7 hard float (BeagleBone), static glibc
#   x86_64-linux-musl-tiny  static musl, without TLS: the smallest build
#
# The Swift toolchain ships Embedded standard libraries for bare-metal triples only
# (aarch64-none-none-elf, armv7-none-none-eabi); the ARM builds compile for those, import the C
# library through the Linux triple (-clang-target) and the cross sysroot's headers, and link as
# Linux programs. The musl build keeps the host triple but swaps glibc for musl's headers, start
# files and libc.a.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: build-target.sh TARGET OUTPUT}
output=${2:?usage: build-target.sh TARGET OUTPUT}

swift_root=$(dirname "$(dirname "$(command -v swiftc)")")
embedded_libs=$swift_root/lib/swift/embedded
mbedtls=$PWD/.build-mbedtls/$target
flags=()          # swift build arguments
mbedtls_cc=cc
mbedtls_cflags=()
mbedtls_defines=
mbedtls_fast_sources="bignum.c rsa.c"
strip_tool=strip
lto_default=1     # link-time optimisation (code_generation, below)
# The host builds drop unwind tables (~100 KB; nothing unwinds) at link time
# (Scripts/lib/no-unwind-tables.ld). The ARM glibc builds keep them: static glibc's start-up code
# on aarch64 reads .eh_frame, and the binary crashes without it.
no_unwind_tables=(-Xlinker --no-eh-frame-hdr -Xlinker -T -Xlinker "$PWD/Scripts/lib/no-unwind-tables.ld")
# static-pie, for the x86_64 and aarch64 glibc builds: the kernel loads the binary at a random
# address, glibc relocates it at start and then makes the relocated data read-only (full RELRO,
# everything bound now). Relative relocations are packed (DT_RELR, glibc 2.36): as plain RELA
# entries they cost tens of KB. Linked by lld (gold has no --no-dynamic-linker); no $ORIGIN rpath,
# because glibc's static-pie start-up asserts there is none. Debian's armhf glibc has no static-pie
# start file (rcrt1.o), and musl 1.2.3 reads no packed relocations: those two stay plain static.
# STATIC_PIE=0 links the plain static binary instead (`make hardening` measures both).
static_pie=(--disable-local-rpath -Xswiftc -Xclang-linker -Xswiftc -static-pie -Xcc -fPIE -Xswiftc -Xcc -Xswiftc -fPIE
            -Xlinker -z -Xlinker pack-relative-relocs -Xlinker -z -Xlinker relro -Xlinker -z -Xlinker now)
[ "${STATIC_PIE:-1}" = 1 ] || static_pie=()

cross_flags() { # TRIPLE EMBEDDED_TRIPLE LINUX_TRIPLE SYSROOT [extra clang flags...]
    local triple=$1 embedded=$2 linux=$3 sysroot=$4
    shift 4
    flags+=(--triple "$embedded" -Xswiftc -clang-target -Xswiftc "$linux"
            -Xcc --target="$linux" -Xcc -nostdlibinc -Xcc -isystem -Xcc "$sysroot/include")
    for flag in "$@"; do flags+=(-Xcc "$flag"); done
    mbedtls_cflags=("$@")
    # The link is a Linux link: clang with the Linux triple finds the cross gcc's start files and
    # libraries; lld, because GNU ld rejects a copy relocation against a protected Swift symbol.
    flags+=(-Xswiftc -Xclang-linker -Xswiftc --target="$linux" -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
            -Xlinker -L"$embedded_libs/$embedded")
    mbedtls_cc=$triple-gcc
    strip_tool=$triple-strip
}

case "$target" in
    x86_64-linux-gnu)
        scratch=.build-embedded
        # lld, as for every other target (gold also cannot INSERT no-unwind-tables.ld).
        flags+=(-Xlinker -L"$embedded_libs/x86_64-unknown-linux-gnu" "${no_unwind_tables[@]}"
                -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld "${static_pie[@]}")
        ;;
    aarch64-linux-gnu)
        scratch=.build-aarch64
        cross_flags aarch64-linux-gnu aarch64-none-none-elf aarch64-unknown-linux-gnu /usr/aarch64-linux-gnu
        flags+=("${static_pie[@]}")
        ;;
    arm-linux-gnueabihf)
        scratch=.build-armv7
        lto_default=0
        # 64-bit time_t and file offsets, for C and for Swift's view of the C headers alike:
        # certificates outlive 2038 and so will the boards, and without large-file support
        # readdir() fails with EOVERFLOW on file systems with 64-bit directory offsets.
        cross_flags arm-linux-gnueabihf armv7-none-none-eabi armv7-unknown-linux-gnueabihf /usr/arm-linux-gnueabihf \
            -mfloat-abi=hard -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64
        ;;
    x86_64-linux-musl-tiny)
        scratch=.build-tiny
        musl=/usr/lib/x86_64-linux-musl
        mbedtls_cc=musl-gcc
        mbedtls_defines=SCEP_AGENT_NO_TLS
        mbedtls_fast_sources=
        # No TLS and no TPM (the TPM code costs ~58 KB; docs/tpm.md says the tiny build has none).
        flags+=(-Xswiftc -DSCEP_NO_TLS -Xswiftc -DSCEP_NO_TPM
                "${no_unwind_tables[@]}"
                -Xcc -nostdlibinc -Xcc -isystem -Xcc /usr/include/x86_64-linux-musl
                -Xlinker -L"$embedded_libs/x86_64-unknown-linux-gnu"
                # musl's start files and C library in place of glibc's: -nostdlib drops the
                # defaults, the musl directory comes first in the search path (its libm.a is the
                # one -lm finds), and crti/crtn bracket everything else.
                -Xswiftc -L"$musl" -Xswiftc -Xclang-linker -Xswiftc -nostdlib -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
                -Xlinker "$musl/crt1.o" -Xlinker "$musl/crti.o" -Xlinker -lc
                -Xlinker "$(gcc -print-libgcc-file-name)" -Xlinker "$musl/crtn.o")
        ;;
    *)
        echo "build-target.sh: unknown target '$target' (x86_64-linux-gnu, aarch64-linux-gnu, arm-linux-gnueabihf, x86_64-linux-musl-tiny)" >&2
        exit 2
        ;;
esac

# Code generation. It is what keeps the tiny build within its 700 KB and takes about a tenth off
# the x86_64 and aarch64 builds; `make bench` sees no difference in speed, and `make feature-cost`
# measures it:
# - link-time optimisation over all the Swift code and the C shims (mbedTLS and the C library are
#   gcc's objects and stay as they are): LLVM sees every module at once, so what a module exports
#   but the program never calls goes, and code repeated across modules can be folded;
# - at link time the inliner keeps only the inlining that does not grow the code (threshold 0);
#   at its default it copies bodies that the modules kept out of line back into their callers;
# - LLVM's machine outliner, run where the code is generated (in the linker), folds repeated
#   instruction sequences into shared functions.
# The armv7 build is compiled module by module as before: under link-time optimisation LLVM's
# 32-bit ARM code generation broke Swift code (in the fuzz replay a DER reader's slice arrived
# corrupted and trapped; micromdm.sh and faults.sh failed on it), where aarch64 and x86_64 pass
# every suite. LTO=0 builds any target that way; LTO_INLINE_THRESHOLD=default keeps LLVM's own
# inliner threshold.
code_generation=(--experimental-lto-mode=full -Xlinker -mllvm=-enable-machine-outliner=always)
[ "${LTO_INLINE_THRESHOLD:-0}" = default ] || code_generation+=(-Xlinker -mllvm=-inline-threshold=${LTO_INLINE_THRESHOLD:-0})
[ "${LTO:-$lto_default}" = 1 ] || code_generation=()

MBEDTLS_DEFINES=$mbedtls_defines MBEDTLS_FAST_SOURCES=$mbedtls_fast_sources Scripts/build-mbedtls.sh "$mbedtls" "$mbedtls_cc" "${mbedtls_cflags[@]}"

# SCRATCH_SUFFIX: a scratch folder of its own for a variant build (Scripts/hardening.sh), so an
# experiment never rebuilds over the shipped build's cache.
scratch=$scratch${SCRATCH_SUFFIX:-}
# PRODUCT: another executable of the package built the same way (scep-fuzz-replay, for the ARM
# fuzz replay in Tests/Cross/run.sh).
product_name=${PRODUCT:-scep-agent}
build=(swift build -c release --traits Embedded --product "$product_name" --scratch-path "$scratch"
       -Xcc -I"$mbedtls/include" -Xcc '-DMBEDTLS_CONFIG_FILE=<scep-agent-config.h>' -Xlinker -L"$mbedtls/lib"
       "${flags[@]}" "${code_generation[@]}" ${EXTRA_SWIFT_BUILD_FLAGS:-} -Xlinker -lswiftUnicodeDataTables)
product=$("${build[@]}" --show-bin-path)/$product_name
# SwiftPM does not notice a rebuilt mbedTLS archive, nor an edited linker script: relink when one
# is newer than the binary.
if [ -f "$product" ] && [ -n "$(find "$mbedtls/lib" Scripts/lib/no-unwind-tables.ld -newer "$product")" ]; then rm -f "$product"; fi

rm -f "$output"
"${build[@]}"

mkdir -p "$(dirname "$output")"
"$strip_tool" -o "$output" "$product"
if [ -n "${UNSTRIPPED_OUTPUT:-}" ]; then cp "$product" "$UNSTRIPPED_OUTPUT"; fi
echo "built $output ($target): $(stat -c %s "$output") bytes"
# The size goes into docs/generated/sizes.md (SIZES_TABLE names another file; empty: none), one
# row per target. Size experiments (EXTRA_SWIFT_BUILD_FLAGS) are not recorded. Never fails the build.
sizes_table=${SIZES_TABLE-docs/generated/sizes.md}
if [ -n "$sizes_table" ] && [ -z "${EXTRA_SWIFT_BUILD_FLAGS:-}" ] && [ "$product_name" = scep-agent ]; then
    Scripts/lib/record-size.sh "$sizes_table" "$target" "$output" || echo "build-target.sh: the size was not recorded in $sizes_table" >&2
fi
