#!/usr/bin/env bash
# backends: ebpf nft
# TIME_WAIT on the gateway. With "Connection: close" the server closes first
# and the proxy passes the FIN on to the client first, so the proxy's
# client-facing socket ends in TIME_WAIT on the gateway. A new SYN that reuses
# a client port meets that socket; it must still reach the proxy at once (eBPF:
# the classifier hands the SYN to the TIME_WAIT socket, the kernel's TW_SYN
# path looks up a listener and the netns sk_lookup program steer_lookup gives
# it the proxy's; nft: nf_tproxy_handle_time_wait4/6).
#   - wrk -c8 -d5s with Connection: close, twice in a row (the second run meets
#     the first run's TIME_WAIT sockets): no socket error, and at least 30 % of
#     the rate of the same run routed directly (no steer) in the same lab
#     (divided by STEER_TEST_TIME_SCALE);
#   - 20 connections in a row from one fixed source port (v4 and v6): each
#     completes in under 200 ms;
#   - proxy external with two reuseport listeners, 4 s of connection churn
#     with the client's ports wrapping: no failure, none over 500 ms.
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
# Under TCG the proxy's share of the CPU costs more than routing: the ratio scales too.
MIN_PCT=$((30 / T_SCALE))

# wrk_run URL: "rate=N errors=N" (requests/s; socket errors of any kind plus non-2xx responses)
wrk_run() {
	local out rate errs non2xx
	out=$(inc wrk -t1 -c8 -d5s -H 'Connection: close' "$1" 2>&1)
	rate=$(sed -n 's/^Requests\/sec: *\([0-9]*\).*/\1/p' <<<"$out")
	errs=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' <<<"$out" |
		awk '{print $1 + $2 + $3 + $4}')
	non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' <<<"$out")
	echo "rate=${rate:-0} errors=$((${errs:-0} + ${non2xx:-0}))"
}
tw_count() { ing ss -Htan state time-wait | wc -l; }

command -v wrk >/dev/null || { echo "  wrk needed (make deps)"; fail "setup: wrk installed"; finish; }
setup "lab" lab_up
setup "nginx" lab_nginx

# Direct routing, no steer: the reference rate (TIME_WAIT sits on the server).
direct=$(wrk_run "http://$S4/")
echo "  direct routing: $direct"
drate=$(field rate "$direct")
expect_eq "direct: no socket error" "$(field errors "$direct")" 0
setup "steer starts" lab_steer_start "$(lab_conf 'steer tcp dport 80')" --audit-log /dev/null

tw0=$(lab_kc tw_redirected - 2>/dev/null)
for run in 1 2; do
	res=$(wrk_run "http://$S4/")
	rate=$(field rate "$res")
	echo "  through steer, run $run: $res (gateway TIME_WAIT sockets now: $(tw_count))"
	expect_eq "run $run: no socket error" "$(field errors "$res")" 0
	expect_ge "run $run: at least $MIN_PCT % of the direct rate ($rate vs $drate conn/s)" \
		$((rate * 100)) $((drate * MIN_PCT))
done
if ! lab_is_nft; then
	tw1=$(lab_kc tw_redirected -)
	echo "  TIME_WAIT SYNs redirected by steer_lookup: $((tw1 - tw0))"
	expect_ge "ebpf: TIME_WAIT SYNs redirected to the proxy (tw_redirected)" $((tw1 - tw0)) 1
	expect_eq "ebpf: no redirect lacked its listener (lookup_failed)" "$(lab_kc lookup_failed -)" 0
fi

expect "clean exit" lab_steer_stop

# One fixed client port, 20 connections in a row: each meets the previous one's
# TIME_WAIT on the gateway. upstream-source client-ip here: with "client" the
# proxy's upstream connection reuses the same 4-tuple at once too, and the
# server's own TIME_WAIT/FIN_WAIT2 for it sometimes answers with a reset
# (upstream_refused, nft and ebpf alike): the proxy's matter, not this test's.
setup "steer starts (client-ip)" lab_steer_start "$(lab_conf 'steer tcp dport 80')" --audit-log /dev/null \
	--upstream-source client-ip
tw0=$(lab_kc tw_redirected - 2>/dev/null)
for spec in "$S4 20001" "$S6 20002"; do # below the ephemeral range: no wrk socket holds them
	set -- $spec
	res=$(inc python3 "$HERE/tw_reuse.py" "$1" 80 20 "$2")
	echo "  $1 from port $2: $res"
	expect_eq "$1: 20 connections from port $2, no failure" "$(field failures "$res")" 0
	max=$(field max_ms "$res")
	expect "$1: each under $(scaled 200) ms (slowest ${max:-?} ms)" awk "BEGIN {exit !(${max:-9999} < $(scaled 200))}"
done
lab_is_nft || expect_ge "ebpf: 38 of those SYNs redirected by steer_lookup" $(($(lab_kc tw_redirected -) - tw0)) 38
expect_eq "every connection went through the proxy" "$(lab_counter .proxy.accepted)" 40
expect "clean exit" lab_steer_stop

# An external proxy with two SO_REUSEPORT listeners (bench/responder -T 2:
# answers itself and closes first, so nearly every SYN meets a TIME_WAIT
# socket after the client's ports wrap). The classifier's lookup returns either
# listener; rewriting steer_ext_listen with each in turn once made a psock
# rebuild fail now and then (assign_failed) when two CPUs took SYNs at once:
# a dropped SYN, a 1 s stall. Two client threads: both CPUs steer.
LOADGEN=$LAB_ROOT/build/bench/loadgen RESPONDER=$LAB_ROOT/build/bench/responder
if [ -x "$LOADGEN" ] && [ -x "$RESPONDER" ]; then
	setup "steer starts (proxy external)" lab_steer_start "$(lab_conf 'steer tcp dport 80' 'proxy external')" \
		--audit-log /dev/null
	ip netns exec "$LAB_G" "$RESPONDER" -p 15001 -t -T 2 &
	LAB_PIDS+=($!)
	setup "two-listener responder" lab_wait_port "$LAB_G" 15001
	inc sysctl -qw net.ipv4.ip_local_port_range="40000 44999" # wraps within the run
	res=$(inc "$LOADGEN" -a "$S4" -p 80 -c 128 -T 2 -d "$(scaled 4)")
	echo "  external, TIME_WAIT churn: $res"
	expect_eq "external: no connection failed" "$(field errors "$res")" 0
	expect_ge "external: at least 10,000 connections (the ports wrapped)" "$(field conns "$res")" 10000
	max=$(field max_us "$res")
	expect "external: none stalled (slowest ${max:-?} us, a lost SYN costs 1 s)" \
		awk "BEGIN {exit !(${max:-9999999} < $(scaled 500000))}"
	lab_is_nft || expect_eq "ebpf: no assign failed" "$(lab_kc assign_failed -)" 0
	expect "clean exit" lab_steer_stop
else
	fail "setup: build/bench/loadgen and build/bench/responder built (make check builds them)"
fi
finish
