#!/usr/bin/env bash
# run-in-vcan-vm.sh - run a command inside a throw-away qemu guest that has a
# real Linux kernel with SocketCAN and the virtual CAN interfaces vcan0/vcan1 up.
# (A copy of the project's shared tooling, ../shared/tools/vcan-vm/, so that
# the repository is self-contained; tests/vm/run.sh wraps it for deno test.)
#
# Why: the host/CI kernel has no AF_CAN (CONFIG_CAN is not set), so SocketCAN
# code cannot be tested there. This boots Debian's stock linux-image-amd64 under
# qemu - with KVM where real hardware virtualisation is available, otherwise
# with TCG software emulation (measured on a 2-core host without usable KVM:
# ~2.7 s from start to the command running, ~2.8 s total for `true`) - with:
#   * the HOST root filesystem as the guest root: a read-only virtio-9p share,
#     made writable by an overlayfs whose upper layer is a tmpfs (writes made
#     there vanish when the VM stops) - so every host binary and library
#     (deno, candump, libsocketcan, node, ...) is available at the same path,
#     including things under the host's /tmp and $HOME (e.g. Deno's cache);
#   * the current directory (or $VCANVM_WORKDIR) shared READ-WRITE at the same
#     absolute path, used as the command's cwd - so test output comes back;
#   * modules can, can-raw, can-bcm, can-gw, can-isotp, can-j1939, vcan, vxcan
#     loaded and vcan0, vcan1 created and up (MTU 72, i.e. CAN FD capable);
#   * loopback up, no other network device (no network traffic leaves the VM).
# The command's stdout/stderr are streamed to this script's stdout/stderr
# (through two virtio-serial ports), its stdin is /dev/null, and its exit
# status becomes this script's exit status.
#
# Usage:  run-in-vcan-vm.sh COMMAND [ARG...]
#   e.g.  deno check tests/ && run-in-vcan-vm.sh deno test -A tests/
#         run-in-vcan-vm.sh sh -c 'cansend vcan0 123#DEADBEEF'
#
# The command runs as root in the guest, via the host's /bin/bash, with the
# caller's exported environment (minus a few host shell variables: see
# cmd.sh below). So deno is found if it is on the caller's PATH, and e.g.
# DENO=/path/to/deno can be passed and used as "$DENO" in the command.
#
# Things to know inside the guest:
#   * No network: remote modules must already be in the host's Deno cache.
#     Type-check on the host first (deno check ...): the guest then reuses the
#     host's check cache; otherwise tsc runs under emulation (a one-file test
#     took 23 s instead of 6.7 s with TCG).
#   * The work share cannot hold AF_UNIX sockets or FIFOs (qemu's 9p server
#     refuses special files: ENXIO); put those in /tmp.
#   * Files the guest creates in the work share belong to the host user that
#     ran this script. Writes anywhere else are thrown away.
#   * Deno does not exit while a `nonblocking: true` FFI read() is still
#     blocked; give reader sockets SO_RCVTIMEO (see ffi-demo.ts).
#
# Exit status: the command's status; 124 if VCANVM_TIMEOUT expired;
#              125 if the VM could not be set up (console log is printed).
#
# Environment knobs (all optional):
#   VCANVM_CACHE    cache dir for kernel + initramfs   (default /tmp/vcanvm-cache)
#   VCANVM_WORKDIR  dir shared read-write and used as cwd (default: $PWD)
#   VCANVM_MEM      guest RAM in MiB                   (default 1024)
#   VCANVM_SMP      guest vCPUs                        (default 2)
#   VCANVM_TIMEOUT  seconds before the VM is killed    (default 900)
#   VCANVM_IFACES   vcan interfaces, NAME[:MTU] ...    (default "vcan0 vcan1";
#                   MTU 72 = CAN FD capable (default), 16 = classic CAN only)
#   VCANVM_ACCEL    kvm | tcg | auto                   (default auto: kvm if
#                   /dev/kvm is usable AND kvm_intel/kvm_amd is loaded, else
#                   TCG software emulation)
#   VCANVM_MACHINE  pc | microvm                       (default pc; microvm is
#                   experimental: it hung in early boot in 5 of 34 TCG runs)
#   VCANVM_NO_APT=1 never call apt-get; fail if something is missing
#   VCANVM_DEBUG=1  show the guest kernel console on stderr, keep the run dir
#   VCANVM_APPEND   extra kernel command line arguments
# shellcheck disable=SC2054  # commas inside qemu option strings are intended
set -euo pipefail
{ # the whole script is one compound command: bash parses it completely before
  # running it, so editing this file while a VM runs cannot derail the run

CACHE=${VCANVM_CACHE:-/tmp/vcanvm-cache}
WORKDIR=${VCANVM_WORKDIR:-$PWD}
MEM=${VCANVM_MEM:-1024}
SMP=${VCANVM_SMP:-2}
TIMEOUT=${VCANVM_TIMEOUT:-900}
IFACES=${VCANVM_IFACES:-"vcan0 vcan1"}
ACCEL=${VCANVM_ACCEL:-auto}
MACHINE=${VCANVM_MACHINE:-pc}
DEBUG=${VCANVM_DEBUG:-0}

log() { printf 'run-in-vcan-vm: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 125; }

[ $# -ge 1 ] || { sed -n '2,/^# shellcheck/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 125; }

WORKDIR=$(cd "$WORKDIR" && pwd -P) || die "cannot cd to $WORKDIR"
case $WORKDIR in /|*$'\n'*) die "workdir must not be / nor contain newlines: $WORKDIR";; esac
qarg() { printf '%s' "${1//,/,,}"; }   # escape commas in qemu option values

# ---------------------------------------------------------------------------
# 1. Host packages (idempotent: apt-get only runs when something is missing).
#    qemu-system-x86 : the VM;  busybox-static : the initramfs userland;
#    xz-utils : to unpack the kernel image (see extract_vmlinux);
#    can-utils, libsocketcan2 : used BY TESTS inside the guest (the guest sees
#    the host's /usr), not by this script.
# ---------------------------------------------------------------------------
PKGS=(qemu-system-x86 busybox-static xz-utils can-utils libsocketcan2)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
apt_get() {
  if [ "$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get "$@"
  elif command -v sudo >/dev/null; then sudo -n env DEBIAN_FRONTEND=noninteractive apt-get "$@"
  else die "need root (or sudo) to run apt-get $*"; fi
}
if [ ${#missing[@]} -gt 0 ]; then
  [ "${VCANVM_NO_APT:-0}" = 1 ] && die "missing packages: ${missing[*]}"
  log "installing ${missing[*]}"
  apt_get install -y --no-install-recommends "${missing[@]}" >&2 ||
    { apt_get update >&2 && apt_get install -y --no-install-recommends "${missing[@]}" >&2; } ||
    die "apt-get install ${missing[*]} failed"
fi
BUSYBOX=/bin/busybox   # from busybox-static: statically linked, runs in the initramfs

# ---------------------------------------------------------------------------
# 2. Kernel: Debian's generic amd64 kernel (NOT the -cloud flavour: it has no
#    CAN and no 9p). We only *download* and unpack the .deb into the cache; it
#    is never installed on the host (no initramfs-tools/grub side effects).
#    The package name is what linux-image-amd64 currently depends on, e.g.
#    linux-image-6.1.0-56-amd64; a new ABI after an apt-get update means a new
#    download (~70 MB) and a new cache entry.
# ---------------------------------------------------------------------------
resolve_kpkg() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1
}
# bzImage -> ELF vmlinux: find the compressed payload by its magic and unpack it.
extract_vmlinux() {
  local img=$1 out=$2 magic cmd off
  for magic in 'FD377A585A00:xz -dc --single-stream' '28B52FFD:zstd -dcq' '1F8B0800:gzip -dc'; do
    cmd=${magic#*:}; magic=${magic%%:*}
    command -v "${cmd%% *}" >/dev/null || continue
    off=$(LC_ALL=C grep -obUaP "$(printf '%s' "$magic" | sed 's/../\\x&/g')" "$img" 2>/dev/null | head -n1 | cut -d: -f1)
    [ -n "$off" ] || continue
    tail -c +"$((off + 1))" "$img" | $cmd 2>/dev/null >"$out"
    if [ "$(head -c 4 "$out" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then return 0; fi
  done
  rm -f "$out"; return 1
}
# apt-cache takes ~0.7 s, so remember the answer until the apt lists change.
KPKG_MEMO=$CACHE/kernel-package
KPKG=${VCANVM_KERNEL_PKG:-}
if [ -z "$KPKG" ] && [ -s "$KPKG_MEMO" ] && [ "$KPKG_MEMO" -nt /var/lib/apt/lists ]; then
  KPKG=$(cat "$KPKG_MEMO")
fi
if [ -z "$KPKG" ]; then
  KPKG=$(resolve_kpkg)
  if [ -n "$KPKG" ]; then mkdir -p "$CACHE"; echo "$KPKG" >"$KPKG_MEMO.$$" && mv "$KPKG_MEMO.$$" "$KPKG_MEMO"; fi
fi
if [ -z "$KPKG" ]; then
  # no apt lists yet: fall back to a previously cached kernel, else apt-get update
  KPKG=$(ls -1 "$CACHE" 2>/dev/null | sed -n 's/^\(linux-image-.*-amd64\)$/\1/p' | sort -V | tail -n1)
  if [ -z "$KPKG" ]; then
    [ "${VCANVM_NO_APT:-0}" = 1 ] && die "cannot resolve kernel package (no apt lists)"
    apt_get update >&2 || die "apt-get update failed"
    KPKG=$(resolve_kpkg); [ -n "$KPKG" ] || die "cannot resolve linux-image-amd64's kernel package"
  fi
fi
KVER=${KPKG#linux-image-}
KDIR=$CACHE/$KPKG
mkdir -p "$CACHE"
exec {LOCKFD}>"$CACHE/.lock"   # serialise cache population between concurrent runs
flock "$LOCKFD"
if [ ! -e "$KDIR/.complete" ]; then
  [ "${VCANVM_NO_APT:-0}" = 1 ] && die "kernel $KPKG not cached in $CACHE"
  log "downloading and unpacking $KPKG into $KDIR"
  rm -rf "$KDIR" "$KDIR.tmp"; mkdir -p "$KDIR.tmp/deb"
  # apt-get download warns that it runs "unsandboxed as root" when root: harmless.
  # (stale apt lists name a version the mirror no longer has: update and retry)
  (cd "$KDIR.tmp/deb" && apt-get download "$KPKG" >&2) ||
    { apt_get update >&2 && (cd "$KDIR.tmp/deb" && apt-get download "$KPKG" >&2); } ||
    die "apt-get download $KPKG failed"
  mkdir -p "$KDIR.tmp/x"
  # only the kernel image and the module directories we need
  dpkg-deb --fsys-tarfile "$KDIR.tmp/deb/"*.deb | tar -x -C "$KDIR.tmp/x" --wildcards \
    "./boot/vmlinuz-$KVER" \
    "./lib/modules/$KVER/modules.*" \
    "./lib/modules/$KVER/kernel/drivers/virtio/*" \
    "./lib/modules/$KVER/kernel/drivers/char/virtio_console.ko*" \
    "./lib/modules/$KVER/kernel/net/9p/*" \
    "./lib/modules/$KVER/kernel/fs/9p/*" \
    "./lib/modules/$KVER/kernel/fs/netfs/*" \
    "./lib/modules/$KVER/kernel/fs/fscache/*" \
    "./lib/modules/$KVER/kernel/fs/overlayfs/*" \
    "./lib/modules/$KVER/kernel/net/can/*" \
    "./lib/modules/$KVER/kernel/drivers/net/can/vcan.ko*" \
    "./lib/modules/$KVER/kernel/drivers/net/can/vxcan.ko*" \
    "./lib/modules/$KVER/kernel/drivers/net/can/dev/*" ||
    die "unpacking $KPKG failed"
  mv "$KDIR.tmp/x/boot/vmlinuz-$KVER" "$KDIR.tmp/vmlinuz"
  mv "$KDIR.tmp/x/lib/modules" "$KDIR.tmp/modules"
  rm -rf "$KDIR.tmp/x" "$KDIR.tmp/deb"
  touch "$KDIR.tmp/.complete"
  mv "$KDIR.tmp" "$KDIR"
fi
# Also keep the *uncompressed* ELF vmlinux: qemu boots it through its PVH entry
# point (Debian kernels have CONFIG_PVH=y), which skips the real-mode setup and
# the in-guest xz decompression (~3 s under TCG emulation).
if [ ! -e "$KDIR/vmlinux" ] && [ ! -e "$KDIR/.no-vmlinux" ]; then
  if extract_vmlinux "$KDIR/vmlinuz" "$KDIR/vmlinux.tmp"; then mv "$KDIR/vmlinux.tmp" "$KDIR/vmlinux"
  else log "warning: could not extract vmlinux; will boot the compressed bzImage"; touch "$KDIR/.no-vmlinux"; fi
fi

# ---------------------------------------------------------------------------
# 3. Initramfs: busybox + the modules above + /init (below). Rebuilt when this
#    script changes. Uncompressed cpio: nothing to decompress at boot.
# ---------------------------------------------------------------------------
INIT_SCRIPT=$(cat <<'EOF_INIT'
#!/bin/busybox sh
# PID 1 of the vcan VM (busybox ash). Sets up the root and runs /ctl/cmd.sh.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
RC_FILE=
# On any setup failure: report on the console, leave rc 125, reset (qemu exits).
fail() {
  echo "vcanvm-init: FAILED: $*" >/dev/console
  [ -n "$RC_FILE" ] && { echo 125 >"$RC_FILE"; sync; }
  reboot -f
}
t() { [ "$VCANVM_DEBUG" = 1 ] && echo "vcanvm-init: $(cut -d' ' -f1 /proc/uptime)s $*" >/dev/console; true; }
VCANVM_DEBUG=0; grep -q 'vcanvm.debug=1' /proc/cmdline && VCANVM_DEBUG=1
t "init started"
modprobe -a virtio_mmio virtio_pci 9pnet_virtio 9p overlay virtio_console || fail "modprobe virtio/9p"
t "virtio modules loaded"
O9P=trans=virtio,version=9p2000.L,msize=512000
mkdir -p /ctl /lower /rw /newroot
mount -t 9p -o $O9P ctl /ctl || fail "mount ctl share"
RC_FILE=/ctl/rc
. /ctl/config || fail "read /ctl/config"
# host / (read-only, page-cached) + tmpfs upper = writable throw-away root
mount -t 9p -o $O9P,ro,cache=loose hostroot /lower || fail "mount host root"
mount -t tmpfs -o mode=0755 tmpfs /rw && mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
  fail "mount overlay root"
R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
mount -t tmpfs -o mode=0755 tmpfs $R/run
mkdir -p "$R$WORKDIR" 2>/dev/null
mount -t 9p -o $O9P,cache=mmap work "$R$WORKDIR" || fail "mount work share at $WORKDIR"
t "filesystems mounted"
modprobe -a can can-raw can-bcm can-gw can-isotp can-j1939 vcan vxcan || fail "modprobe can modules"
ip link set lo up
for spec in $IFACES; do
  name=${spec%%:*}; mtu=72; [ "$name" != "$spec" ] && mtu=${spec#*:}
  ip link add dev "$name" type vcan && ip link set "$name" mtu "$mtu" && ip link set "$name" up ||
    fail "creating $name"
done
hostname vcanvm
t "can interfaces up"
# virtio-serial ports "out"/"err" carry the command's stdout/stderr to the host.
# Their names arrive asynchronously after probing, so poll briefly.
OUT= ERR= n=0
while [ -z "$OUT" -o -z "$ERR" ] && [ $n -lt 500 ]; do
  for p in /sys/class/virtio-ports/*; do
    [ -r "$p/name" ] || continue
    case $(cat "$p/name") in out) OUT=/dev/${p##*/};; err) ERR=/dev/${p##*/};; esac
  done
  [ -z "$OUT" -o -z "$ERR" ] && { usleep 10000; n=$((n+1)); }
done
[ -c "$OUT" ] && [ -c "$ERR" ] || fail "virtio-serial ports not found"
cp /ctl/cmd.sh $R/run/vcanvm-cmd.sh
t "running command"
chroot $R /bin/bash /run/vcanvm-cmd.sh </dev/null >"$OUT" 2>"$ERR"
rc=$?
t "command exited with $rc"
echo $rc >/ctl/rc.tmp && mv /ctl/rc.tmp /ctl/rc
sync
reboot -f   # -no-reboot: qemu exits on the reset
EOF_INIT
)
# cache key: kernel package + the whole text of this script
INITRD_KEY=$({ echo "$KPKG"; cat "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)
INITRD=$KDIR/initrd-$INITRD_KEY.cpio
if [ ! -e "$INITRD" ]; then
  log "building initramfs $INITRD"
  T=$(mktemp -d "$CACHE/initrd.XXXXXX")
  mkdir -p "$T/root/bin" "$T/root/lib" "$T/root/proc" "$T/root/sys" "$T/root/dev" "$T/root/tmp"
  cp "$BUSYBOX" "$T/root/bin/busybox"
  for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -s busybox "$T/root/bin/$a"; done
  cp -a "$KDIR/modules" "$T/root/lib/modules"
  "$BUSYBOX" depmod -b "$T/root" "$KVER"          # modules.dep for busybox modprobe
  printf '%s\n' "$INIT_SCRIPT" >"$T/root/init"; chmod 755 "$T/root/init"
  (cd "$T/root" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null) >"$T/initrd.cpio"
  # drop builds of other script versions (older than an hour: not in use)
  find "$KDIR" -maxdepth 1 -name 'initrd-*.cpio' -mmin +60 -delete
  mv "$T/initrd.cpio" "$INITRD"; rm -rf "$T"
fi
flock -u "$LOCKFD"; exec {LOCKFD}>&-

# ---------------------------------------------------------------------------
# 4. Per-run directory: share/ (9p "ctl": config, cmd.sh, rc) and pipes/ (FIFOs
#    that qemu's chardevs write the command's stdout/stderr (and, with
#    VCANVM_DEBUG=1, the kernel console) to).
# ---------------------------------------------------------------------------
RUN=$(mktemp -d "${TMPDIR:-/tmp}/vcanvm-run.XXXXXX")
CAT_PIDS=()
cleanup() {
  local p; for p in "${CAT_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ "$DEBUG" = 1 ]; then log "run dir kept: $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT
trap 'exit 130' INT; trap 'exit 143' TERM   # make sure cleanup runs
mkdir -p "$RUN/share" "$RUN/pipes"
{
  printf 'WORKDIR=%s\n' "$(printf '%s' "$WORKDIR" | sed "s/'/'\\\\''/g; s/^/'/; s/\$/'/")"
  printf "IFACES='%s'\n" "$IFACES"
} >"$RUN/share/config"
{
  echo '# generated by run-in-vcan-vm.sh'
  # the caller's exported environment, minus variables that describe the host shell
  export -p | grep -Ev '^declare -x (BASH_[A-Z_]*|HOSTNAME|OLDPWD|PWD|SHLVL|_|TMPDIR|TERM|DISPLAY|SSH_[A-Z_]*|XDG_RUNTIME_DIR|DBUS_SESSION_BUS_ADDRESS)(=|$)' || true
  echo 'export VCANVM=1'
  printf 'cd -- %q || exit 125\n' "$WORKDIR"
  printf 'exec'; printf ' %q' "$@"; printf '\n'
} >"$RUN/share/cmd.sh"

# Output relay: qemu "pipe" chardevs write into FIFOs NAME.out, a cat copies
# each to our stdout/stderr (this works whatever fd 1/2 are: tty, pipe, socket
# or a file we must not reopen/truncate). Each FIFO is first opened read-write
# on a spare fd (so that opening its read end cannot block and no data is lost
# if qemu is fast); after qemu exits that fd is closed, so the cat drains what
# is left and sees EOF.
RELAY_NAMES=(out err) RELAY_TARGETS=(1 2) RELAY_FDS=()
[ "$DEBUG" = 1 ] && RELAY_NAMES+=(con) RELAY_TARGETS+=(2)
for n in "${RELAY_NAMES[@]}"; do
  mkfifo "$RUN/pipes/$n.in" "$RUN/pipes/$n.out"
  exec {fd}<>"$RUN/pipes/$n.out"; RELAY_FDS+=("$fd")
done
for i in "${!RELAY_NAMES[@]}"; do
  ( for fd in "${RELAY_FDS[@]}"; do exec {fd}>&-; done
    exec cat <"$RUN/pipes/${RELAY_NAMES[$i]}.out" >&"${RELAY_TARGETS[$i]}" ) &
  CAT_PIDS+=($!)
done

# ---------------------------------------------------------------------------
# 5. Boot.
# ---------------------------------------------------------------------------
if [ "$ACCEL" = auto ]; then
  # /dev/kvm alone is not enough: on some nested cloud sandboxes it is backed
  # by kvm_pvm (no VMX/SVM), which cannot run a stock kernel (a bzImage hangs
  # right after the real-mode setup; a PVH vmlinux crawls, >10x slower than
  # TCG, then dies with "KVM internal error"). Require the hardware-virt modules.
  ACCEL=tcg
  if [ -r /dev/kvm ] && [ -w /dev/kvm ] && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then
    ACCEL=kvm
  fi
fi
case $ACCEL in
  kvm) ACCEL_ARGS=(-accel kvm -cpu host) ;;
  tcg) ACCEL_ARGS=(-accel tcg,thread=multi -cpu max) ;;
  *) die "VCANVM_ACCEL must be kvm, tcg or auto" ;;
esac
case $MACHINE in
  # pc (default): 74 of 74 boots fine in TCG reliability loops. microvm (no PCI, no option ROMs):
  # no faster than pc+acpi=noirq under TCG, and it hung in early boot in 5 of
  # 34 TCG runs (TSC calibration against the PIT fails under emulation and
  # microvm has no HPET/ACPI PM timer to fall back to). Untested with KVM.
  microvm) MACHINE_ARGS=(-M microvm,x-option-roms=off,rtc=on,isa-serial=on); VBUS=device; MACHINE_APPEND= ;;
  # acpi=noirq: PCI IRQ routing from the MP table instead of interpreting ACPI
  # AML (virtio_pci probe 0.6 s -> 0.1 s under TCG). Not for microvm: its
  # virtio-mmio devices get their IRQs from ACPI.
  pc)      MACHINE_ARGS=(-M pc); VBUS=pci; MACHINE_APPEND=acpi=noirq ;;
  *) die "VCANVM_MACHINE must be microvm or pc" ;;
esac
KERNEL=$KDIR/vmlinuz; [ -e "$KDIR/vmlinux" ] && KERNEL=$KDIR/vmlinux
# Boot-time trimming, measured under TCG: no crypto self-tests, no i8042/extra
# UART probing (~0.3 s together); no speculative-execution mitigations (a
# throw-away test VM; also makes syscalls cheaper under TCG); trust the TSC
# (under TCG it is the host TSC) rather than falling back to the slow HPET.
FAST_BOOT="$MACHINE_APPEND cryptomgr.notests mitigations=off tsc=reliable no_timer_check nowatchdog
 i8042.noaux i8042.nokbd i8042.nopnp 8250.nr_uarts=1 audit=0 apparmor=0"
FAST_BOOT=${FAST_BOOT//$'\n'/}
# Kernel console (ttyS0): a log file, printed if setup fails; with
# VCANVM_DEBUG=1 relayed live to stderr, not "quiet", plus init timestamps.
if [ "$DEBUG" = 1 ]; then CONSOLE=(-chardev "pipe,id=ch_con,path=$(qarg "$RUN/pipes/con")"); KDEBUG="vcanvm.debug=1"
else CONSOLE=(-chardev "file,id=ch_con,path=$(qarg "$RUN/console.log")"); KDEBUG="quiet"; fi

QEMU=(qemu-system-x86_64
  -nodefaults -no-user-config -display none -no-reboot
  "${MACHINE_ARGS[@]}" "${ACCEL_ARGS[@]}" -smp "$SMP" -m "$MEM"
  -kernel "$KERNEL" -initrd "$INITRD"
  -append "console=ttyS0 panic=-1 $KDEBUG $FAST_BOOT ${VCANVM_APPEND:-}"
  "${CONSOLE[@]}" -serial chardev:ch_con
  # host / read-only; multidevs=remap: the export spans several host mounts
  -fsdev local,id=fs_root,path=/,security_model=none,readonly=on,multidevs=remap
  -device "virtio-9p-$VBUS,fsdev=fs_root,mount_tag=hostroot"
  -fsdev "local,id=fs_work,path=$(qarg "$WORKDIR"),security_model=none,multidevs=remap"
  -device "virtio-9p-$VBUS,fsdev=fs_work,mount_tag=work"
  -fsdev "local,id=fs_ctl,path=$(qarg "$RUN/share"),security_model=none"
  -device "virtio-9p-$VBUS,fsdev=fs_ctl,mount_tag=ctl"
  -device "virtio-serial-$VBUS"
  -chardev "pipe,id=ch_out,path=$(qarg "$RUN/pipes/out")" -device virtserialport,chardev=ch_out,name=out
  -chardev "pipe,id=ch_err,path=$(qarg "$RUN/pipes/err")" -device virtserialport,chardev=ch_err,name=err
)
[ "$DEBUG" = 1 ] && log "$ACCEL/$MACHINE: ${QEMU[*]}"
set +e
timeout --foreground -k 10 "$TIMEOUT" "${QEMU[@]}" </dev/null
QRC=$?
set -e
for fd in "${RELAY_FDS[@]}"; do exec {fd}>&-; done
wait "${CAT_PIDS[@]}" 2>/dev/null || true
CAT_PIDS=()

if [ -s "$RUN/share/rc" ]; then
  RC=$(cat "$RUN/share/rc")
  if [ "$RC" = 125 ] && [ -e "$RUN/console.log" ]; then tail -n 30 "$RUN/console.log" >&2; fi
  exit "$RC"
fi
if [ "$QRC" = 124 ]; then log "timed out after ${TIMEOUT}s; console:"
else log "VM ended without an exit status (qemu exit $QRC); console:"; fi
[ -e "$RUN/console.log" ] && tail -n 40 "$RUN/console.log" >&2
[ "$QRC" = 124 ] && exit 124
exit 125
}
