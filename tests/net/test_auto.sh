#!/usr/bin/env bash
# backends: ebpf
# backend auto: eBPF where it loads; nft, with one line saying why, where it
# cannot (here: the daemon runs without CAP_BPF/CAP_SYS_ADMIN). backend ebpf
# without them fails and installs nothing.
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
conf=$(lab_conf 'steer tcp dport 80')
before=$(lab_snapshot)

setup "steer starts (auto)" lab_steer_start "$conf" --backend auto
expect_eq "auto with eBPF available: ebpf" "$(lab_counter .backend)" ebpf
expect "clean exit" lab_steer_stop

NOBPF=(ip netns exec "$LAB_G" setpriv --bounding-set -bpf,-sys_admin,-perfmon "$STEER")
: >"$LAB_DIR/steer.log"
# Not through a shell function: $! must be steer itself.
"${NOBPF[@]}" run -c "$conf" --backend auto >>"$LAB_DIR/steer.log" 2>&1 &
LAB_STEER_PID=$!
LAB_PIDS+=($!)
for i in $(seq 100); do lab_status >/dev/null 2>&1 && break; sleep 0.05; done
expect_eq "auto without eBPF: nft" "$(lab_counter .backend)" nft
expect "auto without eBPF: one line says why and what" grep -q "backend auto uses nft" "$LAB_DIR/steer.log"
out=$(http_get "$LAB_C" "http://$S4/")
via=$(field via "$out")
expect_eq "auto without eBPF: steered, server saw the client" "$(field client "$out"):$(field port "$out")" "$via"
expect_eq "auto without eBPF: the proxy accepted it" "$(lab_counter .proxy.accepted)" 1
expect "clean exit" lab_steer_stop
expect_eq "audit: the flow names nft" "$(audit_count '.event=="open" and .backend=="nft"')" 1

err=$("${NOBPF[@]}" run -c "$conf" --backend ebpf 2>&1)
expect_eq "backend ebpf without eBPF: exit 1" "$?" 1
expect "backend ebpf without eBPF: says it needs privileges" grep -q "^steer: error: missing capability CAP_BPF: " <<<"$err"
expect_eq "nothing left installed" "$(lab_snapshot)" "$before"
finish
