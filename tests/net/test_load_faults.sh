#!/usr/bin/env bash
# backends: ebpf
# Load with faults: the proxy holds as many idle connections as its open-files
# limit lets it (up to 10,000), more keep coming, a spoofed SYN flood runs and
# real clients keep connecting. While the proxy is at its connection limit
# new flows meet on-proxy-down (fail-open: forwarded untouched, counted)
# instead of waiting in a listen queue nobody reads; once connections close,
# new flows are proxied again. No audit record is missing and the memory per
# held connection is bounded. (nft cannot do this: tproxy still hands new
# flows to the full proxy's listeners, where they wait; steer(8) says so.)
. "$(dirname "$0")/lib.sh"

WANT=${STEER_TEST_IDLE_CONNS:-10000}
LOADGEN=$LAB_ROOT/build/bench/loadgen RESPONDER=$LAB_ROOT/build/bench/responder
[ -x "$LOADGEN" ] && [ -x "$RESPONDER" ] || { fail "setup: build/bench/loadgen and responder built (make check builds them)"; finish; }
command -v hping3 >/dev/null || { fail "setup: hping3 is installed (make deps)"; finish; }
# The proxy's bound follows from its open-files limit (6 per connection, worst case): ask for enough.
want_fd=$((6 * WANT + 1024))
ulimit -Hn "$want_fd" 2>/dev/null && ulimit -n "$want_fd" || ulimit -n "$(ulimit -Hn)"
echo "  open files: $(ulimit -n) per process (asked for $want_fd; nr_open $(cat /proc/sys/fs/nr_open))"

setup "lab" lab_up
setup "nginx" lab_nginx
ip netns exec "$LAB_S" "$RESPONDER" -p 9000 &
LAB_PIDS+=($!)
setup "idle sink on :9000" lab_wait_port "$LAB_S" 9000
setup "steer starts" lab_steer_start "$(lab_conf 'steer tcp dport 80,9000')"
cap=$(lab_counter .proxy.max_connections)
n=$((cap < WANT ? cap : WANT))
echo "  the proxy's bound: $cap connections; holding $n through it (of $WANT wanted) and 300 more"
expect_ge "the proxy's bound is reported (steer status)" "$cap" 1000
rss() { awk '/^VmRSS/ {print $2}' "/proc/$LAB_STEER_PID/status"; }
rss0=$(rss)

ip netns exec "$LAB_C" "$LOADGEN" -a "$S4" -p 9000 -i $((n + 300)) -T 2 -d 0 >"$LAB_DIR/idle.out" 2>&1 &
lg=$!
LAB_PIDS+=($lg)
for _ in $(seq 900); do grep -q ready "$LAB_DIR/idle.out" && break; sleep 0.1; done
held=$(field held "$(grep ready "$LAB_DIR/idle.out")")
open=$(lab_counter .proxy.open)
rss1=$(rss)
per=$(((rss1 - rss0) * 1024 / (open > 0 ? open : 1)))
echo "  client holds ${held:-0}; the proxy holds $open; steer's RSS $rss0 -> $rss1 KiB ($per B per connection)"
expect_eq "every idle connection opened (the ones beyond the bound forwarded)" "${held:-0}" $((n + 300))
# Full as soon as one worker reaches its share: the kernel hashes flows to workers unevenly.
expect_ge "the proxy holds at least half its bound" "$open" $((n / 2))
expect "memory bounded: under 16 KiB of RSS per held connection" test "$per" -lt 16384

# Full: the flood and real clients, while the connections are held.
acc=$(lab_counter .proxy.accepted)
inc hping3 -q -S -p 80 -c 20000 -i u50 -a 198.18.1.77 "$S4" >/dev/null 2>&1 &
hp=$!
served=0
for i in $(seq 20); do
	if [ "$i" = 11 ]; then # ten during the flood, ten after it
		wait $hp
		pass0=$(lab_counter .counters.ebpf.proxy_full_pass)
	fi
	[ "$(inc curl -s --max-time 3 -o /dev/null -w '%{http_code}' "http://$S4/")" = 200 ] && served=$((served + 1))
done
echo "  while full: $served/20 served; $(lab_status | jq -c '{proxy_full_pass: .counters.ebpf.proxy_full_pass, tcp_stack}')"
expect_eq "while full: every request served (10 during the flood, 10 after)" "$served" 20
expect_eq "while full: none handed to the full proxy" "$(lab_counter .proxy.accepted)" "$acc"
expect_eq "while full, after the flood: the 10 requests counted proxy_full_pass" \
	"$(($(lab_counter .counters.ebpf.proxy_full_pass) - pass0))" 10
expect "while full: steer status warns" bash -c "ip netns exec $LAB_G $STEER status --control-socket $LAB_DIR/steer.sock | grep -q 'warning:.*proxy_full_pass'"

kill "$lg"
wait "$lg" 2>/dev/null
for _ in $(seq 100); do [ "$(lab_counter .proxy.open)" = 0 ] && break; sleep 0.1; done
expect_eq "all held connections closed" "$(lab_counter .proxy.open)" 0
acc=$(lab_counter .proxy.accepted)
served=0
for i in $(seq 5); do
	[ "$(inc curl -s --max-time 3 -o /dev/null -w '%{http_code}' "http://$S4/")" = 200 ] && served=$((served + 1))
done
expect_eq "room again: requests served" "$served" 5
expect_eq "room again: proxied" "$(lab_counter .proxy.accepted)" $((acc + 5))
expect_eq "no audit record lost" "$(lab_counter .audit.lost)" 0
total=$(lab_counter .proxy.accepted)
expect "clean exit" lab_steer_stop
expect_eq "audit: an open record per accepted connection" "$(audit_count '.event=="open"')" "$total"
expect_eq "audit: a close record per accepted connection" "$(audit_count '.event=="close"')" "$total"
finish
