#!/usr/bin/env bash
# backends: ebpf
# The audit sink under pressure: logrotate (move the file, SIGHUP) under
# traffic loses and repeats nothing; a stalled sink (stdout into a pipe
# nobody reads) neither slows nor stops proxying, and once it drains the loss
# is reported; a burst of 20,000 new flows: records + reported losses = flows.
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
conf=$(lab_conf 'steer tcp dport 80')
a=$LAB_DIR/audit.jsonl

# logrotate
setup "steer starts" lab_steer_start "$conf"
inc python3 "$(dirname "$0")/churn.py" $S4 80 3000 >"$LAB_DIR/churn.out" &
c=$!
sleep 0.5
mv "$a" "$a.1"
kill -HUP "$LAB_STEER_PID"
wait $c
expect "rotate: all 3,000 connections succeeded" grep -q 'failures=0' "$LAB_DIR/churn.out"
expect "rotate: clean exit" lab_steer_stop
expect "rotate: a new file was opened" test -s "$a"
expect "rotate: the old file got records too" test -s "$a.1"
expect_eq "rotate: every flow opened exactly once across both files" \
	"$(cat "$a.1" "$a" | jq -r 'select(.event=="open") | .flow' | sort | uniq -c | awk '$1 == 1' | wc -l)" 3000
expect_eq "rotate: every flow closed exactly once across both files" \
	"$(cat "$a.1" "$a" | jq -r 'select(.event=="close") | .flow' | sort | uniq -c | awk '$1 == 1' | wc -l)" 3000

# Stalled sink: a reader that reads nothing until told to.
rm -f "$LAB_DIR/go"
ip netns exec "$LAB_G" "$STEER" run -c "$conf" --audit-log - 2>>"$LAB_DIR/steer.log" |
	sh -c "while [ ! -e $LAB_DIR/go ]; do sleep 0.1; done; cat >$LAB_DIR/stdout.jsonl" &
for i in $(seq 100); do lab_status >/dev/null 2>&1 && break; sleep 0.05; done
LAB_STEER_PID=$(ip netns pids "$LAB_G" | xargs -r ps -o pid=,comm= -p | awk '$2 == "steer" {print $1}')
res=$(inc python3 "$(dirname "$0")/churn.py" $S4 80 12000)
echo "  stalled sink: $res"
expect_eq "stalled sink: 12,000 connections, none failed" "$(field failures "$res")" 0
expect "stalled sink: none took $(scaled 500) ms" awk "BEGIN {exit !($(field max_ms "$res") < $(scaled 500))}"
lost=$(lab_counter .audit.lost)
# One open per flow whose upstream connected, one close per accepted flow.
want=$(lab_counter '.proxy.accepted + .proxy.upstream_connected')
expect_ge "stalled sink: the audit queue overflowed, counted" "$lost" 1
touch "$LAB_DIR/go"
for i in $(seq 50); do [ "$(lab_counter .audit.queued)" = 0 ] && break; sleep 0.1; done
kill -TERM "$LAB_STEER_PID"
for i in $(seq 50); do kill -0 "$LAB_STEER_PID" 2>/dev/null || break; sleep 0.1; done
sleep 0.3
o=$LAB_DIR/stdout.jsonl
reported=$(jq -s '[.[] | select(.event=="lost") | .count] | add // 0' "$o")
records=$(jq -c 'select(.event=="open" or .event=="close")' "$o" | wc -l)
expect_eq "stalled sink: the loss is reported in lost records ($reported)" "$reported" "$lost"
expect_eq "stalled sink: records + reported losses = opens + closes due ($want)" "$((records + reported))" "$want"

# Burst: 20,000 new flows in a few seconds.
: >"$a"
setup "steer starts (burst)" lab_steer_start "$conf"
ip netns exec "$LAB_C" wrk -t2 -c64 -d"$(scaled 6)"s -H 'Connection: close' "http://$S4/" >"$LAB_DIR/wrk.out" 2>&1
flows=$(lab_counter .proxy.accepted)
want=$(lab_counter '.proxy.accepted + .proxy.upstream_connected')
echo "  burst: $flows flows in $(scaled 6) s ($(sed -n 's/Requests\/sec: *//p' "$LAB_DIR/wrk.out") conn/s)"
expect_ge "burst: at least 20,000 flows" "$flows" 20000
expect "burst: clean exit" lab_steer_stop
records=$(jq -c 'select(.event=="open" or .event=="close")' "$a" | wc -l)
reported=$(jq -s '[.[] | select(.event=="lost") | .count] | add // 0' "$a")
expect_eq "burst: records + reported losses = opens + closes due ($want)" "$((records + reported))" "$want"
finish
