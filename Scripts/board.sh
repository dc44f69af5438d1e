#!/usr/bin/env bash
# Builds what one board's image needs from its profile (Board/profiles/BOARD.conf):
#   OUTDIR/scep-agent        the static binary for the board's target
#   OUTDIR/scep-agent.conf   the board's defaults, ready for /etc/scep-agent.conf
#
#   Scripts/board.sh BOARD OUTDIR
#
# A profile is `key = value` lines. `board` and `target` choose the build; every other key is an
# agent option (serial-file, keystore, challenge-file, device-secret, ...) and goes into the
# config as it is, so the agent itself validates it. Board/README.md documents the keys.
set -euo pipefail
cd "$(dirname "$0")/.."
board=${1:?usage: board.sh BOARD OUTDIR (boards: $(ls Board/profiles | sed 's/\.conf$//' | tr '\n' ' '))}
out=${2:?usage: board.sh BOARD OUTDIR}
profile=Board/profiles/$board.conf
[ -f "$profile" ] || { echo "board.sh: no profile $profile" >&2; exit 2; }

# The profile's entries, comments and blank lines dropped, spaces around '=' trimmed.
entries=$(sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^$/d' \
              -e 's/[[:space:]]*=[[:space:]]*/=/' "$profile")
value() { printf '%s\n' "$entries" | sed -n "s/^$1=//p" | tail -1; }

named=$(value board)
target=$(value target)
[ "$named" = "$board" ] || { echo "board.sh: $profile says board = '$named', not '$board'" >&2; exit 2; }
[ -n "$target" ] || { echo "board.sh: $profile has no target" >&2; exit 2; }
if bad=$(printf '%s\n' "$entries" | grep -v '^[a-z][a-z0-9-]*='); then
    echo "board.sh: $profile: not 'key = value': $bad" >&2
    exit 2
fi

binary=dist/$target/scep-agent
[ "$target" = x86_64-linux-gnu ] && binary=dist/scep-agent
Scripts/build-target.sh "$target" "$binary"

mkdir -p "$out"
cp "$binary" "$out/scep-agent"
{
    echo "# /etc/scep-agent.conf for $board, from $profile."
    echo "# Fill in the deployment's server and naming before the image ships:"
    echo "# url            = http://scep.example.com/scep"
    echo "# ca-fingerprint = sha256:..."
    echo "# subject        = CN={serial},O=Example"
    echo
    printf '%s\n' "$entries" | grep -v '^board=\|^target=' | sed 's/=/ = /'
} > "$out/scep-agent.conf"
echo "board $board: $out/scep-agent ($target, $(stat -c %s "$out/scep-agent") bytes), $out/scep-agent.conf"
