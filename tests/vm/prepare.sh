#!/usr/bin/env bash
# Fetch the kernels the matrix boots, from Debian's own packages, into a cache
# (never /boot): tests/vm/prepare.sh [SERIES...] (default: 6.1 6.12).
# Each SERIES resolves to the newest generic amd64 image apt knows of (not
# -cloud: it has no 9p; not -rt), is unpacked with dpkg -x into
# $VM_DIR/kernels/RELEASE, given its modules.dep (depmod) and linked as
# $VM_DIR/SERIES. A download: `make deps` runs it, `make check` never does.
set -euo pipefail
VM_DIR=${VM_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build/vm}
series=("$@")
[ ${#series[@]} -gt 0 ] || series=(6.1 6.12)

# pattern SERIES: the package names of that series' generic image (signed or not).
pattern() {
	case $1 in
	6.1) echo '^linux-image-6\.1\.0-[0-9]+-amd64(-unsigned)?$' ;;
	6.12) echo '^linux-image-6\.12\.[0-9]+\+deb12-amd64(-unsigned)?$' ;;
	*) echo "prepare: unknown kernel series '$1' (known: 6.1 6.12)" >&2; return 1 ;;
	esac
}

# fetch SERIES: download, unpack, depmod, link.
fetch() {
	local pat names newest rel dir tmp pkg
	pat=$(pattern "$1")
	names=$(apt-cache search --names-only "$pat" | cut -d' ' -f1)
	# A fresh machine may have no package lists yet.
	if [ -z "$names" ] && [ -z "$updated" ]; then
		apt-get update -qq && updated=1
		names=$(apt-cache search --names-only "$pat" | cut -d' ' -f1)
	fi
	[ -n "$names" ] || { echo "prepare: apt knows no package for $1" >&2; return 1; }
	newest=$(sed 's/-unsigned$//' <<<"$names" | sort -V | tail -n1)
	rel=${newest#linux-image-}
	dir=$VM_DIR/kernels/$rel
	if [ -f "$dir/.ready" ]; then
		echo "prepare: $1 is $rel (cached)"
	else
		tmp=$(mktemp -d "$VM_DIR/dl.XXXXXX")
		# The signed image and the unsigned one hold the same modules; take whichever downloads.
		for pkg in "$newest" "$newest-unsigned"; do
			(cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1) && break
		done
		ls "$tmp"/*.deb >/dev/null 2>&1 || { rm -rf "$tmp"; echo "prepare: cannot download $newest" >&2; return 1; }
		rm -rf "$dir" && mkdir -p "$dir"
		dpkg -x "$tmp"/*.deb "$dir"
		rm -rf "$tmp"
		# Merged /usr or not, depmod -b looks under lib/modules.
		[ -d "$dir/lib/modules/$rel" ] || { mkdir -p "$dir/lib" && ln -s ../usr/lib/modules "$dir/lib/modules"; }
		depmod -b "$dir" "$rel"
		touch "$dir/.ready"
		echo "prepare: $1 is $rel (downloaded)"
	fi
	ln -sfn "kernels/$rel" "$VM_DIR/$1"
	# Older releases of this series are no longer booted.
	for old in "$VM_DIR"/kernels/*; do
		[ "$old" = "$dir" ] || ! grep -qE "$pat" <<<"linux-image-$(basename "$old")" || rm -rf "$old"
	done
}

updated=
mkdir -p "$VM_DIR/kernels"
for s in "${series[@]}"; do fetch "$s"; done
