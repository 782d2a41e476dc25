#!/usr/bin/env python3
"""Open COUNT HTTP/1.0 connections in a row to HOST:PORT, every one from the
same source port (SO_REUSEADDR), so each new SYN meets the TIME_WAIT socket
the previous connection left where the server side closed first. Reports
failures and the slowest connect+request+response (waits for the client's own
previous socket included, and counted). Exit 1 on any failure."""
import errno
import socket
import sys
import time

host, port, count, sport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
failures, worst, total, busy = 0, 0.0, 0.0, 0


def connected():
    """A socket connected from sport. EADDRNOTAVAIL: this client's own previous
    socket still holds the 4-tuple (LAST_ACK until the gateway's ACK of its FIN
    arrives: milliseconds, longer on an emulated CPU); no SYN left, so wait for
    it (up to 1 s, counted, and inside the connection's measured time)."""
    global busy
    for _ in range(100):
        s = socket.socket(family, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", sport))
            s.settimeout(3)
            s.connect((host, port))
            return s
        except OSError as e:
            s.close()
            if e.errno != errno.EADDRNOTAVAIL:
                raise
            busy += 1
            time.sleep(0.01)
    raise OSError(errno.EADDRNOTAVAIL, "the client's own socket held the 4-tuple for 1 s")


for i in range(count):
    t0 = time.monotonic()
    try:
        with connected() as s:
            s.sendall(b"GET / HTTP/1.0\r\nHost: lab\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
            if b"200 OK" not in data:
                failures += 1
    except OSError as e:
        failures += 1
        print(f"connection {i}: {e}", file=sys.stderr)
    dt = time.monotonic() - t0
    total += dt
    worst = max(worst, dt)
print(f"connections={count} failures={failures} max_ms={worst * 1000:.1f} avg_ms={total / count * 1000:.2f} "
      f"own_tuple_waits={busy}")
sys.exit(1 if failures else 0)
