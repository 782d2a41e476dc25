#!/usr/bin/env python3
"""Write a prefix set file of N entries, IPv4 and IPv6 mixed, none overlapping.

usage: prefix_set_gen.py N OUT [INCLUDE...]
The INCLUDE prefixes are written among the generated ones (at the middle);
the generated ones are /32 and /28 from 198.19.0.0/16 and /128 and /120 from
fd00:99::/32, so they never contain the lab's own addresses (198.18.x.x,
fd00:1::/fd00:2::)."""
import ipaddress
import sys


def generate(n, include):
    out = []
    v4 = ipaddress.ip_network("198.19.0.0/16")
    # Every other /28 as a /28, the rest as /32s of the other /28s' first halves:
    # adjacent, nested-free, both lengths present.
    base4 = int(v4.network_address)
    for i in range(4096):
        if i % 2 == 0:
            out.append(f"{ipaddress.IPv4Address(base4 + i * 16)}/28")
        else:
            for k in range(0, 16, 2):
                out.append(f"{ipaddress.IPv4Address(base4 + i * 16 + k)}/32")
    base6 = int(ipaddress.IPv6Address("fd00:99::"))
    j = 0
    while len(out) < n - len(include):
        if j % 8 == 0:
            out.append(f"{ipaddress.IPv6Address(base6 + j * 256)}/120")
        else:
            out.append(f"{ipaddress.IPv6Address(base6 + j * 256 + 1)}/128")
        j += 1
    out = out[: n - len(include)]
    mid = len(out) // 2
    return out[:mid] + list(include) + out[mid:]


def main():
    n, path, include = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    with open(path, "w") as f:
        f.write(f"# {n} prefixes, generated\n")
        for p in generate(n, include):
            f.write(p + "\n")


if __name__ == "__main__":
    main()
