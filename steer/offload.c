/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * See offload.h. The list is short-lived state under one mutex: the proxy's
 * workers add to it at handoff, the daemon's loop reaps it once a second.
 */
#include "steer/offload.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "steer/conntrack.h"

/* After both FINs, the entries stay this long: retransmitted FINs and the last ACK still need them. */
#define LINGER_NS (2ull * 1000000000)

struct offloaded {
	struct offloaded *next;
	struct proxy_splice sp;
};

struct offload_table {
	pthread_mutex_t lock;
	struct classifier *c;
	struct offloaded *flows;
	void (*on_close)(void *ctx, const struct proxy_conn_event *ev);
	void *ctx;
	uint64_t idle_ns;
	bool ct_forget;    /* delete the conntrack entries of the flows that end */
	struct nl_sock ct; /* ctnetlink, opened at the first flow's end */
	bool ct_open;
};

struct offload_table *offload_table_new(void (*on_close)(void *ctx, const struct proxy_conn_event *ev),
					void *ctx, uint64_t idle_ns)
{
	struct offload_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	t->on_close = on_close;
	t->ctx = ctx;
	t->idle_ns = idle_ns;
	return t;
}

void offload_set_classifier(struct offload_table *t, struct classifier *c)
{
	pthread_mutex_lock(&t->lock);
	t->c = c;
	pthread_mutex_unlock(&t->lock);
}

void offload_forget_conntrack(struct offload_table *t)
{
	pthread_mutex_lock(&t->lock);
	t->ct_forget = true;
	pthread_mutex_unlock(&t->lock);
}

int offload_splice_add(void *ctx, const struct proxy_splice *sp)
{
	struct offload_table *t = ctx;
	int rc = -ENODEV;

	pthread_mutex_lock(&t->lock);
	if (t->c && t->c->ops->splice_add)
		rc = t->c->ops->splice_add(t->c, sp);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int64_t offload_splice_del(void *ctx, const struct proxy_splice *sp)
{
	struct offload_table *t = ctx;
	struct classifier_splice_end end;
	int64_t rc = -ENODEV;

	pthread_mutex_lock(&t->lock);
	if (t->c && t->c->ops->splice_end)
		rc = t->c->ops->splice_end(t->c, sp, true, &end);
	pthread_mutex_unlock(&t->lock);
	return rc < 0 ? rc : (int64_t)(end.dir[0].packets + end.dir[1].packets);
}

void offload_on_splice(void *ctx, const struct proxy_splice *sp)
{
	struct offload_table *t = ctx;
	struct offloaded *f = calloc(1, sizeof(*f));

	pthread_mutex_lock(&t->lock);
	if (f) {
		f->sp = *sp;
		f->next = t->flows;
		t->flows = f;
	}
	pthread_mutex_unlock(&t->lock);
	/* No memory: the flow goes on in the kernel, its entries stay until the stop removes the map. */
}

/*
 * Bytes a direction carried after the handoff: its end is known only once it
 * sent a FIN or an RST (an RST may carry any sequence number: one before the
 * handoff's counts nothing). The sequence numbers give the count modulo
 * 4 GiB; the payload the classifier translated (sent, retransmissions
 * included), the multiples of 4 GiB: the largest count it allows.
 */
static uint64_t after_handoff(const struct proxy_splice *sp, const struct classifier_splice_end *e, int d)
{
	uint32_t low = e->dir[d].end_seq - sp->dir[d].next_seq;
	uint64_t translated = e->dir[d].bytes;

	if (!e->dir[d].fin && !e->dir[d].rst)
		return 0;
	if (translated >= low) /* they agree: the count is low plus the 4 GiB multiples the payload allows */
		return low + ((translated - low) & ~0xffffffffull);
	/*
	 * Less payload than the sequence numbers say: an RST's sequence number
	 * from before the handoff (counts nothing), or payload the classifier
	 * did not see whole (IP fragments after the first): the sequence numbers.
	 */
	return (int32_t)low > 0 ? low : 0;
}

/*
 * The flow's conntrack entry goes with it (conntrack.h). Not when a new
 * connection on the tuple ended it: conntrack took that one's handshake
 * into the same entry, which is the new connection's now. No conntrack in
 * the namespace (nf_conntrack not loaded: asking would load it), or no
 * entry, is no error; another error is printed and the deletes stop (each
 * try would meet it again): the entries left time out as idle established
 * ones do.
 */
static void forget_ct(struct offload_table *t, const struct proxy_splice *sp, const struct classifier_splice_end *e)
{
	int rc;

	if (!t->ct_forget || (e && (e->dir[SPLICE_UP].syn || e->dir[SPLICE_DOWN].syn)) ||
	    access("/proc/sys/net/netfilter/nf_conntrack_count", F_OK) != 0)
		return;
	rc = t->ct_open ? 0 : nl_open(&t->ct, NETLINK_NETFILTER, 0, 0);
	if (rc == 0) {
		t->ct_open = true;
		rc = ct_forget_tcp(&t->ct, &sp->client, &sp->dst);
	}
	if (rc == 0 || rc == -ENOENT)
		return;
	t->ct_forget = false;
	fprintf(stderr,
		"steer: offload: the conntrack entries of offloaded flows that end are no longer deleted "
		"(they time out as idle established ones): %s%s%s\n",
		strerror(-rc), t->ct_open && t->ct.msg[0] ? ": " : "", t->ct_open ? t->ct.msg : "");
}

static void emit_close(struct offload_table *t, const struct offloaded *f,
		       const struct classifier_splice_end *e, enum proxy_close_reason why, uint64_t now)
{
	struct proxy_conn_event ev;
	const struct proxy_splice *sp = &f->sp;

	memset(&ev, 0, sizeof(ev));
	ev.flow = sp->flow;
	ev.proto = IPPROTO_TCP;
	ev.client = sp->client;
	ev.dst = sp->dst;
	ev.upstream_src = sp->client;
	ev.accept_ns = sp->accept_ns;
	ev.close_ns = now;
	ev.reason = why;
	ev.bytes_up = sp->bytes_up;
	ev.bytes_down = sp->bytes_down;
	if (e) {
		/* A FIN takes a sequence number of its own, not a byte. */
		ev.bytes_up += after_handoff(sp, e, SPLICE_UP);
		ev.bytes_down += after_handoff(sp, e, SPLICE_DOWN);
	}
	/* first: whoever reads the close record finds the entry gone */
	forget_ct(t, sp, e);
	if (t->on_close)
		t->on_close(t->ctx, &ev);
}

/* Why f ended, or CLOSE_REASON_MAX while it goes on. */
static enum proxy_close_reason ended(const struct offload_table *t, const struct offloaded *f,
				     const struct classifier_splice_end *e, uint64_t now)
{
	uint64_t last = f->sp.handoff_ns, quiet;

	if (e->dir[SPLICE_UP].rst)
		return CLOSE_CLIENT_RESET;
	if (e->dir[SPLICE_DOWN].rst)
		return CLOSE_UPSTREAM_RESET;
	/* A new connection on the tuple: the client is done with this one, closed or not. */
	if (e->dir[SPLICE_UP].syn || e->dir[SPLICE_DOWN].syn)
		return e->dir[SPLICE_UP].fin && e->dir[SPLICE_DOWN].fin ? CLOSE_EOF : CLOSE_CLIENT_RESET;
	for (int d = 0; d < 2; d++)
		if (e->dir[d].last_ns > last)
			last = e->dir[d].last_ns;
	/* A packet translated after now was read (another CPU, this instant) is no silence. */
	quiet = now > last ? now - last : 0;
	if (e->dir[SPLICE_UP].fin && e->dir[SPLICE_DOWN].fin && quiet >= LINGER_NS)
		return CLOSE_EOF;
	if (t->idle_ns && quiet >= t->idle_ns)
		return CLOSE_IDLE_TIMEOUT;
	return CLOSE_REASON_MAX;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

size_t offload_reap(struct offload_table *t)
{
	struct offloaded **pf, *f;
	struct classifier_splice_end e;
	uint64_t now = now_ns();
	size_t live = 0;

	pthread_mutex_lock(&t->lock);
	for (pf = &t->flows; (f = *pf);) {
		enum proxy_close_reason why = CLOSE_REASON_MAX;

		if (!t->c || !t->c->ops->splice_end || t->c->ops->splice_end(t->c, &f->sp, false, &e) < 0) {
			/* The entries are gone (the classifier was reloaded): nothing carries the flow any more. */
			why = CLOSE_ERROR;
			emit_close(t, f, NULL, why, now);
		} else if ((why = ended(t, f, &e, now)) != CLOSE_REASON_MAX) {
			struct classifier_splice_end last;

			/* removed and read at once: a packet translated since the first read counts too */
			if (t->c->ops->splice_end(t->c, &f->sp, true, &last) == 0)
				e = last;
			emit_close(t, f, &e, why, now);
		}
		if (why == CLOSE_REASON_MAX) {
			pf = &f->next;
			live++;
			continue;
		}
		*pf = f->next;
		free(f);
	}
	pthread_mutex_unlock(&t->lock);
	return live;
}

void offload_end_all(struct offload_table *t, enum proxy_close_reason why)
{
	struct classifier_splice_end e;
	uint64_t now = now_ns();

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	while (t->flows) {
		struct offloaded *f = t->flows;
		bool have = t->c && t->c->ops->splice_end && t->c->ops->splice_end(t->c, &f->sp, true, &e) == 0;

		emit_close(t, f, have ? &e : NULL, why, now);
		t->flows = f->next;
		free(f);
	}
	t->c = NULL;
	pthread_mutex_unlock(&t->lock);
}

void offload_table_free(struct offload_table *t)
{
	if (!t)
		return;
	offload_end_all(t, CLOSE_SHUTDOWN);
	if (t->ct_open)
		nl_close(&t->ct);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
