#!/usr/bin/env bash
# backends: ebpf
# The tamper-evident audit log: with audit-key, proxied flows across a logrotate
# (mv + SIGHUP) and a restart form one chain that `steer audit verify` accepts,
# that an independent HMAC-SHA256 (Python's) agrees with, and that each
# tampering breaks at its FILE:LINE: an edited field, a deleted line, a copied
# line inserted, two lines swapped, the older file left out, a wrong key, and a
# cut tail against the anchor the daemon logged. A key file that others may
# read, or that another user owns, is refused before anything is installed.
. "$(dirname "$0")/lib.sh"

setup "lab" lab_up
setup "nginx" lab_nginx
a=$LAB_DIR/audit.jsonl
key=$LAB_DIR/audit.key
head -c 32 /dev/urandom >"$key"
chmod 600 "$key"
conf=$(lab_conf 'steer tcp dport 80' "audit-key $key" 'audit-anchor-interval 1')
verify() { "$STEER" audit verify "$@" 2>&1; }
steer_table() { ing nft list table inet steer >/dev/null 2>&1; }

# ---- refusals ----
chmod 644 "$key"
out=$(ip netns exec "$LAB_G" "$STEER" run -c "$conf" 2>&1)
expect "key mode 0644: steer run refuses to start" test $? -ne 0
expect_eq "key mode 0644: one line says why" "$(grep -c "^steer: error: audit-key $key: .*must be mode 0600" <<<"$out")" 1
expect_not "key mode 0644: nothing installed (no steer table)" steer_table
out=$(ip netns exec "$LAB_G" "$STEER" check -c "$conf" --host 2>&1)
expect "key mode 0644: check --host names it" grep -q "^steer: error: audit-key $key: .*must be mode 0600" <<<"$out"
chmod 600 "$key"
chown 65534:65534 "$key"
out=$(ip netns exec "$LAB_G" "$STEER" run -c "$conf" 2>&1)
expect "key of another owner: steer run refuses to start" test $? -ne 0
expect "key of another owner: the line says why" grep -q "^steer: error: audit-key $key: not owned by the user steer runs as" <<<"$out"
chown 0:0 "$key"
expect_not "no audit file was written by a refused start" test -e "$a"

# ---- a chain across a rotation ----
: >"$LAB_DIR/steer.log"
setup "steer starts with audit-key" lab_steer_start "$conf"
res=$(inc python3 "$(dirname "$0")/churn.py" $S4 80 200)
expect_eq "first file: 200 connections, none failed" "$(field failures "$res")" 0
sleep 1.5 # an anchor interval with records added
expect "a periodic anchor while running" grep -q "^steer: audit anchor seq=[0-9]* mac=[0-9a-f]\{64\}$" "$LAB_DIR/steer.log"
mv "$a" "$a.1"
kill -HUP "$LAB_STEER_PID"
for i in $(seq 50); do [ -s "$a" ] && break; sleep 0.1; done
res=$(inc python3 "$(dirname "$0")/churn.py" $S4 80 200)
expect_eq "second file: 200 connections, none failed" "$(field failures "$res")" 0
expect "clean exit" lab_steer_stop
# Proxied, by the proxy's own records: one open and one close per connection.
expect_eq "400 open records from the proxy" \
	"$(cat "$a.1" "$a" | jq -c 'select(.event=="open" and .backend=="ebpf" and .dst=="'$S4':80")' | wc -l)" 400
expect_eq "400 close records" "$(cat "$a.1" "$a" | jq -c 'select(.event=="close")' | wc -l)" 400
n1=$(wc -l <"$a.1") n2=$(wc -l <"$a")
expect_eq "each file starts with a header" "$(head -qn1 "$a.1" "$a" | jq -r .event | sort -u)" header
expect_eq "the second header continues the first file's count" "$(head -n1 "$a" | jq .seq)" "$n1"
expect_eq "the second header's prev_mac is the first file's last mac" "$(head -n1 "$a" | jq -r .prev_mac)" \
	"$(tail -n1 "$a.1" | jq -r .mac)"
expect_eq "every record carries a mac" "$(cat "$a.1" "$a" | jq -r '.mac | test("^[0-9a-f]{64}$")' | sort -u)" true
anchor=$(sed -n 's/^steer: audit anchor seq=\([0-9]*\) mac=\([0-9a-f]*\)$/\1:\2/p' "$LAB_DIR/steer.log" | tail -n1)
expect_eq "the anchor at stop names the last record" "$anchor" "$((n1 + n2)):$(tail -n1 "$a" | jq -r .mac)"
expect_eq "verify: intact" "$(verify --key "$key" --anchor "$anchor" "$a.1" "$a")" "ok: $((n1 + n2)) records in 2 files"
expect "verify without a key says it checked the structure only" \
	bash -c "'$STEER' audit verify '$a.1' '$a' | grep -q '^ok: $((n1 + n2)) records in 2 files (unkeyed: structure only'"
# The contract, computed apart from steer: HMAC-SHA256(key, prev mac || the line without its mac).
res=$(python3 - "$key" "$a.1" "$a" <<'PY'
import hashlib, hmac, json, re, sys
key = open(sys.argv[1], "rb").read()
prev, bad, n = "0" * 64, 0, 0
for path in sys.argv[2:]:
    for line in open(path, encoding="utf-8"):
        m = re.fullmatch(r'(.*),"mac":"([0-9a-f]{64})"\}\n', line)
        want = hmac.new(key, (prev + m.group(1) + "}").encode(), hashlib.sha256).hexdigest()
        rec = json.loads(line)
        bad += want != m.group(2) or (rec["event"] == "header" and (rec["seq"] != n or rec["prev_mac"] != prev))
        prev, n = m.group(2), n + 1
print(f"records={n} bad={bad}")
PY
)
expect_eq "an independent HMAC agrees with every mac ($res)" "$res" "records=$((n1 + n2)) bad=0"

# ---- a restart appends to the file and continues the chain ----
setup "steer restarts" lab_steer_start "$conf"
res=$(inc python3 "$(dirname "$0")/churn.py" $S4 80 20)
expect_eq "after restart: 20 connections" "$(field failures "$res")" 0
expect "clean exit after restart" lab_steer_stop
n2=$(wc -l <"$a")
expect_not "the restart continued the chain (no warning)" grep -q "a new chain starts here" "$LAB_DIR/steer.log"
anchor=$(sed -n 's/^steer: audit anchor seq=\([0-9]*\) mac=\([0-9a-f]*\)$/\1:\2/p' "$LAB_DIR/steer.log" | tail -n1)
expect_eq "verify: intact across the restart" "$(verify --key "$key" --anchor "$anchor" "$a.1" "$a")" \
	"ok: $((n1 + n2)) records in 2 files"

# ---- tampering: each on a fresh copy, the first break at its line ----
t=$LAB_DIR/t
mkdir -p "$t"
fresh() { cp "$a.1" "$t/audit.jsonl.1" && cp "$a" "$t/audit.jsonl"; }
# expect_break WHAT FILE:LINE [verify args]: exit 1, and the first line names FILE:LINE.
expect_break() {
	local what=$1 at=$2 out st
	shift 2
	out=$(verify --key "$key" "$@")
	st=$?
	expect_eq "$what: exit 1" "$st" 1
	expect_eq "$what: reported at $at ($out)" "${out%%: *}" "$at"
}
fresh
sed -i '5s/"flow":\([0-9]*\)/"flow":9\1/' "$t/audit.jsonl.1"
expect_break "edited field" "$t/audit.jsonl.1:5" "$t/audit.jsonl.1" "$t/audit.jsonl"
fresh
sed -i '7d' "$t/audit.jsonl"
expect_break "deleted line" "$t/audit.jsonl:7" "$t/audit.jsonl.1" "$t/audit.jsonl"
fresh
sed -i "10a $(sed -n 3p "$t/audit.jsonl")" "$t/audit.jsonl"
expect_break "copied line inserted" "$t/audit.jsonl:11" "$t/audit.jsonl.1" "$t/audit.jsonl"
fresh
sed -i -n '4{h;n;p;x;p;b};p' "$t/audit.jsonl.1"
expect_break "two lines swapped" "$t/audit.jsonl.1:4" "$t/audit.jsonl.1" "$t/audit.jsonl"
fresh
expect_break "older file left out" "$t/audit.jsonl:1" "$t/audit.jsonl"
head -c 32 /dev/urandom >"$t/other.key"
out=$("$STEER" audit verify --key "$t/other.key" "$t/audit.jsonl.1" "$t/audit.jsonl" 2>&1)
expect_eq "wrong key: exit 1, at the first record ($out)" "$?:${out%%: *}" "1:$t/audit.jsonl.1:1"
fresh
head -n -3 "$a" >"$t/audit.jsonl"
expect_eq "cut tail: intact without the anchor" "$(verify --key "$key" "$t/audit.jsonl.1" "$t/audit.jsonl")" \
	"ok: $((n1 + n2 - 3)) records in 2 files"
expect_break "cut tail against the anchor" "$t/audit.jsonl:$((n2 - 2))" --anchor "$anchor" "$t/audit.jsonl.1" "$t/audit.jsonl"
# Replays: each copy verifies on its own, but a genuine chain never repeats a mac.
fresh
cat "$t/audit.jsonl.1" >>"$t/audit.jsonl"
expect_break "older file appended to the newer" "$t/audit.jsonl:$((n2 + 1))" "$t/audit.jsonl.1" "$t/audit.jsonl"
expect_break "one file given twice" "$t/audit.jsonl.1:1" "$t/audit.jsonl.1" "$t/audit.jsonl.1"
fresh
sed -i 1p "$t/audit.jsonl.1"
expect_break "first line doubled" "$t/audit.jsonl.1:2" "$t/audit.jsonl.1" "$t/audit.jsonl"
fresh
sed -i 1p "$t/audit.jsonl"
expect_break "header doubled" "$t/audit.jsonl:2" "$t/audit.jsonl.1" "$t/audit.jsonl"
out=$("$STEER" audit verify --key 2>&1)
expect_eq "usage error: exit 2" "$?" 2

# ---- a tail the daemon cannot continue: it says so and starts a new chain ----
echo '{"ts":"2026-11-30T00:00:00.000000Z","event":"lost","count":1}' >>"$a"
setup "steer restarts on an unsigned tail" lab_steer_start "$conf"
expect "clean exit" lab_steer_stop
expect "a warning names the file and why" \
	grep -qx "steer: warning: audit log $a: its last record has no mac: a new chain starts here" "$LAB_DIR/steer.log"
expect_eq "the new chain's header starts at 0" "$(tail -n1 "$a" | jq -c '[.event, .seq]')" '["header",0]'
expect_break "the unsigned line is reported" "$a:$((n2 + 1))" "$a.1" "$a"

# ---- the current file deleted while stopped: a new chain, said at start, a break unless allowed ----
rm -f "$a"
setup "steer starts without its file" lab_steer_start "$conf"
expect "clean exit" lab_steer_stop
expect "a notice names the missing file" \
	grep -qx "steer: notice: audit log $a: no such file: a new chain starts (seq 0)" "$LAB_DIR/steer.log"
expect_break "a new chain after the older file" "$a:1" "$a.1" "$a"
expect "the reason says it cannot be tied" \
	bash -c "'$STEER' audit verify --key '$key' '$a.1' '$a' 2>&1 | grep -q 'a new chain starts here: what came before cannot be tied to it'"
out=$("$STEER" audit verify --key "$key" --allow-new-chain "$a.1" "$a" 2>/dev/null)
expect_eq "--allow-new-chain accepts it and counts the chains" "$?:$out" \
	"0:ok: $(($(wc -l <"$a.1") + $(wc -l <"$a"))) records in 2 files (2 chains)"
finish
