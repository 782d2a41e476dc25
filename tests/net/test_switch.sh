#!/usr/bin/env bash
# backends: ebpf
# Live switching: 20 switches ebpf <-> nft while wrk opens new connections and
# 10 long-lived streams (IPv4 and IPv6) move data through the proxy. Zero
# failed requests, zero resets, every stream's bytes intact; both backends
# steered, and the audit log records each switch.
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
ip netns exec "$LAB_S" socat TCP6-LISTEN:7000,ipv6only=0,reuseaddr,fork EXEC:cat &
LAB_PIDS+=($!)
setup "echo server" lab_wait_port "$LAB_S" 7000
setup "steer starts" lab_steer_start "$(lab_conf 'steer tcp dport 80,7000')"

streams() {
	ip netns exec "$LAB_C" python3 "$(dirname "$0")/streams.py" "$1" 7000 5 16 "$LAB_DIR/ready$2" \
		>"$LAB_DIR/streams$2.out" 2>&1
}
streams $S4 4 &
s4=$!
streams $S6 6 &
s6=$!
for i in $(seq 50); do [ -e "$LAB_DIR/ready4" ] && [ -e "$LAB_DIR/ready6" ] && break; sleep 0.1; done
# Until the switches are done and counted (stopped by SIGINT below, when wrk prints its report): how long the
# 20 switches take depends on the CPU (an emulated one, a busy host), and no fixed duration is sure to
# outlast them. The duration is only a bound for a loop that hangs.
ip netns exec "$LAB_C" wrk -t1 -c4 -d"$(scaled 120)"s -H 'Connection: close' "http://$S4/" >"$LAB_DIR/wrk.out" 2>&1 &
w=$!
sleep 0.5
switched=0
for i in $(seq 20); do
	to=$([ $((i % 2)) -eq 1 ] && echo nft || echo ebpf)
	ip netns exec "$LAB_G" "$STEER" backend "$to" --control-socket "$LAB_DIR/steer.sock" >/dev/null && switched=$((switched + 1))
	sleep 0.5
done
expect_eq "20 switches accepted" "$switched" 20
# Read while wrk still runs: when it exits it drops its in-flight
# connections with resets of its own, which are not the switch's doing.
expect "wrk still running after the switches" kill -0 $w
resets=$(lab_counter '.proxy.closed.client_reset + .proxy.closed.upstream_reset')
kill -INT $w
wait $w
reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$LAB_DIR/wrk.out")
echo "  wrk: $reqs requests; $(grep -E 'Socket errors|Non-2xx' "$LAB_DIR/wrk.out" | tr -s ' ' || echo 'no errors')"
expect_ge "wrk made requests throughout" "${reqs:-0}" 1000
expect "wrk: no socket errors" bash -c "! grep -q 'Socket errors' $LAB_DIR/wrk.out"
expect "wrk: no non-2xx responses" bash -c "! grep -q 'Non-2xx' $LAB_DIR/wrk.out"
wait $s4
rc=$?
expect_eq "IPv4 streams intact ($(tr '\n' ' ' <"$LAB_DIR/streams4.out"))" "$rc" 0
wait $s6
rc=$?
expect_eq "IPv6 streams intact ($(tr '\n' ' ' <"$LAB_DIR/streams6.out"))" "$rc" 0
expect_eq "proxy: no connection reset during the switches" "$resets" 0
expect_eq "back on ebpf after an even number of switches" "$(lab_counter .backend)" ebpf
expect_ge "eBPF steered new flows" "$(lab_counter .counters.ebpf.steered_new)" 100
expect_ge "nft was probed into new flows" "$(lab_counter .counters.ebpf.probed)" 100
expect "clean exit" lab_steer_stop
expect_eq "audit: 20 backend records" "$(audit_count '.event=="backend"')" 20
expect_ge "audit: flows attributed to nft" "$(audit_count '.event=="open" and .backend=="nft"')" 100
expect_ge "audit: flows attributed to ebpf" "$(audit_count '.event=="open" and .backend=="ebpf"')" 100
expect_eq "audit: every close follows its open's backend" \
	"$(jq -s 'map(select(.flow)) | group_by(.flow) | map(select(map(.backend) | unique | length > 1)) | length' "$LAB_DIR/audit.jsonl")" 0
finish
