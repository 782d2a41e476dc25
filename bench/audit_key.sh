#!/usr/bin/env bash
# The cost of audit-key, in the lab (root): new connections per second through
# steer (ebpf, builtin proxy, 2 workers) and the audit records they left, without
# and with audit-key, ROUNDS rounds interleaved (AUDIT_KEY_ROUNDS, default 3) of
# DUR seconds (AUDIT_KEY_DUR, default 5); then bench/audit_mac: the MAC's cost per
# record and the writer's throughput alone. Prints the figures and their medians;
# not part of `make check` (timing on a shared machine is no assertion).
#   make all build/bench/loadgen build/bench/audit_mac && bench/audit_key.sh
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh

ROUNDS=${AUDIT_KEY_ROUNDS:-3}
DUR=${AUDIT_KEY_DUR:-5}
for t in loadgen audit_mac; do
	[ -x "$BENCH_BIN/$t" ] || { echo "bench: $BENCH_BIN/$t missing (make $BENCH_BIN/$t)" >&2; exit 1; }
done
lab_up || exit 1
bench_servers || { echo "bench: servers did not start" >&2; exit 1; }
key=$LAB_DIR/audit.key
head -c 32 /dev/urandom >"$key"
chmod 600 "$key"

declare -A cps
for ROUND in $(seq "$ROUNDS"); do
	for case in plain keyed; do
		: >"$LAB_DIR/audit.jsonl"
		if [ $case = keyed ]; then steer_up $case "audit-key $key"; else steer_up $case; fi || exit 1
		warm
		out=$(inc "$BENCH_BIN/loadgen" -a "$S4" -p 80 -c 128 -T 2 -d "$DUR")
		sleep 1
		st=$(lab_status)
		steer_down
		cps[$case]+="$(field cps "$out") "
		say "round $ROUND $case: $(field cps "$out") conn/s, $(field conns "$out") connections," \
			"$(grep -c '"event":"open"' "$LAB_DIR/audit.jsonl") open records, audit $(jq -c .audit <<<"$st")"
	done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for case in plain keyed; do say "median $case: $(median <<<"${cps[$case]}") conn/s"; done
say "bench/audit_mac (1,000,000 close records):"
"$BENCH_BIN/audit_mac" -n 1000000 2>/dev/null | while read -r line; do say "  $line"; done
