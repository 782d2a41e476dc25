#!/usr/bin/env bash
# A named set of tests, each group timed; every group runs even when one
# fails: tests/vm/suite.sh [unit] [bpf] [net | test_X.sh...]
# ("net" alone: the whole network suite). The kernel matrix runs it in the VM.
cd "$(dirname "$0")/../.." || exit 1
rc=0
nets=()
# timed NAME CMD...: run, then say how long it took.
timed() {
	local name=$1 start=$SECONDS
	shift
	"$@" || rc=1
	echo "-- $name on $(uname -r): $((SECONDS - start)) s"
}
for a in "$@"; do
	case $a in
	unit | bpf) timed "$a" make --no-print-directory "$a-check" ;;
	net) nets=() all_net=1 ;;
	test_*.sh) nets+=("$a") ;;
	*) echo "suite: unknown test group '$a' (unit, bpf, net, test_*.sh)"; rc=1 ;;
	esac
done
if [ -n "${all_net:-}" ]; then
	timed net tests/net/run.sh
elif [ ${#nets[@]} -gt 0 ]; then
	timed net tests/net/run.sh "${nets[@]}"
fi
exit $rc
