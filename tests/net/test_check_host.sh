#!/usr/bin/env bash
# `steer check --host`: the whole preflight against the gateway, installing
# nothing (nft, ip rules, routes, tc and BPF links as before). It passes on
# the lab's config and tries the backend's kernel features; it reports a
# missing interface, a missing capability and a non-Ethernet interface for
# the classifier in one line each, exit 1; plain `steer check` stays offline.
# Backend: STEER_TEST_BACKEND (run.sh runs each).
. "$(dirname "$0")/lib.sh"

BACKEND=${STEER_TEST_BACKEND:-ebpf}
CAPS=+net_admin,+net_bind_service,+bpf,+perfmon
# check_as CAPS CONF: steer check --host as nobody with CAPS in the gateway.
check_as() {
	ip netns exec "$LAB_G" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps="$1" \
		--ambient-caps="$1" "$STEER" check --host -c "$2"
}

setup "lab" lab_up
chmod 755 "$LAB_DIR"
conf=$(lab_conf 'steer tcp dport 80' 'steer udp dport 53')
chmod 644 "$conf"
before=$(lab_snapshot)

out=$(ing "$STEER" check --host -c "$conf" 2>"$LAB_DIR/err")
expect_eq "lab config: exit 0 ($(cat "$LAB_DIR/err"))" "$?" 0
expect_eq "lab config: no problem reported" "$(cat "$LAB_DIR/err")" ""
expect "lab config: host ok" grep -qx "host: ok; nothing installed" <<<"$out"
expect "lab config: the classifier was loaded and probed" \
	grep -q "^host: eBPF classifier loads; TCX links: yes; bpf_sk_assign takes a SO_REUSEPORT listener: yes" <<<"$out"
if [ "$BACKEND" = nft ]; then
	expect "lab config: the nftables table was tried" grep -qx "host: nftables: table inet steer with tproxy rules accepted" <<<"$out"
else
	expect_not "lab config: no nftables for backend ebpf" grep -q "nftables" <<<"$out"
fi
expect_eq "lab config: nothing installed" "$(lab_snapshot)" "$before"

# a missing interface: one line, exit 1; plain check (offline) does not look
sed 's/^interface gw-cli$/interface nosuch0/' "$conf" >"$LAB_DIR/missing.conf"
err=$(ing "$STEER" check --host -c "$LAB_DIR/missing.conf" 2>&1 >/dev/null)
expect_eq "missing interface: exit 1" "$?" 1
expect_eq "missing interface: one line naming it, then the verdict" "$err" \
	"steer: error: interface nosuch0 does not exist
steer: host: 1 problem(s): steer run would refuse to start; nothing installed"
out=$(ing "$STEER" check -c "$LAB_DIR/missing.conf" 2>&1)
expect_eq "missing interface, plain check (offline): exit 0" "$?:$out" "0:$LAB_DIR/missing.conf: ok: 2 rules, 1 interfaces, backend $BACKEND"
# with interface-wait yes a missing interface is waited for: one line says so, no problem counted
{ cat "$LAB_DIR/missing.conf"; echo "interface-wait yes"; } >"$LAB_DIR/wait.conf"
err=$(ing "$STEER" check --host -c "$LAB_DIR/wait.conf" 2>&1 >/dev/null)
expect_eq "missing interface, interface-wait yes: exit 0" "$?" 0
expect_eq "missing interface, interface-wait yes: one line, it waits" "$err" \
	"steer: warning: interface nosuch0 does not exist yet: steer attaches it when it appears (interface-wait yes)"

# as nobody with steer's capabilities: passes; the classifier cannot be tried without CAP_SYS_ADMIN
mkdir -m 755 "$LAB_DIR/run" && chown 65534:65534 "$LAB_DIR/run"
sed -i "s#^audit-log .*#audit-log $LAB_DIR/run/audit.jsonl#; s#^control-socket .*#control-socket $LAB_DIR/run/steer.sock#" "$conf"
out=$(check_as "$CAPS" "$conf" 2>"$LAB_DIR/err")
expect_eq "nobody with the capabilities: exit 0 ($(cat "$LAB_DIR/err"))" "$?" 0
expect "nobody with the capabilities: the classifier is not tried, and says why" \
	grep -q "^host: eBPF classifier: not tried (.*needs CAP_SYS_ADMIN)" <<<"$out"
if [ "$BACKEND" = nft ]; then
	expect "nobody with the capabilities: nftables tried in a user namespace" grep -q "^host: nftables: .* accepted" <<<"$out"
fi
# ... without CAP_BPF: one line naming it (an error for ebpf; nft runs without the classifier)
err=$(check_as +net_admin,+net_bind_service,+perfmon "$conf" 2>&1 >/dev/null)
rc=$?
if [ "$BACKEND" = ebpf ]; then
	expect_eq "without CAP_BPF: exit 1" "$rc" 1
	expect_eq "without CAP_BPF: one line naming it" "$(grep -c '^steer: error: missing capability CAP_BPF: ' <<<"$err"):$(grep -c '^steer: error' <<<"$err")" "1:1"
else
	expect_eq "without CAP_BPF: exit 0 (nft steers)" "$rc" 0
	expect_eq "without CAP_BPF: one warning naming it" "$(grep -c '^steer: warning: missing capability CAP_BPF ' <<<"$err")" 1
fi
# ... a directory the user cannot write: the audit log would fail
sed "s#^audit-log .*#audit-log $LAB_DIR/audit.jsonl#" "$conf" >"$LAB_DIR/audit.conf"
chmod 644 "$LAB_DIR/audit.conf"
err=$(check_as "$CAPS" "$LAB_DIR/audit.conf" 2>&1 >/dev/null)
expect_eq "audit log in root's directory: exit 1" "$?" 1
expect "audit log in root's directory: one line" grep -q "^steer: error: audit-log $LAB_DIR/audit.jsonl: cannot create it as uid 65534" <<<"$err"

# an L3 interface (tun): the classifier parses Ethernet
ing ip tuntap add dev steer-tun0 mode tun
sed 's/^interface gw-cli$/interface steer-tun0/' "$conf" >"$LAB_DIR/tun.conf"
err=$(ing "$STEER" check --host -c "$LAB_DIR/tun.conf" 2>&1 >/dev/null)
rc=$?
if [ "$BACKEND" = ebpf ]; then
	expect_eq "tun with backend ebpf: exit 1" "$rc" 1
	expect "tun with backend ebpf: one line" grep -q "^steer: error: interface steer-tun0 is not Ethernet" <<<"$err"
else
	expect_eq "tun with backend nft: exit 0" "$rc" 0
	expect "tun with backend nft: a warning" grep -q "^steer: warning: interface steer-tun0 is not Ethernet" <<<"$err"
fi
ing ip link del steer-tun0
expect_eq "after every check: nothing installed" "$(lab_snapshot)" "$before"
finish
