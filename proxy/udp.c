/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The UDP relay. Each worker has a transparent UDP listener per family in
 * the SO_REUSEPORT group; the original destination of a datagram comes with
 * it (IP(V6)_RECVORIGDSTADDR). A session per (client ip:port, original
 * destination ip:port) holds two sockets:
 *
 *   up    connected to the destination, bound per upstream-source (client
 *         ip:port, client ip, or nothing); IP(V6)_RECVERR, so ICMP errors
 *         reach the error queue and end the session.
 *   down  transparent, bound to the destination ip:port (SO_REUSEADDR, many
 *         sessions share it) and connected to the client: replies leave
 *         from the server's address. Client datagrams that the kernel hands
 *         to it (TPROXY's established lookup, reassembled fragments) are
 *         relayed like those from the listener. Not all of them come from
 *         its client: between bind() and connect() the socket is bound to
 *         dst and unconnected, and nf_tproxy's established lookup, which
 *         scores the sockets on dst:port first and reads sk_state after,
 *         can pick it for another client's first datagram and find it
 *         connected by the time it checks (the walk over the other sessions'
 *         `down` sockets on dst:port takes microseconds). The datagram is
 *         then queued here, not on the listener. So `down` is read with the
 *         senders' addresses, and a datagram from anyone else is handled as
 *         one the listener got for dst (the kernel matched dst to get here).
 *
 * Sessions live in a per-worker hash table, with no lock. The kernel's
 * reuseport selection for steered datagrams (sk_assign, TPROXY) hashes the
 * 4-tuple, and with TPROXY established datagrams go to `down`, which belongs
 * to the worker that made the session; so a flow sticks to one worker. If a
 * datagram of a flow ever reached another worker, that worker would open a
 * second session for it (a second upstream socket bound like the first):
 * still correct for the client, at the price of one more session. Sharing the
 * table would put a lock on every datagram to avoid a case that does not
 * happen while the worker count is fixed.
 *
 * Nothing blocks: every socket is non-blocking; a datagram that cannot be
 * sent at once (EAGAIN, ENOBUFS) is dropped and counted, as UDP would.
 * Idle expiry: one ev_timer per session, re-armed from last_io only when it
 * fires, so activity costs a store and no timer operation.
 */
#include <errno.h>
#include <time.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/internal.h"
#include "proxy/sock.h"

static bool sa_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
	       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
}

/* FNV-1a over an address and its port. */
static uint32_t hash_sa(uint32_t h, const struct sockaddr_storage *ss)
{
	const uint8_t *p;
	size_t n;
	uint16_t port;

	if (ss->ss_family == AF_INET) {
		p = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
		n = 4;
	} else {
		p = (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
		n = 16;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	port = sa_port(ss);
	h = (h ^ (port & 0xff)) * 16777619u;
	h = (h ^ (port >> 8)) * 16777619u;
	return h;
}

static uint32_t sess_hash(const struct worker *w, const struct sockaddr_storage *client,
			  const struct sockaddr_storage *dst)
{
	return hash_sa(hash_sa(2166136261u ^ w->hash_seed, client), dst);
}

static struct udp_sess **bucket(struct worker *w, uint32_t h)
{
	return &w->utab[h & (UDP_HASH_BUCKETS - 1)];
}

static struct udp_sess *sess_find(struct worker *w, uint32_t h, const struct sockaddr_storage *client,
				  const struct sockaddr_storage *dst)
{
	for (struct udp_sess *u = *bucket(w, h); u; u = u->hnext)
		if (u->hash == h && sa_equal(&u->client, client) && sa_equal(&u->dst, dst))
			return u;
	return NULL;
}

/* An errno that says the destination cannot be reached: the session ends. */
static bool is_unreachable(int err)
{
	switch (err) {
	case ECONNREFUSED:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
	case ENONET:
		return true;
	default:
		return false;
	}
}

static void udp_emit(struct udp_sess *u, bool open, enum proxy_close_reason r)
{
	const struct proxy_settings *s = &u->w->p->s;
	struct proxy_conn_event ev;

	if (!s->on_event)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.open = open;
	ev.flow = u->flow;
	ev.proto = IPPROTO_UDP;
	ev.client = u->client;
	ev.dst = u->dst;
	ev.upstream_src = u->upstream_src;
	ev.accept_ns = u->accept_ns;
	if (!open) {
		ev.bytes_up = u->bytes_up;
		ev.bytes_down = u->bytes_down;
		ev.close_ns = proxy_now_ns();
		ev.reason = r;
	}
	s->on_event(s->ctx, &ev);
}

static void sess_close(struct udp_sess *u, enum proxy_close_reason r, bool emit)
{
	struct worker *w = u->w;
	struct udp_sess **pp;

	ev_timer_stop(w->loop, &u->timer);
	ev_io_stop(w->loop, &u->up_io);
	ev_io_stop(w->loop, &u->down_io);
	if (u->up_fd >= 0)
		close(u->up_fd);
	if (u->down_fd >= 0)
		close(u->down_fd);
	if (emit)
		udp_emit(u, false, r);
	for (pp = bucket(w, u->hash); *pp; pp = &(*pp)->hnext)
		if (*pp == u) {
			*pp = u->hnext;
			break;
		}
	if (u->prev)
		u->prev->next = u->next;
	else
		w->usess = u->next;
	if (u->next)
		u->next->prev = u->prev;
	w->nsess--;
	STAT_DEC(w, udp_sessions_open);
	free(u);
}

/*
 * Read the upstream socket's error queue (ICMP errors, local errors) until
 * empty. True when an ICMP error in it says the destination is unreachable.
 */
static bool errqueue_unreachable(int fd)
{
	bool fatal = false;

	for (int i = 0; i < 64; i++) {
		union {
			char buf[512];
			struct cmsghdr align;
		} ctrl;
		char data[64];
		const struct sock_extended_err *ee;
		struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
		struct msghdr m = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctrl.buf,
			.msg_controllen = sizeof(ctrl.buf),
		};

		if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		ee = cmsg_find(&m, SOL_IP, IP_RECVERR, sizeof(*ee));
		if (!ee)
			ee = cmsg_find(&m, SOL_IPV6, IPV6_RECVERR, sizeof(*ee));
		if (ee && (ee->ee_origin == SO_EE_ORIGIN_ICMP || ee->ee_origin == SO_EE_ORIGIN_ICMP6) &&
		    is_unreachable((int)ee->ee_errno))
			fatal = true;
	}
	return fatal;
}

/* The destination is unreachable (ICMP error, or connect()/send() said so). */
static void sess_unreachable(struct udp_sess *u)
{
	STAT_INC(u->w, udp_icmp_errors);
	sess_close(u, CLOSE_UPSTREAM_REFUSED, true);
}

/*
 * Receive up to UDP_BATCH datagrams from fd into the worker's buffers; with
 * `from`, the source addresses and control messages too. Returns the count
 * or -1 (errno set).
 */
static int recv_batch(struct udp_batch *b, int fd, bool from)
{
	int n;

	for (int i = 0; i < UDP_BATCH; i++) {
		struct msghdr *m = &b->msgs[i].msg_hdr;

		b->iov[i].iov_base = b->bufs + (size_t)i * UDP_BUF_SIZE;
		b->iov[i].iov_len = UDP_BUF_SIZE;
		m->msg_iov = &b->iov[i];
		m->msg_iovlen = 1;
		m->msg_name = from ? &b->names[i] : NULL;
		m->msg_namelen = from ? sizeof(b->names[i]) : 0;
		m->msg_control = from ? b->ctrl[i].buf : NULL;
		m->msg_controllen = from ? sizeof(b->ctrl[i].buf) : 0;
		m->msg_flags = 0;
	}
	do
		n = recvmmsg(fd, b->msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	return n;
}

/* send() one datagram up. False when the session was closed. */
static bool send_up(struct udp_sess *u, const void *buf, size_t len)
{
	struct worker *w = u->w;
	ssize_t r;

	do
		r = send(u->up_fd, buf, len, MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (is_unreachable(errno)) {
			errqueue_unreachable(u->up_fd);
			sess_unreachable(u);
			return false;
		}
		STAT_INC(w, udp_send_errors);
		return true;
	}
	u->last_io = ev_now(w->loop);
	u->bytes_up += len;
	STAT_INC(w, udp_datagrams_up);
	STAT_ADD(w, udp_bytes_up, len);
	return true;
}

/*
 * Send the first n datagrams of the batch (skipping truncated ones) on the
 * connected socket `to`, in direction dir. False when the session was closed.
 */
static bool send_batch(struct udp_sess *u, int dir, int n)
{
	struct worker *w = u->w;
	struct udp_batch *b = w->ub;
	int to = dir == DIR_UP ? u->up_fd : u->down_fd;
	int k = 0, sent = 0;
	uint64_t bytes = 0, count = 0;

	for (int i = 0; i < n; i++) {
		if (b->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			STAT_INC(w, udp_oversize);
			continue;
		}
		b->oiov[k].iov_base = b->iov[i].iov_base;
		b->oiov[k].iov_len = b->msgs[i].msg_len;
		memset(&b->out[k], 0, sizeof(b->out[k]));
		b->out[k].msg_hdr.msg_iov = &b->oiov[k];
		b->out[k].msg_hdr.msg_iovlen = 1;
		k++;
	}
	while (sent < k) {
		int r = sendmmsg(to, b->out + sent, (unsigned)(k - sent), MSG_DONTWAIT);

		if (r > 0) {
			for (int i = sent; i < sent + r; i++)
				bytes += b->oiov[i].iov_len;
			count += (uint64_t)r;
			sent += r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && is_unreachable(errno)) {
			if (dir == DIR_UP) {
				errqueue_unreachable(u->up_fd);
				sess_unreachable(u);
			} else {
				sess_close(u, CLOSE_CLIENT_RESET, true);
			}
			return false;
		}
		if (r < 0 && (errno == EAGAIN || errno == ENOBUFS || errno == ENOMEM)) {
			STAT_ADD(w, udp_send_errors, k - sent);
			break;
		}
		/* EMSGSIZE and the like: this datagram only. */
		STAT_INC(w, udp_send_errors);
		sent++;
	}
	if (count) {
		u->last_io = ev_now(w->loop);
		if (dir == DIR_UP) {
			u->bytes_up += bytes;
			STAT_ADD(w, udp_datagrams_up, count);
			STAT_ADD(w, udp_bytes_up, bytes);
		} else {
			u->bytes_down += bytes;
			STAT_ADD(w, udp_datagrams_down, count);
			STAT_ADD(w, udp_bytes_down, bytes);
		}
	}
	return true;
}

/* Replies: upstream socket -> client (through `down`). */
static void sess_up_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct udp_sess *u = container_of(io, struct udp_sess, up_io);
	int n;

	(void)loop;
	(void)revents;
	n = recv_batch(u->w->ub, u->up_fd, false);
	if (n < 0) {
		int err = errno;

		/* EPOLLERR: an ICMP error queued (the pending error, if any, came first). */
		if (errqueue_unreachable(u->up_fd) || is_unreachable(err)) {
			sess_unreachable(u);
			return;
		}
		if (err != EAGAIN)
			STAT_INC(u->w, udp_recv_errors);
		return;
	}
	send_batch(u, DIR_DOWN, n);
}

static void client_datagram(struct worker *w, struct sockaddr_storage *client,
			    const struct sockaddr_storage *dst, const void *buf, size_t len);

/*
 * Client datagrams the kernel delivered to `down` instead of the listener.
 * Those from another client (see the top of this file) go where the listener
 * would have sent them; the rest go up in one batch.
 */
static void sess_down_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct udp_sess *u = container_of(io, struct udp_sess, down_io);
	struct udp_batch *b = u->w->ub;
	int n, k = 0;

	(void)loop;
	(void)revents;
	n = recv_batch(b, u->down_fd, true);
	if (n < 0) {
		if (errno == ECONNREFUSED) /* the client's port is gone */
			sess_close(u, CLOSE_CLIENT_RESET, true);
		else if (errno != EAGAIN)
			STAT_INC(u->w, udp_recv_errors);
		return;
	}
	for (int i = 0; i < n; i++) {
		struct sockaddr_storage *from = &b->names[i];

		unmap_v4(from);
		if (b->msgs[i].msg_hdr.msg_namelen == 0 || sa_equal(from, &u->client)) {
			b->iov[k] = b->iov[i];
			b->msgs[k].msg_len = b->msgs[i].msg_len;
			b->msgs[k].msg_hdr.msg_flags = b->msgs[i].msg_hdr.msg_flags;
			k++;
		} else if (b->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			STAT_INC(u->w, udp_oversize);
		} else {
			client_datagram(u->w, from, &u->dst, b->iov[i].iov_base, b->msgs[i].msg_len);
		}
	}
	send_batch(u, DIR_UP, k);
}

static void sess_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct udp_sess *u = container_of(t, struct udp_sess, timer);
	ev_tstamp idle = u->w->p->s.udp_idle_timeout_ms / 1000.;
	ev_tstamp left = u->last_io + idle - ev_now(loop);

	(void)revents;
	if (left > 0.001) {
		t->repeat = left;
		ev_timer_again(loop, t);
		return;
	}
	STAT_INC(u->w, udp_expired);
	sess_close(u, CLOSE_IDLE_TIMEOUT, true);
}

/*
 * The upstream socket per upstream-source, connected to the destination.
 * Returns the fd, or -1 with errno set (connect()'s errno when it failed).
 */
static int open_up(const struct worker *w, const struct sockaddr_storage *client,
		   const struct sockaddr_storage *dst, bool *connect_failed)
{
	int family = dst->ss_family, fd, err;

	*connect_failed = false;
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -1;
	if (family == AF_INET ? setopt_int(fd, SOL_IP, IP_RECVERR, 1) < 0
			      : setopt_int(fd, SOL_IPV6, IPV6_RECVERR, 1) < 0)
		goto fail;
	if (upstream_bind(fd, SOCK_DGRAM, w->p->s.upstream_source, client) < 0)
		goto fail;
	if (connect(fd, (const struct sockaddr *)dst, sa_len(dst)) < 0) {
		*connect_failed = true;
		goto fail;
	}
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* The reply socket: from the destination's address, to the client. */
static int open_down(const struct sockaddr_storage *client, const struct sockaddr_storage *dst)
{
	int fd, err;

	fd = socket(dst->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -1;
	if (set_transparent(fd, dst->ss_family) < 0 || setopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0 ||
	    bind(fd, (const struct sockaddr *)dst, sa_len(dst)) < 0 ||
	    connect(fd, (const struct sockaddr *)client, sa_len(client)) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* A new session for the first datagram of (client, dst). NULL: the datagram is dropped. */
static struct udp_sess *sess_new(struct worker *w, uint32_t h, const struct sockaddr_storage *client,
				 const struct sockaddr_storage *dst)
{
	const struct proxy_settings *s = &w->p->s;
	struct udp_sess *u;
	socklen_t len;
	bool connect_failed;

	if (w->max_sess && w->nsess >= w->max_sess) {
		STAT_INC(w, udp_session_limit);
		return NULL;
	}
	if (sa_port(dst) == s->port) {
		STAT_INC(w, loop_rejected);
		return NULL;
	}
	if (!upstream_source_fits(s->upstream_source, client, dst) || !(u = calloc(1, sizeof(*u)))) {
		STAT_INC(w, udp_session_errors);
		return NULL;
	}
	u->w = w;
	u->hash = h;
	u->client = *client;
	u->dst = *dst;
	u->accept_ns = proxy_now_ns();
	u->flow = proxy_flow_id(w->p);
	u->down_fd = -1;
	u->up_fd = open_up(w, client, dst, &connect_failed);
	if (u->up_fd < 0) {
		if (connect_failed && is_unreachable(errno)) {
			/* No route: like TCP, a close without an open. */
			STAT_INC(w, udp_icmp_errors);
			udp_emit(u, false, CLOSE_UPSTREAM_REFUSED);
		} else {
			STAT_INC(w, udp_session_errors);
		}
		free(u);
		return NULL;
	}
	u->down_fd = open_down(client, dst);
	if (u->down_fd < 0) {
		/* EADDRINUSE: a local socket holds dst's port without SO_REUSEADDR. */
		STAT_INC(w, udp_session_errors);
		close(u->up_fd);
		free(u);
		return NULL;
	}
	len = sizeof(u->upstream_src);
	if (getsockname(u->up_fd, (struct sockaddr *)&u->upstream_src, &len) < 0)
		memset(&u->upstream_src, 0, sizeof(u->upstream_src));
	unmap_v4(&u->upstream_src);

	ev_io_init(&u->up_io, sess_up_cb, u->up_fd, EV_READ);
	ev_io_init(&u->down_io, sess_down_cb, u->down_fd, EV_READ);
	ev_io_start(w->loop, &u->up_io);
	ev_io_start(w->loop, &u->down_io);
	ev_init(&u->timer, sess_timer_cb);
	u->last_io = ev_now(w->loop);
	if (s->udp_idle_timeout_ms > 0) {
		u->timer.repeat = s->udp_idle_timeout_ms / 1000.;
		ev_timer_again(w->loop, &u->timer);
	}

	u->hnext = *bucket(w, h);
	*bucket(w, h) = u;
	u->next = w->usess;
	if (w->usess)
		w->usess->prev = u;
	w->usess = u;
	w->nsess++;
	STAT_INC(w, udp_sessions_open);
	STAT_INC(w, udp_sessions_total);
	udp_emit(u, true, CLOSE_EOF);
	return u;
}

/* The original destination from IP_ORIGDSTADDR / IPV6_ORIGDSTADDR. */
static bool orig_dst(struct msghdr *m, struct sockaddr_storage *dst)
{
	size_t len = sizeof(struct sockaddr_in);
	const void *a = cmsg_find(m, SOL_IP, IP_ORIGDSTADDR, len);

	if (!a) {
		len = sizeof(struct sockaddr_in6);
		a = cmsg_find(m, SOL_IPV6, IPV6_ORIGDSTADDR, len);
	}
	if (!a)
		return false;
	memset(dst, 0, sizeof(*dst));
	memcpy(dst, a, len);
	return true;
}

/* A client datagram for dst: find or make the session, send it up. */
static void client_datagram(struct worker *w, struct sockaddr_storage *client,
			    const struct sockaddr_storage *dst, const void *buf, size_t len)
{
	uint32_t h = sess_hash(w, client, dst);
	struct udp_sess *u = sess_find(w, h, client, dst);

	if (!u && w->draining) {
		/* A new flow: left to the steering, which no longer sends them here. */
		STAT_INC(w, udp_draining);
		return;
	}
	if (!u)
		u = sess_new(w, h, client, dst);
	if (u)
		send_up(u, buf, len);
}

/* Client datagrams on the transparent listener. */
void udp_listener_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct listener *l = container_of(io, struct listener, io);
	struct worker *w = l->w;
	struct udp_batch *b = w->ub;

	(void)loop;
	(void)revents;
	for (int round = 0; round < 4; round++) {
		int n = recv_batch(b, l->fd, true);

		if (n < 0) {
			if (errno != EAGAIN)
				STAT_INC(w, udp_recv_errors);
			return;
		}
		for (int i = 0; i < n; i++) {
			struct msghdr *m = &b->msgs[i].msg_hdr;
			struct sockaddr_storage *client = &b->names[i], dst;

			if (m->msg_flags & MSG_TRUNC) {
				STAT_INC(w, udp_oversize);
				continue;
			}
			if (!orig_dst(m, &dst) ||
			    (client->ss_family != AF_INET && client->ss_family != AF_INET6)) {
				STAT_INC(w, udp_recv_errors);
				continue;
			}
			unmap_v4(client);
			unmap_v4(&dst);
			client_datagram(w, client, &dst, b->iov[i].iov_base, b->msgs[i].msg_len);
		}
		if (n < UDP_BATCH)
			return;
	}
}

int udp_worker_init(struct worker *w)
{
	const struct proxy_settings *s = &w->p->s;

	if (s->max_udp_sessions > 0) {
		w->max_sess = s->max_udp_sessions / s->workers + (w->id < s->max_udp_sessions % s->workers);
		if (w->max_sess < 1)
			w->max_sess = 1;
	}
	w->hash_seed = (uint32_t)(proxy_now_ns() * 2654435761u) ^ (uint32_t)w->id;
	w->utab = calloc(UDP_HASH_BUCKETS, sizeof(*w->utab));
	w->ub = calloc(1, sizeof(*w->ub));
	if (w->ub)
		w->ub->bufs = malloc((size_t)UDP_BATCH * UDP_BUF_SIZE);
	if (!w->utab || !w->ub || !w->ub->bufs) {
		fprintf(stderr, "proxy: worker %d: out of memory for the UDP relay\n", w->id);
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		w->ulst[i].w = w;
		ev_io_init(&w->ulst[i].io, udp_listener_cb, w->ulst[i].fd, EV_READ);
		if (w->ulst[i].fd >= 0)
			ev_io_start(w->loop, &w->ulst[i].io);
	}
	return 0;
}

/* Proxy stopping: every session gets its close event. */
void udp_close_all(struct worker *w, enum proxy_close_reason why)
{
	for (int i = 0; i < 2; i++)
		ev_io_stop(w->loop, &w->ulst[i].io);
	for (; w->usess; w->cut++)
		sess_close(w->usess, why, true);
}

void udp_worker_fini(struct worker *w)
{
	free(w->utab);
	w->utab = NULL;
	if (w->ub)
		free(w->ub->bufs);
	free(w->ub);
	w->ub = NULL;
}
