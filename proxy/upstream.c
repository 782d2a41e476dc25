/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The upstream side: a socket of the destination's family, bound according
 * to upstream-source, non-blocking connect() to the original destination,
 * completion through EV_WRITE + SO_ERROR, and the connect timeout.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "proxy/internal.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static socklen_t sa_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static int set_transparent(int fd, int family)
{
	int one = 1;

	if (family == AF_INET)
		return setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one));
	return setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one));
}

/*
 * Socket options and bind() for upstream-source. Returns 0 or -1 (errno set).
 * client:    IP_TRANSPARENT + SO_REUSEADDR, bind(client ip:port)
 * client-ip: IP_TRANSPARENT + IP_BIND_ADDRESS_NO_PORT, bind(client ip:0);
 *            the port is chosen at connect() time against the full 4-tuple
 * gateway:   no bind; the routing table picks the source
 */
static int upstream_bind(int fd, enum proxy_upstream_source src, const struct sockaddr_storage *client)
{
	struct sockaddr_storage ss = *client;
	int one = 1;

	switch (src) {
	case PROXY_SRC_GATEWAY:
		return 0;
	case PROXY_SRC_CLIENT:
		if (set_transparent(fd, ss.ss_family) < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
			return -1;
		break;
	case PROXY_SRC_CLIENT_IP:
		if (set_transparent(fd, ss.ss_family) < 0 ||
		    setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) < 0)
			return -1;
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = 0;
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = 0;
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	return bind(fd, (struct sockaddr *)&ss, sa_len(&ss));
}

static void upstream_failed(struct conn *c, int err)
{
	struct worker *w = c->w;
	enum proxy_close_reason r = CLOSE_UPSTREAM_REFUSED;

	switch (err) {
	case ECONNREFUSED:
		STAT_INC(w, connect_refused);
		break;
	case ECONNRESET:
		/* handshake done, then reset before we saw it complete */
		STAT_INC(w, connect_other);
		r = CLOSE_UPSTREAM_RESET;
		break;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
	case ENONET:
		STAT_INC(w, connect_unreachable);
		break;
	case ETIMEDOUT:
		STAT_INC(w, connect_timeout);
		r = CLOSE_CONNECT_TIMEOUT;
		break;
	default: /* EADDRNOTAVAIL (4-tuple in use), EPERM (filtered), ... */
		STAT_INC(w, connect_other);
		break;
	}
	/* The client sees what a refused connection looks like: an RST, now. */
	conn_close(c, r, true, false);
}

static void upstream_connected(struct conn *c)
{
	socklen_t len = sizeof(c->upstream_src);

	/* upstream-source client: bound to exactly the client's address and port. */
	if (c->w->p->s.upstream_source == PROXY_SRC_CLIENT)
		c->upstream_src = c->client;
	else if (getsockname(c->up.fd, (struct sockaddr *)&c->upstream_src, &len) < 0)
		memset(&c->upstream_src, 0, sizeof(c->upstream_src));
	STAT_INC(c->w, upstream_connected);
	conn_emit(c, true, CLOSE_EOF);
	relay_begin(c);
}

int upstream_connect(struct conn *c)
{
	struct worker *w = c->w;
	const struct proxy_settings *s = &w->p->s;
	int family = c->dst.ss_family;
	int fd, one = 1;

	if (s->upstream_source != PROXY_SRC_GATEWAY && c->client.ss_family != family) {
		STAT_INC(w, upstream_errors);
		conn_close(c, CLOSE_ERROR, true, false);
		return -1;
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0) {
		STAT_INC(w, upstream_errors);
		if (errno == EMFILE || errno == ENFILE) {
			STAT_INC(w, emfile);
			worker_accept_backoff(w);
		}
		conn_close(c, CLOSE_ERROR, true, false);
		return -1;
	}
	c->up.fd = fd;
	ev_io_set(&c->up.io, fd, 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (upstream_bind(fd, s->upstream_source, &c->client) < 0) {
		STAT_INC(w, upstream_errors);
		conn_close(c, CLOSE_ERROR, true, false);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&c->dst, sa_len(&c->dst)) == 0) {
		upstream_connected(c);
		return 0;
	}
	if (errno != EINPROGRESS) {
		upstream_failed(c, errno);
		return -1;
	}
	conn_set_interest(c, &c->up, EV_WRITE);
	if (s->connect_timeout_ms > 0) {
		c->timer.repeat = s->connect_timeout_ms / 1000.;
		ev_timer_again(w->loop, &c->timer);
	}
	return 0;
}

/* The upstream socket while connecting: writable means the handshake ended. */
void upstream_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = container_of(io, struct conn, up.io);
	socklen_t len = sizeof(int);
	int err = 0;

	(void)loop;
	(void)revents;
	if (getsockopt(c->up.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return;
	ev_timer_stop(c->w->loop, &c->timer);
	if (err) {
		upstream_failed(c, err);
		return;
	}
	upstream_connected(c);
}

void conn_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn *c = container_of(t, struct conn, timer);

	(void)loop;
	(void)revents;
	if (c->state == CONN_CONNECTING) {
		STAT_INC(c->w, connect_timeout);
		conn_close(c, CLOSE_CONNECT_TIMEOUT, true, false);
		return;
	}
	relay_idle_check(c);
}
