#!/usr/bin/env bash
# steer reload: the config file is re-read and the rules swapped atomically
# while wrk opens connections and streams move data: zero failed requests,
# streams intact, the new rules in force. An invalid config, or one that
# changes more than rules, is refused with its errors and changes nothing.
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
ip netns exec "$LAB_S" socat TCP6-LISTEN:7000,ipv6only=0,reuseaddr,fork EXEC:cat &
LAB_PIDS+=($!)
setup "echo server" lab_wait_port "$LAB_S" 7000
conf=$(lab_conf 'steer tcp dport 80,7000')
cp "$conf" "$LAB_DIR/base.conf"
setup "steer starts" lab_steer_start "$conf"
reload() { lab_reload; }
# proxied PORT: did a request to the server on PORT go through the proxy?
proxied() { lab_proxied "http://$S4:$1/"; }

expect_not "before: port 8080 forwarded, not proxied" proxied 8080
ip netns exec "$LAB_C" python3 "$(dirname "$0")/streams.py" $S4 7000 4 8 "$LAB_DIR/ready" >"$LAB_DIR/streams.out" 2>&1 &
s=$!
for i in $(seq 50); do [ -e "$LAB_DIR/ready" ] && break; sleep 0.1; done
ip netns exec "$LAB_C" wrk -t1 -c4 -d6s -H 'Connection: close' "http://$S4/" >"$LAB_DIR/wrk.out" 2>&1 &
w=$!
ok=0
for i in $(seq 10); do
	if [ $((i % 2)) -eq 1 ]; then
		{ cat "$LAB_DIR/base.conf"; echo 'steer tcp dport 8080'; echo "bypass dst $S4B/32"; } >"$conf"
	else
		cp "$LAB_DIR/base.conf" "$conf"
	fi
	reload >/dev/null && ok=$((ok + 1))
	sleep 0.4
done
expect_eq "10 reloads accepted" "$ok" 10
wait $w
echo "  wrk: $(sed -n 's/^ *\([0-9]* requests in [^,]*\).*/\1/p' "$LAB_DIR/wrk.out")"
expect "wrk: no socket errors" bash -c "! grep -q 'Socket errors' $LAB_DIR/wrk.out"
expect "wrk: no non-2xx responses" bash -c "! grep -q 'Non-2xx' $LAB_DIR/wrk.out"
wait $s
rc=$?
expect_eq "streams intact through reloads ($(tr '\n' ' ' <"$LAB_DIR/streams.out"))" "$rc" 0

{ cat "$LAB_DIR/base.conf"; echo 'steer tcp dport 8080'; } >"$conf"
out=$(reload)
expect_eq "reload reports the new rule count" "$out" "reloaded: 2 rules"
expect "after reload: port 8080 proxied" proxied 8080
snap=$(ip netns exec "$LAB_G" nft -s list ruleset 2>&1)

printf 'steer tcp dport 99999\nfrobnicate\n' >>"$conf"
out=$(reload 2>&1)
expect_eq "invalid config: reload exits 1" "$?" 1
expect "invalid config: errors with FILE:LINE:COL" grep -q "$conf:[0-9]*:[0-9]*: " <<<"$out"
expect "invalid config: says the rules stay" grep -q "running rules stay" <<<"$out"
expect "invalid config: port 8080 still proxied" proxied 8080
expect_eq "invalid config: nft ruleset unchanged" "$(ip netns exec "$LAB_G" nft -s list ruleset 2>&1)" "$snap"

{ sed 's/^proxy-port .*/proxy-port 15002/' "$LAB_DIR/base.conf"; } >"$conf"
out=$(reload 2>&1)
expect_eq "proxy-port changed: reload exits 1" "$?" 1
expect "proxy-port changed: says why" grep -q "proxy-port: changed" <<<"$out"
expect "proxy-port changed: port 8080 still proxied" proxied 8080
expect "clean exit" lab_steer_stop
finish
