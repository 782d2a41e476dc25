#!/usr/bin/env bash
# The kernel matrix: each argument "KERNEL: TESTS..." boots KERNEL (prepared
# by `make deps`) and runs tests/vm/suite.sh TESTS in it. Every kernel runs
# even when one fails; one summary line per kernel at the end.
HERE=$(cd "$(dirname "$0")" && pwd)
rc=0
summary=()
for spec in "$@"; do
	kernel=${spec%%:*}
	read -ra tests <<<"${spec#*:}"
	echo "=== kernel $kernel: ${tests[*]}"
	start=$SECONDS
	if "$HERE/boot.sh" "$kernel" tests/vm/suite.sh "${tests[@]}"; then res=passed; else res=FAILED rc=1; fi
	summary+=("vm $kernel: $res ($((SECONDS - start)) s)")
done
printf '%s\n' "${summary[@]}"
exit $rc
