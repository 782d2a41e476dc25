#!/usr/bin/env bash
# check-sanitize relies on tests/net/lib.sh failing a test whose steer.log holds
# a sanitizer report: prove it does, with a report of each kind, and that a clean
# log passes. No lab, no root: finish() runs in a subshell on a temporary LAB_DIR.
cd "$(dirname "$0")/net" || exit 1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bad=0
verdict() { # LOG-LINE: finish's exit status with that line in steer.log
	printf 'steer: started\n%s\n' "$1" >"$dir/steer.log"
	(LAB_DIR=$dir STEER_SANITIZE= T_RESULTS= && . ./lib.sh && pass "a passing assertion" && finish) >"$dir/out" 2>&1
}
for line in '==4242==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000011' \
	'steer/audit.c:145:10: runtime error: unsigned integer overflow' \
	'==4242==ERROR: LeakSanitizer: detected memory leaks' \
	'SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior steer/x.c:1:1'; do
	if verdict "$line" || ! grep -q 'FAIL sanitizer report in steer.log' "$dir/out"; then
		echo "sanitize-selftest: not failed: $line"; bad=1
	fi
done
verdict 'steer: stopped' || { echo "sanitize-selftest: a clean log failed"; cat "$dir/out"; bad=1; }
[ "$bad" = 0 ] && echo "sanitize-selftest: ok (4 reports caught, a clean log passes)"
exit $bad
