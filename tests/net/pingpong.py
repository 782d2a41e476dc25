#!/usr/bin/python3
"""Request and response on one connection, back to back, never pausing (as
HTTP keep-alive under load): every ACK rides on the next request or response.

usage: pingpong.py serve PORT
       pingpong.py client HOST PORT SECONDS [DEPTH]

Each request is a 4-byte length N (64..2047) and N random bytes; the response
is a 4-byte length M and M bytes made from the request's SHA-256, so the client
checks every byte of it. The client sends requests for SECONDS, DEPTH of them
outstanding at most (1: one at a time; more: pipelined, as an HTTP/1.1 client
may, so that there is always a request or a response on the way), then closes,
and prints one JSON line: exchanges, bytes each way, mismatches, its local
address. Exit 1 on any mismatch or error."""
import hashlib
import json
import os
import queue
import socket
import struct
import sys
import threading
import time

from tcp_serve import recv_exact, serve


def response(req):
    digest = hashlib.sha256(req).digest()
    m = 100 + (len(req) * 7) % 4000
    return (digest * (m // len(digest) + 1))[:m]


def serve_one(conn):
    try:
        while True:
            hdr = conn.recv(4, socket.MSG_WAITALL)
            if len(hdr) < 4:
                return
            req = recv_exact(conn, struct.unpack("!I", hdr)[0])
            resp = response(req)
            conn.sendall(struct.pack("!I", len(resp)) + resp)
    except (OSError, EOFError):
        pass
    finally:
        conn.close()


def client(host, port, seconds, depth):
    res = {"ok": False, "exchanges": 0, "up": 0, "down": 0, "mismatches": 0, "depth": depth}
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    outstanding = queue.Queue()
    slots = threading.Semaphore(depth)

    def send(s):
        end = time.monotonic() + seconds
        try:
            while time.monotonic() < end:
                n = 64 + int.from_bytes(os.urandom(2), "big") % 1984
                req = os.urandom(n)
                if not slots.acquire(timeout=10):
                    res["error"] = "send: no response for 10 s"
                    break
                outstanding.put(req)
                s.sendall(struct.pack("!I", n) + req)
                res["up"] += 4 + n
        except OSError as e:
            res["error"] = f"send: {e}"
        outstanding.put(None)

    try:
        with socket.socket(fam, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.connect((host, port))
            name = s.getsockname()
            res["local"] = f"[{name[0]}]:{name[1]}" if fam == socket.AF_INET6 else f"{name[0]}:{name[1]}"
            # a daemon: if the reader fails, the sender must not keep the process alive
            t = threading.Thread(target=send, args=(s,), daemon=True)
            t.start()
            while (req := outstanding.get()) is not None:
                m = struct.unpack("!I", recv_exact(s, 4))[0]
                if recv_exact(s, m) != response(req):
                    res["mismatches"] += 1
                res["exchanges"] += 1
                res["down"] += 4 + m
                slots.release()
            t.join(timeout=10)
        res["ok"] = res["mismatches"] == 0 and res["exchanges"] > 0 and "error" not in res
    except (OSError, EOFError) as e:
        res["error"] = str(e)
    print(json.dumps(res))
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]), serve_one)
    elif len(sys.argv) in (5, 6) and sys.argv[1] == "client":
        sys.exit(client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]),
                        int(sys.argv[5]) if len(sys.argv) == 6 else 1))
    else:
        sys.exit(__doc__)
