#!/usr/bin/env bash
# One version: VERSION, debian/changelog and CHANGELOG.md's latest release
# agree; `steer version` is VERSION, then (before the release's tag vVERSION
# exists) the commit it was built from, as git describe names it.
. "$(dirname "$0")/../net/lib.sh"
trap 'rm -rf "$LAB_DIR"' EXIT
cd "$LAB_ROOT" || exit 1
setup "dpkg-parsechangelog is installed (make deps)" command -v dpkg-parsechangelog >/dev/null

version=$(cat VERSION)
expect "VERSION is MAJOR.MINOR.PATCH" grep -Eqx '[0-9]+\.[0-9]+\.[0-9]+' VERSION
expect_eq "debian/changelog's version is VERSION" "$(dpkg-parsechangelog -S Version)" "$version"
expect_eq "CHANGELOG.md's latest release is VERSION" \
	"$(sed -n 's/^## \[\([0-9][^]]*\)\].*/\1/p' CHANGELOG.md | head -n 1)" "$version"
expect "CHANGELOG.md has an Unreleased section" grep -q '^## \[Unreleased\]' CHANGELOG.md

setup "make all" make -s all
got=$(build/steer version | head -n 1)
expect "steer version starts with VERSION" grep -q "^steer $version" <<<"$got"
if git rev-parse -q --verify "refs/tags/v$version" >/dev/null; then
	want=$(git describe --tags --dirty --match "v$version" | sed 's/^v//')
else
	want="$version+g$(git describe --always --dirty)"
fi
expect_eq "steer version is what git describe says" "$got" "steer $want"
finish
