/* SPDX-License-Identifier: GPL-2.0-only */
/* The transparent proxy: worker threads with libev loops, TCP relay. */
#ifndef STEER_PROXY_H
#define STEER_PROXY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../steer/config.h"

struct proxy;
struct proxy_conn_event;

struct proxy_settings {
	uint16_t port; /* transparent listeners on [::]:port (v6only) and 0.0.0.0:port */
	enum upstream_source upstream_source;
	int workers;               /* >= 1 */
	int connect_timeout_ms;    /* upstream connect */
	int idle_timeout_ms;       /* no bytes either way */
	int max_conns;             /* bound on concurrent connections, all workers */
	/*
	 * Called from worker threads for every connection that opens and
	 * closes (may be NULL). Must not block.
	 */
	void (*on_event)(void *ctx, const struct proxy_conn_event *ev);
	void *ctx;
};

enum proxy_close_reason {
	CLOSE_EOF,              /* both sides finished */
	CLOSE_CLIENT_RESET,
	CLOSE_UPSTREAM_RESET,
	CLOSE_UPSTREAM_REFUSED, /* connect failed: client reset */
	CLOSE_CONNECT_TIMEOUT,
	CLOSE_IDLE_TIMEOUT,
	CLOSE_ERROR,
	CLOSE_SHUTDOWN,         /* proxy stopping */
	CLOSE_REASON_MAX,
};

struct proxy_conn_event {
	bool open; /* false: close */
	uint64_t flow;  /* unique per proxy run */
	uint8_t proto;  /* IPPROTO_TCP */
	struct sockaddr_storage client, dst, upstream_src;
	uint64_t bytes_up, bytes_down; /* close only */
	uint64_t accept_ns, close_ns;  /* CLOCK_MONOTONIC */
	enum proxy_close_reason reason;
};

struct proxy_stats {
	uint64_t accepted, open, upstream_connected;
	uint64_t bytes_up, bytes_down;
	uint64_t closed[CLOSE_REASON_MAX];
	uint64_t accept_errors, emfile, conn_limit_hits;
};

/*
 * Create the listeners (IP_TRANSPARENT, SO_REUSEPORT, one per worker and
 * family) without starting threads, so their fds can go into the socket map
 * first. Returns NULL with a one-line reason on stderr.
 */
struct proxy *proxy_create(const struct proxy_settings *s);

/* A listener of worker 0: family AF_INET/AF_INET6, proto IPPROTO_TCP. -1 if none. */
int proxy_listener_fd(struct proxy *p, int family, int proto);

int proxy_start(struct proxy *p);
/* Stop the workers (closing every connection), join, free. Safe with NULL. */
void proxy_destroy(struct proxy *p);

void proxy_get_stats(struct proxy *p, struct proxy_stats *out);
const char *proxy_close_reason_name(enum proxy_close_reason r);

#endif
