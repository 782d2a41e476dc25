#!/usr/bin/env bash
# `make install DESTDIR=...` puts every file of the Installed layout where the
# README says; the installed example passes `steer check`; systemd-analyze
# accepts the installed unit; logrotate the snippet; bash the completion. An
# installed config is never overwritten. A build for another SYSCONFDIR reads
# its steer.conf without -c, and names the file it could not read.
. "$(dirname "$0")/../net/lib.sh"
trap 'rm -rf "$LAB_DIR"' EXIT
cd "$LAB_ROOT" || exit 1
for t in systemd-analyze logrotate unshare; do
	setup "$t is installed (make deps)" command -v "$t" >/dev/null
done
setup "bash-completion is installed (make deps)" test -f /usr/share/bash-completion/bash_completion

root=$LAB_DIR/root
P=/usr/local
setup "make install DESTDIR=$root" make -s install DESTDIR="$root" >"$LAB_DIR/install.out" 2>&1
for f in $P/sbin/steer $P/share/man/man8/steer.8 $P/share/man/man5/steer.conf.5 /etc/steer/steer.conf \
	$P/lib/systemd/system/steer.service /etc/logrotate.d/steer \
	$P/share/bash-completion/completions/steer $P/lib/sysusers.d/steer.conf \
	$P/share/doc/steer/audit.md $P/share/doc/steer/audit.schema.json; do
	expect "installed: $f" test -f "$root$f"
done
expect "the binary is executable" test -x "$root$P/sbin/steer"
expect_eq "every example installed under share/doc" \
	"$(ls "$root$P/share/doc/steer/examples" | sort)" "$(cd examples && ls -- *.conf | sort)"
expect_eq "nothing else installed" "$(cd "$root" && find . -type f | wc -l)" "$((10 + $(ls examples/*.conf | wc -l)))"
expect "the installed example passes steer check" "$root$P/sbin/steer" check -c "$root/etc/steer/steer.conf" >/dev/null

unit=$root$P/lib/systemd/system/steer.service
val() { sed -n "s/^$1=//p" "$unit"; }
expect_eq "unit: Type=notify" "$(val Type)" notify
expect_eq "unit: ExecStart" "$(val ExecStart)" "$P/sbin/steer run"
expect_eq "unit: ExecReload" "$(val ExecReload)" "$P/sbin/steer reload"
expect_eq "unit: ExecStopPost, with full privileges (+)" "$(val ExecStopPost)" "+$P/sbin/steer cleanup"
caps="CAP_NET_ADMIN CAP_NET_BIND_SERVICE CAP_BPF CAP_PERFMON"
expect_eq "unit: AmbientCapabilities are the four" "$(val AmbientCapabilities)" "$caps"
expect_eq "unit: CapabilityBoundingSet is the four" "$(val CapabilityBoundingSet)" "$caps"
expect_eq "unit: an unprivileged user" "$(val User)" steer
expect_eq "unit: ProtectSystem=strict" "$(val ProtectSystem)" strict
expect_eq "unit: NoNewPrivileges" "$(val NoNewPrivileges)" yes
expect_eq "unit: RuntimeDirectory" "$(val RuntimeDirectory)" steer
expect_eq "unit: LogsDirectory" "$(val LogsDirectory)" steer
expect_eq "unit: RestrictAddressFamilies" "$(val RestrictAddressFamilies)" "AF_UNIX AF_INET AF_INET6 AF_NETLINK"
# The unit as installed, its commands pointed into DESTDIR (verify runs them as files).
mkdir -p "$LAB_DIR/verify"
sed "s|$P/sbin/steer|$root$P/sbin/steer|" "$unit" >"$LAB_DIR/verify/steer.service"
out=$(systemd-analyze verify --man=no "$LAB_DIR/verify/steer.service" 2>&1)
expect_eq "systemd-analyze verify: exit 0" "$?" 0
expect_eq "systemd-analyze verify: no complaint" "$out" ""
expect_eq "sysusers: the steer user" "$(grep -v '^#' "$root$P/lib/sysusers.d/steer.conf" | awk '{print $1, $2}')" "u steer"

out=$(logrotate -d -s "$LAB_DIR/logrotate.state" "$root/etc/logrotate.d/steer" 2>&1)
expect_eq "logrotate accepts the snippet" "$?" 0
expect "logrotate: the audit log directory" grep -q 'rotating pattern: /var/log/steer/\*.jsonl' <<<"$out"
expect "logrotate: SIGHUP to the daemon after rotating" grep -q 'kill-whom=main --signal=HUP steer.service' "$root/etc/logrotate.d/steer"
expect_not "logrotate: no errors" grep -qi 'error' <<<"$out"

comp=$root$P/share/bash-completion/completions/steer
complete_words() {
	bash -c '. /usr/share/bash-completion/bash_completion; . "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_steer steer "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"; echo "${COMPREPLY[*]}"' _ "$comp" "$@"
}
expect_eq "completion: commands" "$(complete_words steer re)" "reload"
expect_eq "completion: run's directive flags" "$(complete_words steer run --return-i)" "--return-interface"
expect_eq "completion: backend names" "$(complete_words steer backend n)" "nft"
expect_eq "completion: upstream-source values" "$(complete_words steer run --upstream-source client-)" "client-ip"
ndir=$(grep -o -- '--[a-z-]*' <<<"$(sed -n 's/^\tlocal keys="\(.*\)"/\1/p' "$comp")" | wc -l)
expect_ge "completion: every directive of steer.conf (16 or more)" "$ndir" 16

echo "# edited by the operator" >>"$root/etc/steer/steer.conf"
make -s install DESTDIR="$root" >"$LAB_DIR/install2.out" 2>&1
expect "reinstall: the config is kept" grep -q '^# edited by the operator$' "$root/etc/steer/steer.conf"
expect "reinstall: says so" grep -q 'steer.conf exists: kept' "$LAB_DIR/install2.out"

# Another layout, built apart: the binary's default config follows SYSCONFDIR.
alt=$LAB_DIR/alt
setup "make install PREFIX=$alt/usr SYSCONFDIR=$alt/etc" \
	make -s BUILD="$LAB_DIR/build" PREFIX="$alt/usr" SYSCONFDIR="$alt/etc" install >"$LAB_DIR/install3.out" 2>&1
conf=$alt/etc/steer/steer.conf
bin=$alt/usr/sbin/steer
expect "run --help names the default config" grep -qF "$conf" <<<"$("$bin" run --help)"
out=$(systemd-analyze verify --man=no "$alt/usr/lib/systemd/system/steer.service" 2>&1)
expect_eq "systemd-analyze verify (the alternative layout's unit): no complaint" "$out" ""
expect_eq "the unit starts the binary of its layout" "$(sed -n 's/^ExecStart=//p' "$alt/usr/lib/systemd/system/steer.service")" "$bin run"
sed -i '/^control-socket /d' "$conf" # the example names the default one
echo "control-socket $LAB_DIR/elsewhere.sock" >>"$conf"
out=$("$bin" status 2>&1)
expect "status without -c: the default config's control-socket" grep -qF "$LAB_DIR/elsewhere.sock" <<<"$out"
echo frobnicate >>"$conf"
out=$(unshare -n "$bin" run 2>&1)
expect_eq "run without -c: a bad default config: exit 1" "$?" 1
expect "run without -c reads the default config" grep -q "^$conf:[0-9]*:1: .*frobnicate" <<<"$out"
rm "$conf"
out=$(unshare -n "$bin" run 2>&1)
expect_eq "run without -c, no config: exit 1" "$?" 1
expect "run without -c, no config: names the file" grep -q "^$conf:1:1: cannot open: No such file or directory" <<<"$out"
finish
