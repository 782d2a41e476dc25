#!/usr/bin/env bash
# Run each libFuzzer harness for SECONDS: tests/fuzz/run.sh SECONDS BUILD NAME...
# Starts from the seeds in tests/fuzz/corpus/NAME; what it finds new goes to
# BUILD/corpus/NAME (never into the repository), a crash to BUILD/crash/NAME-*.
# Prints each run's executions per second; exits non-zero on any crash.
secs=$1 build=$2
shift 2
cd "$(dirname "$0")/../.." || exit 1
pass=0 fail=0
for name in "$@"; do
	bin=$build/fuzzers/$name
	mkdir -p "$build/corpus/$name" "$build/crash"
	[ -d "tests/fuzz/corpus/$name" ] || { echo "fuzz: $name: no seed corpus tests/fuzz/corpus/$name"; fail=$((fail + 1)); continue; }
	log=$build/crash/$name.log
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$build/crash/$name-" "$build/corpus/$name" "tests/fuzz/corpus/$name" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
		echo "fuzz: $name: ok, $runs runs in ${secs}s ($rate exec/s)"
		pass=$((pass + 1))
	else
		echo "fuzz: $name: FAILED (log $log)"
		grep -m1 -A30 -E '^==[0-9]+==ERROR|runtime error|property failed|deadly signal' "$log" | sed 's/^/  ! /'
		fail=$((fail + 1))
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
