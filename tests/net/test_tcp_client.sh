#!/usr/bin/env bash
# TCP through the eBPF backend with upstream-source client: IPv4 and IPv6
# requests succeed, the server sees the client's own IP and port, the proxy
# recorded the original client and destination, and a clean exit leaves the
# gateway exactly as it was.
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
before=$(lab_snapshot)
setup "steer starts" lab_steer_start "$(lab_conf 'steer tcp dport 80,443')"

for dst in $S4 "[$S6]"; do
	out=$(http_get "$LAB_C" "http://$dst/")
	via=$(field via "$out")
	expect_eq "$dst: server saw the client's IP" "$(field client "$out")" "${via%:*}"
	expect_eq "$dst: server saw the client's port" "$(field port "$out")" "${via##*:}"
	want_server=${dst//[\[\]]/}:80
	expect_eq "$dst: request reached the original destination" "$(field server "$out")" "$want_server"
	vias+=("$via")
done

expect_ge "kernel counted the steered flows" "$(lab_kc steered_new steered)" 2
expect_ge "replies were delivered on the return interface" "$(lab_kc return_assigned return_marked)" 2
if lab_is_nft; then
	expect_ge "the eBPF probe recorded the flows nft steered" "$(lab_counter .counters.ebpf.probed)" 2
	expect_eq "the eBPF probe steered nothing" "$(lab_counter .counters.ebpf.steered_new)" 0
else
	expect_ge "established packets were assigned" "$(lab_counter .counters.ebpf.steered_established)" 2
fi
expect_eq "proxy accepted 2 connections" "$(lab_counter .proxy.accepted)" 2
expect "steer status (text) names the backend" bash -c "ip netns exec $LAB_G $STEER status --control-socket $LAB_DIR/steer.sock | grep -q '^backend: *$STEER_TEST_BACKEND'"

expect "SIGTERM: clean exit" lab_steer_stop TERM
expect_eq "after exit: gateway state as before" "$(lab_snapshot)" "$before"

# The audit log is complete once the daemon has exited.
v4c="198.18.1.2:${vias[0]##*:}"
v6c="[fd00:1::2]:${vias[1]##*:}"
expect_eq "audit: open record for the IPv4 flow" \
	"$(audit_count ".event==\"open\" and .client==\"$v4c\" and .dst==\"$S4:80\" and .upstream_src==\"$v4c\" and .backend==\"$STEER_TEST_BACKEND\" and .proto==\"tcp\"")" 1
expect_eq "audit: open record for the IPv6 flow" \
	"$(audit_count ".event==\"open\" and .client==\"$v6c\" and .dst==\"[$S6]:80\" and .backend==\"$STEER_TEST_BACKEND\"")" 1
expect_eq "audit: close records with bytes both ways" \
	"$(audit_count '.event=="close" and .bytes_up > 0 and .bytes_down > 0 and .reason=="eof"')" 2
expect_eq "audit: every open record has steer_us between 0 and 1 s" \
	"$(audit_count '.event=="open" and (.steer_us | type) == "number" and .steer_us >= 0 and .steer_us < 1000000')" 2
expect_eq "audit: every line is JSON" "$(jq -c . "$LAB_DIR/audit.jsonl" | wc -l)" "$(wc -l <"$LAB_DIR/audit.jsonl")"
finish
