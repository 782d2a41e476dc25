# shellcheck shell=bash
# Assertions for the network tests. Each test script sources this, builds its
# lab, asserts, and ends with `finish`, which prints "NAME: N passed, N failed".
. "$(dirname "${BASH_SOURCE[0]}")/../lab.sh"

T_NAME=$(basename "$0" .sh)
# Latency thresholds and fixed-duration load runs are set for a real machine;
# the kernel matrix's VM (TCG, several times slower) sets STEER_TEST_TIME_SCALE
# and they stretch by that factor: never dropped.
T_SCALE=${STEER_TEST_TIME_SCALE:-1}
[[ $T_SCALE =~ ^[1-9][0-9]*$ ]] || { echo "STEER_TEST_TIME_SCALE: want a positive integer, got '$T_SCALE'"; exit 1; }
# scaled N: N times the scale (milliseconds, seconds, microseconds alike).
scaled() { echo $(($1 * T_SCALE)); }
T_PASS=0
T_FAIL=0

pass() { T_PASS=$((T_PASS + 1)); echo "  ok   $*"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "  FAIL $*"; }

# expect DESC CMD...: the command succeeds.
expect() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# expect_not DESC CMD...: the command fails.
expect_not() {
	local desc=$1
	shift
	if "$@"; then fail "$desc"; else pass "$desc"; fi
}

# expect_eq DESC GOT WANT
expect_eq() {
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1 (got '$2', want '$3')"; fi
}

# expect_ge DESC GOT MIN (integers)
expect_ge() {
	if [ -n "$2" ] && [ "$2" -ge "$3" ] 2>/dev/null; then pass "$1"; else fail "$1 (got '$2', want >= $3)"; fi
}

# A setup step that must work for the rest to mean anything.
setup() {
	local desc=$1
	shift
	if ! "$@"; then
		fail "setup: $desc"
		finish
	fi
}

# A sanitizer build's report (make check-sanitize: STEER is that build, with
# STEER_SANITIZE=1) lands on steer's stderr, which the lab writes to steer.log.
# Steer is stopped first, so that the leak check it runs at exit is there too.
SANITIZER_REPORT='^==[0-9]+==ERROR: |runtime error: |^SUMMARY: [A-Za-z]+Sanitizer'
sanitizer_check() {
	[ -n "${STEER_SANITIZE:-}" ] && lab_steer_stop >/dev/null 2>&1
	grep -qE "$SANITIZER_REPORT" "$LAB_DIR/steer.log" 2>/dev/null || return 0
	fail "sanitizer report in steer.log"
	grep -m1 -A60 -E "$SANITIZER_REPORT" "$LAB_DIR/steer.log" | sed 's/^/  ! /'
}

# Every audit record the lab's daemons write is validated against
# docs/audit.schema.json (tests/net/audit_validate.py): after each stop, when
# the daemon has flushed everything, and at finish, each record once. The
# daemon's own count of records written to a log in the lab (asked before the
# stop) says whether there had to be any: a test with traffic but no record
# validated fails the check.
AUDIT_VALIDATED=0
AUDIT_WRITTEN=0
AUDIT_ERRORS=()
AUDIT_STATE=$LAB_DIR/.audit-validated

# The records the running daemon wrote, when its audit log is a file in the lab.
audit_written_in_lab() {
	[ -n "${LAB_STEER_PID:-}" ] && kill -0 "$LAB_STEER_PID" 2>/dev/null || return 0
	find "/proc/$LAB_STEER_PID/fd" -lname "$LAB_DIR/*.jsonl*" 2>/dev/null | grep -q . || return 0
	local w
	w=$(lab_counter .audit.written 2>/dev/null)
	[[ $w =~ ^[0-9]+$ ]] && AUDIT_WRITTEN=$((AUDIT_WRITTEN + w))
	return 0
}

# audit_validate [--running]: the lab's audit logs, from where the last call stopped.
audit_validate() {
	local logs out
	mapfile -t logs < <(find "$LAB_DIR" -type f -name '*.jsonl*' 2>/dev/null | sort)
	[ ${#logs[@]} -gt 0 ] || return 0
	out=$(python3 "$(dirname "${BASH_SOURCE[0]}")/audit_validate.py" --state "$AUDIT_STATE" "$@" "${logs[@]}" 2>&1)
	if [[ $out =~ ^records=([0-9]+)\ errors=([0-9]+) ]]; then
		AUDIT_VALIDATED=$((AUDIT_VALIDATED + BASH_REMATCH[1]))
		[ "${BASH_REMATCH[2]}" = 0 ] || mapfile -t -O ${#AUDIT_ERRORS[@]} AUDIT_ERRORS < <(tail -n +2 <<<"$out")
	else
		AUDIT_ERRORS+=("audit_validate.py: $out")
	fi
}
lab_on_steer_stopping() { audit_written_in_lab; }
lab_on_steer_stopped() { audit_validate; }

# The assertion: no invalid record, and some records when the daemon wrote some.
audit_schema_check() {
	audit_written_in_lab
	audit_validate --running
	[ "$AUDIT_VALIDATED" -gt 0 ] || [ "$AUDIT_WRITTEN" -gt 0 ] || [ ${#AUDIT_ERRORS[@]} -gt 0 ] || return 0
	if [ ${#AUDIT_ERRORS[@]} -gt 0 ]; then
		fail "audit: ${#AUDIT_ERRORS[@]} of $AUDIT_VALIDATED records break docs/audit.schema.json"
		printf '  ! %s\n' "${AUDIT_ERRORS[@]:0:20}"
	elif [ "$AUDIT_VALIDATED" -eq 0 ]; then
		fail "audit: the daemon wrote $AUDIT_WRITTEN records to the lab's log, none was there to validate"
	else
		pass "audit: all $AUDIT_VALIDATED records match docs/audit.schema.json"
	fi
}

finish() {
	sanitizer_check
	audit_schema_check
	if [ "$T_FAIL" -gt 0 ] && [ -s "$LAB_DIR/steer.log" ]; then
		echo "  --- steer log (last 30 lines)"
		tail -n 30 "$LAB_DIR/steer.log" | sed 's/^/  | /'
	fi
	echo "$T_NAME: $T_PASS passed, $T_FAIL failed"
	[ -n "${T_RESULTS:-}" ] && echo "$T_NAME $T_PASS $T_FAIL" >>"$T_RESULTS"
	exit $((T_FAIL > 0 ? 1 : 0))
}

# http_get NS URL: the body, with " via=LOCALIP:LOCALPORT" (the client's own end) appended.
http_get() {
	ip netns exec "$1" curl -sS --max-time 5 -g -w ' via=%{local_ip}:%{local_port}' "$2" 2>&1
}

# lab_reload: `steer reload` of the lab's daemon (its reply on stdout, errors on stderr).
lab_reload() { ip netns exec "$LAB_G" "$STEER" reload --control-socket "$LAB_DIR/steer.sock"; }

# lab_proxied URL: did a request from the client to URL go through the proxy (its accept counter)?
lab_proxied() {
	local before after
	before=$(lab_counter .proxy.accepted)
	http_get "$LAB_C" "$1" >/dev/null
	after=$(lab_counter .proxy.accepted)
	[ "$after" -gt "$before" ]
}

# field NAME TEXT: value of NAME=... in TEXT
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# audit_count JQ-FILTER: how many audit records match
audit_count() { jq -c "select($1)" "$LAB_DIR/audit.jsonl" 2>/dev/null | wc -l; }
