#!/usr/bin/env python3
"""Check an audit log from `backend split P`: every open record names the
backend steer_flow_hash() (bpf/steer_abi.h) assigns to its tuple. Prints
"ebpf=N nft=M mismatches=K"; exit 1 on any mismatch."""
import ipaddress
import json
import sys

path, percent = sys.argv[1], int(sys.argv[2])


def split_addr(s):
    host, port = s.rsplit(":", 1)
    return ipaddress.ip_address(host.strip("[]")), int(port)


def fnv(h, byte):
    return ((h ^ byte) * 16777619) & 0xFFFFFFFF


def bucket(proto, src, sport, dst, dport):
    h = 2166136261
    for b in src.packed + dst.packed:
        h = fnv(h, b)
    for b in (sport >> 8, sport & 0xFF, dport >> 8, dport & 0xFF, proto):
        h = fnv(h, b)
    return h % 100


counts = {"ebpf": 0, "nft": 0}
mismatches = 0
for line in open(path):
    r = json.loads(line)
    if r.get("event") != "open":
        continue
    src, sport = split_addr(r["client"])
    dst, dport = split_addr(r["dst"])
    proto = 6 if r["proto"] == "tcp" else 17
    want = "ebpf" if bucket(proto, src, sport, dst, dport) < percent else "nft"
    counts[r["backend"]] = counts.get(r["backend"], 0) + 1
    if r["backend"] != want:
        mismatches += 1
        if mismatches <= 5:
            print(f"flow {r['flow']} {r['client']} -> {r['dst']}: {r['backend']}, expected {want}", file=sys.stderr)
print(f"ebpf={counts.get('ebpf', 0)} nft={counts.get('nft', 0)} mismatches={mismatches}")
sys.exit(1 if mismatches else 0)
