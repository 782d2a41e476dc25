#!/usr/bin/env bash
# backends: ebpf
# The audit log, for each of ebpf, nft and split 50: N TCP connections and N
# UDP sessions (IPv4 and IPv6) give exactly N open and N close records each,
# with the right client, destination and backend; every line is JSON; every
# open record has steer_us, measured the same way for both backends; every
# record's community_id is the one an independent implementation
# (community_id.py) computes from its client and dst, TCP and UDP, v4 and v6.
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
ip netns exec "$LAB_S" python3 "$(dirname "$0")/udp_echo.py" 7 $S4 $S6 &
LAB_PIDS+=($!)
sleep 0.3

for mode in ebpf nft "split 50"; do
	: >"$LAB_DIR/audit.jsonl"
	setup "steer starts ($mode)" lab_steer_start "$(lab_conf 'steer tcp dport 80' 'steer udp dport 7' 'udp-idle-timeout 1')" --backend "$mode"
	inc python3 "$(dirname "$0")/churn.py" $S4 80 150 >/dev/null
	inc python3 "$(dirname "$0")/churn.py" $S6 80 150 >/dev/null
	inc python3 "$(dirname "$0")/udp_client.py" $S4 7 --sessions 50 --peer port >/dev/null
	inc python3 "$(dirname "$0")/udp_client.py" $S6 7 --sessions 50 --peer port >/dev/null
	sleep 2.5 # UDP sessions end after 1 s idle
	expect "$mode: clean exit" lab_steer_stop
	a=$LAB_DIR/audit.jsonl
	expect_eq "$mode: every line is JSON" "$(jq -c . "$a" 2>/dev/null | wc -l)" "$(wc -l <"$a")"
	expect_eq "$mode: 300 TCP open records" "$(audit_count '.event=="open" and .proto=="tcp"')" 300
	expect_eq "$mode: 300 TCP close records" "$(audit_count '.event=="close" and .proto=="tcp"')" 300
	expect_eq "$mode: 100 UDP open records" "$(audit_count '.event=="open" and .proto=="udp"')" 100
	expect_eq "$mode: 100 UDP close records (idle timeout)" \
		"$(audit_count '.event=="close" and .proto=="udp" and .reason=="idle_timeout"')" 100
	expect_eq "$mode: flow ids unique" "$(jq -r 'select(.event=="open") | .flow' "$a" | sort -u | wc -l)" 400
	expect_eq "$mode: clients and destinations are the lab's" \
		"$(audit_count ".event==\"open\" and ((.client | startswith(\"$C4:\")) or (.client | startswith(\"[$C6]:\"))) and (.dst == \"$S4:80\" or .dst == \"[$S6]:80\" or .dst == \"$S4:7\" or .dst == \"[$S6]:7\") and .upstream_src == .client")" 400
	expect_eq "$mode: steer_us on every open" \
		"$(audit_count '.event=="open" and (.steer_us | type) == "number" and .steer_us >= 0')" 400
	expect_eq "$mode: steer_us under 1 s for every TCP flow" \
		"$(audit_count '.event=="open" and .proto=="tcp" and .steer_us < 1000000')" 300
	# Over 1 s would mean the session began with the client's resend (1.5 s):
	# its first datagram was lost on the way to the proxy (proxy/udp.c, `down`).
	expect_eq "$mode: steer_us under 1 s for every UDP flow, either backend" \
		"$(audit_count '.event=="open" and .proto=="udp" and .steer_us >= 1000000')" 0
	res=$(python3 "$(dirname "$0")/community_id.py" --check "$a")
	echo "  $mode: community_id: $res" | head -n 6
	expect_eq "$mode: community_id of every record as community_id.py computes it" "$(field mismatches "$res")" 0
	expect_eq "$mode: community_id checked on all 800 records, TCP and UDP, v4 and v6" \
		"$(sed -n 's/.*\(records=[0-9]* tcp4=[0-9]* tcp6=[0-9]* udp4=[0-9]* udp6=[0-9]*\).*/\1/p' <<<"$res")" \
		"records=800 tcp4=300 tcp6=300 udp4=100 udp6=100"
	case $mode in
	split*)
		res=$(python3 "$(dirname "$0")/split_check.py" "$a" 50)
		expect_eq "$mode: each flow's backend is the one the hash picked ($res)" "$(field mismatches "$res")" 0 ;;
	*)
		expect_eq "$mode: every record names $mode" "$(audit_count ".flow and .backend != \"$mode\"")" 0 ;;
	esac
	echo "  $mode: steer_us median $(jq -s '[.[] | select(.event=="open") | .steer_us] | sort | .[length/2|floor]' "$a") us"
done
finish
