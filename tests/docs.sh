#!/usr/bin/env bash
# The product documents itself, and the documents stay true:
# - man/steer.8 and man/steer.conf.5 render without a warning (mandoc's lint,
#   groff, man -l);
# - steer.conf(5) has an entry for every directive the parser's table holds, and
#   none for a directive it does not (names taken from steer/config.c);
# - steer(8) has an entry for every command main.c dispatches, and none other;
# - every man page steer's --help texts name exists;
# - every examples/*.conf and every configuration in steer.conf(5)'s EXAMPLES
#   passes `steer check`;
# - nothing in the repository points outside it.
# Needs build/steer (make all). Tools missing: fail, never skip.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STEER=${STEER:-$ROOT/build/steer}
MAN8=$ROOT/man/steer.8
MAN5=$ROOT/man/steer.conf.5
T_PASS=0 T_FAIL=0
pass() { T_PASS=$((T_PASS + 1)); }
fail() { T_FAIL=$((T_FAIL + 1)); echo "  FAIL $*"; }
# check DESCRIPTION COMMAND...: passes iff the command succeeds.
check() { local what=$1; shift; if "$@"; then pass; else fail "$what"; fi; }

missing=()
for t in mandoc groff man; do command -v "$t" >/dev/null || missing+=("$t"); done
[ -x "$STEER" ] || missing+=("$STEER (run make)")
if [ ${#missing[@]} -gt 0 ]; then
	echo "docs: missing: ${missing[*]} (make deps installs them)" >&2
	exit 1
fi
TMP=$(mktemp -d /tmp/steer-docs.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# Text between `.Sh NAME` and the next `.Sh` of an mdoc page.
section() { awk -v s=".Sh $2" '$0 == s { on = 1; next } /^\.Sh / { on = 0 } on' "$1"; }
# The tags of a section's top-level list (not of lists nested in it): `.It Cm WORD ...` -> WORD.
entries() {
	section "$1" "$2" | awk '/^\.Bl/ { depth++ } /^\.El/ { depth-- }
		depth == 1 && /^\.It Cm [a-z]/ { sub(/^\.It Cm /, ""); sub(/ .*/, ""); print }' | sort -u
}

# ---- rendering ----
for page in "$MAN8" "$MAN5"; do
	name=$(basename "$page")
	check "$name exists" test -s "$page"
	out=$(mandoc -Tlint -Wwarning "$page" 2>&1)
	check "$name: mandoc -Tlint: $out" test -z "$out"
	out=$(groff -mandoc -ww -z -Tutf8 "$page" 2>&1)
	check "$name: groff warnings: $out" test -z "$out"
	out=$(MANWIDTH=80 man -l "$page" 2>"$TMP/man.err")
	check "$name: man -l says: $(cat "$TMP/man.err")" test ! -s "$TMP/man.err"
	check "$name: man -l renders the page" grep -q "^NAME" <<<"$out"
done

# ---- steer.conf(5) and the parser's directive table ----
directives=$(awk '/^static const struct directive directives\[\] = \{/ { on = 1; next }
	on && /^\};/ { exit } on' "$ROOT/steer/config.c" | sed -n 's/^[[:space:]]*{ "\([a-z-]*\)",.*/\1/p' | sort -u)
n=$(wc -w <<<"$directives")
check "directives[] in steer/config.c: found $n names (the table moved?)" test "$n" -ge 10
documented=$(entries "$MAN5" DIRECTIVES)
for d in $directives; do
	check "steer.conf(5) DIRECTIVES lacks '$d'" grep -qx -- "$d" <<<"$documented"
	# Every directive is also a flag: the name read from the table is live.
	out=$("$STEER" status --control-socket "$TMP/none.sock" --"$d" x 2>&1)
	check "'--$d' is not an option: $out" test "${out#*unknown option}" = "$out"
done
for d in $documented; do
	check "steer.conf(5) documents '$d', which the parser does not accept" grep -qx -- "$d" <<<"$directives"
done

# ---- steer(8) and the commands ----
commands=$(sed -n 's/.*!strcmp(cmd, "\([a-z]*\)").*/\1/p' "$ROOT/steer/main.c" | sort -u)
n=$(wc -w <<<"$commands")
check "commands in steer/main.c: found $n (the dispatch moved?)" test "$n" -ge 7
documented=$(entries "$MAN8" COMMANDS)
for c in $commands; do
	check "steer(8) COMMANDS lacks '$c'" grep -qx -- "$c" <<<"$documented"
	check "steer(8) SYNOPSIS lacks '$c'" grep -qx "\.Cm $c" <(section "$MAN8" SYNOPSIS)
	check "'steer $c --help' fails" "$STEER" "$c" --help >/dev/null
done
for c in $documented; do
	check "steer(8) documents command '$c', which steer does not have" grep -qx -- "$c" <<<"$commands"
done

# ---- the help texts' references ----
help=$("$STEER" --help; for c in $commands; do "$STEER" "$c" --help; done)
refs=$(grep -o 'steer[a-z.]*([0-9])' <<<"$help" | sort -u)
for r in $refs; do
	page=$ROOT/man/${r%(*}.$(tr -dc 0-9 <<<"$r")
	check "--help names $r, but $page does not exist" test -s "$page"
done
# The flags `steer run --help` lists are directives.
for f in $(awk '/^usage: steer run/ { on = 1; print; next } /^usage:/ { on = 0 } on' <<<"$help" |
	grep -o -- '--[a-z][a-z-]*' | sort -u); do
	check "steer run --help lists $f, which is not a directive" grep -qx -- "${f#--}" <<<"$directives"
done

# ---- examples ----
n=0
for f in "$ROOT"/examples/*.conf; do
	[ -e "$f" ] || continue
	n=$((n + 1))
	out=$("$STEER" check -c "$f" 2>&1)
	check "steer check -c ${f#"$ROOT"/}: $out" test $? -eq 0
	check "${f#"$ROOT"/}: no comment header" grep -q '^#' "$f"
done
check "examples/*.conf: $n files (expected at least 5)" test "$n" -ge 5
check "examples/gateway.conf (the installed default) exists" test -s "$ROOT/examples/gateway.conf"
# The Grafana dashboard: valid JSON with a datasource variable, and every metric it queries is one steer exports.
dash=$ROOT/examples/grafana-steer.json
check "examples/grafana-steer.json parses, with a datasource variable and panels" \
	test "$(jq '(.templating.list | map(select(.type == "datasource")) | length == 1) and (.panels | length >= 5)' "$dash")" = true
for m in $(jq -r '.panels[].targets[].expr' "$dash" | grep -o 'steer_[a-z_]*' | sed 's/_bucket$//' | sort -u); do
	check "grafana-steer.json queries $m, which steer exports" grep -rqw -- "$m" "$ROOT/steer" "$ROOT/proxy"
done
# Every literal block of steer.conf(5)'s EXAMPLES is a whole configuration.
section "$MAN5" EXAMPLES | awk -v dir="$TMP" '/^\.Bd -literal/ { f = sprintf("%s/example%d.conf", dir, ++n); next }
	/^\.Ed/ { f = ""; next } f { print > f }'
n=0
for f in "$TMP"/example*.conf; do
	[ -e "$f" ] || continue
	n=$((n + 1))
	out=$("$STEER" check -c "$f" 2>&1)
	check "steer.conf(5) EXAMPLES block $n: $out" test $? -eq 0
done
check "steer.conf(5) EXAMPLES: $n blocks (expected at least 3)" test "$n" -ge 3

# ---- nothing points outside the repository ----
out=$(grep -rInE 'DESIGN[.]md|[.][.]/shared' "$ROOT" --exclude-dir=.git --exclude-dir=build 2>&1)
check "references outside the repository:
$out" test -z "$out"

echo "docs: $T_PASS passed, $T_FAIL failed"
[ "$T_FAIL" -eq 0 ]
