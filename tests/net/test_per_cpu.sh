#!/usr/bin/env bash
# workers per-cpu: one proxy worker per CPU steer may use, each pinned to its own
# CPU; clients on each CPU in turn are steered and proxied (the proxy's accept
# counter and the audit's open records), IPv4 and IPv6; no warning that the
# reuseport program or a pin was refused. Which worker takes which SYN is
# proven against the kernel by tests/unit/test_per_cpu.c.
. "$(dirname "$0")/lib.sh"

N=10 # connections per CPU and family

setup "lab" lab_up
setup "nginx" lab_nginx
conf=$(lab_conf 'steer tcp dport 80')
sed -i 's/^workers 2$/workers per-cpu/' "$conf"
setup "steer starts with workers per-cpu" lab_steer_start "$conf"

mapfile -t cpus < <(taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' |
	awk -F- '{ for (c = $1; c <= ($2 == "" ? $1 : $2); c++) print c }')
pinned=()
for t in /proc/"$LAB_STEER_PID"/task/*; do
	[[ $(cat "$t/comm") == steer-w* ]] || continue
	pinned+=("$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$t/status")")
done
expect_eq "one worker thread per CPU" "${#pinned[@]}" "${#cpus[@]}"
expect_eq "each pinned to one CPU of its own, all of them" "$(printf '%s\n' "${pinned[@]}" | sort -n | tr '\n' ' ')" \
	"$(printf '%s\n' "${cpus[@]}" | sort -n | tr '\n' ' ')"
expect "no warning from the proxy" bash -c "! grep -q 'proxy: warning' '$LAB_DIR/steer.log'"

before=$(lab_counter .proxy.accepted)
ok=0
for c in "${cpus[@]}"; do
	for dst in $S4 "[$S6]"; do
		for _ in $(seq $N); do
			ip netns exec "$LAB_C" taskset -c "$c" curl -sS --max-time 5 -g -o /dev/null "http://$dst/" && ok=$((ok + 1))
		done
	done
done
want=$((${#cpus[@]} * 2 * N))
expect_eq "every request from every CPU answered" "$ok" "$want"
expect_eq "every one proxied (accepted by a worker)" $(($(lab_counter .proxy.accepted) - before)) "$want"
expect "SIGTERM: clean exit" lab_steer_stop TERM
expect_eq "audit: an open record per connection" "$(audit_count '.event=="open"')" "$want"
finish
