#!/usr/bin/env bash
# make size-breakdown: where the bytes of a shipped binary go, by part: each Swift module of the
# agent, the Swift standard library and its Unicode tables, mbedTLS, the C library, and what the
# machine outliner shared between them. Read from the symbol table of the unstripped product of
# Scripts/build-target.sh (built first, from its cache when nothing changed).
#
#   Scripts/size-breakdown.sh [TARGET [OUTPUT]]
#       TARGET  default x86_64-linux-musl-tiny (the build with a 700 KB budget)
#       OUTPUT  default docs/generated/size-breakdown.md
#
# Counted: code, read-only data and data (what the file carries; not .bss). Symbols sizes do not
# include alignment padding or section headers, so the total is a little under the file's size.
set -euo pipefail
cd "$(dirname "$0")/.."
. Scripts/lib/generated.sh
target=${1:-x86_64-linux-musl-tiny}
output=${2:-docs/generated/size-breakdown.md}
work=$(mktemp -d /tmp/scep-size-breakdown.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The C library each target links, and the nm that reads the target's objects.
case "$target" in
    x86_64-linux-gnu) libc=/usr/lib/x86_64-linux-gnu/libc.a nm_tool=nm ;;
    x86_64-linux-musl-tiny) libc=/usr/lib/x86_64-linux-musl/libc.a nm_tool=nm ;;
    aarch64-linux-gnu) libc=/usr/aarch64-linux-gnu/lib/libc.a nm_tool=aarch64-linux-gnu-nm ;;
    arm-linux-gnueabihf) libc=/usr/arm-linux-gnueabihf/lib/libc.a nm_tool=arm-linux-gnueabihf-nm ;;
    *) echo "size-breakdown.sh: unknown target '$target'" >&2; exit 2 ;;
esac
product=$work/unstripped
SIZES_TABLE= UNSTRIPPED_OUTPUT=$product Scripts/build-target.sh "$target" "$work/stripped" > "$work/build.log" 2>&1 \
    || { echo "size-breakdown.sh: the build failed; see $work/build.log" >&2; tail -5 "$work/build.log" >&2; exit 1; }

# Names each C part defines, from its archives.
"$nm_tool" --defined-only -j .build-mbedtls/"$target"/lib/*.a 2>/dev/null | grep -v ':$' | sort -u > "$work/mbedtls.names"
"$nm_tool" --defined-only -j "$libc" 2>/dev/null | grep -v ':$' | sort -u > "$work/libc.names"
# size and name of every symbol the file carries (code, read-only data, data)
"$nm_tool" -S -t d "$product" | awk 'NF == 4 && $3 ~ /^[tTrRdDwWvV]$/ { print $2 + 0, $4 }' > "$work/symbols"
awk '$2 ~ /^\$e/ { print $2 }' "$work/symbols" | swift demangle > "$work/demangled"

# mbedTLS's elliptic-curve code (issue 22 asks what EC keys cost): its ECP, ECDSA and ECDH
# modules, configured for P-256 and P-384 (Board/mbedtls/scep-agent-config.h), and our ECDH shim.
# The agent's own EC code (key agreement recipients, SEC 1 and PKCS#8 keys, ECDSA signature
# encoding) is Swift spread through CMS and Crypto, and with link-time optimisation folded into
# the functions that call it, so it cannot be counted apart this way.
( cd "$work" && ar x "$OLDPWD/.build-mbedtls/$target/lib/libmbedcrypto.a" ecp.o ecp_curves.o ecdsa.o ecdh.o )
"$nm_tool" --defined-only -j "$work"/ecp.o "$work"/ecp_curves.o "$work"/ecdsa.o "$work"/ecdh.o | grep -v ':$' | sort -u > "$work/ec.names"
ec_bytes=$(awk 'NR == FNR { ec[$1] = 1; next } ($2 in ec) || $2 ~ /^scep_ecdh_/ { sum += $1 } END { print sum + 0 }' "$work/ec.names" "$work/symbols")

modules="CLI Separation Agent Protocol CMS X509 ASN1 Encoding Crypto Keystore Platform HTTP TPM scep_agent"
awk -v modules="$modules" -v mbedtls="$work/mbedtls.names" -v libc="$work/libc.names" -v demangled="$work/demangled" '
    BEGIN {
        while ((getline name < mbedtls) > 0) in_mbedtls[name] = 1
        while ((getline name < libc) > 0) in_libc[name] = 1
        count = split(modules, module, " ")
    }
    {
        size = $1; name = $2; part = ""
        if (name ~ /^\$e/) {
            getline text < demangled
            best = 0
            for (i = 1; i <= count; i++) {
                at = index(text, module[i] ".")
                # A module name counts only at the start of a qualified name.
                while (at > 1 && substr(text, at - 1, 1) ~ /[A-Za-z0-9_]/) {
                    next_at = index(substr(text, at + 1), module[i] ".")
                    at = next_at ? at + next_at : 0
                }
                if (at && (!best || at < best)) { best = at; part = "Swift: " module[i] }
            }
            if (!part) part = "Swift standard library"
        } else if (name ~ /_swift_stdlib_|swift_stdlib_/) part = "Swift Unicode tables"
        else if (name ~ /^OUTLINED_FUNCTION/) part = "machine outliner (shared code)"
        else if (name ~ /^swift_/) part = "Swift runtime"
        else if (name in in_mbedtls) part = "mbedTLS"
        else if (name in in_libc) part = "C library"
        else part = "other (C shims, start files, compiler runtime)"
        bytes[part] += size; total += size
    }
    END {
        for (part in bytes) printf "%d\t%s\n", bytes[part], part
        printf "%d\t%s\n", total, "TOTAL"
    }' "$work/symbols" | sort -rn > "$work/parts"

file_size=$(stat -c %s "$work/stripped")
budget=$(grep -ho 'TINY_MAX_BYTES=[0-9]*' Tests/Cross/run.sh | head -1 | cut -d= -f2)
{
    generated_header "Where the bytes go: $target" "Scripts/size-breakdown.sh $target"
    echo "The stripped binary is $file_size bytes$([ "$target" = x86_64-linux-musl-tiny ] && [ -n "$budget" ] && echo " (ceiling in Tests/Cross/run.sh: $budget; issue 20's budget: 700,000)")."
    echo "Each part's code, read-only data and data, from the unstripped product's symbol table"
    echo "(Swift symbols by the module that declares them, specialisations included)."
    echo
    echo "| part | bytes | share |"
    echo "|---|---|---|"
    total=$(awk -F'\t' '$2 == "TOTAL" { print $1 }' "$work/parts")
    awk -F'\t' -v total="$total" '$2 != "TOTAL" { printf "| %s | %d | %.1f%% |\n", $2, $1, 100 * $1 / total }' "$work/parts"
    echo "| all symbols | $total | 100% |"
    echo
    echo "Of these, mbedTLS's elliptic-curve code (ECP, ECDSA and ECDH for P-256 and P-384, and the"
    echo "agent's ECDH shim) is $ec_bytes bytes. The agent's own EC code is Swift in CMS and Crypto,"
    echo "which link-time optimisation folds into its callers, so it is not counted apart."
} > "$output"
cat "$output"
