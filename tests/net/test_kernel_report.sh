#!/usr/bin/env bash
# What steer says about the kernel and the mechanisms it chose: one start
# line, `steer status` (text and JSON "kernel"), /metrics (steer_build_info,
# steer_kernel_feature) and `steer version`, agreeing with each other. On the
# default path and, for ebpf, with STEER_BPF_ASSIGN=lookup (the path of
# kernels before 6.6), where new flows go through sk_lookup: new_redirected
# moves and every flow is proven proxied by the proxy's accept and the audit.
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
conf=$(lab_conf 'steer tcp dport 80' 'metrics-listen 127.0.0.1:9464')
release=$(uname -r)
backend=${STEER_TEST_BACKEND:-ebpf}

# check_report PATH ATTACH: the four views name the kernel and PATH (assign|sk_lookup) for new flows.
check_report() {
	local path=$1 attach=$2 start json text metrics via
	start=$(grep "^steer: kernel " "$LAB_DIR/steer.log")
	expect_eq "[$path] one start line" "$(grep -c "^steer: kernel " "$LAB_DIR/steer.log")" 1
	expect "[$path] start line names the release" grep -qF "steer: kernel $release: " <<<"$start"
	if lab_is_nft; then
		expect "[$path] start line: nft steers, the classifier records" \
			grep -qF "nft tproxy steers new flows; the eBPF classifier records them:" <<<"$start"
	elif [ "$path" = sk_lookup ]; then
		expect "[$path] start line: new flows through sk_lookup" \
			grep -qF "new flows through sk_lookup (not probed: STEER_BPF_ASSIGN=lookup)" <<<"$start"
	else
		expect "[$path] start line: new flows by bpf_sk_assign" grep -qF "new flows by bpf_sk_assign" <<<"$start"
	fi
	if [ "$attach" = tcx ]; then
		expect "[$path] start line: TCX" grep -qF ": TCX links, " <<<"$start"
	else
		expect "[$path] start line: clsact" grep -qF ": clsact filters, " <<<"$start"
	fi
	expect "[$path] start line: sk_lookup attached" grep -qE "sk_lookup attached$" <<<"$start"

	json=$(lab_status)
	expect_eq "[$path] json: release" "$(jq -r .kernel.release <<<"$json")" "$release"
	expect_eq "[$path] json: attach" "$(jq -r .kernel.attach <<<"$json")" "$attach"
	expect_eq "[$path] json: kernel_tcx" "$(jq -r .kernel.kernel_tcx <<<"$json")" yes
	expect_eq "[$path] json: new flow path" "$(jq -r .kernel.new_flow_path <<<"$json")" "$path"
	expect_eq "[$path] json: sk_lookup attached" "$(jq -r .kernel.sk_lookup_attached <<<"$json")" yes
	if [ "$path" = sk_lookup ]; then
		expect_eq "[$path] json: reuseport_assign not probed" "$(jq -r .kernel.reuseport_assign <<<"$json")" unknown
		expect_eq "[$path] json: and why" "$(jq -r .kernel.reuseport_note <<<"$json")" "not probed: STEER_BPF_ASSIGN=lookup"
	else
		expect_eq "[$path] json: reuseport_assign probed" "$(jq -r .kernel.reuseport_assign <<<"$json")" yes
	fi
	expect_eq "[$path] json: no warnings" "$(jq -c .warnings <<<"$json")" "[]"

	text=$(ing "$STEER" status --control-socket "$LAB_DIR/steer.sock")
	expect "[$path] text: kernel line" grep -qE "^kernel: +$release attach=$attach kernel_tcx=yes reuseport_assign=[a-z]+ new_flow_path=$path sk_lookup_attached=yes" <<<"$text"
	expect_not "[$path] text: no warning" grep -q "^warning:" <<<"$text"

	metrics=$(ip netns exec "$LAB_G" curl -sS --max-time 3 http://127.0.0.1:9464/metrics)
	expect "[$path] metrics: build info with the kernel" \
		grep -qE "^steer_build_info\{version=\"[^\"]+\",libbpf=\"v[0-9.]+\",libnftnl=\"[^\"]*\",kernel=\"$release\"\} 1$" <<<"$metrics"
	via=0; [ "$path" = sk_lookup ] && via=1
	expect "[$path] metrics: new_flows_via_sk_lookup $via" grep -qx "steer_kernel_feature{feature=\"new_flows_via_sk_lookup\"} $via" <<<"$metrics"
	expect "[$path] metrics: tcx" grep -qx "steer_kernel_feature{feature=\"tcx\"} $([ "$attach" = tcx ] && echo 1 || echo 0)" <<<"$metrics"
	expect "[$path] metrics: classifier loaded" grep -qx 'steer_kernel_feature{feature="classifier"} 1' <<<"$metrics"
}

# flows N: N curls, v4 and v6 alternating; each must be proxied (accepted, audited).
flows() {
	local i n=$1 before
	before=$(lab_counter .proxy.accepted)
	for i in $(seq "$n"); do
		if [ $((i % 2)) = 1 ]; then http_get "$LAB_C" "http://$S4/" >/dev/null; else http_get "$LAB_C" "http://[$S6]/" >/dev/null; fi
	done
	expect_eq "$n flows: the proxy accepted each" "$(($(lab_counter .proxy.accepted) - before))" "$n"
}

setup "steer starts" lab_steer_start "$conf"
check_report assign tcx
flows 4
expect "clean exit" lab_steer_stop
expect_eq "audit: 4 flows opened, named $backend" "$(audit_count ".event==\"open\" and .backend==\"$backend\"")" 4

if ! lab_is_nft; then
	: >"$LAB_DIR/steer.log"
	rm -f "$LAB_DIR/audit.jsonl"
	export STEER_BPF_ASSIGN=lookup
	setup "steer starts (STEER_BPF_ASSIGN=lookup)" lab_steer_start "$conf"
	unset STEER_BPF_ASSIGN
	check_report sk_lookup tcx
	flows 6
	expect_ge "lookup path: new_redirected moved for each flow" "$(lab_counter .counters.ebpf.new_redirected)" 6
	expect_eq "lookup path: nothing assign_failed" "$(lab_counter .counters.ebpf.assign_failed)" 0
	expect "clean exit" lab_steer_stop
	expect_eq "lookup path: audit: 6 flows opened, named ebpf" "$(audit_count '.event=="open" and .backend=="ebpf"')" 6
fi

: >"$LAB_DIR/steer.log"
export STEER_BPF_NO_TCX=1
setup "steer starts (clsact)" lab_steer_start "$conf"
unset STEER_BPF_NO_TCX
check_report assign clsact
expect "clean exit" lab_steer_stop

out=$(ing "$STEER" version)
expect "version: the kernel release" grep -qx "kernel $release" <<<"$out"
expect "version: the features it probed" grep -qE "^  new_flow_path +assign$" <<<"$out"
expect "version: reuseport assign probed" grep -qE "^  reuseport_assign +yes$" <<<"$out"
out=$(ing setpriv --reuid 65534 --regid 65534 --clear-groups "$STEER" version)
expect "version unprivileged: says it cannot probe, and why" grep -qx "kernel features: not probed (not privileged: .*)" <<<"$out"
expect_not "version unprivileged: claims no feature" grep -q "new_flow_path" <<<"$out"
finish
