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
	int connect_timeout_ms;    /* upstream connect; <= 0: the kernel's SYN retries only */
	int idle_timeout_ms;       /* no bytes either way; <= 0: none */
	/*
	 * Bound on concurrent connections, all workers (<= 0: none). Split
	 * evenly between workers, at least 1 each; a worker at its share
	 * stops accepting (the kernel keeps queueing in the backlog) until
	 * one of its connections closes.
	 */
	int max_conns;
	int udp_idle_timeout_ms; /* a UDP session with no datagram either way ends */
	int max_udp_sessions;    /* bound on UDP sessions, all workers (<= 0: none) */
	/*
	 * Called from worker threads (may be NULL). Must not block.
	 * Every accepted connection produces exactly one close event. An open
	 * event precedes it only when the upstream connect succeeded; a
	 * connection whose upstream connect failed gets a close event without
	 * an open, with upstream_src zeroed and bytes 0, and its client is
	 * reset. Reasons then: CLOSE_UPSTREAM_REFUSED (refused, unreachable,
	 * other connect errors), CLOSE_CONNECT_TIMEOUT, CLOSE_UPSTREAM_RESET
	 * (reset right after the handshake), CLOSE_ERROR (a local failure:
	 * fds, bind, loop guard). Flow ids are allocated at accept, so they are
	 * unique but not necessarily in open order.
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

/*
 * Counters since proxy_create, summed over workers. `open` is a gauge: the
 * connections accepted and not yet closed. Bytes are counted as they are
 * delivered to the destination socket.
 */
struct proxy_stats {
	uint64_t accepted, open, upstream_connected;
	uint64_t bytes_up, bytes_down;
	uint64_t closed[CLOSE_REASON_MAX];
	uint64_t accept_errors, emfile, conn_limit_hits;
	/* upstream connect failures, by cause (the client is reset for each) */
	uint64_t connect_refused;     /* ECONNREFUSED */
	uint64_t connect_unreachable; /* EHOSTUNREACH, ENETUNREACH, ... */
	uint64_t connect_timeout;     /* connect_timeout_ms or ETIMEDOUT */
	uint64_t connect_other;       /* any other errno */
	uint64_t upstream_errors;     /* socket/setsockopt/bind of the upstream socket failed */
	uint64_t loop_rejected;       /* original destination port == proxy port */
	uint64_t pipe_errors;         /* pipe2() failed (connection reset) */
	uint64_t splice_errors;       /* unexpected splice() errno (connection reset) */
	uint64_t resets_sent;         /* sockets closed with SO_LINGER {1,0} */
	uint64_t pipes_created, pipes_reused;
};

/*
 * Create the listeners (IP_TRANSPARENT, SO_REUSEPORT, one per worker and
 * family) without starting threads, so their fds can go into the socket map
 * first. Returns NULL with a one-line reason on stderr. If the kernel has no
 * IPv6 (EAFNOSUPPORT) the IPv6 listeners are skipped with a warning.
 * Sets SIGPIPE to SIG_IGN if it is SIG_DFL (splice() to a reset socket
 * raises it); worker threads block all signals.
 */
struct proxy *proxy_create(const struct proxy_settings *s);

/* A listener of worker 0: family AF_INET/AF_INET6, proto IPPROTO_TCP. -1 if none. */
int proxy_listener_fd(struct proxy *p, int family, int proto);

/* Start the worker threads (once). 0 or -1 with a reason on stderr. */
int proxy_start(struct proxy *p);
/*
 * Stop the workers, join, free. Every live connection is reset (RST both
 * ways) and gets a close event with CLOSE_SHUTDOWN. Safe with NULL.
 */
void proxy_destroy(struct proxy *p);

/* Callable from any thread while the proxy runs. */
void proxy_get_stats(struct proxy *p, struct proxy_stats *out);
const char *proxy_close_reason_name(enum proxy_close_reason r);

#endif
