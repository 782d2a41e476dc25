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

#include "proxy/proxy.h"

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define PROXY_BACKLOG        4096
#define ACCEPT_BATCH         64      /* accept4() calls per listener wakeup */
#define ACCEPT_RETRY_S       0.1     /* after EMFILE/ENFILE/ENOBUFS/ENOMEM */
#define PIPE_POOL_MAX        128     /* idle pipes kept per worker */
#define PIPE_SMALL           65536   /* a new pipe's capacity: 16 slots */
#define PIPE_BIG             (1 << 20) /* a bulk direction's pipe: 256 slots */
#define PIPE_GROW_AFTER      (256 << 10) /* bytes a direction splices before its pipe grows */
#define COPY_BUF             16384   /* per worker: small messages are copied, not spliced */
#define RELAY_ROUNDS         16      /* splice rounds per direction per wakeup */
#define UDP_BATCH            32      /* datagrams per recvmmsg()/sendmmsg() */
#define UDP_BUF_SIZE         65536   /* per datagram: any UDP payload fits */
#define UDP_HASH_BUCKETS     16384   /* session hash table, per worker (power of 2) */
#define UDP_RCVBUF           (8 << 20) /* SO_RCVBUF(FORCE) of the UDP listeners */
#define UDP_FD_RESERVE       128     /* descriptors never counted for UDP sessions */

/*
 * Statistics: each worker writes only its own struct proxy_stats, with
 * relaxed atomic stores (single writer, so load+store needs no RMW);
 * proxy_get_stats() sums relaxed atomic loads from any thread.
 */
#define STAT_ADD(w, field, n)                                                          \
	__atomic_store_n(&(w)->st.field,                                               \
			 __atomic_load_n(&(w)->st.field, __ATOMIC_RELAXED) + (uint64_t)(n), \
			 __ATOMIC_RELAXED)
#define STAT_INC(w, field) STAT_ADD(w, field, 1)
#define STAT_DEC(w, field) STAT_ADD(w, field, -1)

struct worker;

struct listener {
	ev_io io; /* EV_READ on fd; container_of back to the listener */
	int fd;   /* -1 when this family is unavailable */
	int family;
	struct worker *w;
};

/* An empty pipe (kernel buffer) used to splice one direction of a connection. */
struct relay_pipe {
	int rd, wr; /* -1/-1 when none */
	int size;   /* capacity in bytes (F_GETPIPE_SZ) */
};

struct pipe_pool {
	struct relay_pipe idle[PIPE_POOL_MAX];
	int n;
};

enum conn_state { CONN_CONNECTING, CONN_RELAY };
enum { DIR_UP, DIR_DOWN }; /* client->upstream, upstream->client */

/* One socket of a connection with its single ev_io (interest changed via ev_io_set). */
struct conn_side {
	ev_io io;
	int fd;
	int events; /* the interest currently armed in io (0 = stopped) */
};

/* One direction: src socket -> pipe -> dst socket. */
struct conn_dir {
	struct relay_pipe pipe;
	size_t inpipe;  /* bytes sitting in the pipe */
	uint64_t bytes; /* bytes delivered to dst */
	bool src_eof;   /* src returned EOF */
	bool shut;      /* shutdown(dst, SHUT_WR) done: this direction is finished */
	bool spliced;   /* a read filled COPY_BUF: this direction splices from now on */
	bool bulk;      /* spliced PIPE_GROW_AFTER bytes: takes a big pipe */
};

struct conn {
	struct worker *w;
	struct conn *prev, *next; /* the worker's list of live connections */
	enum conn_state state;
	struct conn_side cli, up;
	struct conn_dir dir[2];
	ev_timer timer;       /* connect timeout, then idle timeout */
	ev_tstamp last_io;    /* ev_now() of the last byte moved */
	uint64_t flow;
	uint64_t accept_ns;
	struct sockaddr_storage client, dst, upstream_src;
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
	int nworkers;
	struct worker *workers;
	_Atomic uint64_t next_flow;
	bool started;
};

/* proxy.c */
uint64_t proxy_now_ns(void);

/* listener.c */
int listener_open(struct listener *l, int family, int proto, uint16_t port);
void unmap_v4(struct sockaddr_storage *ss);
void listener_close(struct worker *w, struct listener *l);
void listener_accept_cb(struct ev_loop *loop, ev_io *io, int revents);

/* worker.c */
int worker_init(struct worker *w, struct proxy *p, int id);
int worker_start(struct worker *w);
void worker_stop_join(struct worker *w);
void worker_fini(struct worker *w);
void worker_accept_pause(struct worker *w);
void worker_accept_resume(struct worker *w);
void worker_accept_backoff(struct worker *w);

/* pipe_pool.c */
int pipe_pool_get(struct worker *w, struct relay_pipe *out);
void pipe_pool_put(struct worker *w, struct relay_pipe *pp, bool empty);
void pipe_pool_drain(struct pipe_pool *pool);
void pipe_grow(struct relay_pipe *pp);

/* conn.c */
void conn_new(struct worker *w, int cfd, const struct sockaddr_storage *client,
	      const struct sockaddr_storage *dst);
void conn_set_interest(struct conn *c, struct conn_side *s, int events);
void conn_close(struct conn *c, enum proxy_close_reason r, bool rst_cli, bool rst_up);
void conn_emit(struct conn *c, bool open, enum proxy_close_reason r);
void conn_close_all(struct worker *w);
void set_rst_on_close(int fd);

/* upstream.c */
int upstream_connect(struct conn *c);
void upstream_io_cb(struct ev_loop *loop, ev_io *io, int revents);
void conn_timer_cb(struct ev_loop *loop, ev_timer *t, int revents);

/* tcp_relay.c */
void relay_begin(struct conn *c);
void relay_cli_cb(struct ev_loop *loop, ev_io *io, int revents);
void relay_up_cb(struct ev_loop *loop, ev_io *io, int revents);
void relay_idle_check(struct conn *c);

/* udp.c */
int udp_worker_init(struct worker *w);
void udp_worker_fini(struct worker *w);
void udp_listener_cb(struct ev_loop *loop, ev_io *io, int revents);
void udp_close_all(struct worker *w);

#endif
