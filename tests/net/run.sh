#!/usr/bin/env bash
# Run every network-namespace test (or those named as arguments); each runs in
# its own lab. Prints "net: N passed, N failed" over all assertions.
cd "$(dirname "$0")" || exit 1
[ "$(id -u)" = 0 ] || { echo "net tests: must run as root (network namespaces, BPF)"; echo "net: 0 passed, 1 failed"; exit 1; }
export T_RESULTS
T_RESULTS=$(mktemp)
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(test_*.sh)
failed_scripts=()
for t in "${tests[@]}"; do
	echo "== net/$t"
	before=$(wc -l <"$T_RESULTS")
	if ! timeout 600 bash "./$t"; then failed_scripts+=("$t"); fi
	# A script that died before finish() still counts as a failure.
	[ "$(wc -l <"$T_RESULTS")" -gt "$before" ] || echo "$t 0 1" >>"$T_RESULTS"
done
read -r pass fail < <(awk '{p += $2; f += $3} END {print p + 0, f + 0}' "$T_RESULTS")
rm -f "$T_RESULTS"
[ ${#failed_scripts[@]} -eq 0 ] || echo "failed: ${failed_scripts[*]}"
echo "net: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ ${#failed_scripts[@]} -eq 0 ]
