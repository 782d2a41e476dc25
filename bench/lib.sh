# shellcheck shell=bash
# The benchmark's cases and measurements, on top of tests/lab.sh.
# Every figure is one line "ROUND CASE METRIC VALUE" appended to $RAW.
. "$(dirname "${BASH_SOURCE[0]}")/../tests/lab.sh"

BENCH_BIN=$LAB_ROOT/build/bench
PORTS=80,5201,9000   # nginx, iperf3, the idle-connection sink
T_START=$(date +%s)

say() { printf '[%4ds] %s\n' $(($(date +%s) - T_START)) "$*"; }
rec() { echo "$ROUND $1 $2 $3" >>"$RAW"; }
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }
ctl() { ing "$STEER" "$@" --control-socket "$LAB_DIR/steer.sock"; }
METRICS_PORT=9464
scrape() { ing curl -sf "http://127.0.0.1:$METRICS_PORT/metrics"; }

# Gateway process CPU (ticks) of the given pids, and the machine's busy ticks.
# PROC_FIELDS: "$14 + $15" user + system (default), "$14" user only.
proc_ticks() {
	local t=0 p
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] && t=$((t + $(awk "{print ${PROC_FIELDS:-\$14 + \$15}}" "/proc/$p/stat")))
	done
	echo $t
}
# Packets through the gateway's interfaces (rx + tx, all but lo): deterministic,
# unlike conn/s, and every packet costs CPU at both of its ends.
gw_packets() { ing ip -s -j link show | jq '[.[] | select(.ifname != "lo") | .stats64.rx.packets + .stats64.tx.packets] | add'; }
# SYNs the client sent again: a SYN answered with a stale ACK (a TIME_WAIT socket
# that claimed it), or dropped, costs a reset and a retransmit.
syn_retrans() { inc awk '/^TcpExt:/ { if (!n) { for (i = 1; i <= NF; i++) k[i] = $i; n = 1 } else for (i = 1; i <= NF; i++) if (k[i] == "TCPSynRetrans") print $i }' /proc/net/netstat; }
busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
rss_kib() { local t=0 p; for p in "$@"; do t=$((t + $(awk '/^VmRSS/{print $2}' "/proc/$p/status"))); done; echo $t; }

# The pids whose CPU counts as the gateway's user space for this case.
GW_PIDS=()

# ---- the lab's servers ----
bench_servers() {
	lab_nginx || return 1
	ins iperf3 -s -p 5201 >/dev/null 2>&1 &
	LAB_PIDS+=($!)
	ins "$BENCH_BIN/responder" -p 9000 -T 1 &
	LAB_PIDS+=($!)
	lab_wait_port "$LAB_S" 5201 && lab_wait_port "$LAB_S" 9000 || return 1
	inc sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
	# Many short connections: the server's TIME_WAIT sockets stay bounded.
	ins sysctl -qw net.ipv4.tcp_max_tw_buckets=262144 net.core.somaxconn=4096
	ing sysctl -qw net.core.somaxconn=4096
}

# ---- steer ----
# steer_up NAME DIRECTIVE...: a steer daemon with the lab's config (upstream-source
# client, audit log on, workers per-cpu: one per CPU, each pinned to its CPU,
# a connection to the worker of its SYN's CPU, which loadgen's two threads
# spread over both) plus the directives; waits until it answers.
steer_up() {
	local name=$1 conf
	shift
	conf=$(lab_conf "steer tcp dport $PORTS" "$@")
	sed -i 's/^workers 2$/workers per-cpu/' "$conf"
	mv "$conf" "$LAB_DIR/$name.conf"
	lab_steer_start "$LAB_DIR/$name.conf" || return 1
	GW_PIDS=("$LAB_STEER_PID")
}
steer_down() { lab_steer_stop >/dev/null 2>&1; GW_PIDS=(); }
steer_backend() { ctl backend "$@" >/dev/null; }

# An external proxy on proxy-port 15001: haproxy (transparent, as the client's IP)
# or the responder (answers itself). haproxy_up log: per-connection logging
# (`option tcplog`) to the syslog receiver of syslog_up.
haproxy_up() {
	local log=
	[ "${1:-}" = log ] && log="log 127.0.0.1:$SYSLOG_PORT local0"
	cat >"$LAB_DIR/haproxy.cfg" <<CFG
global
	nbthread 2
	tune.maxaccept 64
	$log
defaults
	mode tcp
	option splice-auto
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	${log:+log global}
	${log:+option tcplog}
frontend fe
	bind 0.0.0.0:15001 transparent
	bind :::15001 transparent v6only
	default_backend be
backend be
	source 0.0.0.0 usesrc clientip
	server orig 0.0.0.0:0
CFG
	# Not through a shell function: $! must be the proxy itself (its CPU and RSS are measured).
	ip netns exec "$LAB_G" haproxy -db -f "$LAB_DIR/haproxy.cfg" >>"$LAB_DIR/haproxy.log" 2>&1 &
	EXT_PID=$!
	LAB_PIDS+=($EXT_PID)
	lab_wait_port "$LAB_G" 15001 || { cat "$LAB_DIR/haproxy.log" >&2; return 1; }
	GW_PIDS+=("$EXT_PID")
}

# A local syslog receiver in the gateway (UDP 127.0.0.1:SYSLOG_PORT, each message
# appended to $SYSLOG), the cheapest stand-in for the rsyslog HAProxy would log to.
# m_cps counts the lines it writes per connection; its CPU is recorded on its own
# (cpu_syslog_s_10k), not in the proxy's.
SYSLOG_PORT=5514
SYSLOG=
syslog_up() {
	SYSLOG=$LAB_DIR/haproxy-syslog.txt
	: >"$SYSLOG"
	ip netns exec "$LAB_G" socat -u "UDP4-RECV:$SYSLOG_PORT,bind=127.0.0.1,rcvbuf=4194304" \
		"OPEN:$SYSLOG,creat,append" &
	SYSLOG_PID=$!
	LAB_PIDS+=($SYSLOG_PID)
	local i
	for i in $(seq 50); do ing ss -Huln "sport = :$SYSLOG_PORT" | grep -q . && return 0; sleep 0.1; done
	return 1
}
syslog_down() { kill "$SYSLOG_PID" 2>/dev/null && wait "$SYSLOG_PID" 2>/dev/null; SYSLOG= SYSLOG_PID=; }

# The TPROXY setup of the kernel's Documentation/networking/tproxy.rst, written
# with nft as a user would (no steer): packets of an existing transparent socket
# are marked, new connections to the steered ports go to the listener on
# :15001, and the mark routes both to local delivery. Only on the client-facing
# interface, as steer's `interface gw-cli`. A unique table name, mark and table
# (nothing else in the lab uses them); tproxy_rules_down removes all of it.
TPROXY_TABLE=bench_tproxy TPROXY_MARK=1 TPROXY_RT=100
tproxy_rules_up() {
	ing nft -f - <<NFT || return 1
table ip $TPROXY_TABLE {
	chain divert {
		type filter hook prerouting priority -150; policy accept;
		meta l4proto tcp socket transparent 1 meta mark set $TPROXY_MARK accept
		iifname "gw-cli" tcp dport { $PORTS } tproxy to :15001 meta mark set $TPROXY_MARK accept
	}
}
NFT
	ing ip rule add fwmark $TPROXY_MARK lookup $TPROXY_RT &&
		ing ip route add local 0.0.0.0/0 dev lo table $TPROXY_RT
}
tproxy_rules_down() {
	ing nft delete table ip $TPROXY_TABLE
	ing ip rule del fwmark $TPROXY_MARK lookup $TPROXY_RT
	ing ip route del local 0.0.0.0/0 dev lo table $TPROXY_RT
}
responder_up() {
	ip netns exec "$LAB_G" "$BENCH_BIN/responder" -p 15001 -t -T 2 &
	EXT_PID=$!
	LAB_PIDS+=($EXT_PID)
	lab_wait_port "$LAB_G" 15001 || return 1
	GW_PIDS+=("$EXT_PID")
}
ext_down() { [ -n "${EXT_PID:-}" ] && kill "$EXT_PID" 2>/dev/null && wait "$EXT_PID" 2>/dev/null; EXT_PID=; }

# A config line steering port 80 to N destination prefixes (the server's /24 among them).
prefix_rule() {
	python3 - "$1" <<'PY'
import sys, random
random.seed(7)
n = int(sys.argv[1]); seen = {"198.18.2.0/24"}
while len(seen) < n:
    seen.add("10.%d.%d.%d/32" % (random.randrange(256), random.randrange(256), random.randrange(256)))
print("steer tcp dport 80 dst " + ",".join(sorted(seen)))
PY
}

# ---- measurements ----
# offload_seen CASE: "FLOWS PACKETS", the flows the proxy has handed to the
# classifier and the packets the classifier forwarded for them so far; empty
# unless CASE offloads. The figures around a measurement prove what it measured.
offload_seen() {
	[[ $1 == steer-offload* ]] || return 0
	lab_status | jq -r '"\(.proxy.offloaded) \(.counters.ebpf.offload_redirected + .counters.ebpf.offload_passed)"'
}
# offload_rec CASE SUFFIX BEFORE CONNS: records offloaded_SUFFIX (flows handed over
# per connection) and offload_pkts_SUFFIX (packets the classifier forwarded).
offload_rec() {
	local case=$1 sfx=$2 f0 p0 f1 p1
	[ -n "$3" ] || return 0
	read -r f0 p0 <<<"$3"
	read -r f1 p1 <<<"$(offload_seen "$case")"
	rec "$case" "offloaded_$sfx" "$(calc "($f1 - $f0) / $4")"
	rec "$case" "offload_pkts_$sfx" "$((p1 - p0))"
}
# m_cps CASE: new connections/s with latency, and CPU per 10k connections.
m_cps() {
	local case=$1 out t0 b0 t1 b1 u0 u1 k0 k1 conns l0 l1 s0 s1 r0 r1 o0
	o0=$(offload_seen "$case")
	k0=$(gw_packets)
	r0=$(syn_retrans)
	if [ -n "$SYSLOG" ]; then l0=$(wc -l <"$SYSLOG"); s0=$(proc_ticks "$SYSLOG_PID"); fi
	t0=$(proc_ticks "${GW_PIDS[@]}")
	u0=$(PROC_FIELDS='$14' proc_ticks "${GW_PIDS[@]}")
	b0=$(busy_ticks)
	out=$(inc "$BENCH_BIN/loadgen" -a "$S4" -p 80 -c "$CONC" -T 2 -d "$DUR" -H "$LAB_DIR/cdf.$case")
	t1=$(proc_ticks "${GW_PIDS[@]}")
	u1=$(PROC_FIELDS='$14' proc_ticks "${GW_PIDS[@]}")
	b1=$(busy_ticks)
	k1=$(gw_packets)
	r1=$(syn_retrans)
	conns=$(field conns "$out")
	if [ -n "$SYSLOG" ]; then
		sleep 0.2 # the last connections' log lines are sent as they close
		l1=$(wc -l <"$SYSLOG")
		s1=$(proc_ticks "$SYSLOG_PID")
	fi
	rec "$case" cps "$(field cps "$out")"
	rec "$case" errors "$(field errors "$out")"
	rec "$case" p50_us "$(field p50_us "$out")"
	rec "$case" p99_us "$(field p99_us "$out")"
	rec "$case" p999_us "$(field p999_us "$out")"
	if [ "${conns:-0}" -gt 0 ]; then
		if [ ${#GW_PIDS[@]} -gt 0 ]; then
			rec "$case" cpu_proc_s_10k "$(calc "($t1 - $t0) / $HZ * 10000 / $conns")"
			rec "$case" cpu_user_s_10k "$(calc "($u1 - $u0) / $HZ * 10000 / $conns")"
		fi
		rec "$case" cpu_all_s_10k "$(calc "($b1 - $b0) / $HZ * 10000 / $conns")"
		rec "$case" pkts_per_conn "$(calc "($k1 - $k0) / $conns")"
		offload_rec "$case" cps "$o0" "$conns"
		rec "$case" synretrans_per_conn "$(calc "($r1 - $r0) / $conns")"
		if [ -n "$SYSLOG" ]; then
			rec "$case" log_per_conn "$(calc "($l1 - $l0) / $conns")"
			rec "$case" cpu_syslog_s_10k "$(calc "($s1 - $s0) / $HZ * 10000 / $conns")"
		fi
	fi
	cp "$LAB_DIR/cdf.$case" "$OUT/cdf.$case.dat" 2>/dev/null
	: >"$LAB_DIR/audit.jsonl"
	say "  $case: $(field cps "$out") conn/s, p50 $(field p50_us "$out") us, p99 $(field p99_us "$out") us, errors $(field errors "$out")"
}

# m_rps CASE: requests/s over keep-alive (wrk, 2 threads, 64 connections).
m_rps() {
	local case=$1 out rps o0
	o0=$(offload_seen "$case")
	out=$(inc timeout $((DUR_I + 10)) wrk -t2 -c64 -d"${DUR_I}s" "http://$S4/" 2>&1)
	rps=$(sed -n 's/^Requests\/sec: *//p' <<<"$out")
	rec "$case" rps "${rps:-0}"
	offload_rec "$case" rps "$o0" 64
	: >"$LAB_DIR/audit.jsonl"
	say "  $case: $rps req/s keep-alive"
}

# m_bulk CASE STREAMS: iperf3 throughput, Gbit/s.
m_bulk() {
	local case=$1 p=$2 out gbps o0
	o0=$(offload_seen "$case")
	out=$(inc timeout $((DUR_I + 10)) iperf3 -c "$S4" -p 5201 -P "$p" -t "$DUR_I" -J 2>/dev/null)
	gbps=$(jq -r '.end.sum_received.bits_per_second / 1e9' <<<"$out" 2>/dev/null)
	rec "$case" "bulk$p" "${gbps:-0}" # 0: timed out, left out by report.py
	# Per iperf3 connection: its control connection and the P streams.
	offload_rec "$case" "bulk$p" "$o0" $((p + 1))
	say "  $case: $(printf '%.2f' "${gbps:-0}") Gbit/s with $p stream(s)"
}

# m_all CASE: every per-case figure.
m_all() { m_cps "$1"; m_rps "$1"; m_bulk "$1" 1; m_bulk "$1" 4; }

warm() { inc "$BENCH_BIN/loadgen" -a "$S4" -p 80 -c 16 -d 0.3 >/dev/null; }
