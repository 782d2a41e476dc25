/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Offload, the sockets' part (docs/offload.md, section 2): a connection that
 * relayed offload_after bytes is checked for quiet on a backing-off timer;
 * when both sockets are quiet the flow is held (its data cut off at the
 * classifier), the sockets are frozen with TCP_REPAIR and read, the
 * classifier gets the translation, and after a grace each socket is looked
 * at once more: unmoved, they are closed in repair mode, which sends
 * nothing, and the flow leaves the proxy; moved (a segment got in first),
 * the entries go and relaying goes on (or, when the entries had translated
 * segments already, the connection is reset). A connection never found
 * quiet is frozen first (SPLICE_FREEZE_*).
 */
#include <errno.h>
#include <linux/sock_diag.h> /* SK_MEMINFO_* */
#include <linux/sockios.h>
#include <linux/tcp.h> /* the kernel's struct tcp_info: glibc's ends before tcpi_bytes_received */
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "proxy/internal.h"
#include "proxy/splice.h"

/*
 * The first check: a flow that ends sooner gains nothing from a handoff,
 * which costs it about 40 system calls and may cut data it then waits for
 * (short HTTP flows with `after 0`: conn/s 0.977 of `off` with a first check
 * at 2 ms, 0.996 at 10 ms). The next ones come SPLICE_NEXT_S later (about a
 * LAN round trip), doubling, so a busy stream meets its third check, and its
 * freeze, about as early as with checks from 2 ms (16 ms against 14).
 */
#define SPLICE_FIRST_S 0.01
#define SPLICE_NEXT_S 0.002
#define SPLICE_MAX_S 0.5 /* checks back off to this interval */
#define SPLICE_GIVE_UP_S 10. /* never quiet for this long: counted, stays proxied */
/* A segment past the classifier before its entries reaches a socket within this (softirq, backlog). */
#define SPLICE_GRACE_S 0.02
/*
 * A stream that never pauses is frozen: the classifier cuts the data off its
 * segments (their ACKs go on, so a flow whose ACKs ride on its data drains
 * too) while the relay drains the queues, checked each SPLICE_FREEZE_CHECK_S.
 * The senders lose what was held back and send it again (a tail loss probe
 * or a retransmission timeout finds the flow translated), so a freeze is
 * tried only after SPLICE_FREEZE_AFTER checks found the relay moving bytes
 * (a flow waiting for a delayed ACK is not busy; a stream whose quiet moment
 * overshot a window edge is: its windows are as wide as its buffers, which a
 * freeze accepts), SPLICE_FREEZES times at
 * most, and ends when its queues stop going down for SPLICE_FREEZE_STALL_S
 * or after SPLICE_FREEZE_MAX_S (megabytes of socket buffers on a slow
 * machine).
 */
#define SPLICE_FREEZE_AFTER 3
#define SPLICE_FREEZE_CHECK_S 0.001
#define SPLICE_FREEZE_STALL_S 0.05
#define SPLICE_FREEZE_MAX_S 1.
#define SPLICE_FREEZES 3
/* tcpi_state's value (the kernel's include/net/tcp_states.h, which no uapi header carries) */
#define SPLICE_TCP_ESTABLISHED 1

/*
 * Nothing unsent, unacknowledged or unread, and nothing out of order either:
 * the receive memory counts the out-of-order queue, which SIOCINQ does not.
 * Segments held there were acknowledged by SACK, so their sender would wait
 * for a retransmission timeout and SACK reneging to send them again once the
 * socket is gone. Not for a busy stream's freeze (frozen): it cuts the
 * data off the hole's retransmission too, so waiting cannot fill the hole;
 * the sender finds it out as it finds out what the freeze cut. SIOCINQ comes
 * first: it locks the socket, which processes its backlog. The error queue
 * is charged there too, but the proxy's TCP sockets ask for nothing on it
 * (no zerocopy, no timestamping).
 */
static bool sock_quiet(int fd, bool frozen)
{
	int outq = -1, inq = -1;
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	if (ioctl(fd, SIOCOUTQ, &outq) < 0 || ioctl(fd, SIOCINQ, &inq) < 0 || outq != 0 || inq != 0)
		return false;
	return frozen || (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 &&
			  len > SK_MEMINFO_RMEM_ALLOC * sizeof(mem[0]) && mem[SK_MEMINFO_RMEM_ALLOC] == 0);
}

/* Bytes the connection still holds: unsent, unacknowledged or unread, and in its pipes. */
static uint64_t queued(const struct conn *c)
{
	uint64_t n = c->relay.dir[DIR_UP].inpipe + c->relay.dir[DIR_DOWN].inpipe;
	int q;

	for (int i = 0; i < 2; i++) {
		int fd = c->relay.fd[i ? SIDE_UP : SIDE_CLI];

		if (ioctl(fd, SIOCOUTQ, &q) == 0 && q > 0)
			n += (unsigned)q;
		if (ioctl(fd, SIOCINQ, &q) == 0 && q > 0)
			n += (unsigned)q;
	}
	return n;
}

static int repair(int fd, bool on)
{
	/* Leaving without a window probe: the socket is quiet and its peer knows its window. */
	int v = on ? 1 : TCP_REPAIR_OFF_NO_WP;

	return setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &v, sizeof(v));
}

static int queue_seq(int fd, int queue, uint32_t *seq)
{
	socklen_t len = sizeof(*seq);

	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)) < 0)
		return -1;
	return getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, seq, &len);
}

static uint32_t monotonic_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint32_t)((uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000);
}

/*
 * What TCP_INFO tells of an established socket (no repair mode needed):
 * options, scales, segment sizes, and how far it got (the grace's end
 * compares those). ENOTCONN: a FIN or an RST came in.
 */
static int read_info(int fd, struct tcp_snapshot *s)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -1;
	if (ti.tcpi_state != SPLICE_TCP_ESTABLISHED) {
		errno = ENOTCONN;
		return -1;
	}
	/* Linux 4.1+ (tcpi_bytes_received) */
	if (len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	s->options = ti.tcpi_options;
	if (ti.tcpi_options & TCPI_OPT_WSCALE) {
		s->snd_wscale = ti.tcpi_snd_wscale;
		s->rcv_wscale = ti.tcpi_rcv_wscale;
	}
	s->snd_mss = ti.tcpi_snd_mss;
	s->advmss = ti.tcpi_advmss;
	s->bytes_received = ti.tcpi_bytes_received;
	return 0;
}

/*
 * Whether a socket took nothing since s was read: still established (no
 * FIN, no RST) and no byte in order. One call where a second snapshot took
 * seven: a frozen socket sends no data (ACKs only), so only what it
 * receives can move it. A segment that lands out of order is not looked for (the snapshot's
 * sequence numbers did not see one either): its sender, which got a SACK
 * for it, sends it again after its retransmission timeout finds the hole
 * filled and the SACK reneged, translated.
 */
static bool unmoved(int fd, const struct tcp_snapshot *s)
{
	struct tcp_snapshot now;

	return read_info(fd, &now) == 0 && now.bytes_received == s->bytes_received;
}

/* A socket in repair mode: its queues' sequence numbers, windows, options and clock. */
static int snapshot(int fd, struct tcp_snapshot *s)
{
	struct tcp_repair_window w;
	socklen_t len = sizeof(w);
	uint32_t ts, before;

	memset(s, 0, sizeof(*s));
	if (queue_seq(fd, TCP_SEND_QUEUE, &s->snd) < 0 || queue_seq(fd, TCP_RECV_QUEUE, &s->rcv) < 0 ||
	    getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &len) < 0)
		return -1;
	if (read_info(fd, s) < 0)
		return -1;
	/* The clock read before the TSval: the offset errs late, never early (PAWS). */
	before = monotonic_ms();
	len = sizeof(ts);
	if (getsockopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, &ts, &len) < 0)
		return -1;
	s->snd_wnd = w.snd_wnd;
	s->max_window = w.max_window;
	s->rcv_wnd = w.rcv_wnd;
	s->rcv_wup = w.rcv_wup;
	s->ts_clock_offset = (uint32_t)(ts - before);
	return 0;
}

static void unfreeze(struct conn *c)
{
	repair(c->relay.fd[SIDE_CLI], false);
	repair(c->relay.fd[SIDE_UP], false);
}

static void arm(struct conn *c, ev_tstamp after)
{
	ev_timer_set(&c->splice_timer, after, 0.);
	ev_timer_start(c->w->loop, &c->splice_timer);
}

/* The next check, backing off. */
static void arm_next(struct conn *c)
{
	arm(c, c->splice_wait);
	c->splice_wait = c->splice_wait * 2 < SPLICE_MAX_S ? c->splice_wait * 2 : SPLICE_MAX_S;
}

/*
 * The entries go, the sockets thaw: the flow is the proxy's again. Returns
 * what splice_del says the entries took (-errno: not known).
 */
static int64_t undo(struct conn *c, const struct proxy_splice *sp)
{
	const struct proxy_settings *s = &c->w->p->s;
	int64_t taken = s->splice_del ? s->splice_del(s->splice_ctx, sp) : -ENOSYS;

	unfreeze(c);
	free(c->splice_hold);
	c->splice_hold = NULL;
	return taken;
}

/*
 * The freeze's entries in: busy, a stream's freeze (counted, SPLICE_FREEZES
 * at most); else a quiet flow's hold. 0, or splice_add's -errno (-EEXIST:
 * the tuple's last flow, offloaded, still has its entries).
 */
static int freeze(struct conn *c, bool busy)
{
	const struct proxy_settings *s = &c->w->p->s;
	struct proxy_splice sp = { .flow = c->flow, .client = c->client, .dst = c->dst, .freeze = true };
	int rc = s->splice_add(s->splice_ctx, &sp);

	if (rc < 0)
		return rc;
	c->splice_frozen = true;
	c->splice_busy = busy;
	/* A quiet flow's hold ends within this check: only a busy freeze is drained and watched. */
	if (busy) {
		c->splice_frozen_at = c->splice_drained_at = ev_now(c->w->loop);
		c->splice_queued = queued(c);
		c->splice_misses = 0;
		c->splice_freezes++;
		STAT_INC(c->w, offload_freezes);
	}
	return 0;
}

/* Whether the relay moved bytes since the last check. */
static bool moved(struct conn *c)
{
	uint64_t n = c->relay.dir[DIR_UP].bytes + c->relay.dir[DIR_DOWN].bytes;
	bool m = n != c->splice_bytes;

	c->splice_bytes = n;
	return m;
}

/* The freeze's entries go (or a translation half written over them): the peers' data reaches the proxy again. */
static void thaw(struct conn *c)
{
	const struct proxy_settings *s = &c->w->p->s;
	struct proxy_splice sp = { .flow = c->flow, .client = c->client, .dst = c->dst };

	if (!c->splice_frozen)
		return;
	if (s->splice_del)
		s->splice_del(s->splice_ctx, &sp);
	c->splice_frozen = false;
}

/* How a try ended: handed over and in its grace, try again later, or never. */
enum try_result { TRY_HELD, TRY_LATER, TRY_NEVER };

static enum try_result refused(struct conn *c, enum splice_refusal r)
{
	struct worker *w = c->w;

	switch (r) {
	case SPLICE_NOT_QUIET:
	case SPLICE_EDGE:
	case SPLICE_TAKEN:
		c->splice_last_refusal = r;
		return TRY_LATER;
	case SPLICE_TIMESTAMPS:
		STAT_INC(w, offload_timestamps);
		break;
	case SPLICE_ECN:
		STAT_INC(w, offload_ecn);
		break;
	case SPLICE_WINDOW:
		STAT_INC(w, offload_window);
		break;
	case SPLICE_MSS:
		STAT_INC(w, offload_mss);
		break;
	case SPLICE_GO:
		break;
	}
	return TRY_NEVER;
}

/* A FIN or an RST came in (ENOTCONN from a read): the relay reads it and the flow ends proxied, unfrozen. */
static enum try_result ending(struct conn *c)
{
	c->splice_misses = 0; /* no busy freeze for a flow that is ending */
	return refused(c, SPLICE_NOT_QUIET);
}

/*
 * Whether options, ECN or segment sizes already refuse the handoff: then it
 * is refused (counted) now, before a freeze or a hold would cost the senders
 * for nothing: TRY_NEVER. TRY_LATER: a FIN or an RST came in (ending()).
 * TRY_HELD: neither, go on.
 */
static enum try_result refused_early(struct conn *c)
{
	struct tcp_snapshot a, b;
	enum splice_refusal r;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (read_info(c->relay.fd[SIDE_CLI], &a) < 0 || read_info(c->relay.fd[SIDE_UP], &b) < 0)
		return errno == ENOTCONN ? ending(c) : TRY_HELD; /* other failures: the handoff's own reads say */
	r = splice_options(&a, &b);
	return r == SPLICE_GO ? TRY_HELD : refused(c, r);
}

/*
 * The handoff. A quiet flow is held first: freeze entries go in just before
 * its sockets are read (no wait: data that comes while held is cut off, its
 * sender sends it again to the translation, a response alone in flight
 * after its retransmission timeout). Read unheld, a segment that passed the
 * classifier after the read but before the translation could land in a
 * socket while the next ones went to the peer translated: the sockets and
 * the peers would each have acknowledged data the other never sent, and
 * Linux discards such segments whole. Held, only a segment already past the
 * classifier can still land, and the reads give it the time to (a hold
 * written after the reads, with only the second look between it and the
 * translation, let such segments land in the grace: undone, or reset when
 * the translation had taken the next ones). Then both sockets go into
 * repair mode and are read, looked at again, and the translation is written
 * over the hold. A flow not handed over is thawed at once. A busy stream's
 * freeze is in already, and stays while it drains.
 */
static enum try_result try_splice(struct conn *c)
{
	const struct proxy_settings *s = &c->w->p->s;
	int a = c->relay.fd[SIDE_CLI], b = c->relay.fd[SIDE_UP];
	bool hold = !c->splice_frozen;
	struct tcp_snapshot sa, sb;
	struct proxy_splice sp;
	enum splice_refusal r;
	enum try_result r0;
	int rc;

	if (!sock_quiet(a, !hold) || !sock_quiet(b, !hold))
		return refused(c, SPLICE_NOT_QUIET);
	/* What options refuse is refused before a hold: data it cut would cost its sender a timeout for nothing. */
	if (hold && (r0 = refused_early(c)) != TRY_HELD)
		return r0;
	if (hold && (rc = freeze(c, false)) < 0) {
		if (rc == -EEXIST) /* the tuple's last flow lingers (its FINs' ACKs, or a reap to come): later */
			return refused(c, SPLICE_TAKEN);
		STAT_INC(c->w, offload_map_refused); /* printed */
		return TRY_NEVER;
	}
	if (repair(a, true) < 0 || repair(b, true) < 0) {
		unfreeze(c);
		STAT_INC(c->w, offload_repair_failed);
		return TRY_NEVER;
	}
	if (snapshot(a, &sa) < 0 || snapshot(b, &sb) < 0) {
		rc = errno;
		unfreeze(c);
		if (rc == ENOTCONN)
			return ending(c);
		STAT_INC(c->w, offload_repair_failed);
		return TRY_NEVER;
	}
	/* A segment may have come between the first look and the hold or the freeze. */
	if (!sock_quiet(a, !hold) || !sock_quiet(b, !hold)) {
		unfreeze(c);
		return refused(c, SPLICE_NOT_QUIET);
	}
	memset(&sp, 0, sizeof(sp));
	r = splice_plan(&sa, &sb, !hold && c->splice_busy, &sp);
	if (r != SPLICE_GO) {
		unfreeze(c);
		return refused(c, r);
	}
	sp.flow = c->flow;
	sp.client = c->client;
	sp.dst = c->dst;
	sp.bytes_up = c->relay.dir[DIR_UP].bytes;
	sp.bytes_down = c->relay.dir[DIR_DOWN].bytes;
	sp.accept_ns = c->accept_ns;
	sp.handoff_ns = proxy_now_ns();
	if (s->splice_add(s->splice_ctx, &sp) < 0) {
		thaw(c);
		unfreeze(c);
		STAT_INC(c->w, offload_map_refused);
		return TRY_NEVER;
	}
	c->splice_frozen = false; /* its entries are the translation now */
	c->splice_hold = malloc(sizeof(*c->splice_hold));
	if (!c->splice_hold) {
		undo(c, &sp);
		return TRY_NEVER;
	}
	*c->splice_hold = (struct splice_hold){ .sp = sp, .a = sa, .b = sb };
	/*
	 * From here the classifier takes the flow's packets, but one that
	 * passed it before the entries were written may still be on its way to
	 * a socket: the relay holds still for SPLICE_GRACE_S, then looks.
	 */
	conn_pause(c);
	c->splice_state = SPLICE_STATE_GRACE;
	arm(c, SPLICE_GRACE_S);
	return TRY_HELD;
}

/*
 * The grace is over: a socket that moved means a segment got in first. If
 * the entries translated nothing yet, the peers still agree with the
 * sockets: undo, relay what it brought, try again later. If they did, the
 * peers and the sockets no longer agree (a socket holds, and acknowledged,
 * data its peer never got, and the peer acknowledged data the socket never
 * sent, so Linux would discard each side's segments whole: a flow stalled
 * for good): the connection is reset, and counted. c may be gone on return.
 */
static void finish_splice(struct conn *c)
{
	const struct proxy_settings *s = &c->w->p->s;
	struct splice_hold *h = c->splice_hold;

	if (!unmoved(c->relay.fd[SIDE_CLI], &h->a) || !unmoved(c->relay.fd[SIDE_UP], &h->b)) {
		if (undo(c, &h->sp) != 0) {
			STAT_INC(c->w, offload_aborted);
			c->splice_state = SPLICE_STATE_NEVER;
			conn_abort(c); /* both sockets reset */
			return;
		}
		STAT_INC(c->w, offload_races);
		c->splice_last_refusal = SPLICE_NOT_QUIET; /* a segment moved it */
		c->splice_state = SPLICE_STATE_TRYING;
		arm_next(c);
		conn_resume(c); /* last: it may close c */
		return;
	}
	STAT_INC(c->w, offloaded);
	if (s->on_splice)
		s->on_splice(s->splice_ctx, &h->sp);
	/* Closed in repair mode: disconnected without a FIN or an RST. */
	conn_retire(c);
}

static bool conn_splice_ended(const struct conn *c);

static void splice_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn *c = container_of(t, struct conn, splice_timer);
	enum try_result r;

	(void)revents;
	ev_timer_stop(loop, t);
	if (c->splice_state == SPLICE_STATE_GRACE) {
		finish_splice(c);
		return;
	}
	if (conn_splice_ended(c)) {
		/* found ending at a check, which counts it (unlike a flow that ends before its first) */
		if (c->splice_last_refusal == SPLICE_GO)
			c->splice_last_refusal = SPLICE_NOT_QUIET;
		conn_splice_abandon(c); /* the relay goes on to its close */
		return;
	}
	if (c->relay.dir[DIR_UP].inpipe || c->relay.dir[DIR_DOWN].inpipe) {
		c->splice_last_refusal = SPLICE_NOT_QUIET;
		r = TRY_LATER;
	} else {
		r = try_splice(c);
	}
	switch (r) {
	case TRY_HELD: /* the grace's timer runs */
		return;
	case TRY_NEVER:
		thaw(c);
		c->splice_state = SPLICE_STATE_NEVER;
		return;
	case TRY_LATER:
		if (c->splice_frozen && !c->splice_busy)
			thaw(c); /* a quiet flow's hold ends with its check */
		break;
	}
	if (c->splice_frozen) {
		uint64_t q = queued(c);

		if (q < c->splice_queued)
			c->splice_drained_at = ev_now(loop);
		c->splice_queued = q;
		if (ev_now(loop) - c->splice_drained_at < SPLICE_FREEZE_STALL_S &&
		    ev_now(loop) - c->splice_frozen_at < SPLICE_FREEZE_MAX_S) {
			arm(c, SPLICE_FREEZE_CHECK_S);
			return;
		}
		thaw(c); /* it does not drain */
	} else if ((c->splice_last_refusal == SPLICE_NOT_QUIET || c->splice_last_refusal == SPLICE_EDGE) &&
		   moved(c) &&
		   ++c->splice_misses >= SPLICE_FREEZE_AFTER && c->splice_freezes < SPLICE_FREEZES) {
		enum try_result early = refused_early(c);

		if (early == TRY_NEVER) {
			c->splice_state = SPLICE_STATE_NEVER;
			return;
		}
		if (early == TRY_HELD) {
			int rc = freeze(c, true);

			if (rc == 0) {
				arm(c, SPLICE_FREEZE_CHECK_S);
				return;
			}
			if (rc != -EEXIST)
				c->splice_freezes = SPLICE_FREEZES; /* the classifier refused it (printed): not again */
		}
	}
	if (ev_now(loop) - c->splice_since >= SPLICE_GIVE_UP_S) {
		conn_splice_abandon(c);
		return;
	}
	arm_next(c);
}

void conn_splice_abandon(struct conn *c)
{
	if (c->splice_state == SPLICE_STATE_GRACE) {
		/* Closed in its grace (the proxy stops): never handed over, and not refused either. */
		undo(c, &c->splice_hold->sp);
		c->splice_state = SPLICE_STATE_NEVER;
		return;
	}
	if (c->splice_state != SPLICE_STATE_TRYING)
		return;
	thaw(c);
	/*
	 * It ended while no check found it quiet: the reason it stayed proxied.
	 * None when no check ran (it ended within SPLICE_FIRST_S, too short to
	 * gain from a handoff) or the tuple was taken.
	 */
	if (c->splice_last_refusal == SPLICE_EDGE)
		STAT_INC(c->w, offload_edge);
	else if (c->splice_last_refusal == SPLICE_NOT_QUIET)
		STAT_INC(c->w, offload_not_quiet);
	c->splice_state = SPLICE_STATE_NEVER;
}

/* A half-closed flow is left to the relay: its end is near, and FIN state is not handed over. */
static bool conn_splice_ended(const struct conn *c)
{
	const struct relay *r = &c->relay;

	return r->dir[DIR_UP].src_eof || r->dir[DIR_UP].shut || r->dir[DIR_DOWN].src_eof ||
	       r->dir[DIR_DOWN].shut;
}

void conn_splice_check(struct conn *c)
{
	struct worker *w = c->w;
	const struct relay *r = &c->relay;

	if (c->splice_state != SPLICE_STATE_WAIT || conn_splice_ended(c) ||
	    r->dir[DIR_UP].bytes + r->dir[DIR_DOWN].bytes < w->p->s.offload_after)
		return;
	c->splice_state = SPLICE_STATE_TRYING;
	c->splice_since = ev_now(w->loop);
	c->splice_wait = SPLICE_NEXT_S;
	ev_set_cb(&c->splice_timer, splice_timer_cb);
	arm(c, SPLICE_FIRST_S);
}
