#!/usr/bin/env bash
# `make demo`: build the lab, run steer in the gateway with the default
# config (eBPF backend, upstream as the client), send requests from the
# client, and show what each side saw. Everything is removed at the end.
. "$(dirname "$0")/lab.sh"

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

lab_up || exit 1
lab_nginx || exit 1
conf=$(lab_conf 'steer tcp dport 80,443')
say "steer.conf (gateway):"
sed 's/^/    /' "$conf"
lab_steer_start "$conf" || exit 1
say "gateway: steer is running"
sed 's/^/    /' "$LAB_DIR/steer.log"

for dst in $S4 "[$S6]"; do
	say "client $C4 / $C6: curl http://$dst/"
	out=$(inc curl -sS --max-time 5 -g -w ' via=%{local_ip}:%{local_port}' "http://$dst/")
	used=${out##*via=}
	saw=$(tr -d '\n' <<<"${out%% via=*}")
	echo "    client used  $used"
	echo "    server saw   $saw"
	seen_ip=${saw#client=}; seen_ip=${seen_ip%% *}; seen_port=${saw#*port=}; seen_port=${seen_port%% *}
	if [ "$seen_ip:$seen_port" == "$used" ]; then
		echo "    => the server saw the client's own address and port"
	else
		echo "    => MISMATCH: the server did not see the client's address"
	fi
done

say "steer status (gateway):"
ing "$STEER" status --control-socket "$LAB_DIR/steer.sock" | sed 's/^/    /'
lab_steer_stop
say "audit log: what the proxy saw (client, original destination, upstream source)"
jq -r 'select(.event=="open") | "    flow \(.flow): client \(.client) -> dst \(.dst), upstream as \(.upstream_src), backend \(.backend)"' \
	"$LAB_DIR/audit.jsonl"
jq -c 'select(.event=="close")' "$LAB_DIR/audit.jsonl" | sed 's/^/    /'
say "steer stopped; the lab is being removed."
