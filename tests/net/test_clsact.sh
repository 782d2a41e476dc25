#!/usr/bin/env bash
# backends: ebpf
# The clsact fallback (kernels without TCX), forced with STEER_BPF_NO_TCX=1:
# filters named steer_* on both interfaces, steering works, and a clean exit
# removes the filters and the qdiscs steer created. An interface made again
# under its name gets its filter again.
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

# The client veth deleted and made again while steer runs: a new ifindex, which
# gets a clsact filter of its own, removed with its qdisc at exit.
setup "steer starts again" lab_steer_start "$(lab_conf 'steer tcp dport 80')"
ing ip link del gw-cli
setup "client veth made again" lab_link client
for _ in $(seq 100); do
	[ "$(lab_counter '.links[0].attaches')" = 2 ] && break
	sleep 0.05
done
expect "re-created client interface: steer_ingress filter again" bash -c "ip netns exec $LAB_G tc filter show dev gw-cli ingress | grep -q 'steer_ingress'"
expect_eq "re-created client interface: reported as clsact" "$(lab_counter '.links[0] | "\(.state) \(.attach) \(.attaches)"')" "attached clsact 2"
expect "re-created client interface: a new flow is proxied" lab_proxied "http://$S4/"
expect "clean exit" lab_steer_stop
expect_eq "after exit: no clsact qdisc left on the re-created interface" "$(ing tc qdisc show dev gw-cli | grep -c clsact)" 0
finish
