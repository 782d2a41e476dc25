#!/usr/bin/env python3
"""Keep N TCP streams to an echo server moving data for SECONDS, checking
every byte that comes back. Prints one summary line; exit 1 on any error.

usage: streams.py HOST PORT N SECONDS [READY_FILE]
READY_FILE is created once every stream is connected."""
import os
import random
import selectors
import socket
import sys
import time

host, port, n, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
ready = sys.argv[5] if len(sys.argv) > 5 else None
family = socket.AF_INET6 if ":" in host else socket.AF_INET
rng = random.Random(7)
sel = selectors.DefaultSelector()
streams = []
for i in range(n):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect((host, port))
    s.setblocking(False)
    st = {"sock": s, "pending": bytearray(), "sent": 0, "echoed": 0, "error": None, "eof": False}
    streams.append(st)
    sel.register(s, selectors.EVENT_READ, st)
if ready:
    open(ready, "w").close()

def receive(st, eof_expected):
    """Read what a stream echoed and check it against what it sent."""
    try:
        data = st["sock"].recv(65536)
    except BlockingIOError:
        return
    except OSError as e:
        st["error"] = f"recv: {e}"
        sel.unregister(st["sock"])
        return
    if not data:
        if eof_expected:
            st["eof"] = True
        else:
            st["error"] = "unexpected EOF"
        sel.unregister(st["sock"])
        return
    if st["pending"][: len(data)] != data:
        st["error"] = f"corrupt data after {st['echoed']} bytes"
    del st["pending"][: len(data)]
    st["echoed"] += len(data)


deadline = time.monotonic() + seconds
next_send = 0.0
while time.monotonic() < deadline:
    now = time.monotonic()
    if now >= next_send:
        for st in streams:
            if st["error"]:
                continue
            chunk = rng.randbytes(rng.randint(1, 32768))
            try:
                sent = 0
                while sent < len(chunk):
                    try:
                        sent += st["sock"].send(chunk[sent:])
                    except BlockingIOError:
                        break
                st["pending"] += chunk[:sent]
                st["sent"] += sent
            except OSError as e:
                st["error"] = f"send: {e}"
        next_send = now + 0.02
    for key, _ in sel.select(timeout=0.01):
        receive(key.data, eof_expected=False)

# Drain: half-close, then everything sent must come back before EOF.
for st in streams:
    if not st["error"]:
        st["sock"].shutdown(socket.SHUT_WR)
drain_deadline = time.monotonic() + 10
while any(not st["error"] and not st["eof"] for st in streams) and time.monotonic() < drain_deadline:
    for key, _ in sel.select(timeout=0.1):
        receive(key.data, eof_expected=True)
errors = 0
for i, st in enumerate(streams):
    if not st["error"] and (st["pending"] or not st["eof"]):
        st["error"] = f"{len(st['pending'])} bytes never came back"
    if st["error"]:
        errors += 1
        print(f"stream {i}: {st['error']}", file=sys.stderr)
total = sum(st["echoed"] for st in streams)
print(f"streams={n} errors={errors} bytes={total}")
sys.exit(1 if errors else 0)
