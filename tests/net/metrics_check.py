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

# The per-flow events by backend: the same numbers as status --json's "flows".
hist = {f.name: f for f in families}.get("steer_flow_setup_seconds")
check("steer_flow_setup_seconds is a histogram", hist is not None and hist.type == "histogram")
for backend, f in status.get("flows", {}).items():
    count = 0
    for proto in ("tcp", "udp"):
        got = metric("steer_backend_flows_total", backend=backend, proto=proto)
        check(f"flows {backend}/{proto} = {f['flows'][proto]}", got == f["flows"][proto])
        buckets = sorted(((float(s.labels["le"]), s.value) for s in (hist.samples if hist else [])
                          if s.name.endswith("_bucket") and s.labels["backend"] == backend
                          and s.labels["proto"] == proto))
        n = metric("steer_flow_setup_seconds_count", backend=backend, proto=proto)
        check(f"histogram {backend}/{proto}: 15 cumulative buckets, +Inf = _count = {n}",
              len(buckets) == 15 and all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))
              and buckets[-1] == (float("inf"), n))
        count += n or 0
    check(f"histogram {backend}: _count = status setup count {f['setup']['count']}", count == f["setup"]["count"])
    for reason, value in f["failures"].items():
        check(f"failures {backend}/{reason} = {value}",
              metric("steer_backend_failures_total", backend=backend, reason=reason) == value)
    for reason, value in f["drops"].items():
        check(f"drops {backend}/{reason} = {value}",
              metric("steer_backend_drops_total", backend=backend, reason=reason) == value)
build = [k for k in samples if k[0] == "steer_build_info"]
labels = dict(build[0][1]) if len(build) == 1 else {}
check(f"build_info: one sample, 1, labelled {sorted(labels)}",
      len(build) == 1 and samples[build[0]] == 1 and sorted(labels) == ["kernel", "libbpf", "libnftnl", "version"]
      and labels["version"] == status["version"] and labels["kernel"] == status["kernel"]["release"])
check(f"reload gauge = status reload.ok {status['reload']['ok']}",
      metric("steer_config_last_reload_successful") == (1 if status["reload"]["ok"] else 0))
check("reload success timestamp = status reload.last_success",
      metric("steer_config_last_reload_success_timestamp_seconds") == status["reload"]["last_success"])
for run in status.get("classifier_run", []):
    # Read before the status: a stray packet (neighbour discovery) may run the classifier in between.
    runs = metric("steer_classifier_runs_total", program=run["program"])
    secs = metric("steer_classifier_run_seconds_total", program=run["program"])
    check(f"classifier {run['program']}: runs {runs} <= {run['runs']}, run time <= status's",
          runs is not None and secs is not None and runs <= run["runs"] and secs <= run["run_ns"] / 1e9 + 1e-9)
sys.exit(1 if failures else 0)
