# shellcheck shell=bash
# Sourced by boot.sh: the initramfs (busybox, the modules that mount 9p and
# overlay, tests/vm/init) and the KVM probe.

# vm_modules DIR REL NAME...: module files (relative to lib/modules/REL), each after
# what it depends on; a name built into the kernel is skipped.
vm_modules() {
	local kdir=$1 rel=$2 mdir=$1/lib/modules/$2 name path dep
	shift 2
	for name in "$@"; do
		path=$(grep -E "(^|/)${name//[-_]/[-_]}\.ko(\.[a-z]+)?:" "$mdir/modules.dep" | cut -d: -f1)
		if [ -z "$path" ]; then
			grep -qE "/${name//[-_]/[-_]}\.ko$" "$mdir/modules.builtin" && continue
			echo "vm: module $name is neither in modules.dep nor built in" >&2
			return 1
		fi
		for dep in $(grep -E "^$path:" "$mdir/modules.dep" | cut -d: -f2); do
			dep=$(basename "$dep")
			vm_modules "$kdir" "$rel" "${dep%%.ko*}" || return 1
		done
		echo "$path"
	done
}

# vm_initrd KDIR REL: the initramfs's path, built when missing or older than init.
vm_initrd() {
	local kdir=$1 rel=$2 img=$1/initrd.img tmp m out
	if [ -f "$img" ] && [ "$img" -nt "$HERE/init" ] && [ "$img" -nt "$HERE/initrd.sh" ]; then echo "$img"; return; fi
	tmp=$(mktemp -d) || return 1
	mkdir -p "$tmp"/{bin,dev,proc,modules}
	cp "$(command -v busybox)" "$tmp/bin/busybox"
	for a in sh mount umount insmod mkdir cat sleep switch_root; do ln -s busybox "$tmp/bin/$a"; done
	cp "$HERE/init" "$tmp/init"
	vm_modules "$kdir" "$rel" virtio_pci 9pnet_virtio 9p overlay | awk '!seen[$0]++' >"$tmp/order" || { rm -rf "$tmp"; return 1; }
	while read -r m; do
		out=$(basename "${m%.ko*}").ko
		case $m in
		*.xz) xz -dc "$kdir/lib/modules/$rel/$m" ;;
		*.zst) zstd -qdc "$kdir/lib/modules/$rel/$m" ;;
		*.gz) gzip -dc "$kdir/lib/modules/$rel/$m" ;;
		*) cat "$kdir/lib/modules/$rel/$m" ;;
		esac >"$tmp/modules/$out" || { rm -rf "$tmp"; return 1; }
		echo "$out" >>"$tmp/modules.list"
	done <"$tmp/order"
	rm "$tmp/order"
	(cd "$tmp" && find . | cpio -o -H newc --quiet) >"$img.tmp" && mv "$img.tmp" "$img"
	rm -rf "$tmp"
	echo "$img"
}

# vm_probe_kvm KERNEL INITRD: KVM is usable when the kernel boots to init under
# it. /dev/kvm opening, even SeaBIOS running, is not enough: on some hosts
# (nested virtualisation) Linux then hangs with the vCPU spinning.
vm_probe_kvm() {
	[ -w /dev/kvm ] || return 1
	timeout -k 5 "${VM_KVM_PROBE_TIMEOUT:-20}" qemu-system-x86_64 -nodefaults -no-user-config -display none \
		-no-reboot -M pc -accel kvm -cpu host -m 256M -kernel "$1" -initrd "$2" \
		-append "console=ttyS0 quiet loglevel=3 panic=-1 STEER_VM_PROBE=1" -serial stdio </dev/null 2>/dev/null |
		grep -q '^@@steer-vm-probe@@'
}
