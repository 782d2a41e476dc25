#!/usr/bin/env python3
"""Random rules and flows for the differential test.

usage: diff_gen.py SEED RULES_OUT FLOWS_OUT NFLOWS
Rules use the lab's source ranges (198.18.64.0/18, fd00:64::/48, the
client's AnyIP) and destination ranges (198.18.128.0/17, fd00:128::/48, the
server's AnyIP); flows are TCP from those sources to those destinations,
half of them drawn from inside some rule's prefixes so every verdict occurs."""
import ipaddress
import random
import sys

seed, rules_out, flows_out, nflows = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
rng = random.Random(seed)
SRC = [ipaddress.ip_network("198.18.64.0/18"), ipaddress.ip_network("fd00:64::/48")]
DST = [ipaddress.ip_network("198.18.128.0/17"), ipaddress.ip_network("fd00:128::/48")]


def rand_prefix(net):
    longest = 30 if net.version == 4 else 64
    plen = rng.randint(net.prefixlen + 2, longest)
    host = int(net.network_address) + rng.randrange(net.num_addresses)
    return ipaddress.ip_network((host, plen), strict=False)


def prefixes(nets, count):
    """Non-overlapping prefixes (a config list may not nest or repeat)."""
    out = []
    while len(out) < count:
        p = rand_prefix(rng.choice(nets))
        if all(not p.overlaps(q) for q in out):
            out.append(p)
    return out


def ports(count):
    out = []
    while len(out) < count:
        lo = rng.randint(1, 65000)
        r = (lo, lo if rng.random() < 0.5 else min(65535, lo + rng.randint(1, 3000)))
        if all(r[1] < a or r[0] > b for a, b in out):
            out.append(r)
    return out


def fmt_ports(rs):
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in rs)


rules, all_dst, all_src, all_ports = [], [], [], []
for i in range(12):
    bypass = i >= 8
    proto = rng.choice(["tcp", "tcp", "udp"]) if not bypass else rng.choice(["", "tcp"])
    fields = []
    if rng.random() < 0.8:
        ps = ports(rng.randint(1, 25))
        all_ports += ps
        fields.append("dport " + fmt_ports(ps))
    if rng.random() < 0.9:
        ds = prefixes(DST, rng.randint(10, 60))
        all_dst += ds
        fields.append("dst " + ",".join(map(str, ds)))
    if rng.random() < 0.6:
        ss = prefixes(SRC, rng.randint(5, 40))
        all_src += ss
        fields.append("src " + ",".join(map(str, ss)))
    rules.append(" ".join(filter(None, ["bypass" if bypass else "steer", proto] + fields)))
with open(rules_out, "w") as f:
    f.write("\n".join(rules) + "\n")


def addr_in(net):
    return ipaddress.ip_address(int(net.network_address) + rng.randrange(net.num_addresses))


used = set()
with open(flows_out, "w") as f:
    while len(used) < nflows:
        v6 = rng.random() < 0.3
        fam = [p for p in all_dst if p.version == (6 if v6 else 4)]
        dst = addr_in(rng.choice(fam)) if fam and rng.random() < 0.7 else addr_in(DST[v6])
        fam = [p for p in all_src if p.version == (6 if v6 else 4)]
        src = addr_in(rng.choice(fam)) if fam and rng.random() < 0.5 else addr_in(SRC[v6])
        if rng.random() < 0.7 and all_ports:
            a, b = rng.choice(all_ports)
            dport = rng.randint(a, b)
        else:
            dport = rng.randint(1, 65535)
        if dport == 15001:
            continue
        sport = rng.randint(20000, 60000)
        if (src, sport) in used:
            continue
        used.add((src, sport))
        f.write(f"tcp {src} {sport} {dst} {dport}\n")
