#!/usr/bin/env bash
# Run test binaries of one suite; every binary runs even when one fails.
# Prints "SUITE: N passed, N failed" (binaries) and exits non-zero on any failure.
suite=$1; shift
pass=0; fail=0
limit=$((300 * ${STEER_TEST_TIME_SCALE:-1}))
for t in "$@"; do
	echo "== $t"
	# A hung binary must fail with its name, not stall the suite (or a VM) until an outer limit.
	timeout -k 10 "$limit" "$t"
	case $? in
	0) pass=$((pass + 1)) ;;
	124 | 137) echo "FAILED: $t (still running after $limit s: killed)"; fail=$((fail + 1)) ;;
	*) echo "FAILED: $t"; fail=$((fail + 1)) ;;
	esac
done
echo "$suite: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
