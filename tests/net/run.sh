#!/usr/bin/env bash
# Run every network-namespace test (or those named as arguments) against
# each backend in STEER_TEST_BACKENDS (default: ebpf nft); a script that only
# makes sense for some backends says so in a "# backends: ..." line. Each run
# builds its own lab. Prints "net: N passed, N failed" over all assertions.
cd "$(dirname "$0")" || exit 1
[ "$(id -u)" = 0 ] || { echo "net tests: must run as root (network namespaces, BPF)"; echo "net: 0 passed, 1 failed"; exit 1; }
export T_RESULTS
T_RESULTS=$(mktemp)
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(test_*.sh)
failed_runs=()
for t in "${tests[@]}"; do
	only=$(sed -n 's/^# backends: //p' "$t")
	for backend in ${STEER_TEST_BACKENDS:-ebpf nft}; do
		if [ -n "$only" ] && ! grep -qw "$backend" <<<"$only"; then continue; fi
		echo "== net/$t [$backend]"
		before=$(wc -l <"$T_RESULTS")
		start=$(date +%s)
		# Scaled for slow (emulated) CPUs, but capped: the slowest script takes
		# ~210 s in the kernel matrix's VM, and a hang must leave the VM time to report.
		limit=$((600 * ${STEER_TEST_TIME_SCALE:-1}))
		[ "$limit" -le 900 ] || limit=900
		STEER_TEST_BACKEND=$backend timeout "$limit" bash "./$t"
		case $? in
		0) ;;
		124) echo "  FAIL net/$t [$backend]: still running after $limit s: killed"; failed_runs+=("$t[$backend]") ;;
		*) failed_runs+=("$t[$backend]") ;;
		esac
		echo "-- net/$t [$backend]: $(($(date +%s) - start)) s"
		# A script that died before finish() still counts as a failure.
		[ "$(wc -l <"$T_RESULTS")" -gt "$before" ] || echo "$t 0 1" >>"$T_RESULTS"
	done
done
read -r pass fail < <(awk '{p += $2; f += $3} END {print p + 0, f + 0}' "$T_RESULTS")
rm -f "$T_RESULTS"
[ ${#failed_runs[@]} -eq 0 ] || echo "failed: ${failed_runs[*]}"
echo "net: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ ${#failed_runs[@]} -eq 0 ]
