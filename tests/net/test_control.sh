#!/usr/bin/env bash
# backends: ebpf
# The control socket: mode 0600, other users refused; garbage, oversized,
# truncated and stalled requests get an error or are dropped, and the
# daemon keeps steering and answering throughout.
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
setup "steer starts" lab_steer_start "$(lab_conf 'steer tcp dport 80')"
sock=$LAB_DIR/steer.sock

expect_eq "socket mode is 0600, owned by root" "$(stat -c '%a %U' "$sock")" "600 root"
chmod 755 "$LAB_DIR"
out=$(ip netns exec "$LAB_G" setpriv --reuid=65534 --regid=65534 --clear-groups "$STEER" status --control-socket "$sock" 2>&1)
expect_eq "another user: refused" "$?" 1
expect "another user: says why" grep -q "Permission denied" <<<"$out"

# ask REQUEST-BYTES: raw request over the socket, the reply on stdout.
ask() { printf '%b' "$1" | ip netns exec "$LAB_G" socat -t 3 - UNIX-CONNECT:"$sock" 2>/dev/null; }
expect "garbage request: error reply" grep -q '^error: unknown request' <<<"$(ask 'frobnicate\n')"
expect "binary request: error reply" grep -q '^error: ' <<<"$(ask '\x00\x01\xff\xfe\n')"
long=$(head -c 10000 /dev/zero | tr '\0' 'a')
expect "oversized request: error reply" grep -q '^error: request longer' <<<"$(ask "$long")"
expect "request cut short (no newline): still answered" grep -q '"backend"' <<<"$(ask 'status json')"
expect "empty request: error reply" grep -q '^error: ' <<<"$(ask '\n')"
# Clients that connect and say nothing must not stall the daemon.
for i in $(seq 20); do
	ip netns exec "$LAB_G" socat -u OPEN:/dev/zero,readbytes=0 UNIX-CONNECT:"$sock" 2>/dev/null &
	ip netns exec "$LAB_G" sleep 5 | ip netns exec "$LAB_G" socat - UNIX-CONNECT:"$sock" >/dev/null 2>&1 &
done
expect "status answers while 20 clients stall" bash -c "ip netns exec $LAB_G timeout 2 $STEER status --control-socket $sock >/dev/null"
out=$(http_get "$LAB_C" "http://$S4/")
expect_eq "steering unaffected" "$(field server "$out")" "$S4:80"
expect "backend query answers" bash -c "ip netns exec $LAB_G $STEER backend --control-socket $sock | grep -qx ebpf"
out=$(ip netns exec "$LAB_G" "$STEER" backend bogus --control-socket "$sock" 2>&1)
expect_eq "backend bogus: exit 1" "$?" 1
expect "backend bogus: says why" grep -q "expected ebpf, nft or split" <<<"$out"
expect "clean exit" lab_steer_stop
finish
