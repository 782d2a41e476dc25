/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/health.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "steer/status.h"

/*
 * What counts as "meant to proxy, did not". Not the upstream connect
 * failures (connect_*): there the proxy did its part and the server or the
 * path refused, which it passes on to the client as the server would.
 */
static const struct watched {
	const char *source, *counter, *cause;
} watched[] = {
	{ "ebpf", "assign_failed",
	  "the kernel refused to hand new flows to the proxy's listener (bpf_sk_assign): forwarded untouched "
	  "(on-proxy-down fail-open) or dropped (fail-closed)" },
	{ "ebpf", "no_listener_pass",
	  "no proxy listener on proxy-port: new flows forwarded untouched (on-proxy-down fail-open)" },
	{ "ebpf", "no_listener_drop", "no proxy listener on proxy-port: new flows dropped (on-proxy-down fail-closed)" },
	{ "ebpf", "proxy_full_pass",
	  "the proxy is at its connection limit (open files: see steer status): new flows forwarded untouched "
	  "(on-proxy-down fail-open)" },
	{ "ebpf", "proxy_full_drop",
	  "the proxy is at its connection limit (open files: see steer status): new flows dropped "
	  "(on-proxy-down fail-closed)" },
	{ "ebpf", "lookup_failed",
	  "a recorded flow's socket lookup found no proxy listener, or the kernel refused it: not proxied" },
	{ "nft", "no_listener_pass",
	  "no proxy listener on proxy-port: new flows forwarded untouched (on-proxy-down fail-open)" },
	{ "nft", "no_listener_drop", "no proxy listener on proxy-port: new flows dropped (on-proxy-down fail-closed)" },
	{ "proxy", "accept_errors", "the proxy could not accept connections the kernel handed it" },
	{ "proxy", "emfile", "the proxy ran out of file descriptors: connections wait unaccepted" },
	{ "proxy", "conn_limit_hits",
	  "the proxy's connection limit was reached: with the ebpf backend new flows meet on-proxy-down "
	  "meanwhile; with nft they wait unaccepted" },
	{ "proxy", "upstream_errors", "the proxy could not make the upstream socket (socket, bind): client reset" },
	{ "proxy", "loop_rejected", "a flow to the proxy's own port was steered (a loop): client reset" },
	{ "proxy", "udp_session_errors", "the proxy could not open a UDP session: datagrams dropped" },
	{ "proxy", "udp_session_limit", "the proxy's UDP session bound was reached: datagrams dropped" },
};
#define NWATCHED (sizeof(watched) / sizeof(watched[0]))

/* Samples every RING_STEP_S seconds, enough to cover HEALTH_RECENT_S. */
#define RING_STEP_S 10
#define RING (HEALTH_RECENT_S / RING_STEP_S + 1)

struct sample {
	time_t t;
	uint64_t v;
};

struct watch_state {
	bool seen;
	uint64_t value;  /* last read */
	uint64_t logged; /* value at its last line (or at start) */
	time_t logged_at;
	bool ever_logged;
	time_t grew_at;
	bool ever_grew;
	struct sample ring[RING];
	size_t head, n;
};

struct health {
	struct watch_state w[NWATCHED];
	bool via_lookup; /* as at the last health_features */
	bool features_seen;
};

time_t health_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

struct health *health_new(void)
{
	struct health *h = calloc(1, sizeof(*h));

	if (!h)
		fprintf(stderr, "steer: out of memory\n");
	return h;
}

void health_free(struct health *h)
{
	free(h);
}

static bool find_value(const struct watched *w, const struct counter_group *groups, size_t ngroups,
		       const struct proxy_stats *ps, uint64_t *v)
{
	if (!strcmp(w->source, "proxy")) {
		for (size_t i = 0; ps && i < proxy_stat_table.n; i++)
			if (!strcmp(proxy_stat_table.rows[i].key, w->counter)) {
				*v = stat_value(&proxy_stat_table.rows[i], ps);
				return true;
			}
		return false;
	}
	for (size_t g = 0; g < ngroups; g++)
		if (!strcmp(groups[g].backend, w->source))
			for (size_t i = 0; i < groups[g].n; i++)
				if (!strcmp(groups[g].c[i].name, w->counter)) {
					*v = groups[g].c[i].value;
					return true;
				}
	return false;
}

static void ring_reset(struct watch_state *s, time_t now, uint64_t v)
{
	s->ring[0] = (struct sample){ now, v };
	s->head = 0;
	s->n = 1;
}

static void ring_add(struct watch_state *s, time_t now, uint64_t v)
{
	if (now - s->ring[s->head].t < RING_STEP_S)
		return;
	s->head = (s->head + 1) % RING;
	s->ring[s->head] = (struct sample){ now, v };
	if (s->n < RING)
		s->n++;
}

static void observe_one(size_t i, struct watch_state *s, uint64_t v, time_t now, FILE *log)
{
	const struct watched *w = &watched[i];

	/* Counters start with the daemon: at first sight, all of v is news. */
	if (!s->seen) {
		s->seen = true;
		ring_reset(s, now, 0);
	} else if (v < s->value) {
		/* A backend installed anew: its counters restart at 0. */
		s->value = s->logged = v;
		ring_reset(s, now, v);
	}
	if (v > s->value) {
		s->grew_at = now;
		s->ever_grew = true;
	}
	s->value = v;
	ring_add(s, now, v);
	if (v > s->logged && (!s->ever_logged || now - s->logged_at >= HEALTH_LOG_EVERY_S)) {
		fprintf(log, "steer: not proxied: %s %s +%llu (%llu in all): %s\n", w->source, w->counter,
			(unsigned long long)(v - s->logged), (unsigned long long)v, w->cause);
		fflush(log);
		s->logged = v;
		s->logged_at = now;
		s->ever_logged = true;
	}
}

void health_observe(struct health *h, const struct counter_group *groups, size_t ngroups,
		    const struct proxy_stats *ps, time_t now, FILE *log)
{
	for (size_t i = 0; i < NWATCHED; i++) {
		uint64_t v;

		if (find_value(&watched[i], groups, ngroups, ps, &v))
			observe_one(i, &h->w[i], v, now, log);
	}
}

void health_features(struct health *h, const struct classifier_features *f, FILE *log)
{
	if (h->features_seen && !h->via_lookup && f->listener_via_lookup) {
		fprintf(log, "steer: the kernel refused to assign a SO_REUSEPORT listener (bpf_sk_assign, Linux "
			     "before 6.6): new flows reach the proxy through sk_lookup from now on%s\n",
			f->sk_lookup ? "" : "; the sk_lookup program is not attached, so they cannot: use backend nft");
		fflush(log);
	}
	h->via_lookup = f->listener_via_lookup;
	h->features_seen = true;
}

/* How much s grew since the oldest sample within the window. */
static uint64_t recent(const struct watch_state *s, time_t now)
{
	uint64_t base = s->value;

	for (size_t k = 0; k < s->n; k++) {
		const struct sample *x = &s->ring[(s->head + RING - k) % RING];

		if (now - x->t > HEALTH_RECENT_S)
			break;
		base = x->v;
	}
	return s->value - base;
}

size_t health_warnings(const struct health *h, time_t now, struct health_warning *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < NWATCHED && n < max; i++) {
		const struct watch_state *s = &h->w[i];

		if (!s->ever_grew || now - s->grew_at > HEALTH_RECENT_S)
			continue;
		out[n++] = (struct health_warning){
			.source = watched[i].source,
			.counter = watched[i].counter,
			.cause = watched[i].cause,
			.recent = recent(s, now),
			.last_s = (long)(now - s->grew_at),
		};
	}
	return n;
}
