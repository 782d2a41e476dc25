#!/usr/bin/env bash
# Under systemd (Type=notify): steer tells the service manager READY=1 once
# steering is in place, RELOADING=1 (with MONOTONIC_USEC) then READY=1 around
# a reload, STATUS= with the backend and the rule count, and STOPPING=1 on
# SIGTERM, on the socket NOTIFY_SOCKET names. When stderr is the journal
# (JOURNAL_STREAM names it) every line carries its sd-daemon priority: <6>
# information, <4> warnings, <3> errors; anywhere else the lines stay plain.
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
notes=$LAB_DIR/notify.log
python3 "$(dirname "$0")/notify_listen.py" "$LAB_DIR/notify.sock" "$notes" "$LAB_DIR/notify.ready" &
LAB_PIDS+=($!)
for i in $(seq 50); do [ -e "$LAB_DIR/notify.ready" ] && break; sleep 0.1; done
setup "notification socket listening" test -S "$LAB_DIR/notify.sock"

# wait_note REGEX: a notification matching it arrives within 5 s.
wait_note() {
	for i in $(seq 50); do grep -Eq "$1" "$notes" && return 0; sleep 0.1; done
	return 1
}
# note_line REGEX: the line number of the last notification matching it.
note_line() { grep -En "$1" "$notes" | tail -n 1 | cut -d: -f1; }
# journal STREAM-FILE: the JOURNAL_STREAM value naming that file as stderr.
journal() { stat -c '%d:%i' "$1"; }

B=$STEER_TEST_BACKEND
conf=$(lab_conf 'steer tcp dport 80')
cp "$conf" "$LAB_DIR/base.conf"
touch "$LAB_DIR/steer.log"
export NOTIFY_SOCKET=$LAB_DIR/notify.sock
JOURNAL_STREAM=$(journal "$LAB_DIR/steer.log")
export JOURNAL_STREAM
setup "steer starts" lab_steer_start "$conf"
unset NOTIFY_SOCKET JOURNAL_STREAM

expect "start: READY=1 with STATUS=steering: $B, 1 rules" wait_note "^READY=1 STATUS=steering: $B, 1 rules$"
expect_eq "start: READY=1 sent once" "$(grep -c 'READY=1' "$notes")" 1

{ cat "$LAB_DIR/base.conf"; echo 'steer tcp dport 8080'; } >"$conf"
expect_eq "reload answers" "$(ing "$STEER" reload --control-socket "$LAB_DIR/steer.sock")" "reloaded: 2 rules"
expect "reload: RELOADING=1 with MONOTONIC_USEC" wait_note '^RELOADING=1 MONOTONIC_USEC=[0-9]+$'
expect "reload: READY=1 with the new rule count" wait_note "^READY=1 STATUS=steering: $B, 2 rules$"
expect "reload: READY=1 after RELOADING=1" \
	test "$(note_line "^READY=1 STATUS=steering: $B, 2 rules$")" -gt "$(note_line '^RELOADING=1')"

echo frobnicate >>"$conf"
ing "$STEER" reload --control-socket "$LAB_DIR/steer.sock" >/dev/null 2>&1
expect_eq "refused reload: RELOADING=1 twice in all" "$(grep -c '^RELOADING=1' "$notes")" 2
expect "refused reload: READY=1 again, the rules as they were" \
	test "$(grep -c "^READY=1 STATUS=steering: $B, 2 rules$" "$notes")" -eq 2

other=$([ "$B" = nft ] && echo ebpf || echo nft)
setup "switch to $other" ing "$STEER" backend "$other" --control-socket "$LAB_DIR/steer.sock" >/dev/null
expect "backend switch: STATUS=steering: $other" wait_note "^STATUS=steering: $other, 2 rules$"

expect "SIGTERM: clean exit" lab_steer_stop
expect "SIGTERM: STOPPING=1" wait_note '^STOPPING=1( |$)'
expect "SIGTERM: STOPPING=1 after the last READY=1" test "$(note_line '^STOPPING=1')" -gt "$(note_line '^READY=1')"

log=$LAB_DIR/steer.log
expect "journal: every line of the daemon has a priority" bash -c "! grep -vEq '^<[0-7]>' $log"
expect "journal: running is information" grep -q '^<6>steer: running: ' "$log"
expect "journal: reloaded is information" grep -q '^<6>steer: reloaded: 2 rules$' "$log"
expect "journal: the backend switch is information" grep -q "^<6>steer: backend .* -> $other$" "$log"
expect "journal: stopped is information" grep -q '^<6>steer: stopped; everything removed$' "$log"
expect_not "journal: no prefix twice" grep -Eq '<[0-7]>.*<[0-7]>' "$log"

# A fresh network namespace: forwarding off (warnings), no gw-cli (errors).
err=$LAB_DIR/journal.err
touch "$err"
JOURNAL_STREAM=$(journal "$err") unshare -n "$STEER" run -c "$conf" 2>>"$err"
sed -i '$d' "$conf" # the frobnicate line: the fresh namespace only sees preflight
JOURNAL_STREAM=$(journal "$err") unshare -n "$STEER" run -c "$conf" 2>>"$err"
expect_eq "failed start: exit 1" "$?" 1
expect "journal: a config error is an error" grep -q "^<3>$conf:[0-9]*:[0-9]*: " "$err"
expect "journal: a missing interface is an error" grep -q '^<3>steer: .*interface gw-cli does not exist' "$err"
expect "journal: forwarding off is a warning" grep -q '^<4>steer: warning: .*ip_forward is 0' "$err"
expect "journal: every line has a priority" bash -c "! grep -vEq '^<[0-7]>' $err"

plain=$(JOURNAL_STREAM=$(journal "$err") unshare -n "$STEER" run -c "$conf" 2>&1)
expect "stderr redirected elsewhere: plain lines" grep -q '^steer: .*interface gw-cli does not exist' <<<"$plain"
expect_not "stderr redirected elsewhere: no priorities" grep -Eq '^<[0-7]>' <<<"$plain"
plain=$(unshare -n "$STEER" run -c "$conf" 2>&1)
expect_not "no JOURNAL_STREAM: no priorities" grep -Eq '^<[0-7]>' <<<"$plain"
finish
