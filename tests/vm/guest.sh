#!/bin/bash
# PID 1 of the VM once the host's root is mounted (tests/vm/init): a root
# environment like the host's, the kernel's own modules at
# /lib/modules/$(uname -r) for the host's modprobe, then the job boot.sh wrote
# (STEER_VM_JOB: the command, its directory, its environment). Its exit status
# goes back to the host as the console line "@@steer-vm-exit N@@".
mount -t proc proc /proc
mount -t sysfs sys /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t tmpfs -o mode=0755 run /run
# A fresh /tmp, unless the repository (and the job in its build/) lives there:
# then the overlay's /tmp, writable all the same.
case $STEER_VM_JOB in
/tmp/*) ;;
*) mount -t tmpfs -o mode=1777 tmp /tmp ;;
esac
mount -t bpf -o mode=700 bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
ln -sf /proc/self/fd /dev/fd
# shellcheck source=/dev/null
. "$STEER_VM_JOB" || { echo "vm: cannot read the job $STEER_VM_JOB"; echo o >/proc/sysrq-trigger; }
mods=/lib/modules/$(uname -r)
mkdir -p "$mods" && mount --bind "$VM_MODULES" "$mods"
echo /sbin/modprobe >/proc/sys/kernel/modprobe
hostname steer-vm
# Warnings reach the console from here on (boot stays quiet): a lockup's
# backtraces are printed at that level, before the panic stops the VM (boot.sh).
echo 5 >/proc/sys/kernel/printk
ip link set lo up
# Netfilter's hook static keys stay on for the whole run. A key turns on when
# the first hook of its family and hook point registers in any namespace
# (steer's nft table, the conntrack its `ct` rules pull in) and off with the
# last, and each turn rewrites kernel text (text_poke_bp: an int3 first). Under
# multi-threaded TCG a vCPU can keep executing a stale translation with that
# int3 after the text is restored; the kernel then backs up over the "vanished"
# breakpoint and re-executes it forever: both CPUs stuck in softirq at
# ip_local_deliver's NF_HOOK branch, test_switch's nft<->ebpf switches under
# load. One idle chain on each hook keeps the keys on, so no switch patches text.
nft -f - <<'EOF' || echo "vm: cannot keep netfilter's hook keys on (nft failed): lockups under TCG may follow"
table inet steer_vm_keys {
	chain prerouting { type filter hook prerouting priority 0; }
	chain input { type filter hook input priority 0; }
	chain forward { type filter hook forward priority 0; }
	chain output { type filter hook output priority 0; }
	chain postrouting { type filter hook postrouting priority 0; }
}
EOF
# The host's limit (tests open thousands of sockets), not PID 1's default.
ulimit -Hn "$VM_NOFILE" && ulimit -Sn "$VM_NOFILE"
cd "$VM_CWD" || echo "vm: no directory $VM_CWD"
env -i "${VM_ENV[@]}" bash -c "$VM_CMD" </dev/null
rc=$?
echo "@@steer-vm-exit $rc@@"
echo o >/proc/sysrq-trigger
sleep 30
