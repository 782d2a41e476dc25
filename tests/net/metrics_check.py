#!/usr/bin/python3
"""Parse a metrics page with the Prometheus client's own parser and compare
it with `steer status --json`. usage: metrics_check.py METRICS STATUS_JSON
Prints one line per check ("ok ..." or "FAIL ..."); exit 1 on any failure."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1]).read()
status = json.load(open(sys.argv[2]))
samples = {}
failures = 0


def check(desc, ok):
    global failures
    print(("ok   " if ok else "FAIL ") + desc)
    failures += not ok


try:
    families = list(text_string_to_metric_families(text))
    check(f"the parser reads {len(families)} families", len(families) > 10)
except Exception as e:  # the parser's own verdict on the format
    check(f"the parser reads the page: {e}", False)
    sys.exit(1)
for fam in families:
    check(f"{fam.name}: has HELP and TYPE", bool(fam.documentation) and fam.type != "unknown")
    for s in fam.samples:
        samples[(s.name, tuple(sorted(s.labels.items())))] = s.value


def metric(name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


check(f"status schema = {status.get('schema')}", status.get("schema") == 1)
check(f"status version = {status.get('version')!r}", isinstance(status.get("version"), str) and status["version"] != "")
check("backend_info names the active backend", metric("steer_backend_info", backend=status["backend"]) == 1)
for backend, counters in status["counters"].items():
    for reason, value in counters.items():
        if reason == "events_lost":
            got = metric("steer_kernel_events_lost_total", backend=backend)
        else:
            got = metric("steer_kernel_packets_total", backend=backend, reason=reason)
        check(f"kernel {backend}/{reason} = {value}", got == value)
proxy = status["proxy"]
check(f"accepted = {proxy['accepted']}", metric("steer_proxy_connections_accepted_total") == proxy["accepted"])
check(f"open = {proxy['open']}", metric("steer_proxy_connections_open") == proxy["open"])
check(f"tcp bytes up = {proxy['bytes_up']}",
      metric("steer_proxy_bytes_total", proto="tcp", direction="up") == proxy["bytes_up"])
for reason, value in proxy["closed"].items():
    check(f"closed {reason} = {value}", metric("steer_proxy_closed_total", reason=reason) == value)
check(f"udp sessions = {proxy['udp_sessions_total']}",
      metric("steer_proxy_udp_sessions_total") == proxy["udp_sessions_total"])
for kind, key in [("accept", "accept_errors"), ("emfile", "emfile"), ("conn_limit", "conn_limit_hits"),
                  ("connect_refused", "connect_refused"), ("connect_unreachable", "connect_unreachable"),
                  ("connect_timeout", "connect_timeout"), ("connect_other", "connect_other"),
                  ("upstream_socket", "upstream_errors"), ("loop_rejected", "loop_rejected"),
                  ("pipe", "pipe_errors"), ("splice", "splice_errors")]:
    check(f"error {kind} = {proxy.get(key)}", key in proxy and metric("steer_proxy_errors_total", kind=kind) == proxy[key])
audit = status["audit"]
check(f"audit written = {audit['written']}", metric("steer_audit_records_total", result="written") == audit["written"])
check(f"audit lost = {audit['lost']}", metric("steer_audit_records_total", result="lost") == audit["lost"])
for join in ("joined", "unjoined"):
    check(f"audit {join} = {audit.get(join)}", join in audit and metric("steer_audit_flows_total", join=join) == audit[join])
sys.exit(1 if failures else 0)
