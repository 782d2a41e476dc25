#!/usr/bin/env python3
"""UDP echo server for the network tests: every datagram is answered, from the
address it was sent to, with b"peer=IP:PORT\\n" (IPv6 as [IP]:PORT, the
sender as this server saw it) followed by the payload unchanged.

usage: udp_echo.py PORT ADDR...   (one socket per address, IPv4 or IPv6)
"""
import selectors
import socket
import sys

port = int(sys.argv[1])
sel = selectors.DefaultSelector()
for addr in sys.argv[2:]:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.bind((addr, port))
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)

while True:
    for key, _ in sel.select():
        s = key.fileobj
        while True:
            try:
                data, peer = s.recvfrom(65535)
            except BlockingIOError:
                break
            host = f"[{peer[0]}]" if s.family == socket.AF_INET6 else peer[0]
            try:
                s.sendto(b"peer=%s:%d\n" % (host.encode(), peer[1]) + data, peer)
            except OSError:
                pass
