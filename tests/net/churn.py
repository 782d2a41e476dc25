#!/usr/bin/env python3
"""Open COUNT short HTTP connections in a row to HOST:PORT; report failures
and the slowest connect+request+response. Exit 1 on any failure."""
import socket
import sys
import time

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
failures, worst, total = 0, 0.0, 0.0
for i in range(count):
    t0 = time.monotonic()
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(3)
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
