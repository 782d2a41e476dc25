#!/usr/bin/env bash
# Installing and removing: a bad config or a failed preflight installs
# nothing; a clean exit and `steer cleanup` after a crash leave nft, ip rules,
# route tables, qdiscs and filters exactly as before; a second daemon is
# refused without disturbing the first.
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
before=$(lab_snapshot)

bad=$LAB_DIR/bad.conf
printf 'interface gw-cli\nproxy-port 70000\nsteer tcp dport 80\nfrobnicate yes\n' >"$bad"
err=$(ing "$STEER" run -c "$bad" 2>&1)
expect_eq "bad config: run exits 1" "$?" 1
expect "bad config: error at FILE:2:COL" grep -q "^$bad:2:[0-9]*: " <<<"$err"
expect "bad config: error at FILE:4:1" grep -q "^$bad:4:1: " <<<"$err"
expect_eq "bad config: nothing installed" "$(lab_snapshot)" "$before"
err=$(ing "$STEER" check -c "$bad" 2>&1)
expect_eq "bad config: check exits 1" "$?" 1
expect "bad config: check reports both errors" test "$(grep -c "^$bad:" <<<"$err")" -ge 2
expect "good config: check exits 0" ing "$STEER" check -c "$(lab_conf 'steer tcp dport 80')"

err=$(ing "$STEER" run -c "$(lab_conf 'steer tcp dport 80')" --interface nosuch0 2>&1)
expect_eq "missing interface: exit 1" "$?" 1
expect "missing interface: said in one line" grep -q "interface nosuch0 does not exist" <<<"$err"
expect_eq "missing interface: nothing installed" "$(lab_snapshot)" "$before"

# SIGTERM at any moment while steer installs: it stops cleanly, nothing stays.
conf=$(lab_conf 'steer tcp dport 80')
for delay in 0 0.01 0.03 0.06 0.1 0.15 0.25; do
	ip netns exec "$LAB_G" "$STEER" run -c "$conf" >>"$LAB_DIR/steer.log" 2>&1 &
	pid=$!
	sleep $delay
	kill -TERM $pid
	wait $pid
done
expect_eq "SIGTERM during start-up (7 timings): nothing left installed" "$(lab_snapshot)" "$before"

setup "steer starts" lab_steer_start "$conf"
err=$(ing "$STEER" run -c "$conf" 2>&1)
expect_eq "second daemon refused" "$?" 1
expect "second daemon: says why" grep -q "another steer daemon is running" <<<"$err"
out=$(http_get "$LAB_C" "http://$S4/")
expect_eq "first daemon unaffected" "$(field server "$out")" "$S4:80"
expect "steer cleanup refuses while the daemon runs" bash -c "! ip netns exec $LAB_G $STEER cleanup --control-socket $LAB_DIR/steer.sock 2>/dev/null"

lab_steer_stop KILL
expect "after SIGKILL: policy routing is left behind" bash -c "ip netns exec $LAB_G ip rule show | grep -q 'fwmark 0x1000000/0x1000000 lookup 100'"
expect "steer cleanup succeeds" ing "$STEER" cleanup --control-socket "$LAB_DIR/steer.sock"
expect_eq "after cleanup: gateway state as before" "$(lab_snapshot)" "$before"
expect "cleanup removed the stale control socket" test ! -e "$LAB_DIR/steer.sock"
expect "cleanup again: nothing to do, still succeeds" ing "$STEER" cleanup --control-socket "$LAB_DIR/steer.sock"
out=$(http_get "$LAB_C" "http://$S4/")
via=$(field via "$out")
expect_eq "after cleanup: traffic forwarded untouched" "$(field port "$out")" "${via##*:}"

# clsact filters (kernels without TCX, forced here) outlive a crash: cleanup
# removes them and the clsact qdiscs steer made, but not a qdisc another
# tool's filter still uses.
if [ "${STEER_TEST_BACKEND:-ebpf}" = ebpf ]; then
	STEER_BPF_NO_TCX=1 lab_steer_start "$conf" || echo "steer (clsact) did not start"
	expect "clsact: the crashing daemon used a clsact qdisc" bash -c "ip netns exec $LAB_G tc qdisc show dev gw-cli | grep -q clsact"
	lab_steer_stop KILL
	expect "clsact: cleanup after SIGKILL succeeds" ing "$STEER" cleanup --control-socket "$LAB_DIR/steer.sock"
	expect_eq "clsact: after cleanup, filters and qdiscs as before" "$(lab_snapshot)" "$before"

	ing tc qdisc add dev gw-srv clsact
	ing tc filter add dev gw-srv egress prio 7 bpf bytecode '1,6 0 0 4294967295,'
	theirs=$(lab_snapshot)
	STEER_BPF_NO_TCX=1 lab_steer_start "$conf" || echo "steer (clsact) did not start"
	lab_steer_stop KILL
	expect "clsact: cleanup after SIGKILL, another tool's filter present" ing "$STEER" cleanup --control-socket "$LAB_DIR/steer.sock"
	expect_eq "clsact: the other tool's qdisc and filter kept, steer's removed" "$(lab_snapshot)" "$theirs"
	ing tc qdisc del dev gw-srv clsact
fi
finish
