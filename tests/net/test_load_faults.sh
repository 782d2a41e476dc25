#!/usr/bin/env bash
# Load with faults: 10,000 idle connections held through the proxy while a
# spoofed SYN flood runs and real clients keep connecting. Every legitimate
# request is served and proxied, no audit record is missing, and the proxy's
# memory per held connection stays bounded. The open-files limit is raised
# for the whole lab (root may) so that the proxy's two sockets per
# connection fit; the test says where it stops if the machine cannot.
. "$(dirname "$0")/lib.sh"

N=${STEER_TEST_IDLE_CONNS:-10000}
LOADGEN=$LAB_ROOT/build/bench/loadgen RESPONDER=$LAB_ROOT/build/bench/responder
[ -x "$LOADGEN" ] && [ -x "$RESPONDER" ] || { fail "setup: build/bench/loadgen and responder built (make check builds them)"; finish; }
command -v hping3 >/dev/null || { fail "setup: hping3 is installed (make deps)"; finish; }
# Each held connection: the client's socket, the proxy's two, the server's one.
want=$((4 * N + 4096))
ulimit -Hn "$want" 2>/dev/null && ulimit -n "$want" || echo "  open files: could only get $(ulimit -Hn) of $want"
echo "  open files: $(ulimit -n) for the lab (nr_open $(cat /proc/sys/fs/nr_open))"

setup "lab" lab_up
setup "nginx" lab_nginx
ip netns exec "$LAB_S" "$RESPONDER" -p 9000 &
LAB_PIDS+=($!)
setup "idle sink on :9000" lab_wait_port "$LAB_S" 9000
setup "steer starts" lab_steer_start "$(lab_conf 'steer tcp dport 80,9000')"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$LAB_STEER_PID/status"; }
rss0=$(rss)

ip netns exec "$LAB_C" "$LOADGEN" -a "$S4" -p 9000 -i "$N" -T 2 -d 0 >"$LAB_DIR/idle.out" 2>&1 &
lg=$!
LAB_PIDS+=($lg)
for _ in $(seq 600); do grep -q ready "$LAB_DIR/idle.out" && break; sleep 0.1; done
held=$(field held "$(grep ready "$LAB_DIR/idle.out")")
rss1=$(rss)
echo "  held ${held:-0} idle connections through the proxy; steer's RSS $rss0 -> $rss1 KiB ($(((rss1 - rss0) * 1024 / ${held:-1})) B each)"
expect_eq "$N idle connections held through the proxy" "${held:-0}" "$N"
expect_ge "the proxy holds them (open connections)" "$(lab_counter .proxy.open)" "$N"
expect "memory bounded: under 16 KiB of RSS per held connection" test $(((rss1 - rss0) * 1024 / ${held:-1})) -lt 16384

# The flood and real clients, while the connections are held.
inc hping3 -q -S -p 80 -c 20000 -i u50 -a 198.18.1.77 "$S4" >/dev/null 2>&1 &
hp=$!
served=0
for i in $(seq 20); do
	[ "$i" = 11 ] && wait $hp # ten during the flood, ten after it
	[ "$(inc curl -s --max-time 3 -o /dev/null -w '%{http_code}' "http://$S4/")" = 200 ] && served=$((served + 1))
done
echo "  legitimate requests: $served/20 served (10 during the flood, 10 after); $(lab_status | jq -c .tcp_stack)"
expect_eq "every legitimate request served, during the flood and after" "$served" 20
expect_eq "every one proxied (accepts: the held ones and these)" "$(lab_counter .proxy.accepted)" "$((N + 20))"

kill "$lg"
wait "$lg" 2>/dev/null
for _ in $(seq 100); do [ "$(lab_counter .proxy.open)" = 0 ] && break; sleep 0.1; done
expect_eq "all connections closed" "$(lab_counter .proxy.open)" 0
expect_eq "no audit record lost" "$(lab_counter .audit.lost)" 0
expect "clean exit" lab_steer_stop
expect_eq "audit: an open record per accepted connection" "$(audit_count '.event=="open"')" "$((N + 20))"
expect_eq "audit: a close record per accepted connection" "$(audit_count '.event=="close"')" "$((N + 20))"
finish
