#!/usr/bin/env bash
# Boot a Debian kernel prepared by prepare.sh under qemu and run one command
# in it as root, over this machine's root filesystem (read-only 9p, a tmpfs
# overlay on top: writes vanish with the VM), in the current directory:
#   tests/vm/boot.sh KERNEL COMMAND...     KERNEL: 6.1, 6.12 or a release
# The console is the command's output; the exit status is the command's.
# KVM when it runs a guest here, TCG otherwise; under TCG the tests' latency
# and rate thresholds are scaled by STEER_TEST_TIME_SCALE (default 4).
# VM_TIMEOUT (seconds, default 3600) kills a hung VM. STEER_* variables are
# passed to the command. Last line: kernel, accelerator, duration.
set -uo pipefail
shopt -s lastpipe
HERE=$(cd "$(dirname "$0")" && pwd)
VM_DIR=${VM_DIR:-$(cd "$HERE/../.." && pwd)/build/vm}
[ $# -ge 2 ] || { echo "usage: $0 KERNEL COMMAND..." >&2; exit 2; }
kernel=$1; shift
kdir=$VM_DIR/$kernel
[ -d "$kdir" ] || kdir=$VM_DIR/kernels/$kernel
[ -f "$kdir/.ready" ] || { echo "vm: kernel '$kernel' is not prepared (make deps, or tests/vm/prepare.sh $kernel)" >&2; exit 2; }
kdir=$(cd "$kdir" && pwd -P)
rel=$(basename "$kdir")
for t in qemu-system-x86_64 busybox cpio; do
	command -v "$t" >/dev/null || { echo "vm: missing $t (make deps installs it)" >&2; exit 2; }
done
. "$HERE/initrd.sh"
initrd=$(vm_initrd "$kdir" "$rel") || exit 2

if [ -n "${VM_ACCEL:-}" ]; then accel=$VM_ACCEL; else accel=$(vm_probe_kvm "$kdir/boot/vmlinuz-$rel" "$initrd" && echo kvm || echo tcg); fi
case $accel in
kvm) qaccel=(-accel kvm -cpu host) ;;
*) accel=tcg qaccel=(-accel "tcg,thread=multi" -cpu max) ;;
esac

# The job: the command, where it runs, what it sees. guest.sh sources it.
mkdir -p "$VM_DIR/jobs"
job=$(mktemp "$VM_DIR/jobs/job.XXXXXX")
trap 'rm -f "$job"' EXIT
envs=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb LANG=C.UTF-8)
while IFS='=' read -r name _; do envs+=("$name=${!name}"); done < <(env | grep -E '^STEER_[A-Z0-9_]*=' | sort)
[ "$accel" = kvm ] || [ -n "${STEER_TEST_TIME_SCALE:-}" ] || envs+=(STEER_TEST_TIME_SCALE=4)
{
	printf 'VM_CMD=%q\n' "$*"
	printf 'VM_CWD=%q\n' "$PWD"
	printf 'VM_MODULES=%q\n' "$kdir/lib/modules/$rel"
	printf 'VM_NOFILE=%q\n' "$(ulimit -Hn)"
	printf 'VM_ENV=(%s)\n' "$(printf '%q ' "${envs[@]}")"
} >"$job"

# A CPU stuck in the kernel must end the VM at once with every CPU's stack
# (guest.sh lets warnings reach the console), not sit until VM_TIMEOUT: a soft
# lockup (20 s) or an RCU stall (21 s) report prints the CPUs' backtraces, then
# panics; panic=-1 with -no-reboot makes qemu exit. Both: a CPU spinning in
# softirq shows as an RCU stall first, and each stall report touches the
# soft-lockup watchdog, which then never fires.
panic_on="softlockup_panic=1 softlockup_all_cpu_backtrace=1 sysctl.kernel.panic_on_rcu_stall=1"

start=$(date +%s)
rc= panic= during= int3=
timeout -k 10 "${VM_TIMEOUT:-3600}" qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot \
	-M pc "${qaccel[@]}" -smp 2 -m "${VM_MEM:-3G}" \
	-kernel "$kdir/boot/vmlinuz-$rel" -initrd "$initrd" \
	-append "console=ttyS0 quiet loglevel=3 panic=-1 $panic_on STEER_VM_GUEST=$HERE/guest.sh STEER_VM_JOB=$job" \
	-fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
	-serial stdio </dev/null |
	while IFS= read -r line; do
		line=${line%$'\r'}
		# After the status line only the kernel's power-off notes follow.
		if [ -n "$rc" ]; then continue; fi
		if [[ $line =~ ^@@steer-vm-exit\ ([0-9]+)@@$ ]]; then rc=${BASH_REMATCH[1]}; else printf '%s\n' "$line"; fi
		# What ran when the kernel gave up: the test runners' "== NAME" lines.
		if [[ $line == "== "* ]]; then during=${line#== }; fi
		if [[ -z $panic && $line =~ Kernel\ panic\ -\ not\ syncing:\ (.*)$ ]]; then panic=${BASH_REMATCH[1]}; fi
		if [[ $line == *"RIP: 0010:asm_exc_int3+0x0/"* ]]; then int3=1; fi
	done
qrc=${PIPESTATUS[0]}
dur=$(($(date +%s) - start))
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "vm: timed out after ${VM_TIMEOUT:-3600} s: the VM was killed"
	rc=124
elif [ -z "$rc" ] && [ -n "$panic" ]; then
	echo "vm: FAILED: the kernel panicked ($panic) during ${during:-the boot}; its backtraces are above"
	# The signature of the stale-breakpoint loop guest.sh steers around.
	[ -z "$int3" ] || echo "vm: a CPU was entering the int3 handler: kernel text patched under TCG? (tests/vm/guest.sh)"
	rc=1
elif [ -z "$rc" ]; then
	echo "vm: the VM stopped (qemu status $qrc) without reporting the command's exit status"
	rc=1
fi
echo "vm: kernel $rel, accel $accel, ${dur} s, exit $rc"
exit "$rc"
