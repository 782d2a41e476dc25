#!/usr/bin/env bash
# UDP through the proxy (issue 4), IPv4 and IPv6: the echo server sees the
# client's IP and port (upstream-source client) and the client gets its replies
# from the original server address; dig through the gateway with the audit
# record of the flow; non-matching UDP and a local UDP service on the gateway
# are untouched; 1,000 concurrent sessions; 1, 1,472 and 60,000-byte datagrams;
# idle expiry; ICMP port unreachable ends a session (upstream-source gateway,
# where the ICMP is addressed to the gateway); the session bound.
# Backend: STEER_TEST_BACKEND (run.sh runs each).
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
IDLE=2

udp_client() { # NS HOST PORT [ARGS...]: one summary line; status 0 when all sessions got their reply
	local ns=$1
	shift
	ip netns exec "$ns" python3 "$HERE/udp_client.py" "$@" 2>&1 | tail -n 1
	return "${PIPESTATUS[0]}"
}
ok_of() { sed -n 's/.*\bok=\([0-9]*\).*/\1/p' <<<"$1"; }
udp_ctr() { lab_counter ".proxy.$1"; }

# Wait until counter NAME reaches MIN (10 s).
wait_ctr() {
	local i
	for i in $(seq 100); do
		[ "$(udp_ctr "$1")" -ge "$2" ] 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

need_tools() { command -v dig >/dev/null && command -v dnsmasq >/dev/null || { echo "  dig and dnsmasq needed (make deps)"; return 1; }; }
setup "dig and dnsmasq installed" need_tools
setup "lab" lab_up
ins python3 "$HERE/udp_echo.py" 7 $S4 $S4B $S6 $S6B &
LAB_PIDS+=($!)
ins python3 "$HERE/udp_echo.py" 9 $S4 $S6 &
LAB_PIDS+=($!)
# A local service on the gateway, on a steered port (its own addresses).
ing python3 "$HERE/udp_echo.py" 7 $G4C $G6C &
LAB_PIDS+=($!)
mkdir -p "$LAB_DIR/dns"
ins dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces --listen-address=$S4,$S6 \
	--user=root --pid-file="$LAB_DIR/dns/pid" --address=/steer.test/192.0.2.53 --log-facility="$LAB_DIR/dns/log" &
LAB_PIDS+=($!)
for i in $(seq 50); do
	ins ss -Hnul 'sport = :53' | grep -q . && ins ss -Hnul 'sport = :7' | grep -q . &&
		ing ss -Hnul 'sport = :7' | grep -q . && break
	sleep 0.1
done
setup "steer starts" lab_steer_start "$(lab_conf 'steer udp dport 53,7' "udp-idle-timeout $IDLE")"

# --- the client's address reaches the server, replies come from the server's address
for dst in $S4 $S6 $S4B $S6B; do
	out=$(udp_client "$LAB_C" $dst 7 --peer port)
	expect "$dst: echo saw the client's IP and port, reply from $dst ($out)" [ "$(ok_of "$out")" = 1 ]
done
expect_eq "4 sessions through the proxy" "$(udp_ctr udp_sessions_total)" 4
lab_is_nft || expect_ge "kernel: replies assigned to the upstream sockets" "$(lab_kc return_assigned -)" 4

# --- DNS with dig
for dst in $S4 $S6; do
	ans=$(inc dig +short +time=2 +tries=2 @$dst steer.test A 2>&1)
	expect_eq "dig @$dst through the gateway" "$ans" "192.0.2.53"
done
expect_eq "2 DNS sessions" "$(udp_ctr udp_sessions_total)" 6

# --- not steered: other ports are forwarded untouched, the gateway's own service answers itself
out=$(udp_client "$LAB_C" $S4 9 --peer port)
expect "port 9 (not steered) v4 forwarded, client address seen ($out)" [ "$(ok_of "$out")" = 1 ]
out=$(udp_client "$LAB_C" $S6 9 --peer port)
expect "port 9 (not steered) v6 forwarded ($out)" [ "$(ok_of "$out")" = 1 ]
out=$(udp_client "$LAB_C" $G4C 7 --peer port)
expect "gateway's own UDP service v4 answers ($out)" [ "$(ok_of "$out")" = 1 ]
out=$(udp_client "$LAB_C" $G6C 7 --peer port)
expect "gateway's own UDP service v6 answers ($out)" [ "$(ok_of "$out")" = 1 ]
expect_eq "none of these went through the proxy" "$(udp_ctr udp_sessions_total)" 6

# --- sizes: 1 and 1,472 bytes (a full 1500-byte IPv4 frame), 60,000 (fragmented)
for size in 1 1472 60000; do
	for dst in $S4 $S6; do
		before=$(udp_ctr udp_bytes_up)
		out=$(udp_client "$LAB_C" $dst 7 --peer port --size $size)
		expect "$size bytes to $dst and back intact ($out)" [ "$(ok_of "$out")" = 1 ]
		expect_ge "$size bytes to $dst relayed by the proxy" $(($(udp_ctr udp_bytes_up) - before)) $size
	done
done

# --- 1,000 concurrent sessions, each from its own port, each gets its own reply
for dst in $S4 $S6; do
	# Earlier sessions must have expired: a recycled client port would
	# (rightly) reuse its live session and count one session less.
	for i in $(seq 50); do [ "$(udp_ctr udp_sessions_open)" = 0 ] && break; sleep 0.1; done
	before=$(udp_ctr udp_sessions_total)
	out=$(udp_client "$LAB_C" $dst 7 --peer port --sessions 1000 --timeout 6)
	expect_eq "1000 sessions to $dst: every one got its own reply ($out)" "$(ok_of "$out")" 1000
	expect_ge "1000 sessions to $dst: each a proxy session" $(($(udp_ctr udp_sessions_total) - before)) 1000
done
expect_eq "no datagram dropped by the proxy" "$(udp_ctr udp_send_errors)" 0

# --- each session starts with its first datagram, no resend: 10 rounds of 50
# clients that send once. Under nft a new flow's datagram can be queued on
# another session's `down` socket (proxy/udp.c); it must still be relayed.
good=0
for i in $(seq 10); do
	out=$(udp_client "$LAB_C" $S4 7 --peer port --sessions 50 --rounds 1 --timeout 1) && good=$((good + 1))
done
expect_eq "10 rounds of 50 sessions, each answered on its first datagram ($out)" "$good" 10

# --- idle expiry
total=$(udp_ctr udp_sessions_total)
expect "all $total sessions expire after ${IDLE}s" wait_ctr udp_expired "$total"
expect_eq "no session left open" "$(udp_ctr udp_sessions_open)" 0
expect "SIGTERM: clean exit" lab_steer_stop TERM

# Audit log: complete once the daemon has exited.
expect_eq "audit: dig v4 open record (client, dst, upstream_src = client)" \
	"$(audit_count '.event=="open" and .proto=="udp" and .backend=="'"${STEER_TEST_BACKEND:-ebpf}"'" and .dst=="'$S4':53" and (.client|startswith("'$C4':")) and .upstream_src==.client')" 1
expect_eq "audit: dig v6 open record" \
	"$(audit_count '.event=="open" and .proto=="udp" and .dst=="['$S6']:53" and (.client|startswith("['$C6']:"))')" 1
expect_eq "audit: every UDP session closed by the idle timeout" \
	"$(audit_count '.event=="close" and .proto=="udp" and .reason=="idle_timeout"')" "$total"
expect_ge "audit: close records carry bytes both ways" \
	"$(audit_count '.event=="close" and .proto=="udp" and .dst=="'$S4':53" and .bytes_up > 0 and .bytes_down > 0')" 1

# --- ICMP port unreachable ends the session (upstream-source gateway: the ICMP
# comes back to the gateway's own address); the server sees the gateway.
setup "steer starts (gateway)" lab_steer_start "$(lab_conf 'steer udp dport 53,7,5353')" --upstream-source gateway
out=$(udp_client "$LAB_C" $S4 7 --peer $G4S)
expect "gateway v4: echo saw the gateway's address ($out)" [ "$(ok_of "$out")" = 1 ]
out=$(udp_client "$LAB_C" $S6 7 --peer $G6S)
expect "gateway v6: echo saw the gateway's address ($out)" [ "$(ok_of "$out")" = 1 ]
udp_client "$LAB_C" $S4 5353 --timeout 1 --rounds 1 >/dev/null
udp_client "$LAB_C" $S6 5353 --timeout 1 --rounds 1 >/dev/null
expect "ICMP port unreachable v4+v6: 2 sessions ended, counted" wait_ctr udp_icmp_errors 2
expect_eq "ICMP: sessions left open are the 2 echo ones" "$(udp_ctr udp_sessions_open)" 2
expect "gateway: clean exit" lab_steer_stop
expect_eq "audit: ICMP close records" \
	"$(audit_count '.event=="close" and .proto=="udp" and .reason=="upstream_refused" and (.dst|endswith(":5353"))')" 2

# --- the session bound: a descriptor limit of 1152 caps sessions at (1152-128)/4 = 256
ulimit -n 1152
setup "steer starts (fd limit 1152)" lab_steer_start "$(lab_conf 'steer udp dport 7')"
out=$(udp_client "$LAB_C" $S4 7 --sessions 400 --timeout 2)
expect "bound: 400 clients, at most 256 sessions ($out)" [ "$(udp_ctr udp_sessions_total)" -le 256 ]
expect_ge "bound: sessions were opened up to the bound" "$(udp_ctr udp_sessions_total)" 200
expect_ge "bound: refused datagrams counted" "$(udp_ctr udp_session_limit)" 1
expect "bound: clean exit" lab_steer_stop
finish
