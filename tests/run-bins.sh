#!/usr/bin/env bash
# Run test binaries of one suite; every binary runs even when one fails.
# Prints "SUITE: N passed, N failed" (binaries) and exits non-zero on any failure.
suite=$1; shift
pass=0; fail=0
for t in "$@"; do
	echo "== $t"
	if "$t"; then pass=$((pass + 1)); else echo "FAILED: $t"; fail=$((fail + 1)); fi
done
echo "$suite: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
