#!/usr/bin/env bash
# A spoofed SYN flood from the client LAN (hping3, an unused source address:
# its SYN-ACKs go nowhere, so the listener's SYN queue fills and it answers
# with SYN cookies) must take no more from legitimate clients than direct
# routing does, measured in the same run: requests during the flood and
# right after it are served, and through steer every one of them is proxied
# (the proxy's accepts) though most completed by a cookie.
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
command -v hping3 >/dev/null || { expect "hping3 is installed (make deps)" false; finish; }

# round LABEL: "DURING AFTER" requests served out of 10 each, flood running for the first ten.
round() {
	local during=0 after=0 hp i
	inc hping3 -q -S -p 80 -c 20000 -i u50 -a 198.18.1.77 "$S4" >/dev/null 2>&1 &
	hp=$!
	sleep 0.3
	for i in $(seq 10); do
		[ "$(inc curl -s --max-time 3 -o /dev/null -w '%{http_code}' "http://$S4/")" = 200 ] && during=$((during + 1))
	done
	wait $hp
	for i in $(seq 10); do
		[ "$(inc curl -s --max-time 3 -o /dev/null -w '%{http_code}' "http://$S4/")" = 200 ] && after=$((after + 1))
	done
	echo "$during $after"
}

read -r d_during d_after < <(round direct)
echo "  direct routing: $d_during/10 served during the flood, $d_after/10 after"
setup "steer starts" lab_steer_start "$(lab_conf 'steer tcp dport 80')"
read -r s_during s_after < <(round steer)
echo "  steer (${STEER_TEST_BACKEND:-ebpf}): $s_during/10 served during the flood, $s_after/10 after"
echo "  $(lab_status | jq -c '.tcp_stack')"
expect_ge "during the flood: served no fewer than direct routing" "$s_during" "$d_during"
expect_ge "after the flood: served no fewer than direct routing" "$s_after" "$d_after"
expect_eq "after the flood: all 10 served" "$s_after" 10
expect_eq "every request served through steer was proxied" "$(lab_counter .proxy.accepted)" "$((s_during + s_after))"
expect_ge "the listener answered the flood with SYN cookies (steer status)" "$(lab_counter .tcp_stack.syncookies_sent)" 1000
expect_ge "the legitimate handshakes completed by a cookie were counted" "$(lab_kc cookie_ack cookie_ack)" 1
expect "clean exit" lab_steer_stop
finish
