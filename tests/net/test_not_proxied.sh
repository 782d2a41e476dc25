#!/usr/bin/env bash
# Never silent: flows steer meant to proxy and did not (here `proxy external`
# with nothing listening on proxy-port) give a "not proxied" log line naming
# the counter and its cause within seconds, at most one per counter per
# minute, and a warning in `steer status` (text and JSON). fail-closed on
# both backends (no_listener_drop); fail-open on ebpf (no_listener_pass: nft
# has no rule to count what it forwards).
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
conf=$(lab_conf 'steer tcp dport 80' 'proxy external')
backend=${STEER_TEST_BACKEND:-ebpf}

# not_proxied_lines COUNTER: the log lines for it so far
not_proxied_lines() { grep -c "^steer: not proxied: $backend $1 +" "$LAB_DIR/steer.log"; }

# wait_line COUNTER: until its line is in the log (5 s; the daemon looks every second)
wait_line() {
	local i
	for i in $(seq 50); do
		[ "$(not_proxied_lines "$1")" -ge 1 ] && return 0
		sleep 0.1
	done
	return 1
}

# reported COUNTER CAUSE N: the log line, the rate limit and the status warnings for COUNTER, grown by N
reported() {
	local counter=$1 cause=$2 n=$3 json text line
	expect "$counter: a log line within seconds" wait_line "$counter"
	line=$(grep -E "^steer: not proxied: $backend $counter \+[0-9]+ \([0-9]+ in all\): " "$LAB_DIR/steer.log")
	expect "$counter: the line names the count and the cause" grep -qF "$cause" <<<"$line"
	json=$(lab_status)
	expect_eq "$counter: status --json warns" \
		"$(jq -r --arg c "$counter" --arg b "$backend" '.warnings[] | select(.source == $b and .counter == $c) | "\(.recent >= '"$n"') \(.window_s) \(.last_s < 60)"' <<<"$json")" "true 300 true"
	expect_eq "$counter: the JSON warning says why" \
		"$(jq -r --arg c "$counter" --arg cause "$cause" '.warnings[] | select(.counter == $c) | .cause | contains($cause)' <<<"$json")" true
	text=$(ing "$STEER" status --control-socket "$LAB_DIR/steer.sock")
	line=$(grep -E "^warning: +not proxied: $backend $counter: [0-9]+ in the last 5 min, last [0-9]+s ago: " <<<"$text")
	expect "$counter: status text warns, with the cause" grep -qF "$cause" <<<"$line"
}

setup "steer starts (fail-closed)" lab_steer_start "$conf" --on-proxy-down fail-closed
expect_eq "no warning before any flow" "$(lab_counter '.warnings | length')" 0
expect "fail-closed, no listener: the connection fails" \
	bash -c "! ip netns exec $LAB_C curl -s --max-time 2 http://$S4/ >/dev/null"
expect "fail-closed, no listener, v6: the connection fails" \
	bash -c "! ip netns exec $LAB_C curl -s -g --max-time 2 'http://[$S6]/' >/dev/null"
expect_ge "fail-closed: drops counted" "$(lab_kc no_listener_drop no_listener_drop)" 2
reported no_listener_drop "new flows dropped (on-proxy-down fail-closed)" 2
ip netns exec "$LAB_C" curl -s --max-time 1 "http://$S4/" >/dev/null
sleep 1.5
expect_ge "fail-closed: more drops counted" "$(lab_kc no_listener_drop no_listener_drop)" 3
expect_eq "rate limit: still one line for the counter within the minute" "$(not_proxied_lines no_listener_drop)" 1
expect "clean exit" lab_steer_stop

if ! lab_is_nft; then
	: >"$LAB_DIR/steer.log"
	setup "steer starts (fail-open)" lab_steer_start "$conf" --on-proxy-down fail-open
	out=$(http_get "$LAB_C" "http://$S4/")
	expect_eq "fail-open, no listener: forwarded untouched" "$(field server "$out")" "$S4:80"
	out=$(http_get "$LAB_C" "http://[$S6]/")
	expect_eq "fail-open, no listener, v6: forwarded untouched" "$(field server "$out")" "$S6:80"
	expect_ge "fail-open: counted" "$(lab_counter .counters.ebpf.no_listener_pass)" 2
	expect_eq "fail-open: nothing counted as steered" "$(lab_counter .counters.ebpf.steered_new)" 0
	reported no_listener_pass "new flows forwarded untouched (on-proxy-down fail-open)" 2
	expect "clean exit" lab_steer_stop
fi

# The built-in proxy with its listener: the same flows give no line and no warning.
: >"$LAB_DIR/steer.log"
setup "steer starts (builtin)" lab_steer_start "$(lab_conf 'steer tcp dport 80')"
out=$(http_get "$LAB_C" "http://$S4/")
expect_eq "builtin: the proxy accepted the flow" "$(lab_counter .proxy.accepted)" 1
sleep 1.5
expect_eq "builtin: no warning" "$(lab_counter '.warnings | length')" 0
expect_not "builtin: no 'not proxied' line" grep -q "not proxied" "$LAB_DIR/steer.log"
expect "clean exit" lab_steer_stop
finish
