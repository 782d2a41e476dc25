#!/usr/bin/env bash
# on-proxy-down, with `proxy external`: steering goes to another program's
# transparent listener on proxy-port while it runs; without it, fail-open
# forwards the flow untouched and fail-closed drops it, counted.
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
conf=$(lab_conf 'steer tcp dport 80' 'proxy external')

setup "steer starts (fail-open)" lab_steer_start "$conf" --on-proxy-down fail-open
out=$(http_get "$LAB_C" "http://$S4/")
via=$(field via "$out")
expect_eq "fail-open, no listener: forwarded untouched" "$(field port "$out")" "${via##*:}"
out=$(http_get "$LAB_C" "http://[$S6]/")
expect_eq "fail-open, no listener, v6: forwarded untouched" "$(field server "$out")" "$S6:80"
lab_is_nft || expect_ge "fail-open: counted" "$(lab_counter .counters.ebpf.no_listener_pass)" 2

cat >"$LAB_DIR/responder.sh" <<'SH'
#!/bin/sh
# Answers for an external transparent proxy: the destination its socket has.
read -r line
printf 'HTTP/1.0 200 OK\r\n\r\nexternal %s:%s\n' "$SOCAT_SOCKADDR" "$SOCAT_SOCKPORT"
SH
chmod +x "$LAB_DIR/responder.sh"
responder() {
	ip netns exec "$LAB_G" socat "$1-LISTEN:15001,transparent,reuseaddr,fork$2" EXEC:"$LAB_DIR/responder.sh" &
	LAB_PIDS+=($!)
	EXT_PIDS+=($!)
}
responder TCP4 ""
responder TCP6 ",ipv6only=1"
setup "external responder" lab_wait_port "$LAB_G" 15001
sleep 0.2
expect_eq "external proxy answers v4, sees the original destination" \
	"$(inc curl -sS --max-time 5 http://$S4/ 2>&1)" "external $S4:80"
expect_eq "external proxy answers v6, sees the original destination" \
	"$(inc curl -sS --max-time 5 -g "http://[$S6]/" 2>&1)" \
	"external [$(python3 -c "import ipaddress; print(ipaddress.ip_address('$S6').exploded)")]:80"
expect_ge "external: steered counted" "$(lab_kc steered_new steered)" 2
kill "${EXT_PIDS[@]}"
wait "${EXT_PIDS[@]}" 2>/dev/null
out=$(http_get "$LAB_C" "http://$S4/")
expect_eq "external proxy gone again: forwarded (fail-open)" "$(field server "$out")" "$S4:80"
expect "clean exit" lab_steer_stop

setup "steer starts (fail-closed)" lab_steer_start "$conf" --on-proxy-down fail-closed
expect "fail-closed, no listener: the connection fails" \
	bash -c "! ip netns exec $LAB_C curl -s --max-time 2 http://$S4/ >/dev/null"
expect "fail-closed, no listener, v6: the connection fails" \
	bash -c "! ip netns exec $LAB_C curl -s -g --max-time 2 'http://[$S6]/' >/dev/null"
expect_ge "fail-closed: drops counted" "$(lab_kc no_listener_drop no_listener_drop)" 2
out=$(http_get "$LAB_C" "http://$S4:8080/")
expect_eq "fail-closed: non-matching traffic still forwarded" "$(field server "$out")" "$S4:8080"
expect "clean exit" lab_steer_stop

# The audit with `proxy external` holds the classifier's records alone (flow
# opens; with ebpf, the fail-closed drops), each with its community_id.
a=$LAB_DIR/audit.jsonl
res=$(python3 "$(dirname "$0")/community_id.py" --check "$a")
echo "  community_id: $res" | head -n 6
expect_eq "audit: community_id of every kernel-only record as community_id.py computes it" "$(field mismatches "$res")" 0
expect_ge "audit: kernel-only flow records checked" "$(field records "$res")" 2
if ! lab_is_nft; then
	expect_ge "audit: fail-closed drops recorded, v4 and v6" \
		"$(audit_count ".event==\"drop\" and .reason==\"proxy_down\" and (.dst==\"$S4:80\" or .dst==\"[$S6]:80\")")" 2
	expect_eq "audit: every drop has its own flow id" \
		"$(jq -r 'select(.event=="drop") | .flow' "$a" | sort -u | wc -l)" "$(audit_count '.event=="drop"')"
fi
finish
