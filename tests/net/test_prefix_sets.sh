#!/usr/bin/env bash
# Prefix set files at operator scale: a rule whose dst is a 100k-prefix set
# file (IPv4 and IPv6 mixed) steers a flow to an address in the set and
# forwards one outside it; editing the file and `steer reload` moves the
# steering live; a broken set file is refused with PATH:LINE:COL and the
# running rules stay. Proof of proxying is the proxy's accept counter and the
# audit record. Start and reload times are printed (make check's log keeps
# them); a generous bound catches a regression to something quadratic.
. "$(dirname "$0")/lib.sh"

N=100000
setup "lab" lab_up
setup "nginx" lab_nginx
set=$LAB_DIR/sets/big.txt
mkdir -p "$LAB_DIR/sets"
setup "set file of $N prefixes with $S4B" python3 "$(dirname "$0")/prefix_set_gen.py" $N "$set" "$S4B/32"
conf=$(lab_conf 'include conf.d/*.conf')
mkdir -p "$LAB_DIR/conf.d"
# The rule sits in an included file and names the set relative to that file.
echo 'steer tcp dport 80 dst @../sets/big.txt' >"$LAB_DIR/conf.d/rules.conf"
expect "steer check accepts the $N-prefix set" "$STEER" check -c "$conf"

t0=$(date +%s.%N)
LAB_START_WAIT=120 setup "steer starts with $N prefixes" lab_steer_start "$conf"
t1=$(date +%s.%N)
start_s=$(echo "$t1 - $t0" | bc)
echo "  start with $N prefixes [${STEER_TEST_BACKEND:-ebpf}]: ${start_s}s"

reload() { lab_reload; }
# proxied ADDR [N]: did a request to ADDR:80 go through the proxy: its accept counter moved, and the audit
# log comes to hold more than N open records for ADDR:80 (N: the count before, when earlier ones exist; the
# writer wakes 20 times a second when idle, so the record is waited for, 2 s at most).
proxied() {
	local i
	lab_proxied "http://$1/" || return 1
	for i in $(seq $(scaled 40)); do
		[ "$(audit_count ".event == \"open\" and .dst == \"$1:80\"")" -gt "${2:-0}" ] && return 0
		sleep 0.05
	done
	return 1
}
served() { http_get "$LAB_C" "http://$1/" | grep -q 'via='; }

expect "in the set: $S4B proxied" proxied "$S4B"
expect_not "outside the set: $S4 not proxied" proxied "$S4"
expect "outside the set: $S4 still served (forwarded)" served "$S4"

# Swap the two lab addresses in the set: same size, reloaded live.
sed -i "s|^$S4B/32\$|$S4/32|" "$set"
t0=$(date +%s.%N)
out=$(reload 2>&1)
rc=$?
t1=$(date +%s.%N)
reload_s=$(echo "$t1 - $t0" | bc)
echo "  reload with $N prefixes [${STEER_TEST_BACKEND:-ebpf}]: ${reload_s}s"
expect_eq "reload of the edited set accepted" "$rc:$out" "0:reloaded: 1 rules"
expect "reload under 60s" test "$(echo "$reload_s < 60" | bc)" = 1
n_s4b=$(audit_count ".event == \"open\" and .dst == \"$S4B:80\"")
expect "after reload: $S4 proxied" proxied "$S4"
expect_not "after reload: $S4B not proxied" proxied "$S4B" "$n_s4b"

# A broken set file: refused with its own PATH:LINE:COL, the running rules stay.
line=$(($(wc -l <"$set") / 2))
sed -i "${line}s|\$| junk|" "$set"
echo "10.1.2.3/8" >>"$set"
out=$(reload 2>&1)
expect_eq "broken set: reload exits 1" "$?" 1
# Errors name the set file as the rule's file reaches it.
named=$LAB_DIR/conf.d/../sets/big.txt
expect "broken set: error at the set file's line and column" grep -q "^$named:$line:[0-9]*: one prefix per line" <<<"$out"
expect "broken set: the bad prefix named with its fix" grep -q "^$named:$((N + 2)):1: bad prefix '10.1.2.3/8'.*10.0.0.0/8" <<<"$out"
expect "broken set: says the rules stay" grep -q "running rules stay" <<<"$out"
n_s4b=$(audit_count ".event == \"open\" and .dst == \"$S4B:80\"")
expect "broken set: $S4 still proxied" proxied "$S4"
expect_not "broken set: $S4B still not proxied" proxied "$S4B" "$n_s4b"

# A missing set file: refused at the @ of the rule's line.
echo 'steer tcp dport 81 dst @../sets/missing.txt' >>"$LAB_DIR/conf.d/rules.conf"
out=$(reload 2>&1)
expect "missing set: error at the included file's line" \
	grep -q "^$LAB_DIR/conf.d/rules.conf:2:[0-9]*: cannot read set file $LAB_DIR/conf.d/../sets/missing.txt" <<<"$out"
expect "clean exit" lab_steer_stop
finish
