#!/usr/bin/env python3
"""Open COUNT short HTTP connections in a row to HOST:PORT; report failures
and the slowest connect+request+response. Exit 1 on any failure. With
SPORT_BASE, connection i comes from source port SPORT_BASE + i: fresh ports
below the ephemeral range, so no SYN meets an old flow's TIME_WAIT socket and
a test can count one SYN per connection."""
import socket
import sys
import time

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sport_base = int(sys.argv[4]) if len(sys.argv) > 4 else None
family = socket.AF_INET6 if ":" in host else socket.AF_INET
failures, worst, total = 0, 0.0, 0.0
for i in range(count):
    t0 = time.monotonic()
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(3)
            if sport_base is not None:
                s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", sport_base + i))
            s.connect((host, port))
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
print(f"connections={count} failures={failures} max_ms={worst * 1000:.1f} avg_ms={total / count * 1000:.2f}")
sys.exit(1 if failures else 0)
