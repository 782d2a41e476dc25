/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The upstream side: a socket of the destination's family, bound according
 * to upstream-source, non-blocking connect() to the original destination,
 * completion through writability + SO_ERROR.
 */
#include "proxy/upstream.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "proxy/sock.h"
#include "proxy/stat_add.h"

enum proxy_close_reason upstream_failure(struct proxy_stats *st, int err)
{
	switch (err) {
	case ECONNREFUSED:
		STATS_INC(st, connect_refused);
		return CLOSE_UPSTREAM_REFUSED;
	case ECONNRESET:
		/* handshake done, then reset before we saw it complete */
		STATS_INC(st, connect_other);
		return CLOSE_UPSTREAM_RESET;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
	case ENONET:
		STATS_INC(st, connect_unreachable);
		return CLOSE_UPSTREAM_REFUSED;
	case ETIMEDOUT:
		STATS_INC(st, connect_timeout);
		return CLOSE_CONNECT_TIMEOUT;
	default: /* EADDRNOTAVAIL (4-tuple in use), EPERM (filtered), ... */
		STATS_INC(st, connect_other);
		return CLOSE_UPSTREAM_REFUSED;
	}
}

void upstream_local_addr(int fd, enum proxy_upstream_source src,
			 const struct sockaddr_storage *client, struct sockaddr_storage *out)
{
	socklen_t len = sizeof(*out);

	/* upstream-source client: bound to exactly the client's address and port. */
	if (src == PROXY_SRC_CLIENT)
		*out = *client;
	else if (getsockname(fd, (struct sockaddr *)out, &len) < 0)
		memset(out, 0, sizeof(*out));
}

enum upstream_status upstream_connect(enum proxy_upstream_source src,
				      const struct sockaddr_storage *client,
				      const struct sockaddr_storage *dst, int *fd, int *err)
{
	*fd = -1;
	if (!upstream_source_fits(src, client, dst)) {
		*err = EAFNOSUPPORT;
		return UP_LOCAL;
	}
	*fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (*fd < 0) {
		*err = errno;
		return UP_LOCAL;
	}
	setopt_int(*fd, IPPROTO_TCP, TCP_NODELAY, 1);
	if (upstream_bind(*fd, SOCK_STREAM, src, client) < 0) {
		*err = errno;
		return UP_LOCAL;
	}
	if (connect(*fd, (const struct sockaddr *)dst, sa_len(dst)) == 0)
		return UP_CONNECTED;
	*err = errno;
	return *err == EINPROGRESS ? UP_PENDING : UP_FAILED;
}

enum upstream_status upstream_finish(int fd, int *err)
{
	socklen_t len = sizeof(int);

	*err = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &len) < 0)
		*err = errno;
	if (*err == EINPROGRESS || *err == EALREADY)
		return UP_PENDING;
	return *err ? UP_FAILED : UP_CONNECTED;
}
