/* SPDX-License-Identifier: GPL-2.0-only */
/* Transparent SO_REUSEPORT listeners and the accept path. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proxy/internal.h"
#include "proxy/sock.h"

/* A large receive buffer for a UDP listener: beyond rmem_max when we may. */
static void set_rcvbuf(int fd, int size)
{
	if (setopt_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, size) < 0)
		setopt_int(fd, SOL_SOCKET, SO_RCVBUF, size);
}

/*
 * One listener: IPv4 0.0.0.0:port or IPv6 [::]:port (v6only), transparent
 * (accepts connections to non-local addresses steered by TPROXY or
 * bpf_sk_assign), SO_REUSEPORT so each worker has its own accept queue.
 * UDP (proto IPPROTO_UDP): no SO_REUSEADDR, IP(V6)_RECVORIGDSTADDR so each
 * datagram carries its original destination, a large receive buffer.
 * On failure prints the reason and returns -1 with errno preserved.
 */
int listener_open(struct listener *l, int family, int proto, uint16_t port)
{
	const char *what;
	struct sockaddr_storage ss;
	socklen_t len;
	bool udp = proto == IPPROTO_UDP;
	int fd, err;

	l->fd = -1;
	l->family = family;
	fd = socket(family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0) {
		what = "socket";
		goto fail_nofd;
	}
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		len = sizeof(*sin);
		what = "IP_TRANSPARENT";
		if (setopt_int(fd, SOL_IP, IP_TRANSPARENT, 1) < 0)
			goto fail;
		what = "IP_RECVORIGDSTADDR";
		if (udp && setopt_int(fd, SOL_IP, IP_RECVORIGDSTADDR, 1) < 0)
			goto fail;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = in6addr_any;
		len = sizeof(*sin6);
		what = "IPV6_V6ONLY";
		if (setopt_int(fd, SOL_IPV6, IPV6_V6ONLY, 1) < 0)
			goto fail;
		what = "IPV6_TRANSPARENT";
		if (setopt_int(fd, SOL_IPV6, IPV6_TRANSPARENT, 1) < 0)
			goto fail;
		what = "IPV6_RECVORIGDSTADDR";
		if (udp && setopt_int(fd, SOL_IPV6, IPV6_RECVORIGDSTADDR, 1) < 0)
			goto fail;
	}
	what = "SO_REUSEADDR";
	if (!udp && setopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0)
		goto fail;
	/* Accepted sockets inherit it: no setsockopt per connection. */
	what = "TCP_NODELAY";
	if (!udp && setopt_int(fd, IPPROTO_TCP, TCP_NODELAY, 1) < 0)
		goto fail;
	what = "SO_REUSEPORT";
	if (setopt_int(fd, SOL_SOCKET, SO_REUSEPORT, 1) < 0)
		goto fail;
	what = "bind";
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto fail;
	what = "listen";
	if (!udp && listen(fd, PROXY_BACKLOG) < 0)
		goto fail;
	if (udp)
		set_rcvbuf(fd, UDP_RCVBUF);
	l->fd = fd;
	return 0;
fail:
	err = errno;
	close(fd);
	errno = err;
fail_nofd:
	err = errno;
	if (!(family == AF_INET6 && err == EAFNOSUPPORT))
		fprintf(stderr, "proxy: %s %s listener on port %u: %s: %s\n",
			family == AF_INET ? "IPv4" : "IPv6", udp ? "UDP" : "TCP", port, what,
			strerror(err));
	errno = err;
	return -1;
}

void listener_close(struct worker *w, struct listener *l)
{
	if (w->loop)
		ev_io_stop(w->loop, &l->io);
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

/* Up to ACCEPT_BATCH connections. True when the batch ran out: more may wait. */
static bool accept_batch(struct listener *l)
{
	struct worker *w = l->w;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage client, dst;
		socklen_t clen = sizeof(client), dlen = sizeof(dst);
		int fd;

		if (w->max_conns && w->nconns >= w->max_conns) {
			worker_accept_pause(w);
			return false;
		}
		fd = accept4(l->fd, (struct sockaddr *)&client, &clen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			switch (errno) {
			case EAGAIN:
				return false;
			case EINTR:
				continue;
			case EMFILE:
			case ENFILE:
				STAT_INC(w, emfile);
				worker_accept_backoff(w);
				return false;
			case ENOBUFS:
			case ENOMEM:
				STAT_INC(w, accept_errors);
				worker_accept_backoff(w);
				return false;
			default:
				/* ECONNABORTED, EPERM (netfilter), EPROTO...: per-connection. */
				STAT_INC(w, accept_errors);
				continue;
			}
		}
		/* The original destination is the local address of the accepted socket. */
		if (getsockname(fd, (struct sockaddr *)&dst, &dlen) < 0 || clen > sizeof(client) ||
		    (client.ss_family != AF_INET && client.ss_family != AF_INET6)) {
			STAT_INC(w, accept_errors);
			set_rst_on_close(fd);
			STAT_INC(w, resets_sent);
			close(fd);
			continue;
		}
		unmap_v4(&client);
		unmap_v4(&dst);
		conn_new(w, fd, &client, &dst);
	}
	return true;
}

void listener_accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	accept_batch(container_of(io, struct listener, io));
}

/* Everything the accept queue holds (the proxy drains): bounded by the backlog. */
void listener_accept_all(struct listener *l)
{
	for (int i = 0; i <= PROXY_BACKLOG / ACCEPT_BATCH && l->fd >= 0; i++)
		if (!accept_batch(l))
			return;
}
