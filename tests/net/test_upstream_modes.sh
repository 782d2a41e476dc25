#!/usr/bin/env bash
# upstream-source client-ip: the server sees the client's IP (the port is the
# gateway's choice); gateway: the server sees the gateway's own address.
# Both families; the proxy is still in the path (it accepted every request).
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx

setup "steer starts (client-ip)" lab_steer_start "$(lab_conf 'steer tcp dport 80')" --upstream-source client-ip
for dst in $S4 "[$S6]"; do
	out=$(http_get "$LAB_C" "http://$dst/")
	via=$(field via "$out")
	expect_eq "client-ip $dst: server saw the client's IP" "$(field client "$out")" "${via%:*}"
done
expect_eq "client-ip: both requests went through the proxy" "$(lab_counter .proxy.accepted)" 2
expect "client-ip: clean exit" lab_steer_stop

setup "steer starts (gateway)" lab_steer_start "$(lab_conf 'steer tcp dport 80')" --upstream-source gateway
out=$(http_get "$LAB_C" "http://$S4/")
expect_eq "gateway v4: server saw the gateway's address" "$(field client "$out")" "$G4S"
out=$(http_get "$LAB_C" "http://[$S6]/")
expect_eq "gateway v6: server saw the gateway's address" "$(field client "$out")" "$G6S"
expect_eq "gateway: both requests went through the proxy" "$(lab_counter .proxy.accepted)" 2
expect_eq "gateway: no reply needed the return path" "$(lab_kc return_assigned return_marked)" 0
expect "gateway: clean exit" lab_steer_stop
finish
