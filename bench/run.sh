#!/usr/bin/env bash
# `make bench`: the A/B benchmark in the lab (client — gateway — server).
# BENCH=full (default, ~11 min) | quick (~3 min) | smoke (seconds, checks the harness).
# Rounds interleave every case; bench/report.py turns the raw figures into
# bench/results/README.md with medians, spread, ratios, targets and plots.
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh

MODE=${BENCH:-full}
case $MODE in
full)  ROUNDS=3 DUR=5 CONC=128 RSS_N="1000 9500" RULES="1 100 10000 100000" REPEAT=200000 AUDIT_DUR=5 WIDE='^(direct|steer-|haproxy-)' ;;
quick) ROUNDS=2 DUR=1 CONC=128 RSS_N="1000 9500" RULES="1 100 10000 100000" REPEAT=50000 AUDIT_DUR=2 WIDE='^(direct|steer-|haproxy-)' ;;
smoke) ROUNDS=1 DUR=0.3 CONC=16 RSS_N="100 200" RULES="1 100" REPEAT=1000 AUDIT_DUR=0.5
       WIDE='^(direct|steer-ebpf|steer-offload|haproxy-ebpf|haproxy-tproxy)$' ;;
*) echo "bench: BENCH must be full, quick or smoke (got '$MODE')" >&2; exit 2 ;;
esac
DUR_I=$(awk -v d="$DUR" 'BEGIN { print (d < 1 ? 1 : int(d + 0.5)) }')
HZ=$(getconf CLK_TCK)
OUT=${BENCH_OUT:-$LAB_ROOT/bench/results}
[ "$MODE" = full ] || OUT=${BENCH_OUT:-$LAB_ROOT/bench/results/$MODE}
RAW=$OUT/raw.txt
for t in haproxy iperf3 wrk gnuplot; do
	command -v $t >/dev/null || { echo "bench: $t missing (make bench installs it)" >&2; exit 1; }
done
for t in loadgen responder classify; do
	[ -x "$BENCH_BIN/$t" ] || { echo "bench: $BENCH_BIN/$t missing (make bench builds it)" >&2; exit 1; }
done
mkdir -p "$OUT"
rm -f "$OUT"/*.dat "$OUT"/*.png "$RAW" "$OUT/setup_buckets.txt"

say "bench $MODE: $ROUNDS round(s) of ${DUR}s per figure; results in $OUT"
lab_up || exit 1
bench_servers || { echo "bench: servers did not start" >&2; exit 1; }

# m_case CASE: connection rate, and the wider figures where this mode takes them.
m_case() {
	warm
	m_cps "$1"
	grep -Eq "$WIDE" <<<"$1" || return 0
	m_rps "$1"
	m_bulk "$1" 1
	m_bulk "$1" 4
}
# rotate N WORDS...: the words, starting at the Nth (interleaving order per round).
rotate() { local n=$1; shift; local a=("$@") i; for ((i = 0; i < ${#a[@]}; i++)); do echo "${a[(i + n) % ${#a[@]}]}"; done; }

# The proxies' TIME_WAIT sockets in the gateway (non-local tuples) would catch
# forwarded packets through early demux, and ip_forward drops a packet that
# carries a socket: forwarding measures with early demux off, then restores it.
phase_direct() {
	local ed
	ed=$(ing sysctl -n net.ipv4.tcp_early_demux)
	ing sysctl -qw net.ipv4.tcp_early_demux=0
	GW_PIDS=()
	m_case direct
	ing sysctl -qw net.ipv4.tcp_early_demux="$ed"
}
# The split case is also read from the daemon's own /metrics (live_ab.py): the
# setup-latency histogram per backend, as an operator's Prometheus sees it.
phase_steer() {
	local b
	steer_up builtin "metrics-listen 127.0.0.1:$METRICS_PORT" || return 1
	for b in $(rotate "$ROUND" ebpf nft split); do
		if [ "$b" = split ]; then steer_backend split 50; else steer_backend "$b"; fi || return 1
		[ "$b" = split ] && { scrape >"$LAB_DIR/metrics.0" || return 1; }
		m_case "steer-${b/split/split50}"
		if [ "$b" = split ]; then
			scrape >"$LAB_DIR/metrics.1" &&
				bench/live_ab.py "$ROUND" "$LAB_DIR/metrics.0" "$LAB_DIR/metrics.1" "$OUT/setup_buckets.txt" >>"$RAW" ||
				return 1
		fi
	done
	steer_down
}
# Splice offload (`offload after 0`: a flow is handed to the classifier at its
# first quiet moment, or frozen for it when it never pauses, as iperf3's streams).
# Its own daemon, since reload does not change offload; the ebpf backend.
phase_offload() {
	steer_up offload "offload after 0" || return 1
	steer_backend ebpf || return 1
	m_case steer-offload
	steer_down
}
phase_haproxy() {
	local b
	steer_up external "proxy external" && haproxy_up || return 1
	for b in $(rotate "$ROUND" ebpf nft); do
		steer_backend "$b" || return 1
		m_case "haproxy-$b"
	done
	ext_down
	steer_down
}
# HAProxy as a user would set it up without steer: the nft TPROXY ruleset of the
# kernel documentation, and HAProxy alone (its CPU is the gateway's user space),
# without and with per-connection logging (steer always audits). The gateway is
# left as found: its snapshot after must equal the one before.
phase_tproxy() {
	local v before
	before=$(lab_snapshot)
	tproxy_rules_up || return 1
	for v in $(rotate "$ROUND" plain log); do
		GW_PIDS=()
		if [ "$v" = log ]; then
			syslog_up && haproxy_up log || return 1
			m_case haproxy-tproxy-log
			syslog_down
		else
			haproxy_up || return 1
			m_case haproxy-tproxy
		fi
		ext_down
	done
	GW_PIDS=()
	tproxy_rules_down
	[ "$(lab_snapshot)" = "$before" ] || { echo "bench: the TPROXY ruleset was not removed" >&2; return 1; }
}
phase_steering() {
	local b conf=$LAB_DIR/external.conf
	steer_up external "proxy external" && responder_up || return 1
	for b in $(rotate "$ROUND" ebpf nft); do
		steer_backend "$b" || return 1
		m_case "steering-$b"
	done
	{ grep -v '^steer tcp' "$conf"; prefix_rule 10000; } >"$conf.new" && mv "$conf.new" "$conf"
	ctl reload >/dev/null || return 1
	for b in $(rotate "$ROUND" ebpf nft); do
		steer_backend "$b" || return 1
		m_case "steering10k-$b"
	done
	ext_down
	steer_down
}

for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
	for ph in $(rotate "$ROUND" direct steer offload haproxy tproxy steering); do
		say "round $ROUND/$ROUNDS: $ph"
		"phase_$ph" || { echo "bench: phase $ph failed" >&2; tail -n 20 "$LAB_DIR/steer.log" >&2; exit 1; }
	done
done

ROUND=once
# RSS per idle proxied connection: N connections held through the proxy.
m_rss() {
	local case=$1 n=$2 r0 r1 lg open
	warm
	sleep 0.5
	r0=$(rss_kib "${GW_PIDS[@]}")
	# Not through a shell function: $! must be loadgen itself.
	ip netns exec "$LAB_C" "$BENCH_BIN/loadgen" -a "$S4" -p 9000 -i "$n" -T 2 -d 0 >"$LAB_DIR/idle.out" &
	lg=$!
	for _ in $(seq 300); do grep -q ready "$LAB_DIR/idle.out" && break; sleep 0.1; done
	sleep 0.3
	r1=$(rss_kib "${GW_PIDS[@]}")
	kill "$lg"; wait "$lg" 2>/dev/null
	open=$(field held "$(grep ready "$LAB_DIR/idle.out")")
	rec "$case" "rss_b_per_conn_$n" "$(calc "($r1 - $r0) * 1024 / $n")"
	rec "$case" "idle_open_$n" "${open:-0}"
	say "  $case: $(calc "($r1 - $r0) * 1024 / $n") B RSS per idle connection at $n (${open:-0} open)"
	sleep 1
}
say "memory: RSS per idle connection"
steer_up builtin || exit 1
for n in $RSS_N; do m_rss steer-ebpf "$n"; done
steer_down
steer_up external "proxy external" && haproxy_up || exit 1
GW_PIDS=("$EXT_PID")
for n in $RSS_N; do m_rss haproxy-ebpf "$n"; done
ext_down
steer_down

# m_audit CASE RATE: new flows at up to RATE/s through the steer already up,
# audit records counted against the connections made (its own log only).
m_audit() {
	local case=$1 out st opens
	: >"$LAB_DIR/audit.jsonl" # earlier phases' connections are not this figure's
	out=$(inc "$BENCH_BIN/loadgen" -a "$S4" -p 80 -c 1024 -T 2 -r "$2" -d "$AUDIT_DUR")
	sleep 1.5
	st=$(lab_status)
	opens=$(grep -c '"event":"open"' "$LAB_DIR/audit.jsonl")
	rec "$case" flows_per_s "$(field cps "$out")"
	rec "$case" lost "$(jq '(.audit.lost // 0) + (.counters.ebpf.events_lost // 0)' <<<"$st")"
	rec "$case" lost_records "$(jq -c 'select(.event=="lost")' "$LAB_DIR/audit.jsonl" | wc -l)"
	rec "$case" opens "$opens"
	rec "$case" conns "$(field conns "$out")"
	say "  $(field cps "$out") flows/s, $(field conns "$out") connections; $opens open records; audit $(jq -c '.audit' <<<"$st"), kernel events lost $(jq '.counters.ebpf.events_lost' <<<"$st")"
}

say "audit: new flows at up to 30k/s through steer (ebpf, builtin proxy)"
steer_up builtin || exit 1
m_audit audit 30000
steer_down

# The builtin proxy tops out below 30k flows/s here (two TCP connections per
# flow on 2 cores): the kernel-record path (ring buffer -> writer) is measured
# at up to 40k flows/s with the responder as the external proxy.
say "audit: new flows at up to 40k/s, kernel records (steer ebpf, proxy external: the responder)"
{ steer_up external "proxy external" && responder_up && steer_backend ebpf; } || exit 1
m_audit audit-ext 40000
ext_down
steer_down

say "classifier: ns per packet by rule entries (BPF_PROG_TEST_RUN)"
"$BENCH_BIN/classify" -r "$REPEAT" $RULES | while read -r line; do
	case $line in
	empty_ns=*) rec classifier empty "$(field empty_ns "$line")" ;;
	*)
		n=$(field rules "$line")
		rec classifier "rules$n" "$(field match_ns "$line")"
		rec classifier "miss$n" "$(field miss_ns "$line")"
		rec classifier "fwd$n" "$(field fwd_ns "$line")"
		rec classifier "fwdsteered$n" "$(field fwd80_ns "$line")"
		;;
	esac
	say "  $line"
done

{
	echo "kernel $(uname -r)"
	echo "cpus $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "memory $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
	echo "os $(. /etc/os-release; echo "$PRETTY_NAME")"
	echo "steer $("$STEER" version | tr '\n' ' ')"
	echo "haproxy $(haproxy -v | head -1)"
	echo "nginx $(nginx -v 2>&1)"
	echo "iperf3 $(iperf3 -v | head -1)"
	echo "wrk $(wrk -v 2>&1 | head -1)"
	echo "cc $(${CC:-cc} --version | head -1)"
	echo "mode $MODE: $ROUNDS round(s), ${DUR}s per figure, $CONC concurrent connections"
	echo "date $(date -u +%FT%TZ)"
} >"$OUT/machine.txt"
say "report"
python3 bench/report.py "$OUT" "$MODE"
