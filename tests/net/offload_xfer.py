#!/usr/bin/python3
"""Byte-exact bulk transfer both ways at once, after a short exchange and a
pause in which a proxy can hand the connection over (offload).

usage: offload_xfer.py serve PORT
       offload_xfer.py client HOST PORT PRE SIZE PAUSE [TRICKLE_MS [RESET [DOWN]]]

The client sends "PRE SIZE RESET\\n" and PRE bytes, the server echoes them as
they come; with TRICKLE_MS the client sends them 256 bytes at a time, that many
ms apart, so that a handoff can fall while segments are in flight. The client
pauses PAUSE seconds (the connection is quiet), then both send SIZE random
bytes at once (the server from the client's first bulk byte on). The client shuts its side after sending; the server, at EOF,
sends the SHA-256 of what it received and of what it sent, and closes. The
client compares both with its own and prints one JSON line; exit 1 on any
mismatch or error.

RESET client|server: that side aborts (SO_LINGER 0, an RST) once it has sent
half of SIZE; the client then succeeds when the abort is what it saw.

DOWN: the server sends that many bytes instead of SIZE (0: a one-way stream,
whose receiver only acknowledges)."""
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time

from tcp_serve import recv_exact, serve

CHUNK = 1 << 20


def abort(sock):
    """Close with an RST."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def send_random(sock, size, out, stop_at=None):
    """Send size random bytes; out["sha"] is their SHA-256. With stop_at: abort there."""
    h = hashlib.sha256()
    left = size
    try:
        while left:
            n = min(CHUNK, left)
            if stop_at is not None:
                n = min(n, stop_at - (size - left))
                if n == 0:
                    abort(sock)
                    out["aborted"] = True
                    break
            block = os.urandom(n)
            h.update(block)
            sock.sendall(block)
            left -= len(block)
    except OSError as e:
        out["error"] = f"send: {e}"
    out["sha"] = h.hexdigest()


def recv_line(sock):
    buf = bytearray()
    while not buf.endswith(b"\n"):
        b = sock.recv(1)
        if not b:
            raise EOFError("EOF in the header")
        buf += b
    return buf.decode()


def serve_one(conn):
    try:
        f = recv_line(conn).split()
        pre, size, reset = int(f[0]), int(f[1]), f[2]
        down = int(f[3]) if len(f) > 3 else size
        echoed = 0
        while echoed < pre:
            b = conn.recv(pre - echoed)
            if not b:
                return
            conn.sendall(b)
            echoed += len(b)
        # Quiet until the client starts its bulk (the pause is the handoff's chance).
        h = hashlib.sha256()
        first = conn.recv(CHUNK)
        h.update(first)
        if reset == "server":
            # From this thread: closed while another thread sat in recv(), the socket
            # is released only when that returns, and not always with the RST.
            send_random(conn, size // 2, {})
            abort(conn)
            return
        sent = {}
        t = threading.Thread(target=send_random, args=(conn, down, sent))
        t.start()
        while first:
            b = conn.recv(CHUNK)
            if not b:
                break
            h.update(b)
        t.join()
        conn.sendall(f"{h.hexdigest()} {sent.get('sha', '')}\n".encode())
    except OSError:
        pass  # the client's abort
    finally:
        conn.close()


def trickle(sock, payload, gap):
    for i in range(0, len(payload), 256):
        sock.sendall(payload[i:i + 256])
        time.sleep(gap)


def client(host, port, pre, size, pause, trickle_ms=0.0, reset="none", down=None):
    down = size if down is None else down
    res = {"ok": False, "up": size, "down": 0, "reset": reset}
    start = time.monotonic()
    try:
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect((host, port))
        name = s.getsockname()
        res["local"] = f"[{name[0]}]:{name[1]}" if fam == socket.AF_INET6 else f"{name[0]}:{name[1]}"
        hdr = f"{pre} {size} {reset} {down}\n".encode()
        res["header"] = len(hdr)
        payload = os.urandom(pre)
        s.sendall(hdr)
        t = threading.Thread(target=trickle, args=(s, payload, trickle_ms / 1000.0))
        t.start()
        echo = recv_exact(s, pre)
        t.join()
        if echo != payload:
            raise ValueError("the echoed PRE bytes differ")
        time.sleep(pause)
        t0 = time.monotonic()
        sent = {}
        t = threading.Thread(target=send_random,
                             args=(s, size, sent, size // 2 if reset == "client" else None))
        t.start()
        h = hashlib.sha256()
        got = 0
        try:
            while got < down:
                b = s.recv(min(CHUNK, down - got))
                if not b:
                    raise EOFError(f"EOF after {got} of {down} bytes")
                h.update(b)
                got += len(b)
        except (OSError, EOFError) as e:
            if reset == "none":
                raise
            res["seen"] = str(e)
        t.join()
        res["down"] = got
        if reset == "client":
            res["ok"] = sent.get("aborted", False)
        elif reset == "server":
            # The server aborted after half its bytes: a reset, seen by whichever thread
            # met it first (the other then reads an end), and never all the bytes.
            res["send_error"] = sent.get("error", "")
            res["ok"] = got < down and ("reset" in res.get("seen", "").lower() or
                                        "reset" in res["send_error"].lower() or
                                        "broken pipe" in res["send_error"].lower())
        else:
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
        serve(int(sys.argv[2]), serve_one)
    else:
        a = sys.argv
        sys.exit(client(a[2], int(a[3]), int(a[4]), int(a[5]), float(a[6]),
                        float(a[7]) if len(a) > 7 else 0.0, a[8] if len(a) > 8 else "none",
                        int(a[9]) if len(a) > 9 else None))
