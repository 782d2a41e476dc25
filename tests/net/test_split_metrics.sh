#!/usr/bin/env bash
# backends: ebpf
# Live A/B in Prometheus: in `backend split 50` with real TCP and UDP flows,
# the metrics page parses with the Prometheus client's parser and agrees
# with `steer status --json`; per backend, steer_flow_setup_seconds' _count
# equals the audit's open records that carry steer_us and equals
# steer_backend_flows_total; `steer status` prints both backends side by
# side. steer_build_info names this steer and kernel; a refused reload sets
# steer_config_last_reload_successful to 0, a good one back to 1.
# Independently of the kernel's flow records (which give both the audit's
# backend and the metrics' label): per backend, the audit's TCP opens match
# that backend's own packet counter of new SYNs it steered.
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
ip netns exec "$LAB_S" python3 "$(dirname "$0")/udp_echo.py" 7 $S4 $S6 &
LAB_PIDS+=($!)
conf=$(lab_conf 'steer tcp dport 80' 'steer udp dport 7' 'metrics-listen 127.0.0.1:9464' 'drain-timeout 1')
cp "$conf" "$LAB_DIR/good.conf"
setup "steer starts (split 50)" lab_steer_start "$conf" --backend "split 50"
scrape() { ip netns exec "$LAB_G" curl -sS --max-time 3 http://127.0.0.1:9464/metrics; }
# metric NAME{LABELS}: one sample's value from the last scrape.
metric() { awk -v k="$1" '$1 == k { print $2 }' "$LAB_DIR/metrics.txt"; }

# SYNs each backend steered: the classifier's steered_new (assigned to the
# listener; it counts UDP too, so only the TCP phase is measured) and nft's
# tproxy rule counter (TCP: SYNs only); and the client's SYN retransmissions.
syns() {
	lab_status | jq -r '"\(.counters.ebpf.steered_new) \(.counters.nft.steered // 0)"'
	inc nstat -asz TcpExtTCPSynRetrans | awk '$1 == "TcpExtTCPSynRetrans" { n = $2 } END { print n + 0 }'
}
read -r syn_e0 syn_n0 retrans0 < <(syns | xargs)
# Fresh source ports (churn.py): each connection's one SYN is a new flow.
res=$(inc python3 "$(dirname "$0")/churn.py" $S4 80 300 20000)
expect_eq "IPv4: 300 connections, no failure ($res)" "$(field failures "$res")" 0
res=$(inc python3 "$(dirname "$0")/churn.py" $S6 80 100 21000)
expect_eq "IPv6: 100 connections, no failure ($res)" "$(field failures "$res")" 0
read -r syn_e1 syn_n1 retrans1 < <(syns | xargs)
expect "UDP: 60 sessions echoed" inc python3 "$(dirname "$0")/udp_client.py" $S4 7 --sessions 60 --peer port
for i in $(seq 40); do [ "$(lab_counter .audit.queued)" = 0 ] && break; sleep 0.1; done
sleep 0.3
scrape >"$LAB_DIR/metrics.txt"
lab_status >"$LAB_DIR/status.json"
out=$(/usr/bin/python3 "$(dirname "$0")/metrics_check.py" "$LAB_DIR/metrics.txt" "$LAB_DIR/status.json")
expect_eq "metrics parse and match status ($(grep -c '^ok' <<<"$out") checks; $(grep '^FAIL' <<<"$out" | head -3 | tr '\n' ';'))" "$?" 0
text=$(ing "$STEER" status --control-socket "$LAB_DIR/steer.sock")
expect "status: the split side-by-side names both backends" grep -Eq '^ +ebpf +nft$' <<<"$text"
expect "status: p50 and p99 setup latency in µs for both" grep -Eq '^  setup p99 +[0-9.]+ us +[0-9.]+ us$' <<<"$text"
expect "status: says the latency is bucket-interpolated" grep -q 'bucket-interpolated' <<<"$text"
expect "status: the kernel's packet counters are labelled as packets" grep -q '^kernel (ebpf) packets:' <<<"$text"
expect "status --json: p50 <= p99 for ebpf and nft" \
	test "$(jq '[.flows.ebpf, .flows.nft] | all(.setup | .p50_s != null and .p50_s <= .p99_s)' "$LAB_DIR/status.json")" = true
expect "the classifier's run time is exported (BPF_STATS_RUN_TIME)" \
	test "$(metric 'steer_classifier_runs_total{program="steer_ingress"}')" -gt 0
expect_eq "build_info: this steer's version and the kernel" \
	"$(grep -c "^steer_build_info{version=\"$("$STEER" version | awk 'NR == 1 { print $2 }')\",libbpf=\"[^\"]*\",libnftnl=\"[^\"]*\",kernel=\"$(uname -r)\"} 1$" "$LAB_DIR/metrics.txt")" 1
expect_eq "reload gauge: 1 before any reload" "$(metric steer_config_last_reload_successful)" 1
started=$(metric steer_config_last_reload_success_timestamp_seconds)

echo 'steer tcp dport nonsense' >>"$conf"
expect_not "a bad config: reload refused" lab_reload
scrape >"$LAB_DIR/metrics.txt"
expect_eq "reload gauge: 0 after the refused reload" "$(metric steer_config_last_reload_successful)" 0
expect_eq "its timestamp stays at the start" "$(metric steer_config_last_reload_success_timestamp_seconds)" "$started"
expect_eq "status --json: reload.ok false" "$(lab_counter .reload.ok)" false
expect "status warns of the failed reload" grep -q 'last reload failed' <<<"$(ing "$STEER" status --control-socket "$LAB_DIR/steer.sock")"
sleep 1
cp "$LAB_DIR/good.conf" "$conf"
expect "the good config: reload accepted" lab_reload
scrape >"$LAB_DIR/metrics.txt"
expect_eq "reload gauge: 1 after the good reload" "$(metric steer_config_last_reload_successful)" 1
expect "its timestamp moved past the start" test "$(metric steer_config_last_reload_success_timestamp_seconds)" -gt "$started"
expect "clean exit" lab_steer_stop

# The writer has written every record now: the audit's opens per backend against the last scrape.
for b in ebpf nft; do
	n=0 f=0
	for p in tcp udp; do
		n=$((n + $(metric "steer_flow_setup_seconds_count{backend=\"$b\",proto=\"$p\"}")))
		f=$((f + $(metric "steer_backend_flows_total{backend=\"$b\",proto=\"$p\"}")))
	done
	opens=$(audit_count ".event==\"open\" and .backend==\"$b\"")
	timed=$(audit_count ".event==\"open\" and .backend==\"$b\" and (.steer_us | type) == \"number\"")
	echo "  $b: histogram $n, flows_total $f, audit opens $opens ($timed with steer_us)"
	expect "$b steered some of the 460 flows" test "$opens" -gt 50
	expect_eq "$b: histogram _count = audit open records with steer_us" "$n" "$timed"
	expect_eq "$b: histogram _count = audit open records" "$n" "$opens"
	expect_eq "$b: steer_backend_flows_total = audit open records" "$f" "$opens"
done
expect_eq "every flow of the 460 opened once" "$(audit_count '.event=="open"')" 460

# The audit's TCP opens per backend against that backend's own SYN counter
# (not the kernel's flow records). A SYN the client retransmitted may be
# counted twice by a backend but opens once: a counter may exceed its opens by
# at most the client's retransmissions R, never fall short. Were the audit's
# labels swapped, the bounds would compare ebpf's counter with nft's share and
# the reverse, and both hold only if the two shares differ by at most R. The
# ports are fixed and the split hash has no seed, so the shares are the same
# every run (189 and 211), and the test asserts they differ by more than R:
# a swap fails here.
retrans=$((retrans1 - retrans0))
tcp_e=$(audit_count '.event=="open" and .proto=="tcp" and .backend=="ebpf"')
tcp_n=$(audit_count '.event=="open" and .proto=="tcp" and .backend=="nft"')
echo "  TCP: ebpf opens $tcp_e, steered_new +$((syn_e1 - syn_e0)); nft opens $tcp_n, steered +$((syn_n1 - syn_n0)); SYN retransmits $retrans"
expect_eq "the 400 TCP connections each opened once" "$((tcp_e + tcp_n))" 400
expect "the TCP shares differ by more than the $retrans SYN retransmits (a label swap would show)" \
	test $((tcp_e > tcp_n ? tcp_e - tcp_n : tcp_n - tcp_e)) -gt "$retrans"
# share NAME COUNTER_DELTA OPENS
share() {
	expect "$1: a share of the SYNs (+$2)" test "$2" -gt 50
	expect "$1 +$2 >= that backend's TCP opens in the audit ($3)" test "$2" -ge "$3"
	expect "$1 +$2 <= those opens + the client's SYN retransmits ($3 + $retrans)" test "$2" -le $(($3 + retrans))
}
share "ebpf steered_new" $((syn_e1 - syn_e0)) "$tcp_e"
share "nft steered" $((syn_n1 - syn_n0)) "$tcp_n"
finish
