/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The upstream connect of a TCP connection. It says how the connect went;
 * the connection (conn.c) arms the watcher and the timer and closes.
 */
#ifndef STEER_PROXY_UPSTREAM_H
#define STEER_PROXY_UPSTREAM_H

#include <sys/socket.h>

#include "proxy/proxy.h"

enum upstream_status {
	UP_CONNECTED, /* the handshake is done */
	UP_PENDING,   /* in progress: wait for the socket to be writable */
	UP_FAILED,    /* the connect failed: *err */
	UP_LOCAL,     /* socket/setsockopt/bind failed here: *err */
};

/*
 * A socket bound per upstream-source, connecting to dst. *fd is the socket
 * whenever one was made, whatever the status (the caller closes it).
 */
enum upstream_status upstream_connect(enum proxy_upstream_source src,
				      const struct sockaddr_storage *client,
				      const struct sockaddr_storage *dst, int *fd, int *err);
/* The socket became writable: the outcome of the handshake (UP_PENDING if not over yet). */
enum upstream_status upstream_finish(int fd, int *err);
/* Count the cause of a failed connect; the close reason it gives. */
enum proxy_close_reason upstream_failure(struct proxy_stats *st, int err);
/* The connected socket's source address, as the open event reports it. */
void upstream_local_addr(int fd, enum proxy_upstream_source src,
			 const struct sockaddr_storage *client, struct sockaddr_storage *out);

#endif
