#!/usr/bin/env bash
# 2,000 short connections in a row through the proxy (IPv4), 500 over IPv6:
# all succeed and none takes 500 ms or more. TIME_WAIT sockets on the gateway
# must never capture a new SYN (that stalls a connection for a second).
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
setup "steer starts" lab_steer_start "$(lab_conf 'steer tcp dport 80')" --audit-log /dev/null

for spec in "$S4 2000" "$S6 500"; do
	set -- $spec
	res=$(inc python3 "$(dirname "$0")/churn.py" "$1" 80 "$2")
	echo "  $1: $res"
	expect_eq "$1: $2 connections, no failure" "$(field failures "$res")" 0
	max=$(field max_ms "$res")
	expect "$1: slowest connection under $(scaled 500) ms (was ${max} ms)" awk "BEGIN {exit !($max < $(scaled 500))}"
done
expect_eq "every connection went through the proxy" "$(lab_counter .proxy.accepted)" 2500
expect "clean exit" lab_steer_stop
finish
