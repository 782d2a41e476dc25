#!/usr/bin/env bash
# backends: ebpf nft
# ICMP errors for the proxy's upstream sockets with upstream-source client:
# they are addressed to the client's (non-local) IP and must reach the
# upstream socket on the gateway, not the client.
#
#  - Path MTU: a far server sits behind the server namespace, which routes to
#    it over a 1280-byte route MTU. The proxy's upstream socket (bound to the
#    client's address) sends 1500-byte segments; the router answers with ICMP
#    fragmentation needed / ICMPv6 packet too big, addressed to the client.
#    A 300 kB upload completes (the upstream socket learned the PMTU: the
#    gateway caches mtu 1280 for the far server), and the error never
#    reached the client (its ICMP counters stay at 0).
#  - UDP: a datagram to a closed port ends the proxy's session on the ICMP
#    port unreachable (v4 and v6), counted, and audited as upstream_refused.
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
LAB_F=steer-$LAB_ID-f
F4=198.18.3.2 F6=fd00:3::2
SIZE=300000

udp_client() { # NS HOST PORT [ARGS...]
	local ns=$1
	shift
	ip netns exec "$ns" python3 "$HERE/udp_client.py" "$@" 2>&1 | tail -n 1
}
udp_ctr() { lab_counter ".proxy.$1"; }
wait_ctr() { # NAME MIN (10 s)
	local i
	for i in $(seq 100); do
		[ "$(udp_ctr "$1")" -ge "$2" ] 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
inf() { ip netns exec "$LAB_F" "$@"; }
# snmp NS PROTO FIELD: a counter of /proc/net/snmp (Icmp) or /proc/net/snmp6 (Icmp6...) in NS
snmp() {
	if [ "$2" = Icmp6 ]; then
		ip netns exec "$1" awk -v f="$3" '$1 == f { print $2 }' /proc/net/snmp6
	else
		ip netns exec "$1" awk -v p="$2:" -v f="$3" \
			'$1 == p && !h { for (i = 2; i <= NF; i++) n[i] = $i; h = 1; next }
			 $1 == p { for (i = 2; i <= NF; i++) if (n[i] == f) print $i }' /proc/net/snmp
	fi
}

# The far server: one more namespace behind the server namespace, which routes
# to it with a 1280-byte route MTU (locked, so forwarding honours it for IPv6
# too). Both ends of the link keep MTU 1500, so the far server advertises
# MSS 1460 and only path MTU discovery can find the bottleneck.
far_up() {
	ip netns add "$LAB_F" || return 1
	inf sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
	ip link add eth0 netns "$LAB_F" type veth peer name srv-far netns "$LAB_S" || return 1
	ip -n "$LAB_F" link set lo up
	ip -n "$LAB_F" addr add $F4/24 dev eth0
	ip -n "$LAB_F" addr add $F6/64 dev eth0 nodad
	ip -n "$LAB_F" link set eth0 up
	ip -n "$LAB_S" addr add 198.18.3.1/24 dev srv-far
	ip -n "$LAB_S" addr add fd00:3::1/64 dev srv-far nodad
	ip -n "$LAB_S" link set srv-far up
	ip -n "$LAB_F" route add default via 198.18.3.1
	ip -n "$LAB_F" -6 route add default via fd00:3::1
	ins sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n "$LAB_S" route add $F4/32 dev srv-far mtu lock 1280 || return 1
	ip -n "$LAB_S" -6 route add $F6/128 dev srv-far mtu lock 1280 || return 1
	ip -n "$LAB_G" route add 198.18.3.0/24 via $S4
	ip -n "$LAB_G" -6 route add fd00:3::/64 via $S6
	inf python3 "$HERE/upload.py" serve 80 $F4 $F6 &
	LAB_PIDS+=($!)
	lab_wait_port "$LAB_F" 80 || return 1
	local i
	for i in $(seq 30); do
		inc ping -c1 -W1 -q $F4 >/dev/null 2>&1 && inc ping -6 -c1 -W1 -q $F6 >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
far_down() {
	ip netns pids "$LAB_F" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del "$LAB_F" 2>/dev/null
}

setup "lab" lab_up
trap 'lab_down; far_down' EXIT
setup "far server behind a 1280-byte route MTU" far_up
# The bottleneck really is there: a 1400-byte DF ping from the server namespace fails.
expect "router: 1400-byte DF ping to the far server refused (frag needed)" \
	bash -c "! ip netns exec $LAB_S ping -c1 -W1 -M do -s 1372 $F4 >/dev/null 2>&1"
setup "steer starts" lab_steer_start "$(lab_conf 'steer tcp dport 80' 'steer udp dport 5353')"

# --- PMTU: uploads through the proxy's upstream socket
for dst in $F4 $F6; do
	out=$(inc python3 "$HERE/upload.py" send $dst 80 $SIZE --timeout 15)
	expect "$dst: $SIZE-byte upload through the 1280-byte bottleneck completes ($out)" [ "${out%% *}" = ok ]
done
expect "gateway learned the path MTU to $F4 (route cache mtu 1280)" \
	bash -c "ip netns exec $LAB_G ip route get $F4 | grep -q 'mtu 1280'"
expect "gateway learned the path MTU to $F6 (route cache mtu 1280)" \
	bash -c "ip netns exec $LAB_G ip -6 route get $F6 | grep -q 'mtu 1280'"
expect_eq "the client never got the frag needed (Icmp InDestUnreachs)" "$(snmp "$LAB_C" Icmp InDestUnreachs)" 0
expect_eq "the client never got the packet too big (Icmp6InPktTooBigs)" "$(snmp "$LAB_C" Icmp6 Icmp6InPktTooBigs)" 0
if ! lab_is_nft; then
	expect_ge "eBPF: ICMP errors delivered to the upstream sockets counted" "$(lab_counter .counters.ebpf.icmp_delivered)" 2
fi

# --- UDP: port unreachable (addressed to the client's IP) ends the session
udp_client "$LAB_C" $S4 5353 --timeout 1 --rounds 1 >/dev/null
udp_client "$LAB_C" $S6 5353 --timeout 1 --rounds 1 >/dev/null
expect "UDP port unreachable v4+v6: 2 sessions ended, counted" wait_ctr udp_icmp_errors 2
expect_eq "UDP: no session left open" "$(udp_ctr udp_sessions_open)" 0
expect_eq "the client never got the port unreachables (Icmp InDestUnreachs)" "$(snmp "$LAB_C" Icmp InDestUnreachs)" 0
expect_eq "the client never got the v6 port unreachable (Icmp6InDestUnreachs)" \
	"$(snmp "$LAB_C" Icmp6 Icmp6InDestUnreachs)" 0
if ! lab_is_nft; then
	expect_ge "eBPF: the port unreachables counted icmp_delivered" "$(lab_counter .counters.ebpf.icmp_delivered)" 4
fi

# --- client side: the client's port unreachable about the proxy's reply is
# addressed to the server's IP; it must reach the proxy's reply socket (the
# session ends), never the real server.
ip netns exec "$LAB_S" python3 "$HERE/udp_echo.py" 5353 $S4 &
LAB_PIDS+=($!)
for i in $(seq 50); do ip netns exec "$LAB_S" ss -Hlun "sport = :5353" | grep -q . && break; sleep 0.1; done
before=$(udp_ctr udp_sessions_total)
srv_unreach=$(snmp "$LAB_S" Icmp InDestUnreachs)
# One datagram from a port nothing listens on (crafted: a real socket could
# still be open when the echo comes back, and then no ICMP is sent).
ip netns exec "$LAB_C" /usr/bin/python3 -c "
from scapy.all import IP, UDP, send, conf
conf.verb = 0
send(IP(dst='$S4')/UDP(sport=40999, dport=5353)/b'gone', iface='eth0')"
expect "client side: the proxy made a session" wait_ctr udp_sessions_total $((before + 1))
cli_unreach=0
for i in $(seq 50); do
	cli_unreach=$(snmp "$LAB_C" Icmp OutDestUnreachs)
	[ "$cli_unreach" -ge 1 ] && break
	sleep 0.1
done
expect_ge "client side: the client answered the reply with a port unreachable" "$cli_unreach" 1
expect "client side: the proxy's reply socket got it, the session ended" \
	bash -c "for i in \$(seq 50); do [ \"\$(ip netns exec $LAB_G $STEER status --json --control-socket $LAB_DIR/steer.sock | jq .proxy.udp_sessions_open)\" = 0 ] && exit 0; sleep 0.1; done; exit 1"
expect_eq "client side: the server never got the client's port unreachable" \
	"$(snmp "$LAB_S" Icmp InDestUnreachs)" "$srv_unreach"

expect "SIGTERM: clean exit" lab_steer_stop TERM
expect_eq "audit: both uploads closed with every byte relayed upstream" \
	"$(audit_count '.event=="close" and .proto=="tcp" and .bytes_up=='$SIZE' and .reason=="eof"')" 2
expect_eq "audit: UDP sessions closed as upstream_refused" \
	"$(audit_count '.event=="close" and .proto=="udp" and .reason=="upstream_refused" and (.dst|endswith(":5353"))')" 2
finish
