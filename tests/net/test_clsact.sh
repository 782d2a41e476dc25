#!/usr/bin/env bash
# backends: ebpf
# The clsact fallback (kernels without TCX), forced with STEER_BPF_NO_TCX=1:
# filters named steer_* on both interfaces, steering works, and a clean exit
# removes the filters and the qdiscs steer created.
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
before=$(lab_snapshot)
export STEER_BPF_NO_TCX=1
setup "steer starts" lab_steer_start "$(lab_conf 'steer tcp dport 80')"
expect "client interface: steer_ingress filter" bash -c "ip netns exec $LAB_G tc filter show dev gw-cli ingress | grep -q 'steer_ingress'"
expect "return interface: steer_return filter" bash -c "ip netns exec $LAB_G tc filter show dev gw-srv ingress | grep -q 'steer_return'"
for dst in $S4 "[$S6]"; do
	out=$(http_get "$LAB_C" "http://$dst/")
	via=$(field via "$out")
	expect_eq "$dst: server saw the client's address" "$(field client "$out"):$(field port "$out")" "${via}"
done
expect_eq "both went through the proxy" "$(lab_counter .proxy.accepted)" 2
expect "clean exit" lab_steer_stop
expect_eq "after exit: gateway state as before" "$(lab_snapshot)" "$before"
finish
