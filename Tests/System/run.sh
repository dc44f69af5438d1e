#!/usr/bin/env bash
# The Debian package in a booted Debian system with systemd as PID 1: a virtual machine
# (qemu-system-x86_64, emulated; KVM with SCEP_SYSTEM_KVM=1) booting Debian's own kernel from an image
# this script builds from Debian's packages with mmdebstrap. The machine has no network card:
# the SCEP server (Tests/Oracle) runs on its own loopback. Tests/System/guest.sh runs inside, at boot, and
# reports on the serial console; this script turns its lines into checks.
#
#   Tests/System/run.sh DEB
#
# The base image (Debian bookworm with systemd, the kernel, openssl, Python for the oracle) is cached
# in $SCEP_SYSTEM_CACHE (default ~/.cache/scep-agent-system) and rebuilt only when its package
# list changes. Needs root (mmdebstrap, mkfs.ext4 -d). `make test-system` runs it.
set -u
DEB=$(readlink -f "$1")
HERE=$(dirname "$(readlink -f "$0")")
. "$HERE/../lib/checks.sh"
QEMU_PID=
cleanup() {
    [ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null
    rm -rf "$SCRATCH"
}
trap cleanup EXIT

PACKAGES=systemd-sysv,linux-image-amd64,udev,kmod,procps,iproute2,adduser,openssl,python3,python3-asn1crypto,python3-cryptography
CACHE=${SCEP_SYSTEM_CACHE:-$HOME/.cache/scep-agent-system}
BASE=$CACHE/bookworm-$(printf '%s v1' "$PACKAGES" | sha256sum | cut -c1-12).tar
mkdir -p "$CACHE"
if [ ! -s "$BASE" ]; then
    echo "# building the base image (cached in $BASE)"
    start=$(date +%s)
    if ! mmdebstrap --variant=apt --include="$PACKAGES" \
            --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
            --dpkgopt='path-exclude=/usr/share/locale/*' \
            bookworm "${BASE%.tar}.partial.tar" > "$SCRATCH/mmdebstrap.log" 2>&1; then
        fail "mmdebstrap builds the base image" "$(tail -n 3 "$SCRATCH/mmdebstrap.log")"
        finish
        exit 1
    fi
    mv "${BASE%.tar}.partial.tar" "$BASE"
    echo "# base image built in $(( $(date +%s) - start )) s"
else
    echo "# base image from the cache: $BASE"
fi

ROOT=$SCRATCH/root
mkdir -p "$ROOT"
tar -xf "$BASE" -C "$ROOT"
KERNEL=$(ls "$ROOT"/boot/vmlinuz-* | head -1)
INITRD=$(ls "$ROOT"/boot/initrd.img-* | head -1)
cp "$KERNEL" "$SCRATCH/vmlinuz"
cp "$INITRD" "$SCRATCH/initrd"

# What the test adds to the image: the package, the guest test started at boot, the SCEP server
# (the oracle), a root filesystem entry, a name.
install -m 0644 "$DEB" "$ROOT/root/scep-agent.deb"
install -m 0755 "$HERE/guest.sh" "$ROOT/usr/local/sbin/scep-system-test"
cat > "$ROOT/etc/systemd/system/scep-system-test.service" <<'UNIT'
[Unit]
Description=scep-agent system test
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/scep-system-test
[Install]
WantedBy=multi-user.target
UNIT
ln -s /etc/systemd/system/scep-system-test.service "$ROOT/etc/systemd/system/multi-user.target.wants/scep-system-test.service"
install -D -m 0644 "$HERE/../Oracle/scep_oracle.py" "$ROOT/srv/scep/scep_oracle.py"
# The third boot's: the TPM drop-in the package ships (the image's dpkg leaves out
# /usr/share/doc, where the package puts it), and Debian's tpm-udev, fetched here (the machine
# has no network).
install -m 0644 "$HERE/../../Packaging/systemd/tpm.conf" "$ROOT/root/tpm.conf"
if (cd "$SCRATCH" && apt-get download -qq tpm-udev >/dev/null 2>&1); then
    install -m 0644 "$SCRATCH"/tpm-udev_*.deb "$ROOT/root/tpm-udev.deb"
else
    fail "apt-get download tpm-udev (for the TPM boot)"
fi
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' > "$ROOT/etc/fstab"
echo scep-device > "$ROOT/etc/hostname"
# No getty on the serial console: the console carries the test's lines only.
ln -sf /dev/null "$ROOT/etc/systemd/system/serial-getty@ttyS0.service"

IMAGE=$SCRATCH/disk.img
truncate -s 3G "$IMAGE"
if ! mkfs.ext4 -q -F -d "$ROOT" "$IMAGE" > "$SCRATCH/mkfs.log" 2>&1; then
    fail "mkfs.ext4 -d makes the disk image" "$(tail -n 3 "$SCRATCH/mkfs.log")"
    finish
    exit 1
fi
rm -rf "$ROOT"

# TCG (emulation) by default: where the machine is itself a virtual machine, KVM is often
# present but hangs (nested virtualization). SCEP_SYSTEM_KVM=1 uses it where it works.
ACCEL=(-accel tcg -cpu max)
LIMIT=1500
if [ "${SCEP_SYSTEM_KVM:-0}" = 1 ]; then ACCEL=(-enable-kvm); LIMIT=300; fi
echo "# booting with ${ACCEL[*]}"

# boot PHASE [QEMU OPTIONS...]: one boot of the machine; its console goes to
# $SCRATCH/console-PHASE.log.
boot() {
    local phase=$1 console=$SCRATCH/console-$1.log
    shift
    : > "$console"
    qemu-system-x86_64 "${ACCEL[@]}" -m 1024 -smp 2 -nodefaults -no-reboot -display none -monitor none \
        -kernel "$SCRATCH/vmlinuz" -initrd "$SCRATCH/initrd" \
        -append "root=/dev/vda rw console=ttyS0 panic=-1 systemd.show_status=0 quiet" \
        -drive file="$IMAGE",format=raw,if=virtio -nic none -serial file:"$console" "$@" &
    QEMU_PID=$!
    local start
    start=$(date +%s)
    while kill -0 "$QEMU_PID" 2>/dev/null; do
        if [ $(( $(date +%s) - start )) -ge "$LIMIT" ]; then
            kill "$QEMU_PID" 2>/dev/null
            echo "# boot $phase: no power-off within $LIMIT s"
            break
        fi
        sleep 1
    done
    wait "$QEMU_PID" 2>/dev/null
    QEMU_PID=
    echo "# boot $phase took $(( $(date +%s) - start )) s"
    tr -d '\r' < "$console" | sed -n 's/^.*SYSTEM \(ok\|FAIL\) /\1 /p' | while read -r verdict name; do
        if [ "$verdict" = ok ]; then echo "ok   $name"; else echo "FAIL $name"; fi
    done > "$SCRATCH/results-$phase"
    cat "$SCRATCH/results-$phase"
    passed=$((passed + $(grep -c '^ok' "$SCRATCH/results-$phase")))
    failed=$((failed + $(grep -c '^FAIL' "$SCRATCH/results-$phase")))
    if grep -q "SYSTEM phase $phase done" "$console"; then
        pass "boot $phase: the guest test ran to the end and powered off"
    else
        fail "boot $phase: the guest test did not finish" "$(tr -d '\r' < "$console" | tail -n 15)"
    fi
}

boot 1
boot 2
# The third boot with a TPM 2.0: swtpm on the host, behind qemu's TPM TIS device.
mkdir -p "$SCRATCH/tpm"
swtpm socket --tpm2 --tpmstate dir="$SCRATCH/tpm" --ctrl type=unixio,path="$SCRATCH/swtpm.sock" \
    --log file="$SCRATCH/swtpm.log" --terminate &
SWTPM_PID=$!
for _ in $(seq 50); do [ -S "$SCRATCH/swtpm.sock" ] && break; sleep 0.1; done
if [ -S "$SCRATCH/swtpm.sock" ]; then
    boot 3 -chardev socket,id=chrtpm,path="$SCRATCH/swtpm.sock" -tpmdev emulator,id=tpm0,chardev=chrtpm \
        -device tpm-tis,tpmdev=tpm0
else
    fail "swtpm starts for the TPM boot" "$(tail -n 3 "$SCRATCH/swtpm.log" 2>/dev/null)"
fi
kill "$SWTPM_PID" 2>/dev/null
finish
