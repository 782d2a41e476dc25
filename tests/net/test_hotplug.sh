#!/usr/bin/env bash
# Interfaces that come and go while steer runs. The client-facing veth and the
# return veth are deleted and made again under their names (a new ifindex, on
# which the old TC program or TCX link is gone); a macvlan stacked on the
# client veth dies with it and is made again (the stacked interface of this
# test: the lab's kernel may lack 8021q for a VLAN, and a macvlan goes with its
# parent the same way); `interface-wait yes` starts before an interface exists.
# After each re-creation new flows are proxied again, proved by the proxy's
# accept counter and the flow's audit open record; the log, `steer status` and
# /metrics say what happened; a flow that went by while steer had not yet
# attached to the new interface is not claimed.
. "$(dirname "$0")/lib.sh"

MV4=198.18.10.1 CMV4=198.18.10.2

# eventually CMD...: until it succeeds (5 s).
eventually() {
	local i
	for i in $(seq 100); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# get URL [CURL-ARGS...]: from the client, the body and " via=IP:PORT" (the client's end).
get() {
	local url=$1
	shift
	inc curl -sS --max-time 5 -g "$@" -w ' via=%{local_ip}:%{local_port}' "$url" 2>&1
}

# claimed VIA: how many open records name the client's end VIA (IP:PORT).
claimed() { audit_count ".event==\"open\" and .client==\"$1\""; }
claimed_once() { [ "$(claimed "$1")" = 1 ]; }

# proxied URL [CURL-ARGS...]: answered, accepted by the proxy, and its open record in the audit log.
proxied() {
	local before out via
	before=$(lab_counter .proxy.accepted)
	out=$(get "$@")
	via=$(field via "$out")
	# the audit log writes an IPv6 end as [IP]:PORT
	[[ ${via%:*} == *:* ]] && via="[${via%:*}]:${via##*:}"
	[ -n "$(field client "$out")" ] && [ "$(lab_counter .proxy.accepted)" -gt "$before" ] && eventually claimed_once "$via"
}

# link NAME KEY: a field of the interface's entry in `steer status --json`.
link() { lab_counter ".links[] | select(.name==\"$1\") | .$2"; }
ifindex() { ing cat "/sys/class/net/$1/ifindex"; }
logged() { grep -q "$1" "$LAB_DIR/steer.log"; }
metric() { ing curl -s --max-time 3 http://127.0.0.1:9464/metrics | grep -qxF "$1"; }

setup "lab" lab_up
setup "nginx" lab_nginx
setup "steer starts" lab_steer_start "$(lab_conf 'steer tcp dport 80' 'metrics-listen 127.0.0.1:9464')"
BACKEND=${STEER_TEST_BACKEND:-ebpf}

cli=$(ifindex gw-cli)
expect_eq "status: gw-cli attached at its ifindex, once, never lost" \
	"$(link gw-cli role):$(link gw-cli state):$(link gw-cli ifindex):$(link gw-cli attaches):$(link gw-cli losses)" \
	"client:attached:$cli:1:0"
expect_eq "status: gw-srv attached as the return interface" "$(link gw-srv role):$(link gw-srv state)" "return:attached"
expect "status: how it is attached and since when" bash -c "[[ '$(link gw-cli attach)' =~ ^(tcx|clsact)$ ]] && [[ '$(link gw-cli since)' =~ ^20[0-9-]{8}T[0-9:]{8}Z$ ]]"
if lab_is_nft; then
	expect_eq "status: nft matches gw-cli by name: present" "$(link gw-cli nft)" present
else
	expect_eq "status: no nft entry under ebpf" "$(link gw-cli nft)" null
fi
expect "before: a new flow is proxied" proxied "http://$S4/"

# --- the client-facing veth deleted, then made again
ing ip link del gw-cli
expect "log: gw-cli is gone" eventually logged "^steer: warning: interface gw-cli (ifindex $cli) is gone: not steered until it reappears$"
expect_eq "status: gw-cli waiting, one loss" "$(link gw-cli state):$(link gw-cli ifindex):$(link gw-cli losses)" "waiting:0:1"
expect_eq "status: waiting is not attached" "$(link gw-cli attach)" null
setup "client veth made again" lab_link client
cli2=$(ifindex gw-cli)
expect "a new ifindex" [ "$cli2" != "$cli" ]
expect "log: gw-cli attached again" \
	eventually logged "^steer: interface gw-cli (ifindex $cli2): classifier attached (\(tcx\|clsact\)), attach 2$"
expect_eq "status: attached at the new ifindex, 2 attaches, 1 loss" \
	"$(link gw-cli state):$(link gw-cli ifindex):$(link gw-cli attaches):$(link gw-cli losses)" "attached:$cli2:2:1"
expect "after re-creation: a new flow is proxied" proxied "http://$S4/"
expect "after re-creation: a new IPv6 flow is proxied" proxied "http://[$S6]/"
# The gateway's own address came back with the interface: still local, never steered.
acc=$(lab_counter .proxy.accepted)
loc=$(lab_kc local_dst local_dst)
get "http://$G4C/" >/dev/null
expect_eq "gateway's address on the new gw-cli: not proxied" "$(lab_counter .proxy.accepted)" "$acc"
expect_ge "gateway's address on the new gw-cli: counted local" "$(lab_kc local_dst local_dst)" $((loc + 1))
expect "text status: gw-cli's line" bash -c "ip netns exec $LAB_G $STEER status --control-socket $LAB_DIR/steer.sock |
	grep -qE '^interface:   gw-cli \(client\) attached \((tcx|clsact)\), ifindex $cli2, since [0-9TZ:-]+ \([0-9]+s\), attaches 2, losses 1'"
expect "metrics: gw-cli lost once" metric "steer_interface_losses_total{interface=\"gw-cli\",role=\"client\"} 1"
expect "metrics: gw-cli attached twice" metric "steer_interface_attaches_total{interface=\"gw-cli\",role=\"client\"} 2"
expect "metrics: gw-cli's ifindex" metric "steer_interface_ifindex{interface=\"gw-cli\",role=\"client\"} $cli2"
expect "metrics: gw-cli attached" bash -c "ip netns exec $LAB_G curl -s http://127.0.0.1:9464/metrics |
	grep -qE '^steer_interface_attached\{interface=\"gw-cli\",role=\"client\",attach=\"(tcx|clsact)\"\} 1$'"

# --- re-created while steer cannot look (stopped): a flow in that window
# reaches the new interface before the classifier does. eBPF forwards it
# untouched, and nothing claims it was proxied; nft matches by name and
# proxies it once the proxy runs again.
acc=$(lab_counter .proxy.accepted)
kill -STOP "$LAB_STEER_PID"
ing ip link del gw-cli
lab_link client
get "http://$S4/" >"$LAB_DIR/window.out" &
window=$!
sleep 1
kill -CONT "$LAB_STEER_PID"
wait $window
out=$(cat "$LAB_DIR/window.out")
via=$(field via "$out")
cli3=$(ifindex gw-cli)
expect "after the window: attached again" eventually logged "^steer: interface gw-cli (ifindex $cli3): classifier attached (\(tcx\|clsact\)), attach 3$"
expect "the flow in the window was answered" [ -n "$(field client "$out")" ]
if lab_is_nft; then
	expect "nft: the flow in the window was proxied (matched by name)" eventually claimed_once "$via"
else
	sleep 0.3 # the audit writer's poll
	expect_eq "ebpf: the flow in the window went to the server untouched" "$(field client "$out"):$(field port "$out")" "$via"
	expect_eq "ebpf: the flow in the window is not claimed (no open record)" "$(claimed "$via")" 0
	expect_eq "ebpf: the flow in the window was not accepted" "$(lab_counter .proxy.accepted)" "$acc"
fi
expect "after the window: a new flow is proxied" proxied "http://$S4/"

# --- the return interface deleted, then made again: with upstream-source
# client the server's replies must meet the return program on the new gw-srv.
srv=$(ifindex gw-srv)
ing ip link del gw-srv
expect "log: return-interface gw-srv is gone" \
	eventually logged "^steer: warning: return-interface gw-srv (ifindex $srv) is gone: not steered until it reappears$"
setup "server veth made again" lab_link server
srv2=$(ifindex gw-srv)
expect "log: gw-srv attached again" \
	eventually logged "^steer: return-interface gw-srv (ifindex $srv2): classifier attached (\(tcx\|clsact\)), attach 2$"
expect_eq "status: gw-srv attached at the new ifindex" "$(link gw-srv state):$(link gw-srv ifindex):$(link gw-srv losses)" "attached:$srv2:1"
expect "after the return veth's re-creation: a new flow is proxied" proxied "http://$S4/"
expect "clean exit" lab_steer_stop

# --- interface-wait yes: a stacked interface (macvlan on gw-cli) that does not exist at start
conf=$(lab_conf 'steer tcp dport 80' 'interface-wait yes')
sed -i 's/^interface gw-cli$/interface gw-mac/' "$conf"
: >"$LAB_DIR/steer.log"
setup "steer starts without gw-mac" lab_steer_start "$conf"
expect "preflight: one line, it waits" logged "^steer: warning: interface gw-mac does not exist yet: steer attaches it when it appears (interface-wait yes)$"
expect "running line: gw-mac(waiting)" logged "^steer: running: .* interfaces gw-mac(waiting) gw-srv(return)$"
expect_eq "status: gw-mac waiting" "$(link gw-mac state):$(link gw-mac ifindex):$(link gw-mac attaches)" "waiting:0:0"
out=$(get "http://$S4/")
via=$(field via "$out")
expect_eq "untagged path (gw-cli, not configured now): forwarded untouched" "$(field client "$out"):$(field port "$out")" "$via"
sleep 0.3
expect_eq "forwarded flow not claimed" "$(claimed "$via"):$(lab_counter .proxy.accepted)" "0:0"
# The macvlan answers ARP for its own address (arp_ignore on the parent), so the
# client's second address reaches the server through it.
macvlan_up() {
	ing sysctl -qw net.ipv4.conf.gw-cli.arp_ignore=1 &&
		ing ip link add link gw-cli name gw-mac type macvlan mode bridge &&
		ing ip addr add $MV4/24 dev gw-mac && ing ip link set gw-mac up &&
		inc ip addr add $CMV4/24 dev eth0 && inc ip route replace default via $MV4 table 10
}
inc ip rule add from $CMV4 lookup 10
setup "macvlan made" macvlan_up
mac=$(ifindex gw-mac)
expect "log: gw-mac attached when it appeared" \
	eventually logged "^steer: interface gw-mac (ifindex $mac): classifier attached (\(tcx\|clsact\)), attach 1$"
expect_eq "status: gw-mac attached, never lost" "$(link gw-mac state):$(link gw-mac ifindex):$(link gw-mac losses)" "attached:$mac:0"
expect "through gw-mac: a new flow is proxied" proxied "http://$S4/" --interface $CMV4
# the parent goes, and the macvlan with it
ing ip link del gw-cli
expect "log: gw-mac is gone with its parent" eventually logged "^steer: warning: interface gw-mac (ifindex $mac) is gone"
setup "client veth made again" lab_link client
setup "macvlan made again" macvlan_up
mac2=$(ifindex gw-mac)
expect "log: gw-mac attached again" \
	eventually logged "^steer: interface gw-mac (ifindex $mac2): classifier attached (\(tcx\|clsact\)), attach 2$"
expect "through the new gw-mac: a new flow is proxied" proxied "http://$S4/" --interface $CMV4
expect_eq "status: gw-mac 2 attaches, 1 loss" "$(link gw-mac attaches):$(link gw-mac losses)" "2:1"
expect "clean exit" lab_steer_stop
finish
