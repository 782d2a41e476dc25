#!/usr/bin/env python3
"""A service manager's notification socket: each datagram received on PATH is
appended to OUT as one line (its newlines as spaces). Creates READY once bound."""
import socket
import sys

path, out, ready = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
open(ready, "w").close()
with open(out, "a") as f:
    while True:
        msg = s.recv(65536).decode(errors="replace")
        f.write(msg.replace("\n", " ").strip() + "\n")
        f.flush()
