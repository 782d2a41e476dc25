#!/usr/bin/env python3
"""Bulk uploads for test_icmp.sh and test_drain.sh.

upload.py serve PORT ADDR...   on each ADDR:PORT, read each connection to EOF,
                               answer "bytes=N sha256=HEX\n" and close.
upload.py send HOST PORT BYTES [--timeout S] [--seconds S] [--ready FILE]
                               send BYTES pseudo-random bytes, half-close, read
                               the answer; print "ok bytes=N secs=S" when the
                               server counted and hashed exactly what was sent
                               (exit 0), else "fail ..." (exit 1). --seconds:
                               spread the sending over S seconds (a transfer
                               in flight for that long; --timeout must cover
                               it); --ready: FILE is created once connected.
"""
import hashlib
import os
import socket
import sys
import threading
import time


def serve(port, addrs):
    def handle(c):
        h, n = hashlib.sha256(), 0
        with c:
            try:
                while chunk := c.recv(1 << 16):
                    h.update(chunk)
                    n += len(chunk)
                c.sendall(f"bytes={n} sha256={h.hexdigest()}\n".encode())
            except OSError:
                pass  # a cut transfer: the sender reports it

    def loop(ls):
        while True:
            c, _ = ls.accept()
            threading.Thread(target=handle, args=(c,), daemon=True).start()

    threads = []
    for a in addrs:
        fam = socket.AF_INET6 if ":" in a else socket.AF_INET
        ls = socket.socket(fam, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((a, port))
        ls.listen(64)
        t = threading.Thread(target=loop, args=(ls,), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


def paced(s, data, seconds):
    """sendall, spread evenly over `seconds` in 100 chunks."""
    step = max(1, len(data) // 100)
    t0 = time.monotonic()
    for i, off in enumerate(range(0, len(data), step)):
        s.sendall(data[off:off + step])
        wait = t0 + seconds * (i + 1) / 100 - time.monotonic()
        if wait > 0:
            time.sleep(wait)


def send(host, port, size, timeout, seconds=0.0, ready=None):
    data = os.urandom(size)
    want = f"bytes={size} sha256={hashlib.sha256(data).hexdigest()}"
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    t0 = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(max(0.1, timeout - (time.monotonic() - t0)))
            if ready:
                open(ready, "w").close()
            if seconds > 0:
                paced(s, data, seconds)
            else:
                s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while chunk := s.recv(4096):
                got += chunk
    except OSError as e:
        print(f"fail error={e!r} secs={time.monotonic() - t0:.2f}")
        return 1
    got = got.decode(errors="replace").strip()
    secs = time.monotonic() - t0
    if got != want:
        print(f"fail got={got!r} secs={secs:.2f}")
        return 1
    print(f"ok bytes={size} secs={secs:.2f}")
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]), sys.argv[3:])
    else:
        opts = dict(zip(sys.argv[5::2], sys.argv[6::2]))
        sys.exit(send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(opts.get("--timeout", 10.0)),
                      float(opts.get("--seconds", 0.0)), opts.get("--ready")))
