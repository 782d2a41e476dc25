#!/usr/bin/env bash
# The kernel matrix: each argument "KERNEL: TESTS..." boots KERNEL (prepared
# by `make deps`) and runs tests/vm/suite.sh TESTS in it. Every kernel runs
# even when one fails. At the end, one summary line per kernel and, for each
# kernel that failed, its failing assertions and the end of its output again:
# CI keeps only the tail of a long log, and a failure must be readable there.
HERE=$(cd "$(dirname "$0")" && pwd)
rc=0
summary=()
logs=()
trap 'rm -f "${logs[@]}"' EXIT
for spec in "$@"; do
	kernel=${spec%%:*}
	read -ra tests <<<"${spec#*:}"
	echo "=== kernel $kernel: ${tests[*]}"
	log=$(mktemp)
	logs+=("$log")
	start=$SECONDS
	if "$HERE/boot.sh" "$kernel" tests/vm/suite.sh "${tests[@]}" 2>&1 | tee "$log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
		res=passed
	else
		res=FAILED rc=1
		summary+=("--- vm $kernel failed; its failures and last lines:")
		mapfile -t lines < <(grep -E ' FAIL |^failed:|timed out|BUG: soft lockup|^vm: FAILED|[^0-9]0*[1-9][0-9]* failed' "$log" | head -40; echo ...; tail -n 15 "$log")
		summary+=("${lines[@]}")
	fi
	summary+=("vm $kernel: $res ($((SECONDS - start)) s)")
done
printf '%s\n' "${summary[@]}"
exit $rc
