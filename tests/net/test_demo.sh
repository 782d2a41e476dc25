#!/usr/bin/env bash
# `make demo` never claims what did not happen: with steering working it names
# each flow's audit record and exits 0; when the flows are forwarded untouched
# (proxy external, nothing listening on proxy-port, fail-open) it says which,
# and exits 1 with one clear line.
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$LAB_DIR"' EXIT
demo="$(dirname "$0")/../demo.sh"

out=$(bash "$demo" 2>&1)
expect_eq "demo: exit 0 when steering works" "$?" 0
expect_eq "demo: both flows through steer's proxy, by their audit records" \
	"$(grep -cE "^    [^ ]+: yes, through steer's proxy \(audit flow [0-9]+, backend ${STEER_TEST_BACKEND:-ebpf}\)$" <<<"$out")" 2
expect "demo: says every flow went through" grep -q "every flow went through steer's proxy" <<<"$out"

out=$(DEMO_CONF='proxy external' bash "$demo" 2>&1)
expect_eq "demo, flows forwarded untouched: exit 1" "$?" 1
expect_eq "demo, flows forwarded untouched: each named as not proxied" \
	"$(grep -c ": NO: no audit record of steer's proxy: forwarded untouched, not proxied$" <<<"$out")" 2
expect "demo, flows forwarded untouched: one clear line" grep -q "demo FAILED: 2 of 2 flows have no record of steer's proxy, which accepted 0 of 2: not proxied" <<<"$out"
expect_not "demo, flows forwarded untouched: no success claimed" grep -q "yes, through steer's proxy\|every flow went through" <<<"$out"
finish
