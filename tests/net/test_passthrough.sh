#!/usr/bin/env bash
# What steer must leave alone: non-matching ports, bypassed destinations,
# traffic to the gateway itself, and a connection opened before steer started
# (it keeps working while steer runs and after it stops).
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
# A gateway-local service on a steered port: never steered.
# It reads the whole request first: closing with unread input sends a reset.
cat >"$LAB_DIR/local.sh" <<'SH'
#!/bin/sh
while read -r line && [ "$line" != "$(printf '\r')" ]; do :; done
echo gateway-local
SH
chmod +x "$LAB_DIR/local.sh"
ip netns exec "$LAB_G" socat TCP-LISTEN:80,fork,reuseaddr EXEC:"$LAB_DIR/local.sh" &
LAB_PIDS+=($!)
setup "gateway-local service" lab_wait_port "$LAB_G" 80
# A long-lived echo connection through the gateway, opened before steer.
ip netns exec "$LAB_S" socat TCP-LISTEN:7000,reuseaddr,fork EXEC:cat &
LAB_PIDS+=($!)
setup "echo server" lab_wait_port "$LAB_S" 7000
coproc ECHO { ip netns exec "$LAB_C" socat - TCP:$S4:7000; }
LAB_PIDS+=($ECHO_PID)
echo_once() {
	local line
	echo "$1" >&"${ECHO[1]}"
	read -r -t 3 line <&"${ECHO[0]}" && [ "$line" == "$1" ]
}
expect "pre-existing connection works before steer" echo_once before

setup "steer starts" lab_steer_start "$(lab_conf 'steer tcp dport 80,7000' "bypass dst $S4B/32,$S6B/128")"

out=$(http_get "$LAB_C" "http://$S4:8080/")
via=$(field via "$out")
expect_eq "port 8080 (no rule): forwarded, server saw client IP" "$(field client "$out")" "${via%:*}"
expect_eq "port 8080 (no rule): forwarded, server saw client port" "$(field port "$out")" "${via##*:}"
out=$(http_get "$LAB_C" "http://[$S6]:8080/")
expect_eq "v6 port 8080 (no rule): forwarded" "$(field port "$out")" "$(field via "$out" | sed 's/.*://')"
out=$(http_get "$LAB_C" "http://$S4B/")
expect_eq "bypassed v4 destination: forwarded" "$(field server "$out")" "$S4B:80"
out=$(http_get "$LAB_C" "http://[$S6B]/")
expect_eq "bypassed v6 destination: forwarded" "$(field server "$out")" "$S6B:80"
expect_eq "gateway's own address on a steered port: local service answers" \
	"$(inc curl -sS --http0.9 --max-time 5 http://$G4C/ 2>&1 | tr -d '\r')" "gateway-local"
# An address on two interfaces stays the gateway's when one of them drops it.
ip -n "$LAB_G" addr add 198.18.9.9/32 dev gw-cli
ip -n "$LAB_G" addr add 198.18.9.9/32 dev gw-srv
ip -n "$LAB_C" route add 198.18.9.9/32 via $G4C
sleep 0.2
ip -n "$LAB_G" addr del 198.18.9.9/32 dev gw-srv
sleep 0.2
expect_eq "an address still on another interface: still local, never steered" \
	"$(inc curl -sS --http0.9 --max-time 5 http://198.18.9.9/ 2>&1 | tr -d '\r')" "gateway-local"
expect "pre-existing connection works while steer runs" echo_once during
expect_eq "proxy accepted nothing" "$(lab_counter .proxy.accepted)" 0
lab_is_nft || expect_ge "kernel: not matched counted" "$(lab_counter .counters.ebpf.not_matched)" 2
expect_ge "kernel: bypassed counted" "$(lab_kc bypassed bypassed)" 2
expect_ge "kernel: local destination counted" "$(lab_kc local_dst local_dst)" 1
expect_eq "kernel: nothing steered" "$(lab_kc steered_new steered)" 0

# A steered flow while the old one is still open, then stop steer.
out=$(http_get "$LAB_C" "http://$S4/")
expect_eq "a new matching flow is proxied meanwhile" "$(lab_counter .proxy.accepted)" 1
expect "clean exit" lab_steer_stop
expect "pre-existing connection works after steer stopped" echo_once after
finish
