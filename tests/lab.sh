# shellcheck shell=bash
# The network-namespace lab: client — gateway — server, IPv4 and IPv6.
# Sourced by `make demo`, the network tests and the benchmark.
#
#   client  eth0 198.18.1.2/24 fd00:1::2/64
#      |
#   gateway gw-cli 198.18.1.1/24 fd00:1::1/64   (client-facing: steer's `interface`)
#           gw-srv 198.18.2.1/24 fd00:2::1/64   (server-facing: `return-interface`)
#      |
#   server  eth0 198.18.2.2/24 fd00:2::2/64 (+ 198.18.2.3, fd00:2::3)
#
# Namespace names carry the run's id, so parallel runs never collide; lab_down
# (installed as an EXIT trap by lab_up) removes everything it made.

LAB_ID=${LAB_ID:-$$-$RANDOM}
LAB_C=steer-$LAB_ID-c
LAB_G=steer-$LAB_ID-g
LAB_S=steer-$LAB_ID-s
LAB_DIR=${LAB_DIR:-$(mktemp -d /tmp/steer-lab.XXXXXX)}
LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STEER=${STEER:-$LAB_ROOT/build/steer}
LAB_PIDS=()

C4=198.18.1.2 G4C=198.18.1.1 G4S=198.18.2.1 S4=198.18.2.2 S4B=198.18.2.3
C6=fd00:1::2 G6C=fd00:1::1 G6S=fd00:2::1 S6=fd00:2::2 S6B=fd00:2::3

inc() { ip netns exec "$LAB_C" "$@"; }
ing() { ip netns exec "$LAB_G" "$@"; }
ins() { ip netns exec "$LAB_S" "$@"; }

lab_require() {
	local missing=()
	[ "$(id -u)" = 0 ] || { echo "lab: must run as root (network namespaces)" >&2; return 1; }
	for t in ip nft tc ping curl socat nginx python3 jq bpftool; do
		command -v "$t" >/dev/null || missing+=("$t")
	done
	[ -x "$STEER" ] || missing+=("$STEER (run make)")
	if [ ${#missing[@]} -gt 0 ]; then
		echo "lab: missing: ${missing[*]} (make deps installs them)" >&2
		return 1
	fi
}

lab_up() {
	lab_require || return 1
	trap lab_down EXIT
	trap 'exit 130' INT TERM
	ip netns add "$LAB_C" && ip netns add "$LAB_G" && ip netns add "$LAB_S" || return 1
	# No duplicate address detection: link-local next hops usable at once.
	for ns in "$LAB_C" "$LAB_G" "$LAB_S"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
	done
	for ns in "$LAB_C" "$LAB_G" "$LAB_S"; do ip -n "$ns" link set lo up; done
	lab_link client && lab_link server || return 1
	ing sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	# Reachability both ways before any test relies on it (IPv6 neighbours too).
	local i
	for i in $(seq 30); do
		inc ping -c1 -W1 -q $S4 >/dev/null 2>&1 && inc ping -6 -c1 -W1 -q $S6 >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "lab: no route client -> server" >&2
	return 1
}

# lab_link client|server: the veth between the gateway and that side, its
# addresses, and that side's default routes through the gateway. lab_up makes
# both; a test that deleted one (deleting either end deletes the pair) makes it again.
lab_link() {
	local ns gw g4 g6 far=()
	case $1 in
	client) ns=$LAB_C gw=gw-cli g4=$G4C g6=$G6C far=($C4/24 $C6/64) ;;
	server) ns=$LAB_S gw=gw-srv g4=$G4S g6=$G6S far=($S4/24 $S4B/24 $S6/64 $S6B/64) ;;
	*) return 1 ;;
	esac
	ip link add eth0 netns "$ns" type veth peer name $gw netns "$LAB_G" || return 1
	for a in "${far[@]}"; do
		ip -n "$ns" addr add "$a" dev eth0 $([[ $a == *:* ]] && echo nodad) || return 1
	done
	ip -n "$LAB_G" addr add $g4/24 dev $gw && ip -n "$LAB_G" addr add $g6/64 dev $gw nodad &&
		ip -n "$ns" link set eth0 up && ip -n "$LAB_G" link set $gw up &&
		ip -n "$ns" route add default via $g4 && ip -n "$ns" -6 route add default via $g6
}

lab_down() {
	local pid
	for pid in "${LAB_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${LAB_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	LAB_PIDS=()
	# Whatever a test started inside the namespaces dies with the lab.
	for ns in "$LAB_C" "$LAB_G" "$LAB_S"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
	done
	for ns in "$LAB_C" "$LAB_G" "$LAB_S"; do ip netns del "$ns" 2>/dev/null; done
	[ -n "${LAB_KEEP_DIR:-}" ] || rm -rf "$LAB_DIR"
}

# nginx in the server namespace on ports 80 and 8080 (v4 and v6), answering
# with the peer it saw: "client=IP port=PORT server=IP:PORT".
lab_nginx() {
	mkdir -p "$LAB_DIR/nginx"
	cat >"$LAB_DIR/nginx/nginx.conf" <<NGX
user root;
worker_processes 1;
daemon off;
pid $LAB_DIR/nginx/nginx.pid;
error_log $LAB_DIR/nginx/error.log;
events { worker_connections 8192; }
http {
	access_log off;
	client_body_temp_path $LAB_DIR/nginx;
	proxy_temp_path $LAB_DIR/nginx;
	fastcgi_temp_path $LAB_DIR/nginx;
	uwsgi_temp_path $LAB_DIR/nginx;
	scgi_temp_path $LAB_DIR/nginx;
	keepalive_requests 1000000;
	server {
		listen 80 backlog=4096;
		listen [::]:80 backlog=4096;
		listen 8080;
		listen [::]:8080;
		root $LAB_DIR/www;
		location / { return 200 "client=\$remote_addr port=\$remote_port server=\$server_addr:\$server_port\n"; }
		location /files/ { }
	}
}
NGX
	mkdir -p "$LAB_DIR/www/files"
	ip netns exec "$LAB_S" nginx -c "$LAB_DIR/nginx/nginx.conf" -e "$LAB_DIR/nginx/error.log" &
	LAB_PIDS+=($!)
	lab_wait_port "$LAB_S" 80 || { echo "lab: nginx did not start" >&2; cat "$LAB_DIR/nginx/error.log" >&2; return 1; }
}

# lab_wait_port NS PORT: until something listens on TCP PORT in NS (5 s).
lab_wait_port() {
	local i
	for i in $(seq 50); do
		ip netns exec "$1" ss -Htln "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# A steer.conf for the lab; extra directives (one per argument) are appended.
lab_conf() {
	local f=$LAB_DIR/steer.conf
	cat >"$f" <<CONF
backend ${STEER_TEST_BACKEND:-ebpf}
interface gw-cli
return-interface gw-srv
proxy-port 15001
upstream-source client
audit-log $LAB_DIR/audit.jsonl
control-socket $LAB_DIR/steer.sock
workers 2
CONF
	local line
	for line in "$@"; do echo "$line" >>"$f"; done
	echo "$f"
}

# lab_steer_start CONF [FLAGS...]: steer in the gateway; waits until it answers
# (5 s, or LAB_START_WAIT seconds: a big rule set takes longer to install).
lab_steer_start() {
	local conf=$1 i
	shift
	# Not through a shell function: $! must be steer itself, for the signal tests.
	ip netns exec "$LAB_G" "$STEER" run -c "$conf" "$@" >>"$LAB_DIR/steer.log" 2>&1 &
	LAB_STEER_PID=$!
	LAB_PIDS+=($LAB_STEER_PID)
	for i in $(seq $((${LAB_START_WAIT:-5} * 20))); do
		ing "$STEER" status --control-socket "$LAB_DIR/steer.sock" >/dev/null 2>&1 && return 0
		kill -0 "$LAB_STEER_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "lab: steer did not start:" >&2
	tail -n 20 "$LAB_DIR/steer.log" >&2
	return 1
}

# lab_hook NAME: the sourcing script's lab_on_NAME, if it has one (the network
# tests check the audit log around every stop: tests/net/lib.sh).
lab_hook() {
	if declare -F "lab_on_$1" >/dev/null; then "lab_on_$1"; fi
	return 0
}

# lab_exited PID: the process is gone or a zombie (exited, not yet waited for).
lab_exited() {
	local state
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$state" ] || [ "$state" = Z ]
}

# Stop steer with SIGTERM (or the signal given); returns its exit status. A
# daemon that has not exited LAB_STOP_WAIT seconds (scaled; default 90, more
# than any drain-timeout the tests set) later is hung: its threads and where
# they wait are printed, it is killed, and the stop fails (status 124) rather
# than waiting forever.
lab_steer_stop() {
	local sig=${1:-TERM} st i limit t
	[ -n "${LAB_STEER_PID:-}" ] || return 0
	lab_hook steer_stopping
	kill -"$sig" "$LAB_STEER_PID" 2>/dev/null
	limit=$((${LAB_STOP_WAIT:-90} * ${STEER_TEST_TIME_SCALE:-1}))
	for ((i = 0; i < limit * 10; i++)); do
		lab_exited "$LAB_STEER_PID" && break
		sleep 0.1
	done
	if ! lab_exited "$LAB_STEER_PID"; then
		t="lab: steer (pid $LAB_STEER_PID) still running $limit s after SIG$sig; its threads:"
		# Counted by the network tests' fail() (tests/net/lib.sh); the bench only prints it.
		if declare -F fail >/dev/null; then fail "$t"; else echo "  FAIL $t"; fi
		for t in /proc/"$LAB_STEER_PID"/task/*; do
			echo "    $(cat "$t/comm" 2>/dev/null) state=$(awk '{print $3}' "$t/stat" 2>/dev/null)" \
				"wchan=$(cat "$t/wchan" 2>/dev/null) syscall=$(cut -d' ' -f1 "$t/syscall" 2>/dev/null)"
		done
		tail -n 20 "$LAB_DIR/steer.log" 2>/dev/null | sed 's/^/    log: /'
		kill -9 "$LAB_STEER_PID" 2>/dev/null
		wait "$LAB_STEER_PID"
		LAB_STEER_PID=
		lab_hook steer_stopped
		return 124
	fi
	wait "$LAB_STEER_PID"
	st=$?
	LAB_STEER_PID=
	lab_hook steer_stopped
	return $st
}

lab_status() { ing "$STEER" status --json --control-socket "$LAB_DIR/steer.sock"; }

# lab_counter PATH: one number from `steer status --json` (jq path).
lab_counter() { lab_status | jq -r "$1"; }

# lab_kc EBPF_NAME NFT_NAME: the kernel counter of the backend under test,
# by its name in that backend (the classifier's, or the nft rule counters').
lab_kc() {
	case ${STEER_TEST_BACKEND:-ebpf} in
	nft) lab_counter ".counters.nft.$2 // 0" ;;
	*) lab_counter ".counters.ebpf.$1" ;;
	esac
}
lab_is_nft() { [ "${STEER_TEST_BACKEND:-ebpf}" = nft ]; }

# Everything steer may touch in the gateway, for before/after comparisons.
lab_snapshot() {
	{
		echo "# nft"; ing nft list ruleset
		echo "# rules"; ing ip rule show; ing ip -6 rule show
		echo "# routes"; ing ip route show table all; ing ip -6 route show table all
		for dev in gw-cli gw-srv; do
			echo "# tc $dev"; ing tc qdisc show dev $dev
			ing tc filter show dev $dev ingress; ing tc filter show dev $dev egress
		done
		echo "# bpf links"; ing bpftool net show 2>/dev/null | grep -v '^$'
	} 2>&1
}
