#!/usr/bin/env bash
# Draining (drain-timeout): on SIGTERM the proxy takes no new flows, which
# meet on-proxy-down (fail-open: forwarded untouched, no accept, no audit
# record; fail-closed: dropped, counted), while a TCP transfer in flight
# finishes intact and a UDP session's late reply is still relayed. steer
# exits 0 once they end, or cuts what is left at drain-timeout (close
# reason drain_timeout); a second SIGTERM stops at once; drain-timeout 0
# stops at once as before. Afterwards the gateway is exactly as before.
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
setup "lab" lab_up
setup "nginx" lab_nginx
ins python3 "$HERE/upload.py" serve 9000 $S4 $S6 &
LAB_PIDS+=($!)
ins python3 "$HERE/udp_late.py" serve 5353 2 $S4 &
LAB_PIDS+=($!)
setup "upload server" lab_wait_port "$LAB_S" 9000
before=$(lab_snapshot)
log=$LAB_DIR/steer.log

# upload NAME DST BYTES SECONDS: a paced upload through the gateway, in the
# background; its result goes to $LAB_DIR/NAME.out, its pid to UPLOAD_PID.
upload() {
	rm -f "$LAB_DIR/$1.ready"
	inc python3 "$HERE/upload.py" send "$2" 9000 "$3" --seconds "$4" --timeout $(($4 + 20)) \
		--ready "$LAB_DIR/$1.ready" >"$LAB_DIR/$1.out" 2>&1 &
	UPLOAD_PID=$!
	for i in $(seq 50); do [ -e "$LAB_DIR/$1.ready" ] && break; sleep 0.1; done
}
# open_conns: TCP connections the proxy holds now.
open_conns() { lab_counter .proxy.open; }
# wait_open N: until the proxy holds at least N connections (5 s).
wait_open() {
	for i in $(seq 50); do [ "$(open_conns)" -ge "$1" ] && return 0; sleep 0.1; done
	return 1
}
# sigterm: SIGTERM to steer, noting when.
sigterm() {
	kill -TERM "$LAB_STEER_PID"
	T_KILL=$(date +%s%N)
}
# stopped_within SECONDS: steer exits 0 within that long of the last sigterm;
# sets STOP_MS to how long it took.
stopped_within() {
	local st
	for i in $(seq $(($1 * 10 + 10))); do kill -0 "$LAB_STEER_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$LAB_STEER_PID"
	st=$?
	STOP_MS=$((($(date +%s%N) - T_KILL) / 1000000))
	LAB_STEER_PID=
	[ "$st" = 0 ] && [ "$STOP_MS" -le $(($1 * 1000)) ]
}
# dport_records EVENT PORT [REASON]: audit records of that event for S4/S6:PORT.
dport_records() {
	audit_count ".event==\"$1\" and (.dst==\"$S4:$2\" or .dst==\"[$S6]:$2\")${3:+ and .reason==\"$3\"}"
}

# ---- fail-open: the transfer finishes, new flows are forwarded, steer stops when they end
conf=$(lab_conf 'steer tcp dport 80,9000' 'steer udp dport 5353' 'drain-timeout 20' 'udp-idle-timeout 4')
setup "steer starts (fail-open, drain-timeout 20)" lab_steer_start "$conf"
upload up4 $S4 3000000 8
up4=$UPLOAD_PID
upload up6 $S6 3000000 8
up6=$UPLOAD_PID
setup "both uploads proxied" wait_open 2
inc python3 "$HERE/udp_late.py" ask $S4 5353 6 --ready "$LAB_DIR/udp.ready" >"$LAB_DIR/udp.out" 2>&1 &
udp=$!
for i in $(seq 30); do [ "$(lab_counter .proxy.udp_sessions_open)" -ge 1 ] && break; sleep 0.1; done
setup "the UDP session is open" test "$(lab_counter .proxy.udp_sessions_open)" -ge 1
accepted=$(lab_counter .proxy.accepted)
sessions=$(lab_counter .proxy.udp_sessions_total)
down=$(lab_counter .proxy.udp_datagrams_down)
sigterm
sleep 0.3
st=$(lab_status)
expect_eq "draining: status json state" "$(jq -r .state <<<"$st")" draining
expect_ge "draining: status counts the open connections" "$(jq -r .drain.connections <<<"$st")" 2
expect_ge "draining: status counts the UDP session" "$(jq -r .drain.udp_sessions <<<"$st")" 1
left=$(jq -r .drain.seconds_left <<<"$st")
expect "draining: seconds left in (15, 20]" test "$left" -gt 15 -a "$left" -le 20
expect "draining: status text says so" bash -c "ip netns exec $LAB_G $STEER status --control-socket $LAB_DIR/steer.sock | grep -q '^draining: .* s left of drain-timeout 20'"
out=$(http_get "$LAB_C" "http://$S4/")
via=$(field via "$out")
expect_eq "new flow during the drain: forwarded untouched (v4)" "$(field port "$out")" "${via##*:}"
out=$(http_get "$LAB_C" "http://[$S6]/")
expect_eq "new flow during the drain: answered (v6)" "$(field server "$out")" "$S6:80"
expect_eq "new flows during the drain: the proxy accepted none" "$(lab_counter .proxy.accepted)" "$accepted"
err=$(lab_reload 2>&1)
expect "reload during the drain: refused, says why" grep -q "reload refused: steer is stopping, draining" <<<"$err"
err=$(ing "$STEER" backend nft --control-socket "$LAB_DIR/steer.sock" 2>&1)
expect "backend switch during the drain: refused" grep -q "backend refused: steer is stopping" <<<"$err"
expect_eq "backend query during the drain: answered" \
	"$(ing "$STEER" backend --control-socket "$LAB_DIR/steer.sock")" "${STEER_TEST_BACKEND:-ebpf}"
wait $udp
expect "UDP: the late reply reached the client" grep -q '^ok' "$LAB_DIR/udp.out"
expect_ge "UDP: the reply was relayed by the proxy during the drain" \
	"$(lab_counter .proxy.udp_datagrams_down)" $((down + 1))
inc python3 "$HERE/udp_late.py" ask $S4 5353 4 >"$LAB_DIR/udp2.out" 2>&1
expect "UDP: a new flow during the drain is forwarded untouched" grep -q '^ok' "$LAB_DIR/udp2.out"
expect_eq "UDP: no session opened for it" "$(lab_counter .proxy.udp_sessions_total)" "$sessions"
wait $up4
expect "the v4 transfer in flight finished intact" grep -q '^ok bytes=3000000' "$LAB_DIR/up4.out"
wait $up6
expect "the v6 transfer in flight finished intact" grep -q '^ok bytes=3000000' "$LAB_DIR/up6.out"
expect "steer exits 0 once they ended, well before drain-timeout" stopped_within 12
expect "log: the drain's start, with what is open and the timeout" \
	grep -q "draining: 2 TCP connections and 1 UDP sessions open; new flows are not proxied (on-proxy-down fail-open: forwarded untouched); .* 20 s (drain-timeout)" "$log"
expect "log: the drain's end: all closed" grep -q "drain ended: all closed after" "$log"
expect_eq "audit: no open record for the new flows on port 80" "$(dport_records open 80)" 0
expect_eq "audit: the transfers closed normally (eof)" "$(dport_records close 9000 eof)" 2
expect_eq "audit: the UDP session ended idle" "$(dport_records close 5353 idle_timeout)" 1
expect_eq "after the drain: gateway as before" "$(lab_snapshot)" "$before"
rm -f "$LAB_DIR/audit.jsonl"

# ---- fail-closed: new flows refused; what is still open at drain-timeout is cut
conf=$(lab_conf 'steer tcp dport 80,9000' 'drain-timeout 3' 'on-proxy-down fail-closed')
setup "steer starts (fail-closed, drain-timeout 3)" lab_steer_start "$conf"
upload slow $S4 3000000 30
slow=$UPLOAD_PID
setup "the slow upload is proxied" wait_open 1
drops=$(lab_kc no_listener_drop no_listener_drop)
sigterm
sleep 0.3
expect "fail-closed: a new flow during the drain is refused" \
	bash -c "! ip netns exec $LAB_C curl -s --max-time 1 http://$S4/ >/dev/null"
expect_ge "fail-closed: its drops counted" "$(lab_kc no_listener_drop no_listener_drop)" $((drops + 1))
expect "drain-timeout 3: steer exits 0 at the timeout" stopped_within 6
expect_ge "drain-timeout 3: not before it (ms)" "$STOP_MS" 2900
wait $slow
expect "the transfer still open at the timeout was cut" grep -q '^fail' "$LAB_DIR/slow.out"
expect_eq "audit: its close record says drain_timeout" "$(dport_records close 9000 drain_timeout)" 1
expect "log: the drain's end: timeout, 1 cut" grep -q "drain ended: drain-timeout (3 s) passed, 1 cut" "$log"
expect_eq "after the timeout: gateway as before" "$(lab_snapshot)" "$before"
rm -f "$LAB_DIR/audit.jsonl"

# A transfer that outlasts the test, through steer with drain-timeout $1.
start_with_transfer() {
	conf=$(lab_conf 'steer tcp dport 80,9000' "drain-timeout $1")
	setup "steer starts (drain-timeout $1)" lab_steer_start "$conf"
	upload long $S4 3000000 30
	LONG_PID=$UPLOAD_PID
	setup "the upload is proxied" wait_open 1
}
# cut_at_once WHAT: steer stopped at once, the transfer reset, closed as "shutdown".
cut_at_once() {
	expect "$1: steer exits 0 at once" stopped_within 2
	wait $LONG_PID
	expect "$1: the transfer was cut" grep -q '^fail' "$LAB_DIR/long.out"
	expect_eq "$1: its close record says shutdown" "$(dport_records close 9000 shutdown)" 1
}

# ---- a second SIGTERM during the drain stops at once
start_with_transfer 60
sigterm
sleep 0.5
expect_eq "first SIGTERM: draining" "$(lab_counter .state)" draining
sigterm
cut_at_once "second SIGTERM"
expect "log: the drain's end: signal, 1 cut" grep -q "drain ended: signal 15 after .* s, 1 cut" "$log"
expect_eq "after the second signal: gateway as before" "$(lab_snapshot)" "$before"
rm -f "$LAB_DIR/audit.jsonl"

# ---- drain-timeout 0: today's stop, at once
start_with_transfer 0
lines=$(grep -c "draining:" "$log")
sigterm
cut_at_once "drain-timeout 0"
expect_eq "drain-timeout 0: no drain" "$(grep -c "draining:" "$log")" "$lines"
expect_eq "after drain-timeout 0: gateway as before" "$(lab_snapshot)" "$before"
finish
