#!/usr/bin/env bash
# The metrics endpoint: valid Prometheus exposition text (checked with the
# Prometheus client's own parser), every family with HELP and TYPE, values
# equal to `steer status --json`, a backend label; wrong paths and methods
# get 404 and 405. The JSON names its schema and steer's version, and lists
# the audit's joined flows and the proxy's connect, pipe and splice errors.
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
setup "steer starts" lab_steer_start "$(lab_conf 'steer tcp dport 80' 'metrics-listen 127.0.0.1:9464')"
for i in $(seq 10); do http_get "$LAB_C" "http://$S4/" >/dev/null; http_get "$LAB_C" "http://[$S6]/" >/dev/null; done
# Let the audit writer catch up, so both views are read at rest.
for i in $(seq 20); do [ "$(lab_counter .audit.queued)" = 0 ] && break; sleep 0.1; done
sleep 0.2
ip netns exec "$LAB_G" curl -sS --max-time 3 http://127.0.0.1:9464/metrics >"$LAB_DIR/metrics.txt"
lab_status >"$LAB_DIR/status.json"
out=$(/usr/bin/python3 "$(dirname "$0")/metrics_check.py" "$LAB_DIR/metrics.txt" "$LAB_DIR/status.json")
rc=$?
expect_eq "metrics parse and match status ($(grep -c '^ok' <<<"$out") checks; $(grep '^FAIL' <<<"$out" | head -3 | tr '\n' ';'))" "$rc" 0
expect_eq "status --json: schema 1" "$(jq .schema "$LAB_DIR/status.json")" 1
expect_eq "status --json: version is steer's" "$(jq -r .version "$LAB_DIR/status.json")" "$("$STEER" version | awk 'NR == 1 { print $2 }')"
expect_eq "status --json: each of the 20 flows joined or not" "$(jq '.audit.joined + .audit.unjoined' "$LAB_DIR/status.json")" 20
expect "status --json: connect, pipe and splice errors listed" \
	jq -e '.proxy | has("connect_refused") and has("connect_unreachable") and has("connect_timeout") and has("connect_other") and has("upstream_errors") and has("pipe_errors") and has("splice_errors")' "$LAB_DIR/status.json"
expect_eq "20 connections counted" "$(grep '^steer_proxy_connections_accepted_total ' "$LAB_DIR/metrics.txt" | cut -d' ' -f2)" 20
expect_eq "unknown path: 404" "$(ip netns exec "$LAB_G" curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9464/nope)" 404
expect_eq "POST: 405" "$(ip netns exec "$LAB_G" curl -s -o /dev/null -w '%{http_code}' -d x http://127.0.0.1:9464/metrics)" 405
expect "not reachable from the client (loopback only)" bash -c "! ip netns exec $LAB_C curl -s --max-time 1 http://$G4C:9464/metrics"
expect "clean exit" lab_steer_stop
finish
