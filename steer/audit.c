/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/audit.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "steer/addr.h"
#include "steer/audit_chain.h"
#include "steer/audit_sink.h"
#include "steer/community_id.h"
#include "steer/config.h"
#include "steer/flow_join.h"
#include "steer/flow_stats.h"
#include "steer/log.h"

#define AUDIT_QUEUE 16384
#define AUDIT_LINE 1024
#define AUDIT_BATCH 256
#define JOIN_CAPACITY (1 << 18)
#define FLOW_BACKENDS (1 << 18)  /* open flows whose backend a close record still needs */
#define POLL_NS (50 * 1000000LL) /* no record waits longer than this to be written */
/*
 * The writer sleeps POLL_NS between batches and is woken early only when this
 * many records wait: a wakeup per record (futex, context switch) cost more
 * than formatting the record.
 */
#define AUDIT_WAKE 1024

struct audit {
	struct audit_sink *sink;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct audit_record *ring;
	size_t head, count;          /* under lock */
	bool stopping;               /* under lock */
	uint64_t lost_unreported;    /* under lock */
	atomic_bool reopen;
	/* One atomic per AUDIT_STATS row, so a new row is counted and read without more code. */
	struct {
#define AUDIT_STAT_ATOMIC(field, ...) atomic_uint_fast64_t field;
		AUDIT_STATS(AUDIT_STAT_ATOMIC)
#undef AUDIT_STAT_ATOMIC
	} st; /* st.queued unused: the ring's count is the gauge */
	/* Held by the writer while it uses src; audit_set_source waits for it. */
	pthread_mutex_t src_lock;
	/* Writer thread only (and audit_set_source under src_lock): */
	struct audit_source src;
	struct audit_chain *chain;
	int anchor_s;               /* audit-anchor-interval; 0: at close only */
	int64_t anchor_ns;          /* CLOCK_MONOTONIC of the last anchor */
	uint64_t anchored;          /* the position it named */
	struct flow_join *join;
	struct flow_backend {
		uint64_t flow;
		char backend[8];
	} *flow_backend; /* by flow id modulo FLOW_BACKENDS */
	struct audit_record kbatch[AUDIT_BATCH]; /* kernel records waiting to be written */
	size_t nkbatch;
	uint64_t kernel_lost_seen;
	struct flow_stats *fs; /* written by the writer only, read by status and metrics */
	_Atomic uint64_t own_flow_ids; /* src.flow_ids when the source brings none */
	/* Read by wait_for_work() under `lock`, written under `src_lock`: atomic. */
	_Atomic int64_t last_poll_ns;
};

static void write_batch(struct audit *a, const struct audit_record *recs, size_t n);

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void push(struct audit *a, const struct audit_record *r)
{
	pthread_mutex_lock(&a->lock);
	if (a->count == AUDIT_QUEUE) {
		a->lost_unreported++;
		atomic_fetch_add_explicit(&a->st.lost, 1, memory_order_relaxed);
	} else {
		a->ring[(a->head + a->count) % AUDIT_QUEUE] = *r;
		if (++a->count == AUDIT_WAKE)
			pthread_cond_signal(&a->wake);
	}
	pthread_mutex_unlock(&a->lock);
}

/*
 * Hand lines to the sink and count them. Lines it did not take are no part
 * of the chain either: it goes back to where it stood before them, so a
 * sink error shows as "lost", not as a break in the chain.
 */
static void sink_put(struct audit *a, const struct audit_record *r, const char *buf, size_t len, size_t lines,
		     const struct audit_chain_pos *before)
{
	if (len && !audit_sink_write(a->sink, r, buf, len)) {
		atomic_fetch_add_explicit(&a->st.lost, lines, memory_order_relaxed);
		audit_chain_set_pos(a->chain, before);
	} else {
		atomic_fetch_add_explicit(&a->st.written, lines, memory_order_relaxed);
	}
}

/* Write a batch of lines with as few syscalls as the sink allows. */
static void write_batch(struct audit *a, const struct audit_record *recs, size_t n)
{
	static __thread char out[64 * AUDIT_LINE];
	bool per_record = audit_sink_per_record(a->sink);
	size_t used = 0, lines = 0;
	struct audit_chain_pos before = audit_chain_pos(a->chain);

	for (size_t i = 0; i <= n; i++) {
		if (i == n || used + AUDIT_LINE > sizeof(out) || (per_record && lines)) {
			sink_put(a, per_record ? &recs[i - 1] : NULL, out, used, lines, &before);
			used = lines = 0;
			before = audit_chain_pos(a->chain);
		}
		if (i == n)
			break;
		used += audit_chain_seal(a->chain, out + used,
					 audit_format(&recs[i], out + used, AUDIT_LINE - 1 - AUDIT_CHAIN_ROOM));
		out[used++] = '\n';
		lines++;
	}
}

/* The header record: first in every file and stream, at open and after each reopen. */
static void write_header(struct audit *a)
{
	char line[AUDIT_LINE];
	struct audit_chain_pos before = audit_chain_pos(a->chain);
	struct timespec ts;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	n = audit_chain_header(a->chain, &ts, line, sizeof(line) - 1);
	line[n++] = '\n';
	sink_put(a, NULL, line, n, 1, &before);
}

/*
 * The chain's position, kept outside the log (syslog, or the journal that
 * takes stderr under systemd): a cut tail shows against it. Every anchor_s
 * seconds when records were added, and always at close.
 */
static void anchor(struct audit *a, bool final)
{
	int64_t now = now_ns(CLOCK_MONOTONIC);
	struct audit_chain_pos p = audit_chain_pos(a->chain);

	if (!audit_chain_keyed(a->chain))
		return;
	if (!final && (!a->anchor_s || now - a->anchor_ns < a->anchor_s * 1000000000LL || p.seq == a->anchored))
		return;
	a->anchor_ns = now;
	a->anchored = p.seq;
	log_msg(LOG_INFO, "steer: audit anchor seq=%" PRIu64 " mac=%s\n", p.seq, p.mac);
	if (!log_to_journal())
		syslog(LOG_DAEMON | LOG_NOTICE, "audit anchor seq=%" PRIu64 " mac=%s", p.seq, p.mac);
}

static void kbatch_flush(struct audit *a)
{
	write_batch(a, a->kbatch, a->nkbatch);
	a->nkbatch = 0;
}

static void kbatch_add(struct audit *a, const struct audit_record *r)
{
	if (a->nkbatch == AUDIT_BATCH)
		kbatch_flush(a);
	a->kbatch[a->nkbatch++] = *r;
}

/* Kernel time (CLOCK_MONOTONIC) as wall-clock time, for records the kernel timed. */
static void kernel_ts(uint64_t ts_ns, struct timespec *out)
{
	int64_t wall = now_ns(CLOCK_REALTIME) - (now_ns(CLOCK_MONOTONIC) - (int64_t)ts_ns);

	out->tv_sec = wall / 1000000000LL;
	out->tv_nsec = wall % 1000000000LL;
}

/*
 * A flow id for a record the proxy did not number (a drop; an open with
 * kernel_only), from the proxy's own counter: with two counters a drop
 * could repeat the id of a proxied flow of the same run.
 */
static uint64_t flow_id(struct audit *a)
{
	_Atomic uint64_t *ids = a->src.flow_ids ? a->src.flow_ids : &a->own_flow_ids;

	return atomic_fetch_add_explicit(ids, 1, memory_order_relaxed) + 1;
}

/* The flow's original tuple (client -> original destination), as monitors on the wire see it. */
static void set_community_id(struct audit_record *r, const struct flow_tuple *t)
{
	community_id_v1(t, 0, r->community_id, sizeof(r->community_id));
}

/* A kernel record, from the event source (under src_lock: the writer, or audit_set_source). */
static void on_kernel_record(void *ctx, const struct flow_record *k)
{
	struct audit *a = ctx;
	struct audit_record r = { .steer_us = -1 };

	if (k->kind == FLOW_RECORD_FLOW && !a->src.kernel_only) {
		join_add(a->join, k);
		return;
	}
	kernel_ts(k->ts_ns, &r.ts);
	flow_tuple_to_sockaddrs(&k->tuple, &r.ev.client, &r.ev.dst);
	r.ev.proto = k->tuple.proto;
	r.ev.flow = flow_id(a);
	set_community_id(&r, &k->tuple);
	snprintf(r.backend, sizeof(r.backend), "%s", k->backend);
	if (k->kind == FLOW_RECORD_FLOW) {
		r.kind = AUDIT_CONN;
		r.ev.open = true;
		flow_stats_open(a->fs, k->backend, k->tuple.proto, -1);
	} else {
		r.kind = AUDIT_DROP;
		snprintf(r.reason, sizeof(r.reason), "%s", k->reason);
		flow_stats_drop(a->fs, k->backend, k->reason);
	}
	kbatch_add(a, &r);
}

/*
 * Drain the kernel's records (no syscall: the ring is mapped); with
 * check_lost, also report what the kernel could not record (a map lookup:
 * only on the writer's timer, never per flow).
 */
static void poll_kernel(struct audit *a, bool check_lost)
{
	uint64_t total;

	if (!a->src.events)
		return;
	a->src.events->consume(a->src.events, on_kernel_record, a);
	if (!check_lost) {
		kbatch_flush(a);
		return;
	}
	total = a->src.events->lost(a->src.events);
	if (total > a->kernel_lost_seen) {
		struct audit_record r = { .kind = AUDIT_LOST, .count = total - a->kernel_lost_seen };

		clock_gettime(CLOCK_REALTIME, &r.ts);
		a->kernel_lost_seen = total;
		atomic_store(&a->st.kernel_lost, total);
		kbatch_add(a, &r);
	}
	kbatch_flush(a);
}

static bool take_kernel(struct audit *a, const struct proxy_conn_event *ev, const struct flow_tuple *t,
			bool ok, struct flow_record *k)
{
	if (ok && join_take(a->join, t, ev->accept_ns, k))
		return true;
	/* The classifier wrote its record before the packet reached the proxy: it is in the ring. */
	poll_kernel(a, false);
	return ok && join_take(a->join, t, ev->accept_ns, k);
}

/* Which backend steered this flow, steer_us for an open record, and its Community ID. */
static void resolve(struct audit *a, struct audit_record *r)
{
	struct proxy_conn_event *ev = &r->ev;
	struct flow_backend *fb = &a->flow_backend[ev->flow % FLOW_BACKENDS];
	struct flow_record k;
	struct flow_tuple t;
	bool ok = flow_tuple_from_sockaddrs(&t, ev->proto, (const void *)&ev->client, (const void *)&ev->dst);

	if (ok)
		set_community_id(r, &t);
	r->steer_us = -1;
	if (!ev->open && fb->flow == ev->flow && ev->flow) {
		memcpy(r->backend, fb->backend, sizeof(r->backend));
		fb->flow = 0;
		return;
	}
	if (take_kernel(a, ev, &t, ok, &k)) {
		snprintf(r->backend, sizeof(r->backend), "%s", k.backend);
		if (ev->open)
			r->steer_us = ev->accept_ns > k.ts_ns ? (int64_t)(ev->accept_ns - k.ts_ns) / 1000 : 0;
		atomic_fetch_add_explicit(&a->st.joined, 1, memory_order_relaxed);
	} else {
		snprintf(r->backend, sizeof(r->backend), "%s",
			 a->src.fallback ? a->src.fallback(a->src.ctx) : "unknown");
		atomic_fetch_add_explicit(&a->st.unjoined, 1, memory_order_relaxed);
		if (ev->open)
			flow_stats_failure(a->fs, r->backend, FLOW_FAIL_unjoined);
	}
	if (!ev->open) {
		/* A close whose open was never seen: the upstream connect failed (proxy.h). */
		flow_stats_failure(a->fs, r->backend, FLOW_FAIL_setup_failed);
		return;
	}
	fb->flow = ev->flow;
	memcpy(fb->backend, r->backend, sizeof(fb->backend));
	flow_stats_open(a->fs, r->backend, ev->proto, r->steer_us);
}

/*
 * Sleep until a batch is due: POLL_NS after the last one, or earlier when
 * AUDIT_WAKE records wait, on a reopen, or when stopping. An idle writer
 * wakes 20 times a second; a busy one once per batch, not per record.
 */
static void wait_for_work(struct audit *a)
{
	while (a->count < AUDIT_WAKE && !a->stopping && !atomic_load(&a->reopen)) {
		int64_t due = atomic_load(&a->last_poll_ns) + POLL_NS;
		struct timespec ts = { .tv_sec = due / 1000000000LL, .tv_nsec = due % 1000000000LL };

		if (now_ns(CLOCK_MONOTONIC) >= due || pthread_cond_timedwait(&a->wake, &a->lock, &ts) == ETIMEDOUT)
			return;
	}
}

/* Take up to max queued records, oldest first; the caller holds lock. */
static size_t dequeue(struct audit *a, struct audit_record *batch, size_t max)
{
	size_t n = 0;

	while (n < max && a->count) {
		batch[n++] = a->ring[a->head];
		a->head = (a->head + 1) % AUDIT_QUEUE;
		a->count--;
	}
	return n;
}

/* Join connection records with the kernel's, then write; the caller holds src_lock. */
static void resolve_write(struct audit *a, struct audit_record *batch, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (batch[i].kind == AUDIT_CONN)
			resolve(a, &batch[i]);
	write_batch(a, batch, n);
}

/* Resolve and write what is queued now; the caller holds src_lock. */
static void drain_queue(struct audit *a)
{
	struct audit_record batch[64];
	size_t n;

	do {
		pthread_mutex_lock(&a->lock);
		n = dequeue(a, batch, sizeof(batch) / sizeof(batch[0]));
		pthread_mutex_unlock(&a->lock);
		resolve_write(a, batch, n);
	} while (n);
}

static void *writer(void *arg)
{
	struct audit *a = arg;
	struct audit_record batch[AUDIT_BATCH];

	for (;;) {
		uint64_t lost = 0;
		size_t n;
		bool stop;

		pthread_mutex_lock(&a->lock);
		wait_for_work(a);
		n = dequeue(a, batch, AUDIT_BATCH);
		lost = a->lost_unreported;
		a->lost_unreported = 0;
		stop = a->stopping && !a->count;
		pthread_mutex_unlock(&a->lock);

		pthread_mutex_lock(&a->src_lock);
		if (atomic_exchange(&a->reopen, false)) {
			audit_sink_reopen(a->sink);
			write_header(a);
		}
		resolve_write(a, batch, n);
		if (lost) {
			struct audit_record r = { .kind = AUDIT_LOST, .count = lost };

			clock_gettime(CLOCK_REALTIME, &r.ts);
			write_batch(a, &r, 1);
		}
		if (stop || now_ns(CLOCK_MONOTONIC) - atomic_load(&a->last_poll_ns) >= POLL_NS) {
			poll_kernel(a, true);
			atomic_store(&a->last_poll_ns, now_ns(CLOCK_MONOTONIC));
		}
		anchor(a, stop);
		pthread_mutex_unlock(&a->src_lock);
		if (stop)
			return NULL;
	}
}

/*
 * The chain of the key in key_path (NULL: unkeyed), continuing the one the
 * file holds; before the sink opens it, so that a missing file is seen as
 * one. Every new chain is said: verify breaks there unless told to allow it.
 * *cut: the file's last line has no newline.
 */
static struct audit_chain *open_chain(const char *key_path, const char *file, bool *cut)
{
	unsigned char key[AUDIT_KEY_MAX];
	size_t len = 0;
	struct audit_chain *c;
	char why[128];
	int r;

	*cut = false;
	if (key_path && audit_key_load(key_path, true, key, &len, stderr) < 0)
		return NULL;
	c = audit_chain_new(key_path ? key : NULL, len);
	OPENSSL_cleanse(key, sizeof(key));
	if (!c || !file)
		return c;
	r = audit_chain_resume(c, file, cut, why, sizeof(why));
	if (r < 0)
		fprintf(stderr, "steer: warning: audit log %s: %s: a new chain starts here\n", file, why);
	else if (why[0])
		fprintf(stderr, "steer: notice: audit log %s: %s: a new chain starts (seq 0)\n", file, why);
	return c;
}

struct audit *audit_open(const char *sink, int syslog_facility)
{
	return audit_open_keyed(sink, syslog_facility, NULL, 0);
}

struct audit *audit_open_keyed(const char *sink, int syslog_facility, const char *key_path, int anchor_s)
{
	struct audit *a = calloc(1, sizeof(*a));
	bool cut;

	if (!a)
		return NULL;
	a->ring = calloc(AUDIT_QUEUE, sizeof(*a->ring));
	a->join = join_new(JOIN_CAPACITY);
	a->flow_backend = calloc(FLOW_BACKENDS, sizeof(*a->flow_backend));
	a->fs = flow_stats_new();
	if (!a->ring || !a->join || !a->flow_backend || !a->fs)
		goto fail;
	a->chain = open_chain(key_path, audit_sink_spec_file(sink), &cut);
	if (!a->chain)
		goto fail;
	a->sink = audit_sink_open(sink, syslog_facility);
	if (!a->sink) {
		audit_chain_free(a->chain);
		goto fail;
	}
	/* A crash cut the last line: the header goes on a line of its own, so verify names the cut one. */
	if (cut && !audit_sink_write(a->sink, NULL, "\n", 1))
		fprintf(stderr, "steer: warning: audit log %s: cannot end its cut last line: %s\n", sink, strerror(errno));
	a->anchor_s = anchor_s;
	a->anchor_ns = now_ns(CLOCK_MONOTONIC);
	/* Before the writer starts: nothing can come before the header. */
	write_header(a);
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->src_lock, NULL);
	{
		pthread_condattr_t attr;

		/* Timed waits on the monotonic clock: the kernel's timestamps use it. */
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&a->wake, &attr);
		pthread_condattr_destroy(&attr);
	}
	if (pthread_create(&a->thread, NULL, writer, a)) {
		fprintf(stderr, "steer: audit: cannot start the writer thread\n");
		audit_sink_close(a->sink);
		audit_chain_free(a->chain);
		goto fail;
	}
	return a;
fail:
	free(a->ring);
	join_free(a->join);
	free(a->flow_backend);
	flow_stats_free(a->fs);
	free(a);
	return NULL;
}

void audit_set_source(struct audit *a, const struct audit_source *src)
{
	static const struct audit_source none;

	if (!a)
		return;
	pthread_mutex_lock(&a->src_lock);
	if (a->src.events)
		poll_kernel(a, true); /* what the old source still holds */
	/* Records queued so far belong to the old source: resolved with it. */
	drain_queue(a);
	a->src = src ? *src : none;
	pthread_mutex_unlock(&a->src_lock);
	pthread_mutex_lock(&a->lock);
	atomic_store(&a->last_poll_ns, now_ns(CLOCK_MONOTONIC));
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
}

void audit_conn(struct audit *a, const struct proxy_conn_event *ev)
{
	struct audit_record r = { .kind = AUDIT_CONN, .ev = *ev };

	if (!a)
		return;
	clock_gettime(CLOCK_REALTIME, &r.ts);
	push(a, &r);
}

void audit_backend_change(struct audit *a, const char *from, const char *to)
{
	struct audit_record r = { .kind = AUDIT_BACKEND };

	if (!a)
		return;
	clock_gettime(CLOCK_REALTIME, &r.ts);
	snprintf(r.from, sizeof(r.from), "%s", from);
	snprintf(r.to, sizeof(r.to), "%s", to);
	push(a, &r);
}

void audit_reopen(struct audit *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	atomic_store(&a->reopen, true);
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
}

void audit_get_stats(struct audit *a, struct audit_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!a)
		return;
#define AUDIT_STAT_LOAD(field, ...) out->field = atomic_load(&a->st.field);
	AUDIT_STATS(AUDIT_STAT_LOAD)
#undef AUDIT_STAT_LOAD
	pthread_mutex_lock(&a->lock);
	out->queued = a->count;
	pthread_mutex_unlock(&a->lock);
}

void audit_flow_stats(struct audit *a, struct flow_stats_snap *out)
{
	flow_stats_read(a ? a->fs : NULL, out);
}

void audit_close(struct audit *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	audit_sink_close(a->sink);
	audit_chain_free(a->chain);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->src_lock);
	pthread_cond_destroy(&a->wake);
	free(a->ring);
	join_free(a->join);
	free(a->flow_backend);
	flow_stats_free(a->fs);
	free(a);
}
