#!/usr/bin/env bash
# The include graph between steer's folders, checked against the layering
# docs/ARCHITECTURE.md describes: proxy/ depends on nothing of ours, steer/ on
# proxy/, and the two kernel mechanisms (bpf/, nft/) implement interfaces that
# steer/ declares, so they may include steer/ but steer/ never includes them.
# Prints each edge "from -> to (N includes)"; exits 1 on a forbidden edge or
# a relative include.
cd "$(dirname "$0")/.." || exit 1
declare -A allowed=(
	[proxy]="proxy"
	[steer]="steer proxy"
	[bpf]="bpf steer proxy"
	[nft]="nft steer proxy"
)
bad=0
edges=$(grep -o '#include "[^"]*"' steer/*.[ch] bpf/*.[ch] proxy/*.[ch] nft/*.[ch] 2>/dev/null |
	sed -E 's|^([a-z]+)/[^:]*:#include "([^"]*)"|\1 \2|' | sort -u)
while read -r from inc; do
	case $inc in
	../* | */../*) echo "relative include in $from/: $inc"; bad=1; continue ;;
	*/*) to=${inc%%/*} ;;
	*) echo "not named from the include root in $from/: $inc"; bad=1; continue ;;
	esac
	[ "$to" = "$from" ] && continue
	if [[ " ${allowed[$from]} " != *" $to "* ]]; then
		echo "forbidden: $from/ includes $inc"
		bad=1
	fi
done <<<"$edges"
grep -o '#include "[^"]*/' steer/*.[ch] bpf/*.[ch] proxy/*.[ch] nft/*.[ch] |
	sed -E 's|^([a-z]+)/[^:]*:#include "([a-z]+)/|\1 -> \2|' | sort | uniq -c |
	awk '$2 != $4 { printf "%s %s %s (%d includes)\n", $2, $3, $4, $1 }'
[ "$bad" -eq 0 ] && echo "layers: ok" || { echo "layers: FAILED"; exit 1; }
