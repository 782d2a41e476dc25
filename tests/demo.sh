#!/usr/bin/env bash
# `make demo`: build the lab, run steer in the gateway with the default
# config (eBPF backend, upstream as the client), send requests from the
# client, and show what each side saw and whether steer's proxy carried each
# flow: its audit record (written by the proxy, with the upstream source) for
# the client's address and port, and the proxy's accept counter. A flow without them was forwarded untouched (the server
# sees the same address then): the demo says so and exits 1. Everything is
# removed at the end. DEMO_CONF adds config lines (tests: `proxy external`
# with nothing listening, to see the demo fail).
. "$(dirname "$0")/lab.sh"

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

lab_up || exit 1
lab_nginx || exit 1
conf=$(lab_conf 'steer tcp dport 80,443' ${DEMO_CONF:+"$DEMO_CONF"})
say "steer.conf (gateway):"
sed 's/^/    /' "$conf"
lab_steer_start "$conf" || exit 1
say "gateway: steer is running"
sed 's/^/    /' "$LAB_DIR/steer.log"

used=()
for dst in $S4 "[$S6]"; do
	say "client $C4 / $C6: curl http://$dst/"
	out=$(inc curl -sS --max-time 5 -g -w ' via=%{local_ip}:%{local_port}' "http://$dst/")
	via=${out##*via=}
	[[ $via == *:*:* ]] && via="[${via%:*}]:${via##*:}"
	used+=("$via")
	echo "    client used  $via"
	echo "    server saw   $(tr -d '\n' <<<"${out%% via=*}")"
done

accepted=$(lab_status | jq -r '.proxy.accepted // 0')
say "steer status (gateway):"
ing "$STEER" status --control-socket "$LAB_DIR/steer.sock" | sed 's/^/    /'
lab_steer_stop
say "audit log: what the proxy saw (client, original destination, upstream source)"
jq -r 'select(.event=="open") | "    flow \(.flow): client \(.client) -> dst \(.dst), upstream as \(.upstream_src), backend \(.backend)"' \
	"$LAB_DIR/audit.jsonl"

say "did steer's proxy carry each flow? (its audit record; the proxy accepted $accepted)"
missed=0
for via in "${used[@]}"; do
	# The proxy's own record has the upstream source; the classifier's alone (proxy external) has none.
	rec=$(jq -c --arg c "$via" 'select(.event=="open" and .client==$c and .upstream_src != null)' "$LAB_DIR/audit.jsonl" 2>/dev/null)
	if [ -n "$rec" ]; then
		echo "    $via: yes, through steer's proxy (audit flow $(jq -r .flow <<<"$rec"), backend $(jq -r .backend <<<"$rec"))"
	else
		echo "    $via: NO: no audit record of steer's proxy: forwarded untouched, not proxied"
		missed=$((missed + 1))
	fi
done
if [ "$missed" -gt 0 ] || [ "$accepted" -lt "${#used[@]}" ]; then
	say "demo FAILED: $missed of ${#used[@]} flows have no record of steer's proxy, which accepted $accepted of ${#used[@]}: not proxied; see the status above"
	exit 1
fi
say "every flow went through steer's proxy; steer stopped, the lab is being removed."
