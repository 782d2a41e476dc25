#!/usr/bin/env bash
# `make deb` (dpkg-buildpackage -us -uc -b from a copy of the tree) builds
# steer_VERSION_ARCH.deb with the Installed layout for PREFIX=/usr, the config
# and logrotate snippet as conffiles, a binary hardened by dpkg-buildflags
# (PIE, relro, bind-now, fortify, stack protector), the steer user created in
# postinst, and lintian reports no error (its warnings are printed).
. "$(dirname "$0")/../net/lib.sh"
trap 'rm -rf "$LAB_DIR"' EXIT
cd "$LAB_ROOT" || exit 1
for t in dpkg-buildpackage dh lintian fakeroot readelf systemd-sysusers systemd-analyze; do
	setup "$t is installed (make deps)" command -v "$t" >/dev/null
done

version=$(cat VERSION)
deb=build/deb/steer_${version}_$(dpkg --print-architecture).deb
start=$(date +%s)
make -s deb >"$LAB_DIR/deb.out" 2>&1
expect_eq "make deb: exit 0" "$?" 0
echo "  (make deb: $(($(date +%s) - start)) s)"
setup "make deb: $deb" test -f "$deb"
expect_eq "package version is VERSION" "$(dpkg-deb -f "$deb" Version)" "$version"
errors=$(grep '^E: ' build/deb/lintian.out)
expect_eq "lintian: no error" "$errors" ""
grep '^W: ' build/deb/lintian.out | sed 's/^/  lintian /'

x=$LAB_DIR/x
dpkg-deb -x "$deb" "$x"
dpkg-deb -e "$deb" "$x/DEBIAN"
unit=$(cd "$x" && ls lib/systemd/system/steer.service usr/lib/systemd/system/steer.service 2>/dev/null)
expect "unit installed under (usr/)lib/systemd/system" test -n "$unit"
for f in usr/sbin/steer usr/share/man/man8/steer.8.gz usr/share/man/man5/steer.conf.5.gz etc/steer/steer.conf \
	etc/logrotate.d/steer usr/share/bash-completion/completions/steer usr/lib/sysusers.d/steer.conf; do
	expect "packaged: /$f" test -f "$x/$f"
done
expect "conffile: /etc/steer/steer.conf" grep -qx /etc/steer/steer.conf "$x/DEBIAN/conffiles"
expect "conffile: /etc/logrotate.d/steer" grep -qx /etc/logrotate.d/steer "$x/DEBIAN/conffiles"
expect "the packaged example passes steer check" "$x/usr/sbin/steer" check -c "$x/etc/steer/steer.conf" >/dev/null
pkgv=$("$x/usr/sbin/steer" version | head -n 1)
expect "steer version starts with the package's" grep -q "^steer $version" <<<"$pkgv"
expect_eq "steer version is the tree's (git describe, given to the copy)" "$pkgv" "$(build/steer version | head -n 1)"
expect_eq "unit: ExecStart" "$(sed -n 's/^ExecStart=//p' "$x/$unit")" "/usr/sbin/steer run"
mkdir -p "$LAB_DIR/verify"
sed "s|/usr/sbin/steer|$x/usr/sbin/steer|" "$x/$unit" >"$LAB_DIR/verify/steer.service"
expect_eq "systemd-analyze verify accepts the packaged unit" \
	"$(systemd-analyze verify --man=no "$LAB_DIR/verify/steer.service" 2>&1; echo "exit $?")" "exit 0"

bin=$x/usr/sbin/steer
expect "hardening: PIE" grep -q 'Type: *DYN' <<<"$(readelf -h "$bin")"
expect "hardening: relro" grep -q GNU_RELRO <<<"$(readelf -lW "$bin")"
expect "hardening: bind-now" grep -Eq 'BIND_NOW|FLAGS.*NOW' <<<"$(readelf -dW "$bin")"
expect "hardening: fortify (__*_chk)" grep -q '__[a-z]*printf_chk' <<<"$(readelf -sW --dyn-syms "$bin")"
expect "hardening: stack protector" grep -q __stack_chk_fail <<<"$(readelf -sW --dyn-syms "$bin")"

expect "postinst creates the steer user" grep -q 'systemd-sysusers .*steer.conf' "$x/DEBIAN/postinst"
# (dh_installsystemd --no-enable: enable only where an earlier version was enabled)
expect "postinst leaves the service disabled until the operator enables it" \
	grep -q "if deb-systemd-helper debian-installed 'steer.service'" "$x/DEBIAN/postinst"
mkdir -p "$LAB_DIR/sysroot/etc"
systemd-sysusers --root="$LAB_DIR/sysroot" "$x/usr/lib/sysusers.d/steer.conf" >/dev/null 2>&1
expect "systemd-sysusers makes a system user steer" \
	awk -F: '$1 == "steer" && $3 < 1000 && $3 > 0 { ok = 1 } END { exit !ok }' "$LAB_DIR/sysroot/etc/passwd"
finish
