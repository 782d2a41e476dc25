#!/usr/bin/env python3
"""Community ID v1 (github.com/corelight/community-id-spec), written from the
spec alone with hashlib and struct: the network tests check the daemon's
community_id against it, so the two implementations share no code.

  community_id.py PROTO CLIENT DST [SEED]   one ID (PROTO tcp|udp, IP:PORT or [IP]:PORT)
  community_id.py --check AUDIT.jsonl...    every open, close and drop record's
                                            community_id against its client and dst:
                                            prints "records=N tcp4=N tcp6=N udp4=N udp6=N
                                            mismatches=N" and one line per mismatch
"""
import base64
import hashlib
import ipaddress
import json
import struct
import sys

PROTOS = {"tcp": 6, "udp": 17}


def endpoint(text):
    """'IP:PORT' or '[IP]:PORT' -> (ip_address, port)."""
    host, _, port = text.rpartition(":")
    return ipaddress.ip_address(host.strip("[]")), int(port)


def packed(addr):
    # An IPv4-mapped IPv6 address is the IPv4 host it maps: hashed as 4 bytes.
    if addr.version == 6 and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.packed


def community_id(proto, saddr, sport, daddr, dport, seed=0):
    src, dst = packed(saddr), packed(daddr)
    if len(src) != len(dst):
        raise ValueError("endpoints of different families")
    # Direction-free: the lower (address, port) endpoint comes first.
    if (dst, dport) < (src, sport):
        src, dst, sport, dport = dst, src, dport, sport
    data = struct.pack("!H", seed) + src + dst + struct.pack("!BBHH", proto, 0, sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


def check(paths):
    counts = {"tcp4": 0, "tcp6": 0, "udp4": 0, "udp6": 0}
    records = mismatches = 0
    for path in paths:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                r = json.loads(line)
                if r.get("event") not in ("open", "close", "drop"):
                    continue
                records += 1
                (ca, cp), (da, dp) = endpoint(r["client"]), endpoint(r["dst"])
                want = community_id(PROTOS[r["proto"]], ca, cp, da, dp)
                counts["%s%d" % (r["proto"], 4 if len(packed(ca)) == 4 else 6)] += 1
                if r.get("community_id") != want:
                    mismatches += 1
                    print("%s:%d: community_id %r, want %r" % (path, n, r.get("community_id"), want))
    print("records=%d %s mismatches=%d" % (records, " ".join("%s=%d" % kv for kv in counts.items()), mismatches))
    return 0 if mismatches == 0 else 1


def main(argv):
    if len(argv) >= 2 and argv[1] == "--check":
        return check(argv[2:])
    if len(argv) not in (4, 5) or argv[1] not in PROTOS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    (ca, cp), (da, dp) = endpoint(argv[2]), endpoint(argv[3])
    print(community_id(PROTOS[argv[1]], ca, cp, da, dp, int(argv[4]) if len(argv) == 5 else 0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
