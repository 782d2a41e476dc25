#!/usr/bin/python3
"""bench/live_ab.py ROUND BEFORE AFTER BUCKETS: the split-mode case seen by the
daemon itself. BEFORE and AFTER are two scrapes of its /metrics taken around the
case; what the case added to steer_flow_setup_seconds, steer_backend_flows_total
and steer_backend_failures_total, per backend, is printed as raw.txt lines
("ROUND live-BACKEND METRIC VALUE"), and the bucket counts are appended to
BUCKETS ("ROUND BACKEND LE COUNT") for the report's plot."""
import sys
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families

BACKENDS = ("ebpf", "nft")


def scrape(path):
    """(backend, le) -> cumulative count, backend -> flows, backend -> failures."""
    buckets, flows, failures = defaultdict(float), defaultdict(float), defaultdict(float)
    with open(path) as f:
        text = f.read()
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            b = s.labels.get("backend")
            if b not in BACKENDS:
                continue
            if s.name == "steer_flow_setup_seconds_bucket":
                buckets[(b, float(s.labels["le"]))] += s.value  # summed over proto
            elif s.name == "steer_backend_flows_total":
                flows[b] += s.value
            elif s.name == "steer_backend_failures_total":
                failures[b] += s.value
    return buckets, flows, failures


def quantile(q, cum):
    """histogram_quantile's rule: linear inside the bucket that holds rank q*total."""
    total = cum[-1][1] if cum else 0
    if not total:
        return None
    rank, lo, below = q * total, 0.0, 0.0
    for le, c in cum:
        if c >= rank:
            if le == float("inf"):
                return lo
            return lo + (le - lo) * ((rank - below) / (c - below) if c > below else 0)
        lo, below = le, c
    return lo


def main():
    rnd, before, after, out = sys.argv[1:5]
    b0, f0, x0 = scrape(before)
    b1, f1, x1 = scrape(after)
    with open(out, "a") as hist:
        for b in BACKENDS:
            les = sorted(le for (bb, le) in b1 if bb == b)
            cum = [(le, b1[(b, le)] - b0.get((b, le), 0)) for le in les]
            for le, c in cum:
                hist.write(f"{rnd} {b} {le} {c:.0f}\n")
            print(f"{rnd} live-{b} flows {f1[b] - f0[b]:.0f}")
            print(f"{rnd} live-{b} failures {x1[b] - x0[b]:.0f}")
            print(f"{rnd} live-{b} setup_n {cum[-1][1] if cum else 0:.0f}")
            for q in (0.5, 0.99):
                v = quantile(q, cum)
                if v is not None:
                    print(f"{rnd} live-{b} setup_p{int(q * 100)}_us {v * 1e6:.1f}")


if __name__ == "__main__":
    main()
