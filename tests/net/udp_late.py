#!/usr/bin/env python3
"""A UDP server that answers late, for test_drain.sh: a reply that comes while
steer drains must still reach the client through the proxy's session.

udp_late.py serve PORT DELAY ADDR...   answer each datagram after DELAY seconds,
                                       from the address it was sent to, with
                                       b"late " + the payload.
udp_late.py ask HOST PORT WAIT [--ready FILE]
                                       send one datagram, wait up to WAIT
                                       seconds for the answer; print "ok" (exit
                                       0) or "fail ..." (exit 1). --ready: FILE is
                                       created once the datagram is sent.
"""
import heapq
import os
import selectors
import socket
import sys
import time


def serve(port, delay, addrs):
    sel = selectors.DefaultSelector()
    for a in addrs:
        s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a, port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    due = []  # (when, seq, sock, peer, data)
    seq = 0
    while True:
        timeout = max(0.0, due[0][0] - time.monotonic()) if due else None
        for key, _ in sel.select(timeout):
            try:
                data, peer = key.fileobj.recvfrom(65535)
            except BlockingIOError:
                continue
            seq += 1
            heapq.heappush(due, (time.monotonic() + delay, seq, key.fileobj, peer, data))
        while due and due[0][0] <= time.monotonic():
            _, _, s, peer, data = heapq.heappop(due)
            try:
                s.sendto(b"late " + data, peer)
            except OSError:
                pass


def ask(host, port, wait, ready):
    payload = os.urandom(8).hex().encode()
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, port))
    s.settimeout(wait)
    t0 = time.monotonic()
    s.send(payload)
    if ready:
        open(ready, "w").close()
    try:
        got = s.recv(65535)
    except OSError as e:
        print(f"fail error={e!r} secs={time.monotonic() - t0:.2f}")
        return 1
    ok = got == b"late " + payload
    print(("ok" if ok else f"fail got={got!r}") + f" secs={time.monotonic() - t0:.2f}")
    return 0 if ok else 1


def main(cmd, *args):
    if cmd == "serve":
        return serve(int(args[0]), float(args[1]), args[2:])
    ready = args[4] if len(args) > 4 and args[3] == "--ready" else None
    return ask(args[0], int(args[1]), float(args[2]), ready)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
