#!/usr/bin/env bash
# SYN cookies: with net.ipv4.tcp_syncookies=2 in the gateway (every SYN is
# answered with a cookie, as a listener under a SYN flood does), the ACK that
# completes a handshake finds no socket. Steered flows must still reach the
# proxy (v4 and v6, built-in and external proxy), proved by the proxy's
# accepts and audit records, with the cookie ACKs counted; a connection that
# existed before steer started keeps working (its socketless ACKs carry no
# cookie of ours and are forwarded).
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
ing sysctl -qw net.ipv4.tcp_syncookies=2
conf=$(lab_conf 'steer tcp dport 80')
cookie_acks() { lab_kc cookie_ack cookie_ack; }
cookies_recv() { ing nstat -az TcpExtSyncookiesRecv | awk '/SyncookiesRecv/ {print $2}'; }
status_recv() { lab_counter .tcp_stack.syncookies_recv; }

# A keep-alive connection to the server, opened before steer starts.
go=$LAB_DIR/go
ip netns exec "$LAB_C" python3 "$(dirname "$0")/keepalive.py" "$S4" 80 "$go" >"$LAB_DIR/keepalive.out" 2>&1 &
ka=$!
LAB_PIDS+=($ka)
sleep 0.5

setup "steer starts" lab_steer_start "$conf"

recv0=$(cookies_recv)
srecv0=$(status_recv)
for dst in $S4 "[$S6]"; do
	for i in 1 2 3; do
		out=$(http_get "$LAB_C" "http://$dst/")
		expect_eq "$dst #$i: answered through the cookie" "$(field server "$out")" "${dst//[\[\]]/}:80"
	done
done
# Inside the cookie window now: the old connection's ACKs are checked against the cookie, and fail it.
touch "$go"
wait $ka
expect_eq "a connection older than steer keeps working (second request on it, inside the cookie window)" \
	"$(cat "$LAB_DIR/keepalive.out")" "first=ok second=ok"
expect_eq "the proxy accepted all 6" "$(lab_counter .proxy.accepted)" 6
expect_ge "the kernel received 6 cookies" "$(($(cookies_recv) - recv0))" 6
expect_eq "6 cookie ACKs given to the listener" "$(cookie_acks)" 6
expect_ge "steer status: the kernel's cookies received (tcp_stack)" "$(($(status_recv) - srecv0))" 6
expect "clean exit" lab_steer_stop
expect_eq "audit: 6 open records" "$(audit_count '.event=="open"')" 6
expect_eq "audit: 3 of them IPv6" "$(audit_count '.event=="open" and (.dst | startswith("["))')" 3

if ! lab_is_nft; then
	# Kernels that refuse to assign a reuseport listener (before 6.6): the cookie ACK goes by sk_lookup.
	: >"$LAB_DIR/audit.jsonl"
	STEER_BPF_ASSIGN=lookup lab_steer_start "$conf" || echo "steer (lookup) did not start"
	for dst in $S4 "[$S6]"; do
		out=$(http_get "$LAB_C" "http://$dst/")
		expect_eq "sk_lookup path: $dst answered" "$(field server "$out")" "${dst//[\[\]]/}:80"
	done
	expect_eq "sk_lookup path: the proxy accepted both" "$(lab_counter .proxy.accepted)" 2
	expect_eq "sk_lookup path: 2 cookie ACKs" "$(cookie_acks)" 2
	expect_eq "sk_lookup path: the listener found by sk_lookup (SYNs and ACKs)" \
		"$(lab_counter .counters.ebpf.new_redirected)" 4
	expect "sk_lookup path: clean exit" lab_steer_stop
fi

# An external proxy (socat) on proxy-port: the same, v4 and v6.
cat >"$LAB_DIR/responder.sh" <<'SH'
#!/bin/sh
read -r line
printf 'HTTP/1.0 200 OK\r\n\r\nexternal %s:%s\n' "$SOCAT_SOCKADDR" "$SOCAT_SOCKPORT"
SH
chmod +x "$LAB_DIR/responder.sh"
for v in "TCP4 " "TCP6 ,ipv6only=1"; do
	set -- $v
	ip netns exec "$LAB_G" socat "$1-LISTEN:15001,transparent,reuseaddr,fork${2:-}" EXEC:"$LAB_DIR/responder.sh" &
	LAB_PIDS+=($!)
done
setup "external responder" lab_wait_port "$LAB_G" 15001
setup "steer starts (external)" lab_steer_start "$(lab_conf 'steer tcp dport 80' 'proxy external')"
expect_eq "external, v4: answered by the external proxy through the cookie" \
	"$(inc curl -sS --max-time 5 http://$S4/ 2>&1)" "external $S4:80"
expect "external, v6: answered by the external proxy through the cookie" \
	grep -q "^external \[" <<<"$(inc curl -sS --max-time 5 -g "http://[$S6]/" 2>&1)"
expect_eq "external: 2 cookie ACKs" "$(cookie_acks)" 2
expect "clean exit" lab_steer_stop
finish
