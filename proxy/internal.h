/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private structures of the proxy. One struct worker per thread: its own
 * libev loop, its own SO_REUSEPORT listeners, its own pipe pool, its own
 * connections and its own statistics. Workers share nothing mutable except
 * the flow-id counter (an atomic in struct proxy).
 */
#ifndef STEER_PROXY_INTERNAL_H
#define STEER_PROXY_INTERNAL_H

#include <ev.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "proxy/pipe_pool.h"
#include "proxy/proxy.h"
#include "proxy/stat_add.h"
#include "proxy/tcp_relay.h"

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define ACCEPT_BATCH         64      /* accept4() calls per listener wakeup */
#define ACCEPT_RETRY_S       0.1     /* after EMFILE/ENFILE/ENOBUFS/ENOMEM */
#define UDP_BATCH            32      /* datagrams per recvmmsg()/sendmmsg() */
#define UDP_BUF_SIZE         65536   /* per datagram: any UDP payload fits */
#define UDP_HASH_BUCKETS     16384   /* session hash table, per worker (power of 2) */
#define UDP_RCVBUF           (8 << 20) /* SO_RCVBUF(FORCE) of the UDP listeners */
#define UDP_FD_RESERVE       128     /* descriptors never counted for UDP sessions */

struct worker;

struct listener {
	ev_io io; /* EV_READ on fd; container_of back to the listener */
	int fd;   /* -1 when this family is unavailable */
	int family;
	struct worker *w;
};

/* A TCP connection waits for its upstream connect, then relays. */
enum conn_state { CONN_CONNECTING, CONN_RELAY };

/* Offload of a TCP connection (splice.c): not (any more), waiting for its bytes, trying. */
enum splice_state { SPLICE_STATE_NEVER = 0, SPLICE_STATE_WAIT, SPLICE_STATE_TRYING, SPLICE_STATE_GRACE };
struct splice_hold; /* splice.c: the handoff written, its sockets frozen, in its grace */

/* The single ev_io of one socket (interest changed via ev_io_set). */
struct conn_side {
	ev_io io;   /* data: the struct conn */
	int events; /* the interest currently armed in io (0 = stopped) */
};

struct conn {
	struct worker *w;
	struct conn *prev, *next; /* the worker's list of live connections */
	enum conn_state state;
	struct relay relay;       /* the two sockets and the two directions */
	struct conn_side side[2]; /* [SIDE_CLI], [SIDE_UP]: the watchers of relay.fd[] */
	ev_timer timer;       /* connect timeout, then idle timeout */
	ev_tstamp last_io;    /* ev_now() of the last byte moved */
	uint64_t flow;
	uint64_t accept_ns;
	struct sockaddr_storage client, dst, upstream_src;
	enum splice_state splice_state;
	ev_timer splice_timer;  /* quiet checks, backing off */
	ev_tstamp splice_since; /* when it became a candidate (the first check comes SPLICE_FIRST_S later) */
	ev_tstamp splice_wait;  /* what arm_next waits: SPLICE_NEXT_S, doubling */
	int splice_last_refusal; /* enum splice_refusal of the last check that failed */
	uint8_t splice_misses;   /* checks that found it moving bytes since the last freeze */
	uint8_t splice_freezes;  /* freezes so far */
	bool splice_frozen;      /* its freeze entries are in the classifier */
	bool splice_busy;        /* ...for a busy stream's freeze, not a quiet flow's hold */
	uint64_t splice_bytes;   /* relayed, at the last check */
	uint64_t splice_queued;  /* frozen: bytes in its queues and pipes at the last check */
	ev_tstamp splice_drained_at; /* frozen: when they last went down */
	ev_tstamp splice_frozen_at;
	struct splice_hold *splice_hold;
};

/*
 * A UDP session: one (client ip:port, original destination ip:port). Two
 * sockets: `up` connected to the destination (bound per upstream-source),
 * `down` transparent, bound to the destination and connected to the client,
 * so that replies leave from the server's address. Client datagrams arrive on
 * the worker's listener (sk_assign, TPROXY) or on `down` (TPROXY's
 * established lookup, reassembled fragments).
 */
struct udp_sess {
	struct worker *w;
	struct udp_sess *hnext;     /* hash chain */
	struct udp_sess *prev, *next; /* the worker's list of sessions */
	uint32_t hash;
	ev_io up_io, down_io;
	int up_fd, down_fd;
	ev_timer timer;             /* idle expiry, re-armed lazily from last_io */
	ev_tstamp last_io;
	uint64_t flow, accept_ns;
	uint64_t bytes_up, bytes_down;
	struct sockaddr_storage client, dst, upstream_src;
};

/* recvmmsg()/sendmmsg() scratch space of one worker. */
struct udp_batch {
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_storage names[UDP_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct sockaddr_in6)) + CMSG_SPACE(sizeof(uint64_t) * 4)];
		struct cmsghdr align;
	} ctrl[UDP_BATCH];
	struct mmsghdr out[UDP_BATCH];
	struct iovec oiov[UDP_BATCH];
	uint8_t *bufs; /* UDP_BATCH * UDP_BUF_SIZE */
};

struct worker {
	struct proxy *p;
	int id;
	struct ev_loop *loop;
	pthread_t thread;
	bool thread_started;
	ev_async stop_w;
	ev_async drain_w;
	bool draining;          /* proxy_drain: listeners closed, no new UDP session */
	uint64_t cut;           /* connections and sessions the stop closed */
	struct listener lst[2]; /* [0] IPv4, [1] IPv6 */
	struct listener ulst[2]; /* UDP: [0] IPv4, [1] IPv6 */
	ev_timer accept_retry;  /* armed after EMFILE & co. */
	bool accept_paused_limit;
	int max_conns;          /* 0 = unbounded */
	int nconns;
	struct conn *conns;     /* live connections (head) */
	struct pipe_pool pool;
	char copy_buf[COPY_BUF]; /* the copy path's bounce buffer (one thread) */
	struct udp_sess **utab;   /* UDP_HASH_BUCKETS chains */
	struct udp_sess *usess;   /* live UDP sessions (head) */
	int nsess;
	int max_sess;             /* 0 = unbounded */
	uint32_t hash_seed;
	struct udp_batch *ub;
	struct proxy_stats st;
};

struct proxy {
	struct proxy_settings s;
	int *cpus; /* per_cpu: worker i's CPU; else NULL */
	int nworkers;
	struct worker *workers;
	_Atomic uint64_t next_flow; /* the flow ids without settings' flow_ids */
	_Atomic uint64_t *flow_ids; /* settings' flow_ids, or &next_flow */
	_Atomic int drained;    /* workers that ran their drain */
	_Atomic int full;       /* workers at their share of max_conns (on_full) */
	_Atomic int stop_why;   /* enum proxy_close_reason of what the stop closes */
	bool started;
};

/* proxy.c */
uint64_t proxy_now_ns(void);
/* The next flow id (any worker thread). */
uint64_t proxy_flow_id(struct proxy *p);

/* listener.c */
int listener_open(struct listener *l, int family, int proto, uint16_t port);
void listener_close(struct worker *w, struct listener *l);
void listener_accept_cb(struct ev_loop *loop, ev_io *io, int revents);
void listener_accept_all(struct listener *l);

/* worker.c */
int worker_init(struct worker *w, struct proxy *p, int id);
int worker_start(struct worker *w);
void worker_stop_join(struct worker *w);
void worker_fini(struct worker *w);
void worker_accept_pause(struct worker *w);
void worker_accept_resume(struct worker *w);
void worker_accept_backoff(struct worker *w);

/* conn.c */
void conn_new(struct worker *w, int cfd, const struct sockaddr_storage *client,
	      const struct sockaddr_storage *dst);
void conn_close_all(struct worker *w, enum proxy_close_reason why);
/* The connection leaves the proxy without an event: its sockets closed as they are, freed. */
void conn_retire(struct conn *c);
/* Both sockets reset, the close record says error. */
void conn_abort(struct conn *c);
/* Stop watching both sockets (the relay holds still) / pump both ways and watch again. */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);

/* splice.c: after relaying, start the offload checks when the connection qualifies. */
void conn_splice_check(struct conn *c);
/* The connection ends (or half-closes) while checks go on: counted by the last refusal. */
void conn_splice_abandon(struct conn *c);

/* udp.c */
int udp_worker_init(struct worker *w);
void udp_worker_fini(struct worker *w);
void udp_listener_cb(struct ev_loop *loop, ev_io *io, int revents);
void udp_close_all(struct worker *w, enum proxy_close_reason why);

#endif
