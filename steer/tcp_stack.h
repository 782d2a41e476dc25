/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The gateway's own TCP counters that tell how its listeners fare under a
 * SYN flood (the network namespace's /proc/net/netstat TcpExt), and the
 * proxy's listen backlog: shown by `steer status` and /metrics through the
 * same stat table as the proxy's and the audit's counters.
 */
#ifndef STEER_TCP_STACK_H
#define STEER_TCP_STACK_H

#include <stdint.h>

/*
 * X(field, type, metric, labels, help, line, text): as PROXY_STATS
 * (proxy/stats.h); the netstat name is the text's, CamelCased by the kernel
 * (tcp_stack_read() maps them, tcp_stack.c).
 */
#define TCP_STACK_STATS(X)                                                                                   \
	X(syncookies_sent, "counter", "steer_tcp_syncookies_total", "result=\"sent\"",                       \
	  "SYN cookies this namespace's listeners sent (a full SYN queue: a flood, or tcp_syncookies=2), "   \
	  "and the cookie ACKs they accepted (recv) or refused (failed).",                                   \
	  TCP, "cookies sent")                                                                               \
	X(syncookies_recv, "counter", "steer_tcp_syncookies_total", "result=\"recv\"", NULL, TCP, "recv")  \
	X(syncookies_failed, "counter", "steer_tcp_syncookies_total", "result=\"failed\"", NULL, TCP,       \
	  "failed")                                                                                          \
	X(listen_overflows, "counter", "steer_tcp_listen_overflows_total", NULL,                             \
	  "Connections a listener of this namespace dropped because its accept queue was full.", TCP,       \
	  "listen overflows")                                                                                \
	X(listen_drops, "counter", "steer_tcp_listen_drops_total", NULL,                                     \
	  "SYNs and handshake ACKs a listener of this namespace dropped, for any reason.", TCP,             \
	  "listen drops")                                                                                    \
	X(backlog, "gauge", "steer_proxy_listen_backlog", NULL,                                              \
	  "The proxy's listen backlog: what it asks, capped by net.core.somaxconn.", TCP, "proxy backlog")

struct tcp_stack_stats {
#define TCP_STACK_FIELD(field, ...) uint64_t field;
	TCP_STACK_STATS(TCP_STACK_FIELD)
#undef TCP_STACK_FIELD
};

/* Read them now; a counter that cannot be read is 0. backlog: what the proxy asks for. */
void tcp_stack_read(struct tcp_stack_stats *s, unsigned int backlog);

#endif
