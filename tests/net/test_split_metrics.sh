#!/usr/bin/env bash
# backends: ebpf
# Live A/B in Prometheus: in `backend split 50` with real TCP and UDP flows,
# the metrics page parses with the Prometheus client's parser and agrees
# with `steer status --json`; per backend, steer_flow_setup_seconds' _count
# equals the audit's open records that carry steer_us and equals
# steer_backend_flows_total; `steer status` prints both backends side by
# side. steer_build_info names this steer and kernel; a refused reload sets
# steer_config_last_reload_successful to 0, a good one back to 1.
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

res=$(inc python3 "$(dirname "$0")/churn.py" $S4 80 300)
expect_eq "IPv4: 300 connections, no failure ($res)" "$(field failures "$res")" 0
res=$(inc python3 "$(dirname "$0")/churn.py" $S6 80 100)
expect_eq "IPv6: 100 connections, no failure ($res)" "$(field failures "$res")" 0
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
	jq -e '[.flows.ebpf, .flows.nft][] | .setup | .p50_s != null and .p50_s <= .p99_s' "$LAB_DIR/status.json"
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
finish
