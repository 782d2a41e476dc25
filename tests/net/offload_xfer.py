#!/usr/bin/python3
"""Byte-exact bulk transfer both ways at once, after a short exchange and a
pause in which a proxy can hand the connection over (offload).

usage: offload_xfer.py serve PORT
       offload_xfer.py client HOST PORT PRE SIZE PAUSE

The client sends "PRE SIZE\\n" and PRE bytes, the server echoes the PRE bytes;
the client pauses PAUSE seconds (the connection is quiet), then both send SIZE
random bytes at once. The client shuts its side after sending; the server, at
EOF, sends the SHA-256 of what it received and of what it sent, and closes.
The client compares both with its own and prints one JSON line; exit 1 on any
mismatch or error."""
import hashlib
import json
import os
import socket
import sys
import threading
import time

CHUNK = 1 << 20


def send_random(sock, size, out):
    """Send size random bytes; out["sha"] is their SHA-256."""
    h = hashlib.sha256()
    left = size
    try:
        while left:
            block = os.urandom(min(CHUNK, left))
            h.update(block)
            sock.sendall(block)
            left -= len(block)
    except OSError as e:
        out["error"] = f"send: {e}"
    out["sha"] = h.hexdigest()


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        b = sock.recv(min(CHUNK, n - len(buf)))
        if not b:
            raise EOFError(f"EOF after {len(buf)} of {n} bytes")
        buf += b
    return bytes(buf)


def recv_line(sock):
    buf = bytearray()
    while not buf.endswith(b"\n"):
        b = sock.recv(1)
        if not b:
            raise EOFError("EOF in the header")
        buf += b
    return buf.decode()


def serve_one(conn):
    with conn:
        pre, size = (int(x) for x in recv_line(conn).split())
        conn.sendall(recv_exact(conn, pre))
        sent = {}
        t = threading.Thread(target=send_random, args=(conn, size, sent))
        t.start()
        h = hashlib.sha256()
        while True:
            b = conn.recv(CHUNK)
            if not b:
                break
            h.update(b)
        t.join()
        conn.sendall(f"{h.hexdigest()} {sent.get('sha', '')}\n".encode())


def serve(port):
    socks = []
    for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, port))
        s.listen(64)
        socks.append(s)

    def loop(s):
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve_one, args=(c,), daemon=True).start()

    threads = [threading.Thread(target=loop, args=(s,), daemon=True) for s in socks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def client(host, port, pre, size, pause):
    res = {"ok": False, "up": size, "down": 0}
    start = time.monotonic()
    try:
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect((host, port))
        name = s.getsockname()
        res["local"] = f"[{name[0]}]:{name[1]}" if fam == socket.AF_INET6 else f"{name[0]}:{name[1]}"
        hdr = f"{pre} {size}\n".encode()
        res["header"] = len(hdr)
        payload = os.urandom(pre)
        s.sendall(hdr + payload)
        if recv_exact(s, pre) != payload:
            raise ValueError("the echoed PRE bytes differ")
        time.sleep(pause)
        t0 = time.monotonic()
        sent = {}
        t = threading.Thread(target=send_random, args=(s, size, sent))
        t.start()
        h = hashlib.sha256()
        got = 0
        while got < size:
            b = s.recv(min(CHUNK, size - got))
            if not b:
                raise EOFError(f"EOF after {got} of {size} bytes")
            h.update(b)
            got += len(b)
        t.join()
        if "error" in sent:
            raise OSError(sent["error"])
        s.shutdown(socket.SHUT_WR)
        line = b""
        while True:
            b = s.recv(256)
            if not b:
                break
            line += b
        up_sha, down_sha = line.decode().split()
        res["down"] = got
        res["secs"] = round(time.monotonic() - t0, 3)
        res["up_ok"] = up_sha == sent["sha"]
        res["down_ok"] = down_sha == h.hexdigest()
        res["ok"] = res["up_ok"] and res["down_ok"]
        s.close()
    except (OSError, EOFError, ValueError) as e:
        res["error"] = str(e)
    res["total_secs"] = round(time.monotonic() - start, 3)
    print(json.dumps(res))
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        sys.exit(client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
                        float(sys.argv[6])))
