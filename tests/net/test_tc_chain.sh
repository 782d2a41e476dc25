#!/usr/bin/env bash
# backends: ebpf
# steer shares the ingress hook: a filter an operator adds after steer's
# (a policer, a mirror to an IDS) still sees every packet, steered or not,
# with TCX links and with the clsact fallback.
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
setup "the operator's filter builds" clang -target bpf -O2 -g -I/usr/include/$(gcc -dumpmachine) \
	-c "$(dirname "$0")/chain_count.bpf.c" -o "$LAB_DIR/chain_count.o"
for mode in tcx clsact; do
	if [ $mode = clsact ]; then export STEER_BPF_NO_TCX=1; else unset STEER_BPF_NO_TCX; fi
	setup "steer starts ($mode)" lab_steer_start "$(lab_conf 'steer tcp dport 80')"
	ip netns exec "$LAB_G" tc qdisc add dev gw-cli clsact 2>/dev/null
	setup "$mode: an operator's filter after steer's" \
		ip netns exec "$LAB_G" tc filter add dev gw-cli ingress prio 60000 bpf da obj "$LAB_DIR/chain_count.o" sec tc
	http_get "$LAB_C" "http://$S4/" >/dev/null      # steered
	http_get "$LAB_C" "http://$S4:8080/" >/dev/null # not matched
	pkts=$(bpftool map dump name chain_count -j | jq '.[0].formatted.value')
	expect_ge "$mode: the operator's filter saw steered and forwarded packets" "${pkts:-0}" 10
	expect_eq "$mode: the request was still steered" "$(lab_counter .proxy.accepted)" 1
	ip netns exec "$LAB_G" tc filter del dev gw-cli ingress prio 60000
	[ $mode = tcx ] && ip netns exec "$LAB_G" tc qdisc del dev gw-cli clsact
	expect "$mode: clean exit" lab_steer_stop
done
finish
