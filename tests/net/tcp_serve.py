"""What the test servers share: a listener on PORT for IPv4 and IPv6, each
connection handed to its own thread; reading an exact length."""
import socket
import threading


def serve(port, handler):
    """Accept on 0.0.0.0 and :: (v6 only) forever; handler(conn) per connection."""
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
            threading.Thread(target=handler, args=(c,), daemon=True).start()

    threads = [threading.Thread(target=loop, args=(s,), daemon=True) for s in socks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def recv_exact(sock, n, chunk=1 << 20):
    """n bytes from sock; EOFError if it ends first."""
    buf = bytearray()
    while len(buf) < n:
        b = sock.recv(min(chunk, n - len(buf)))
        if not b:
            raise EOFError(f"EOF after {len(buf)} of {n} bytes")
        buf += b
    return bytes(buf)
