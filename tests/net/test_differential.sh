#!/usr/bin/env bash
# backends: ebpf
# Differential test: a random rule set (12 rules, hundreds of prefixes and
# port ranges, both families, bypasses) and 1,200 random TCP flows. The set
# of flows eBPF steers, the set nft steers (after a live switch) and the set
# the reference matcher (steer/rules.c) predicts must be identical.
# Sources and destinations are whole ranges: AnyIP routes on the client and
# the server. Nothing listens on the server, so a forwarded flow is refused
# and a steered one completes its handshake with the proxy.
. "$(dirname "$0")/lib.sh"

SEED=${DIFF_SEED:-$RANDOM}
echo "  DIFF_SEED=$SEED reproduces this run"
setup "lab" lab_up
ip -n "$LAB_C" route add local 198.18.64.0/18 dev lo
ip -n "$LAB_C" -6 route add local fd00:64::/48 dev lo
ip -n "$LAB_S" route add local 198.18.128.0/17 dev lo
ip -n "$LAB_S" -6 route add local fd00:128::/48 dev lo
ip -n "$LAB_G" route add 198.18.64.0/18 via $C4
ip -n "$LAB_G" -6 route add fd00:64::/48 via $C6
ip -n "$LAB_G" route add 198.18.128.0/17 via $S4
ip -n "$LAB_G" -6 route add fd00:128::/48 via $S6

conf=$(lab_conf)
cp "$conf" "$LAB_DIR/base.conf"
# The first seed from SEED whose rules both steer and forward a good share
# (a random catch-all bypass can make a seed useless); deterministic per SEED.
for try in $(seq 0 19); do
	python3 "$(dirname "$0")/diff_gen.py" $((SEED + try)) "$LAB_DIR/rules" "$LAB_DIR/flows" 1200 || break
	{ cat "$LAB_DIR/base.conf" "$LAB_DIR/rules"; } >"$conf"
	"$LAB_ROOT/build/tests/rules_eval" "$conf" <"$LAB_DIR/flows" |
		sed 's/^\(none\|bypass\)$/forwarded/; s/^steer$/steered/' >"$LAB_DIR/want"
	steered=$(grep -c steered "$LAB_DIR/want")
	[ "$steered" -ge 240 ] && [ "$steered" -le 960 ] && break
done
echo "  seed $((SEED + try)): $(wc -l <"$LAB_DIR/rules") rules, $(grep -o '/' "$LAB_DIR/rules" | wc -l) prefixes, $(grep -o '[0-9]-[0-9]' "$LAB_DIR/rules" | wc -l) port ranges"
setup "config is valid" ip netns exec "$LAB_G" "$STEER" check -c "$conf"
echo "  reference: $(sort "$LAB_DIR/want" | uniq -c | tr -s ' ' | tr '\n' ' ')"

setup "steer starts (ebpf)" lab_steer_start "$conf" --audit-log /dev/null
ip netns exec "$LAB_C" python3 "$(dirname "$0")/probe.py" "$LAB_DIR/flows" >"$LAB_DIR/got-ebpf"
setup "switch to nft" ip netns exec "$LAB_G" "$STEER" backend nft --control-socket "$LAB_DIR/steer.sock"
# New source ports: the first pass left TIME_WAIT sockets for its tuples.
awk '{ $3 = ($3 + 1000) % 40000 + 20000; print }' "$LAB_DIR/flows" >"$LAB_DIR/flows2"
ip netns exec "$LAB_C" python3 "$(dirname "$0")/probe.py" "$LAB_DIR/flows2" >"$LAB_DIR/got-nft"
"$LAB_ROOT/build/tests/rules_eval" "$conf" <"$LAB_DIR/flows2" | sed 's/^\(none\|bypass\)$/forwarded/; s/^steer$/steered/' >"$LAB_DIR/want2"

for b in ebpf nft; do
	want=$LAB_DIR/want
	[ $b = nft ] && want=$LAB_DIR/want2
	errors=$(grep -c '^error' "$LAB_DIR/got-$b")
	expect_eq "$b: every probe answered (steered or refused)" "$errors" 0
	diffs=$(paste -d' ' "$want" "$LAB_DIR/got-$b" | awk '$1 != $2' | wc -l)
	expect_eq "$b: steered set equals the reference's ($(grep -c steered "$LAB_DIR/got-$b") steered)" "$diffs" 0
	[ "$diffs" -eq 0 ] || paste -d' ' "$want" "$LAB_DIR/got-$b" "$LAB_DIR/flows" | awk '$1 != $2' | head -5 | sed 's/^/    want got flow: /'
done
expect_ge "the rule set steers a good share of flows" "$(grep -c steered "$LAB_DIR/want")" 240
expect_ge "and forwards a good share" "$(grep -c forwarded "$LAB_DIR/want")" 240
expect "clean exit" lab_steer_stop
finish
