#!/usr/bin/env bash
# Least privilege: steer runs as an unprivileged user (nobody) holding exactly
# the capabilities steer(8) names (CAP_NET_ADMIN, CAP_NET_BIND_SERVICE,
# CAP_BPF, CAP_PERFMON; not CAP_NET_RAW), given as ambient capabilities as a
# systemd unit does. TCP and
# UDP are proxied (the proxy's counters and audit records say so), the control
# socket (status, reload, backend switch) is the daemon user's and root's, the
# metrics answer, the audit file is written, SIGTERM removes everything, and
# `steer cleanup` as that user after SIGKILL leaves the gateway as before. A
# missing capability is refused in one line that names it, for root too,
# and installs nothing. Backend: STEER_TEST_BACKEND (run.sh runs each).
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
USR=65534
CAPS=+net_admin,+net_bind_service,+bpf,+perfmon
# CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12), CAP_PERFMON (38), CAP_BPF (39): the daemon's CapEff.
CAPEFF=000000c000001400
BACKEND=${STEER_TEST_BACKEND:-ebpf}
OTHER=$([ "$BACKEND" = nft ] && echo ebpf || echo nft)

# as_user [CAPS] -- CMD...: CMD in the gateway as nobody, with CAPS as ambient capabilities.
as_user() {
	local caps=$1
	shift 2
	ip netns exec "$LAB_G" setpriv --reuid=$USR --regid=$USR --clear-groups \
		${caps:+--inh-caps=$caps --ambient-caps=$caps} "$@"
}

setup "lab" lab_up
setup "nginx" lab_nginx
ins python3 "$HERE/udp_echo.py" 7 $S4 $S6 &
LAB_PIDS+=($!)
for i in $(seq 50); do ins ss -Hnul 'sport = :7' | grep -q . && break; sleep 0.1; done
# The user's own directory, as systemd's RuntimeDirectory= and LogsDirectory= make it.
chmod 755 "$LAB_DIR"
RUN=$LAB_DIR/run
mkdir -m 750 "$RUN" && chown $USR:$USR "$RUN"
SOCK=$RUN/steer.sock
conf=$(lab_conf 'steer tcp dport 80' 'steer udp dport 7' 'metrics-listen 127.0.0.1:9464')
sed -i "s#^audit-log .*#audit-log $RUN/audit.jsonl#; s#^control-socket .*#control-socket $SOCK#" "$conf"
chmod 644 "$conf"
before=$(lab_snapshot)
st() { ing "$STEER" status --json --control-socket "$SOCK" | jq -r "$1"; }
audit() { jq -c "select($1)" "$RUN/audit.jsonl" 2>/dev/null | wc -l; }

# start_user: the daemon as nobody with CAPS. Not through as_user: $! must be steer itself
# (ip netns exec and setpriv exec it).
start_user() {
	: >"$LAB_DIR/steer.log"
	ip netns exec "$LAB_G" setpriv --reuid=$USR --regid=$USR --clear-groups --inh-caps=$CAPS \
		--ambient-caps=$CAPS "$STEER" run -c "$conf" >>"$LAB_DIR/steer.log" 2>&1 &
	LAB_STEER_PID=$!
	LAB_PIDS+=($!)
	for i in $(seq 100); do
		ing "$STEER" status --control-socket "$SOCK" >/dev/null 2>&1 && return 0
		kill -0 "$LAB_STEER_PID" 2>/dev/null || break
		sleep 0.05
	done
	tail -n 20 "$LAB_DIR/steer.log" >&2
	return 1
}

# --- a missing capability: one line naming it, exit 1, nothing installed (not even the socket)
out=$(as_user +net_bind_service,+bpf,+perfmon -- "$STEER" run -c "$conf" 2>&1)
expect_eq "without CAP_NET_ADMIN: exit 1" "$?" 1
expect_eq "without CAP_NET_ADMIN: one line naming it" \
	"$(grep -c . <<<"$out"):$(grep -c '^steer: error: missing capability CAP_NET_ADMIN: policy routing' <<<"$out")" "1:1"
# root without the capability (a container's bounding set) is refused the same way
out=$(ing setpriv --bounding-set -net_admin "$STEER" run -c "$conf" 2>&1)
expect_eq "root without CAP_NET_ADMIN: exit 1" "$?" 1
expect "root without CAP_NET_ADMIN: the same line" grep -qx 'steer: error: missing capability CAP_NET_ADMIN: .*' <<<"$out"
# a UDP rule to port 7: each session's reply socket binds the server's port
out=$(as_user +net_admin,+bpf,+perfmon -- "$STEER" run -c "$conf" 2>&1)
expect_eq "UDP to a low port without CAP_NET_BIND_SERVICE: exit 1" "$?" 1
expect_eq "UDP to a low port without CAP_NET_BIND_SERVICE: one line naming it" \
	"$(grep -c . <<<"$out"):$(grep -c '^steer: error: missing capability CAP_NET_BIND_SERVICE: binding ports below 1024: UDP' <<<"$out")" "1:1"
if [ "$BACKEND" = ebpf ]; then
	out=$(as_user +net_admin,+net_bind_service,+perfmon -- "$STEER" run -c "$conf" 2>&1)
	expect_eq "backend ebpf without CAP_BPF: exit 1" "$?" 1
	expect_eq "backend ebpf without CAP_BPF: one line naming it" \
		"$(grep -c . <<<"$out"):$(grep -c '^steer: error: missing capability CAP_BPF: ' <<<"$out")" "1:1"
fi
expect_eq "refused starts: nothing installed" "$(lab_snapshot)" "$before"
expect "refused starts: no control socket, no audit file" [ -z "$(ls -A "$RUN")" ]

# --- running as nobody
setup "steer starts as nobody with $CAPS" start_user
expect_eq "the daemon's uid and effective capabilities" \
	"$(awk '/^Uid:/ { print $3 } /^CapEff:/ { print $2 }' "/proc/$LAB_STEER_PID/status" | tr '\n' ' ')" "$USR $CAPEFF "
expect_eq "backend $BACKEND" "$(st .backend)" "$BACKEND"
expect_eq "control socket: the daemon user's, mode 0600" "$(stat -c '%a %u' "$SOCK")" "600 $USR"
out=$(as_user "" -- "$STEER" status --control-socket "$SOCK" 2>&1)
expect_eq "control socket: the daemon's user talks to it" "$?:$(grep -c "^backend: *$BACKEND" <<<"$out")" "0:1"

out=$(http_get "$LAB_C" "http://$S4/")
expect_eq "TCP: the server saw the client" "$(field client "$out"):$(field port "$out")" "$(field via "$out")"
expect_eq "TCP: the proxy accepted it" "$(st .proxy.accepted)" 1
out=$(ip netns exec "$LAB_C" python3 "$HERE/udp_client.py" $S6 7 --peer port 2>&1 | tail -n 1)
expect "UDP over IPv6: echoed with the client's address ($out)" grep -q ' ok=1 ' <<<"$out"
expect_eq "UDP: a proxy session" "$(st .proxy.udp_sessions_total)" 1

expect "reload" bash -c "ip netns exec $LAB_G $STEER reload --control-socket $SOCK | grep -q '^reloaded: 2 rules'"
expect "switch to $OTHER" bash -c "ip netns exec $LAB_G $STEER backend $OTHER --control-socket $SOCK | grep -q ' -> $OTHER'"
out=$(http_get "$LAB_C" "http://[$S6]/")
expect_eq "TCP over IPv6 after the switch: proxied" "$(st .proxy.accepted)" 2
expect "switch back to $BACKEND" bash -c "ip netns exec $LAB_G $STEER backend $BACKEND --control-socket $SOCK | grep -q ' -> $BACKEND'"

metrics=$(ing curl -sS --max-time 3 http://127.0.0.1:9464/metrics)
expect_eq "metrics: 2 connections accepted" "$(sed -n 's/^steer_proxy_connections_accepted_total //p' <<<"$metrics")" 2

expect "SIGTERM: clean exit" lab_steer_stop
expect "SIGTERM: everything removed" grep -q "stopped; everything removed" "$LAB_DIR/steer.log"
expect_eq "SIGTERM: gateway as before" "$(lab_snapshot)" "$before"
expect "SIGTERM: control socket removed" [ ! -e "$SOCK" ]
expect_eq "audit file: nobody's, mode 0640" "$(stat -c '%a %u' "$RUN/audit.jsonl")" "640 $USR"
expect_eq "audit: the TCP flows, by $BACKEND and $OTHER" \
	"$(audit '.event=="open" and .proto=="tcp" and .backend=="'"$BACKEND"'"'):$(audit '.event=="open" and .proto=="tcp" and .backend=="'"$OTHER"'"')" "1:1"
expect_eq "audit: the UDP flow" "$(audit '.event=="open" and .proto=="udp" and .backend=="'"$BACKEND"'"')" 1
expect_eq "audit: both switches" "$(audit '.event=="backend"')" 2

# --- killed, then `steer cleanup` as the same user with the same capabilities
setup "steer starts again" start_user
expect "killed (SIGKILL)" bash -c "kill -KILL $LAB_STEER_PID; wait $LAB_STEER_PID 2>/dev/null; true"
LAB_STEER_PID=
expect_not "killed: steering left behind" test "$(lab_snapshot)" == "$before"
out=$(as_user "$CAPS" -- "$STEER" cleanup -c "$conf" 2>&1)
expect_eq "cleanup as nobody: exit 0 ($out)" "$?" 0
expect_eq "cleanup as nobody: gateway as before" "$(lab_snapshot)" "$before"
expect "cleanup as nobody: stale control socket removed" [ ! -e "$SOCK" ]

# Kernels without TCX (forced here): the clsact filters outlive a crash, and
# only CAP_SYS_ADMIN may name the program a filter runs. cleanup as nobody
# says so in one line and fails; root's removes them.
if [ "$BACKEND" = ebpf ]; then
	STEER_BPF_NO_TCX=1 start_user || echo "steer (clsact) did not start"
	expect "clsact: the daemon as nobody attached clsact filters" \
		bash -c "ip netns exec $LAB_G tc filter show dev gw-cli ingress | grep -q steer"
	lab_steer_stop KILL
	out=$(as_user "$CAPS" -- "$STEER" cleanup -c "$conf" 2>&1)
	expect_eq "clsact: cleanup as nobody fails" "$?" 1
	expect_eq "clsact: one line per filter it cannot name" \
		"$(grep -c "^steer: cleanup: the tc filter at steer's handle on gw-.* (run steer cleanup as root)" <<<"$out")" 2
	expect "clsact: cleanup as root" ing "$STEER" cleanup -c "$conf"
	expect_eq "clsact: after cleanup as root, gateway as before" "$(lab_snapshot)" "$before"
fi
finish
