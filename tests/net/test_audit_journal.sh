#!/usr/bin/env bash
# backends: ebpf
# The journald sink and the syslog facility, read back with journalctl.
# TCP and UDP flows (IPv4 and IPv6) through `audit-log journald`: one entry
# per record, MESSAGE the record's JSON line (the members, in the order, of
# the file sink's lines), the STEER_* fields exactly its members, the flows'
# clients, destinations and flow ids, as many open and close entries as the
# proxy accepted, the facility set by audit-syslog-facility. `audit-log
# syslog` reaches syslog with its facility in the datagram's <PRI>. `check
# --host` refuses journald when its socket is missing.
#
# The journal is the test's own, so none needs to run on the machine and the
# host's is never touched: the script re-runs itself in a private mount
# namespace, hides /run/systemd, /run/log and /var/log/journal under tmpfs
# there, and starts systemd-journald standalone (it dies with the lab).
# syslog() writes to /dev/log: systemd's layout links it to journald's
# dev-log socket, which in this namespace is the test's journald.
if [ -z "${STEER_JOURNAL_NS:-}" ]; then
	STEER_JOURNAL_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

JOURNALD=/lib/systemd/systemd-journald
DEV_LOG_TARGET=/run/systemd/journal/dev-log
MESSAGE_ID=cd6e045898b940029da1300883e58518 # AUDIT_JOURNAL_MESSAGE_ID (steer/audit_journal.h)
DEV_LOG_MADE=

journal_mounts() {
	local d
	for d in /run/systemd /run/log /var/log/journal; do
		# /var/log/journal only where it exists: without it journald keeps to /run/log.
		[ -d "$d" ] || [ "$d" = /var/log/journal ] || mkdir -p "$d" || return 1
		[ -d "$d" ] || continue
		mount -t tmpfs tmpfs "$d" || return 1
	done
	mkdir -p /run/systemd/journal
}

# The host's /dev/log (a journald link, another daemon's socket, or none) becomes ours.
dev_log_up() {
	if [ "$(readlink /dev/log)" = "$DEV_LOG_TARGET" ]; then
		return 0
	elif [ -S /dev/log ]; then
		mount --bind "$DEV_LOG_TARGET" /dev/log
	elif [ ! -e /dev/log ] && [ ! -L /dev/log ]; then
		# The link systemd makes; outside this namespace it leads nowhere, as /dev/log did.
		ln -s "$DEV_LOG_TARGET" /dev/log && DEV_LOG_MADE=1
	else
		echo "journal: /dev/log is neither a socket nor missing: $(ls -l /dev/log)" >&2
		return 1
	fi
}

journal_up() {
	local i
	[ -x "$JOURNALD" ] || { echo "journal: $JOURNALD missing (make deps installs systemd)" >&2; return 1; }
	"$JOURNALD" >>"$LAB_DIR/journald.log" 2>&1 &
	LAB_PIDS+=($!)
	for i in $(seq 100); do
		[ -S /run/systemd/journal/socket ] && [ -S "$DEV_LOG_TARGET" ] && return 0
		sleep 0.05
	done
	echo "journal: journald did not start:" >&2
	cat "$LAB_DIR/journald.log" >&2
	return 1
}

cleanup() {
	lab_down
	[ -z "$DEV_LOG_MADE" ] || rm -f /dev/log
}

# journal PID [MATCHES...]: the entries steer run PID wrote, as JSON lines.
journal() {
	local pid=$1
	shift
	journalctl --sync 2>/dev/null
	journalctl -o json --no-pager _PID="$pid" "$@"
}

# traffic N_TCP N_UDP: N_TCP connections and N_UDP sessions each over IPv4 and IPv6.
traffic() {
	inc python3 "$(dirname "$0")/churn.py" $S4 80 "$1" >/dev/null
	inc python3 "$(dirname "$0")/churn.py" $S6 80 "$1" >/dev/null
	inc python3 "$(dirname "$0")/udp_client.py" $S4 7 --sessions "$2" --peer port >/dev/null
	inc python3 "$(dirname "$0")/udp_client.py" $S6 7 --sessions "$2" --peer port >/dev/null
	sleep 2.5 # UDP sessions end after 1 s idle
}

# due: the open and close records the proxy's counters call for (an open per
# connected upstream and per UDP session, a close per accepted connection and per session).
due() {
	lab_counter '.proxy.upstream_connected + .proxy.accepted + 2 * .proxy.udp_sessions_total'
}

setup "lab" lab_up
trap cleanup EXIT
setup "nginx" lab_nginx
ip netns exec "$LAB_S" python3 "$(dirname "$0")/udp_echo.py" 7 $S4 $S6 &
LAB_PIDS+=($!)
conf=$(lab_conf 'steer tcp dport 80' 'steer udp dport 7' 'udp-idle-timeout 1')
setup "private /run/systemd, /run/log, /var/log/journal" journal_mounts
# `check` takes no flags: the variants as files.
sed 's|^audit-log .*|audit-log journald|' "$conf" >"$LAB_DIR/journald.conf"
{ cat "$conf"; echo "audit-syslog-facility local3"; } >"$LAB_DIR/facility.conf"

err=$(ing "$STEER" check --host -c "$LAB_DIR/journald.conf" 2>&1 >/dev/null)
expect_eq "check --host without journald: exit 1" "$?" 1
expect "check --host without journald: says why" grep -qx \
	"steer: error: audit-log journald: /run/systemd/journal/socket: No such file or directory (is systemd-journald running?)" \
	<<<"$err"

setup "journald starts" journal_up
setup "/dev/log is the journal's" dev_log_up
err=$(ing "$STEER" check --host -c "$LAB_DIR/journald.conf" 2>&1 >/dev/null)
expect_eq "check --host with journald: exit 0 ($err)" "$?" 0
err=$(ing "$STEER" check --host -c "$LAB_DIR/facility.conf" 2>&1 >/dev/null)
expect "check --host: a facility with a file audit-log is a warning" grep -qx \
	"steer: warning: audit-syslog-facility local3 has no effect: audit-log is $LAB_DIR/audit.jsonl, not syslog or journald" \
	<<<"$err"

# The file sink first: the line format MESSAGE must have.
setup "steer starts (file)" lab_steer_start "$conf"
traffic 5 2
expect "file: clean exit" lab_steer_stop
shape() { jq -c '[.event, .proto, keys_unsorted]' | sort -u; }
file_shape=$(shape <"$LAB_DIR/audit.jsonl")

# journald, facility local5 (21)
setup "steer starts (journald)" lab_steer_start "$conf" --audit-log journald --audit-syslog-facility local5
pid=$LAB_STEER_PID
traffic 60 20
want=$(due)
expect_eq "journald: nothing lost" "$(lab_counter .audit.lost)" 0
expect "journald: clean exit" lab_steer_stop
j=$LAB_DIR/journal.json
journal "$pid" MESSAGE_ID=$MESSAGE_ID >"$j"
res=$(python3 "$(dirname "$0")/journal_check.py" "$j" 21)
echo "  journald: $res"
expect_eq "journald: every entry's STEER_* fields are its MESSAGE's members, identifier steer, priority 6, facility local5" \
	"$(field bad "$res")" 0
jc() { jq -c "select($1)" "$j" | wc -l; }
expect_eq "journald: open and close entries = what the proxy accepted ($want)" \
	"$(jc '.STEER_EVENT == "open" or .STEER_EVENT == "close"')" "$want"
expect_eq "journald: 120 TCP opens" "$(jc '.STEER_EVENT == "open" and .STEER_PROTO == "tcp"')" 120
expect_eq "journald: 120 TCP closes" "$(jc '.STEER_EVENT == "close" and .STEER_PROTO == "tcp"')" 120
expect_eq "journald: 40 UDP opens" "$(jc '.STEER_EVENT == "open" and .STEER_PROTO == "udp"')" 40
expect_eq "journald: 40 UDP closes (idle timeout)" \
	"$(jc '.STEER_EVENT == "close" and .STEER_PROTO == "udp" and .STEER_REASON == "idle_timeout"')" 40
expect_eq "journald: clients, destinations and backend are the flows'" \
	"$(jc "(.STEER_EVENT == \"open\" or .STEER_EVENT == \"close\") and .STEER_BACKEND == \"ebpf\" and
	       ((.STEER_CLIENT | startswith(\"$C4:\")) or (.STEER_CLIENT | startswith(\"[$C6]:\"))) and
	       (.STEER_DST | IN(\"$S4:80\", \"[$S6]:80\", \"$S4:7\", \"[$S6]:7\"))")" 320
expect_eq "journald: the upstream source is the client on every open" \
	"$(jc '.STEER_EVENT == "open" and .STEER_UPSTREAM_SRC == .STEER_CLIENT and (.STEER_STEER_US | tonumber) >= 0')" 160
expect_eq "journald: flow ids unique" \
	"$(jq -r 'select(.STEER_EVENT == "open") | .STEER_FLOW' "$j" | sort -u | wc -l)" 160
expect_eq "journald: every close has its open (flow id, client, dst)" \
	"$(jq -s '[.[] | select(.STEER_EVENT == "open") | [.STEER_FLOW, .STEER_CLIENT, .STEER_DST]] as $o |
		  [.[] | select(.STEER_EVENT == "close") | select([.STEER_FLOW, .STEER_CLIENT, .STEER_DST] | IN($o[]))] | length' "$j")" 160
expect_eq "journald: STEER_COMMUNITY_ID exactly on the records that carry community_id" \
	"$(jc 'has("STEER_COMMUNITY_ID")')" "$(jq -r .MESSAGE "$j" | jq -c 'select(has("community_id"))' | wc -l)"
expect_eq "journald: MESSAGE has the file sink's members, in order, for each kind of record" \
	"$(jq -r .MESSAGE "$j" | shape)" "$file_shape"
expect_eq "journald: journalctl --facility=local5 finds them all" \
	"$(journal "$pid" MESSAGE_ID=$MESSAGE_ID --facility=local5 | wc -l)" "$(wc -l <"$j")"

# syslog, facility local3 (19): journald parses the facility out of the datagram's <PRI>.
setup "steer starts (syslog local3)" lab_steer_start "$conf" --audit-log syslog --audit-syslog-facility local3
pid=$LAB_STEER_PID
traffic 10 5
want=$(due)
expect "syslog: clean exit" lab_steer_stop
s=$LAB_DIR/syslog.json
journal "$pid" _TRANSPORT=syslog >"$s"
expect_eq "syslog: open and close records = what the proxy accepted ($want)" \
	"$(jq -r .MESSAGE "$s" | jq -c 'select(.event == "open" or .event == "close")' | wc -l)" "$want"
expect_eq "syslog: every record has facility local3 (PRI 19*8+6), identifier steer" \
	"$(jq -c 'select(.SYSLOG_FACILITY == "19" and .PRIORITY == "6" and .SYSLOG_IDENTIFIER == "steer")' "$s" | wc -l)" \
	"$(wc -l <"$s")"

# syslog, the default facility: daemon (3)
setup "steer starts (syslog default)" lab_steer_start "$conf" --audit-log syslog
pid=$LAB_STEER_PID
traffic 3 1
want=$(due)
expect "syslog default: clean exit" lab_steer_stop
journal "$pid" _TRANSPORT=syslog >"$s"
expect_eq "syslog default: open and close records = what the proxy accepted ($want)" \
	"$(jq -r .MESSAGE "$s" | jq -c 'select(.event == "open" or .event == "close")' | wc -l)" "$want"
expect_eq "syslog default: every record has facility daemon (3)" \
	"$(jq -c 'select(.SYSLOG_FACILITY == "3")' "$s" | wc -l)" "$(wc -l <"$s")"
finish
