#!/usr/bin/env python3
"""UDP sessions against udp_echo.py: SESSIONS sockets, each with its own
ephemeral port and connected to HOST:PORT (so only datagrams from exactly
HOST:PORT are received), send one datagram of SIZE bytes each and check that
each gets its own payload back, with the peer the server saw.

usage: udp_client.py HOST PORT [--sessions N] [--size BYTES] [--peer port|ip|any|IP]
                     [--timeout S] [--rounds N]
--peer port: the server saw this socket's IP and port; ip: its IP; IP: that address.
Prints one line: sessions=N ok=N wrong=N missing=N peer=IP:PORT(first) secs=S
Exit 0 when every session got a correct reply.
"""
import argparse
import os
import resource
import selectors
import socket
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("host")
ap.add_argument("port", type=int)
ap.add_argument("--sessions", type=int, default=1)
ap.add_argument("--size", type=int, default=32)
ap.add_argument("--peer", default="any")
ap.add_argument("--timeout", type=float, default=3.0)
ap.add_argument("--rounds", type=int, default=2, help="sends per session while it has no reply")
a = ap.parse_args()

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
family = socket.AF_INET6 if ":" in a.host else socket.AF_INET
sel = selectors.DefaultSelector()
socks = {}
for i in range(a.sessions):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.connect((a.host, a.port))
    s.setblocking(False)
    if a.size >= 8:
        payload = i.to_bytes(4, "big") + os.urandom(a.size - 4)
    else:
        payload = os.urandom(a.size)
    socks[s] = payload
    sel.register(s, selectors.EVENT_READ)


def fmt(addr):
    return f"[{addr[0]}]:{addr[1]}" if family == socket.AF_INET6 else f"{addr[0]}:{addr[1]}"


def want_peer(s):
    local = s.getsockname()
    if a.peer == "port":
        return fmt(local)
    if a.peer == "ip":
        return fmt(local).rsplit(":", 1)[0]
    if a.peer == "any":
        return None
    return f"[{a.peer}]" if ":" in a.peer else a.peer


ok, wrong, first_peer = set(), set(), None
t0 = time.monotonic()
for rnd in range(a.rounds):
    for s, payload in socks.items():
        if s not in ok and s not in wrong:
            try:
                s.send(payload)
            except OSError as e:
                print(f"send: {e}", file=sys.stderr)
    deadline = time.monotonic() + a.timeout / a.rounds
    while len(ok) + len(wrong) < len(socks) and time.monotonic() < deadline:
        for key, _ in sel.select(max(0.0, deadline - time.monotonic())):
            s = key.fileobj
            try:
                data = s.recv(65535)
            except OSError:
                continue
            if s in ok or s in wrong:
                continue
            head, _, body = data.partition(b"\n")
            peer = head.decode(errors="replace").removeprefix("peer=")
            first_peer = first_peer or peer
            want = want_peer(s)
            got = peer if a.peer in ("port", "any") else peer.rsplit(":", 1)[0]
            if body == socks[s] and (want is None or got == want):
                ok.add(s)
            else:
                if len(wrong) < 3:
                    print(f"wrong reply: peer={peer} want={want} len={len(body)}/{len(socks[s])}",
                          file=sys.stderr)
                wrong.add(s)
    if len(ok) + len(wrong) == len(socks):
        break
missing = len(socks) - len(ok) - len(wrong)
print(f"sessions={len(socks)} ok={len(ok)} wrong={len(wrong)} missing={missing} "
      f"peer={first_peer} secs={time.monotonic() - t0:.2f}")
sys.exit(0 if len(ok) == len(socks) else 1)
