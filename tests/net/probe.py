#!/usr/bin/env python3
"""For each flow line ("tcp SRC SPORT DST DPORT"), open a TCP connection from
SRC:SPORT and print "steered" when the handshake completes (the proxy
accepted it: nothing listens on the server's side), "forwarded" when the
server refused it, or "error: ...". A reset during connect() also means the
proxy completed the handshake (it resets the client when the upstream
refuses); a server refusal is a reset of the SYN: ECONNREFUSED."""
import socket
import sys

for line in open(sys.argv[1]):
    _, src, sport, dst, dport = line.split()
    family = socket.AF_INET6 if ":" in src else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # The sources are AnyIP ranges (a local route, no address on an interface).
    s.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND: also covers IPv6 sockets
    s.settimeout(3)
    try:
        s.bind((src, int(sport)))
        s.connect((dst, int(dport)))
        print("steered")
    except ConnectionResetError:
        print("steered")
    except ConnectionRefusedError:
        print("forwarded")
    except OSError as e:
        print(f"error: {e}")
    finally:
        s.close()
