/* SPDX-License-Identifier: GPL-2.0-only */
/* The transparent proxy: worker threads with libev loops, TCP relay, UDP relay. */
#ifndef STEER_PROXY_H
#define STEER_PROXY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proxy/stats.h"

struct proxy;
struct proxy_conn_event;

/* The TCP listeners' listen(2) backlog (the kernel caps it at net.core.somaxconn). */
#define PROXY_BACKLOG 4096

/* The source address of upstream connections (UDP sessions too). */
enum proxy_upstream_source {
	PROXY_SRC_CLIENT,    /* the client's ip:port (IP_TRANSPARENT) */
	PROXY_SRC_CLIENT_IP, /* the client's ip, a port chosen per 4-tuple */
	PROXY_SRC_GATEWAY,   /* no bind: the routing table picks the source */
};

/*
 * Offload (docs/offload.md): the translation that joins a proxied TCP flow's
 * two connections, client<->A (the accepted socket) and B<->server (the
 * upstream socket, bound to the client's own ip:port), into one TCP
 * connection between client and server, once the proxy retires A and B.
 * One per direction of travel; all arithmetic mod 2^32, host order.
 */
struct proxy_splice_dir {
	uint32_t seq_delta; /* added to the sequence number */
	uint32_t ack_delta; /* added to the ack number (ACK set) and to every SACK edge */
	uint8_t wscale_in;  /* the shift the sender's window field is in */
	uint8_t wscale_out; /* the shift the receiver applies to it */
	/*
	 * With timestamps: the TSval clock of the socket these packets now
	 * stand in for (B for client->server, A for server->client), as an
	 * offset from CLOCK_MONOTONIC in ms (TCP_TIMESTAMP - monotonic ms). The
	 * classifier learns the TSval delta from the first timestamped segment
	 * of the direction: delta = (now_ms + ts_clock_offset) - TSval, and
	 * the reverse direction's TSecr delta is its negation.
	 */
	int64_t ts_clock_offset;
	uint32_t next_seq; /* at handoff, untranslated: the next byte this direction's sender sends */
};

enum { SPLICE_UP, SPLICE_DOWN }; /* client->server, server->client */

struct proxy_splice {
	uint64_t flow;
	struct sockaddr_storage client, dst; /* both legs carry client -> dst */
	bool timestamps; /* both legs use TCP timestamps (else neither) */
	/*
	 * A freeze, not a handoff (flow, client and dst only): the classifier
	 * holds back the data of the flow's segments (their ACKs go on) until a handoff's
	 * splice_add replaces the entries or splice_del removes them.
	 */
	bool freeze;
	struct proxy_splice_dir dir[2]; /* [SPLICE_UP], [SPLICE_DOWN] */
	uint64_t bytes_up, bytes_down;  /* relayed by the proxy before the handoff */
	uint64_t accept_ns, handoff_ns; /* CLOCK_MONOTONIC */
};

struct proxy_settings {
	uint16_t port; /* transparent listeners on [::]:port (v6only) and 0.0.0.0:port */
	enum proxy_upstream_source upstream_source;
	int workers;               /* >= 1 */
	/*
	 * One worker per CPU the process may run on (workers is then their
	 * number): worker i is pinned to the i-th, and a new TCP connection
	 * goes to the worker of the CPU that took its SYN (proxy/per_cpu.h).
	 */
	bool per_cpu;
	int connect_timeout_ms;    /* upstream connect; <= 0: the kernel's SYN retries only */
	int idle_timeout_ms;       /* no bytes either way; <= 0: none */
	/*
	 * Bound on concurrent connections, all workers (<= 0: none). Split
	 * evenly between workers, at least 1 each; a worker at its share
	 * stops accepting (the kernel keeps queueing in the backlog) until
	 * one of its connections closes.
	 */
	int max_conns;
	int udp_idle_timeout_ms; /* a UDP session with no datagram either way ends; <= 0: never */
	/*
	 * Bound on UDP sessions, all workers (<= 0: none), further capped at
	 * (RLIMIT_NOFILE - 128) / 4 (a session holds 2 descriptors; UDP may
	 * take at most half of them). Split evenly between workers, at least 1
	 * each; a datagram that would open a session beyond the worker's share
	 * is dropped and counted (udp_session_limit).
	 */
	int max_udp_sessions;
	/*
	 * Called from worker threads (may be NULL). Must not block.
	 * UDP sessions (proto IPPROTO_UDP): an open event when the session's
	 * upstream socket is connected (first datagram), exactly one close
	 * event later: CLOSE_IDLE_TIMEOUT, CLOSE_UPSTREAM_REFUSED (an ICMP
	 * unreachable for the upstream, or the upstream could not be reached),
	 * CLOSE_CLIENT_RESET (the client's address refused a reply),
	 * CLOSE_SHUTDOWN. A session that could not be set up (socket/bind
	 * failed) produces no event; it is counted in udp_session_errors.
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
	/*
	 * Called from a worker thread (may be NULL; must not block) when the
	 * first worker reaches its share of max_conns (full: true), and when no
	 * worker is at it any more (false). While full, SYNs the kernel hashes
	 * to that worker's listener wait in its backlog: the caller can send
	 * new flows elsewhere (on-proxy-down) until then.
	 */
	void (*on_full)(void *ctx, bool full);
	/*
	 * The flow-id counter (may be NULL: the proxy's own). Each TCP
	 * connection and UDP session takes the next value, from 1. A caller
	 * that numbers other flows in the same records (the audit's drop
	 * records) passes its counter, so that no two flows share an id.
	 */
	_Atomic uint64_t *flow_ids;
	/*
	 * Offload (NULL splice_add: never). A TCP connection of upstream
	 * source PROXY_SRC_CLIENT that has relayed offload_after bytes (both
	 * directions) is checked for quiet on a timer; when quiet, both
	 * sockets are frozen (TCP_REPAIR) and read, and splice_add (worker
	 * thread, must not block) installs the translation: 0 or -errno. Then
	 * the sockets are read again: if a segment moved them, splice_del
	 * removes the entries and returns how many segments they translated
	 * (-errno: not known); none, the flow stays proxied; some, the peers
	 * and the sockets no longer agree and the connection is reset. Else both sockets
	 * are closed in repair mode (no packet), on_splice hands the flow to
	 * the owner and the proxy forgets it: no close event follows, the
	 * owner ends the flow (its close record). A connection never found
	 * quiet is frozen first (splice_add with freeze set) while the relay
	 * drains its queues (a few ms, at most 1 s); a quiet one is frozen
	 * just before its read, until its translation (its hold). A hold
	 * refused with -EEXIST (the tuple's last flow still has its entries)
	 * is tried again later, and not counted as a refusal.
	 */
	uint64_t offload_after;
	int (*splice_add)(void *ctx, const struct proxy_splice *sp);
	int64_t (*splice_del)(void *ctx, const struct proxy_splice *sp);
	void (*on_splice)(void *ctx, const struct proxy_splice *sp);
	void *splice_ctx; /* the splice callbacks' ctx */
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
	CLOSE_DRAIN_TIMEOUT,    /* still open when a drain's time ran out */
	CLOSE_REASON_MAX,
};

struct proxy_conn_event {
	bool open; /* false: close */
	uint64_t flow;  /* unique per proxy run (per flow_ids counter when one is given) */
	uint8_t proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	struct sockaddr_storage client, dst, upstream_src;
	uint64_t bytes_up, bytes_down; /* close only */
	uint64_t accept_ns, close_ns;  /* CLOCK_MONOTONIC */
	enum proxy_close_reason reason;
};

/*
 * Counters since proxy_create, summed over workers: one uint64_t per row of
 * PROXY_STATS (proxy/stats.h), where each is described.
 */
struct proxy_stats {
#define PROXY_STAT_FIELD(field, ...) uint64_t field;
	PROXY_STATS(PROXY_STAT_FIELD)
#undef PROXY_STAT_FIELD
	uint64_t closed[CLOSE_REASON_MAX]; /* TCP connections closed, by reason */
};

/*
 * Create the listeners (IP_TRANSPARENT, SO_REUSEPORT, one per worker,
 * family and protocol; UDP ones with IP(V6)_RECVORIGDSTADDR) without
 * starting threads, so their fds can go into the socket map first. Returns
 * NULL with a one-line reason on stderr. If the kernel has no IPv6
 * (EAFNOSUPPORT) the IPv6 listeners are skipped with a warning.
 * Sets SIGPIPE to SIG_IGN if it is SIG_DFL (splice() to a reset socket
 * raises it); worker threads block all signals.
 */
struct proxy *proxy_create(const struct proxy_settings *s);

/* A listener of worker 0: family AF_INET/AF_INET6, proto IPPROTO_TCP/IPPROTO_UDP. -1 if none. */
int proxy_listener_fd(struct proxy *p, int family, int proto);

/* Start the worker threads (once). 0 or -1 with a reason on stderr. */
int proxy_start(struct proxy *p);
/*
 * Take no new flows; relay the open ones. Each worker, on its own thread,
 * accepts the connections its TCP listeners have queued (handshakes the
 * kernel already finished), reads the datagrams its UDP listeners hold, then
 * closes its listeners: a socket map slot holding one empties, a tproxy rule
 * finds no listener, so new flows meet what the steering does without a proxy.
 * Open connections and UDP sessions go on until they end as they would have;
 * a datagram that would open a new session is dropped, counted
 * (udp_draining). Their number is proxy_get_stats()'s open and
 * udp_sessions_open. Once, after proxy_start; then only proxy_destroy*.
 */
void proxy_drain(struct proxy *p);
/* True once every worker has closed its listeners after proxy_drain. */
bool proxy_drained(struct proxy *p);

/*
 * Stop the workers, join, free. Every live connection is reset (RST both
 * ways) and gets a close event with CLOSE_SHUTDOWN; so does every UDP
 * session (its sockets closed). Safe with NULL.
 */
void proxy_destroy(struct proxy *p);
/*
 * proxy_destroy, with `why` as the close reason of what is still open
 * (CLOSE_SHUTDOWN, CLOSE_DRAIN_TIMEOUT). Returns how many TCP connections
 * and UDP sessions that cut.
 */
uint64_t proxy_destroy_why(struct proxy *p, enum proxy_close_reason why);

/* The bound on concurrent TCP connections it was created with (max_conns; <= 0: none). */
int proxy_max_conns(const struct proxy *p);
/* Whether some worker is at its share of max_conns now (what on_full last said, without its races). */
bool proxy_is_full(struct proxy *p);

/* Callable from any thread while the proxy runs. */
void proxy_get_stats(struct proxy *p, struct proxy_stats *out);
const char *proxy_close_reason_name(enum proxy_close_reason r);

#endif
