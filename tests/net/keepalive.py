#!/usr/bin/env python3
"""One HTTP/1.1 keep-alive connection used twice: a request now, and another
on the same connection once GO_FILE exists (the test starts steer between
the two). Prints 'first=ok|fail second=ok|fail'; exit 0 only when both
answered.

usage: keepalive.py HOST PORT GO_FILE [TIMEOUT_S]
"""
import os
import socket
import sys
import time


def request(sock, host):
    sock.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nConnection: keep-alive\r\n\r\n" % host).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return False
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            return False
        body += chunk
    return head.startswith(b"HTTP/1.1 200")


def main():
    host, port, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 30
    sock = socket.create_connection((host, port), timeout=5)
    first = request(sock, host)
    deadline = time.monotonic() + timeout
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        second = request(sock, host)
    except OSError:
        second = False
    print("first=%s second=%s" % ("ok" if first else "fail", "ok" if second else "fail"))
    sys.exit(0 if first and second else 1)


if __name__ == "__main__":
    main()
