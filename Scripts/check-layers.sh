#!/usr/bin/env bash
# The architecture rule the compiler cannot see: only the crypto layer touches mbedTLS, only the
# platform layer touches libc, and nothing imports Foundation (the shipped build is Embedded Swift).
set -uo pipefail
cd "$(dirname "$0")/.."

failures=0
fail() { echo "layering: $*"; failures=$((failures + 1)); }

while IFS= read -r file; do
    case "$file" in Sources/Crypto/*) ;; *) fail "$file imports CMbedTLS (only Sources/Crypto may)";; esac
done < <(grep -rlE '^\s*(@_implementationOnly\s+)?import\s+CMbedTLS' Sources --include='*.swift')

while IFS= read -r file; do
    case "$file" in Sources/Platform/*) ;; *) fail "$file imports CLibc (only Sources/Platform may)";; esac
done < <(grep -rlE '^\s*(@_implementationOnly\s+)?import\s+CLibc' Sources --include='*.swift')

while IFS= read -r file; do
    fail "$file imports a system module (Foundation/Glibc/Darwin/Musl); use the Platform layer"
done < <(grep -rlE '^\s*import\s+(Foundation|Glibc|Darwin|Musl|FoundationEssentials)\b' Sources --include='*.swift')

# The privilege separation: the key side (Agent, Keystore) never speaks HTTP; the network
# process's code (Separation's network side) never touches the keystore.
while IFS= read -r file; do
    case "$file" in Sources/Separation/*|Sources/CLI/*) ;; *) fail "$file imports HTTP (only the network process's code may)";; esac
done < <(grep -rlE '^\s*import\s+HTTP\b' Sources --include='*.swift')
for file in Sources/Separation/NetworkProcess.swift Sources/Separation/RemoteKeys.swift Sources/Separation/HTTPTransport.swift; do
    grep -qE '^\s*import\s+Keystore\b' "$file" && fail "$file imports Keystore (the network process holds no keystore)"
done

# Library code stays in the Embedded subset: no untyped throws, no existentials, no concurrency.
while IFS= read -r hit; do fail "untyped throws: $hit (use throws(SomeError))"; done < \
    <(grep -rnE '\bthrows\s*(->|\{|$)' Sources --include='*.swift')
while IFS= read -r hit; do fail "existential: $hit (use generics)"; done < \
    <(grep -rnE '(:|<|\(|,)\s*any\s+[A-Z]' Sources --include='*.swift' | grep -vE '^[^:]+:[0-9]+:\s*//')
while IFS= read -r hit; do fail "concurrency: $hit (use the poll/clock loop)"; done < \
    <(grep -rnE '\b(async|await|Task\s*\{|actor\s)' Sources --include='*.swift' | grep -vE '^[^:]+:[0-9]+:\s*//')

while IFS= read -r hit; do fail "key path: $hit (not in Embedded Swift; use a closure)"; done < \
    <(grep -rnE '\(\\\.[a-zA-Z]|[=(,] *\\\.[a-z][A-Za-z]*[,)]' Sources --include='*.swift' | grep -vE '^\S+:\s*//')
while IFS= read -r hit; do fail "untyped catch: $hit (Embedded Swift has no any Error)"; done < \
    <(grep -rnE 'catch let [a-z]+ as ' Sources --include='*.swift')

# Text is compared and split by its bytes (Encoding's UTF8Text.swift): String's Character-wise
# hasPrefix, hasSuffix and split(separator: "x") would link Unicode's grapheme-cluster tables and
# code into the shipped binary (10 KB the tiny build's budget does not have).
while IFS= read -r hit; do fail "Character-wise text: $hit (use hasUTF8Prefix, hasUTF8Suffix, splitUTF8)"; done < \
    <(grep -rnE '\.has(Prefix|Suffix)\(|\.split\(separator: "' Sources --include='*.swift' | grep -vE '^[^:]+:[0-9]+:\s*//')

if [ "$failures" -gt 0 ]; then
    echo "layering: $failures violation(s)"
    exit 1
fi
echo "layering: ok"
