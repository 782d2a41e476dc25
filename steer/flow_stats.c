/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/flow_stats.h"

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

const char *const flow_failure_names[FLOW_FAIL_MAX] = {
#define FLOW_FAILURE_NAME(name, help) #name,
	FLOW_FAILURES(FLOW_FAILURE_NAME)
#undef FLOW_FAILURE_NAME
};
const char *const flow_stats_backend_names[FS_BACKENDS] = { "ebpf", "nft", "unknown" };
const char *const flow_stats_proto_names[FS_PROTOS] = { "tcp", "udp" };
const uint64_t flow_setup_bounds_us[FLOW_SETUP_NBOUNDS] = FLOW_SETUP_BOUNDS_US;

/*
 * One writer (the audit thread): relaxed atomic adds, no lock. A reader may
 * see one flow in `flows` and not yet in its bucket; the exposition derives
 * _count from the buckets, so a histogram is always self-consistent.
 */
struct fs_backend {
	atomic_uint_fast64_t flows[FS_PROTOS];
	atomic_uint_fast64_t hist[FS_PROTOS][FLOW_SETUP_NBOUNDS + 1];
	atomic_uint_fast64_t sum_us[FS_PROTOS];
	atomic_uint_fast64_t failures[FLOW_FAIL_MAX];
	_Atomic(const char *) reason[FLOW_DROP_REASONS];
	atomic_size_t nreasons; /* published after reason[n] */
	atomic_uint_fast64_t drops[FLOW_DROP_REASONS + 1];
};

struct flow_stats {
	struct fs_backend b[FS_BACKENDS];
};

struct flow_stats *flow_stats_new(void)
{
	return calloc(1, sizeof(struct flow_stats));
}

void flow_stats_free(struct flow_stats *fs)
{
	free(fs);
}

static enum flow_stats_backend backend_index(const char *name)
{
	for (int i = 0; i < FS_UNKNOWN; i++)
		if (name && !strcmp(name, flow_stats_backend_names[i]))
			return i;
	return FS_UNKNOWN;
}

static void add(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void flow_stats_open(struct flow_stats *fs, const char *backend, int proto, int64_t steer_us)
{
	int p = proto == IPPROTO_UDP ? FS_UDP : FS_TCP;
	size_t i = 0;

	if (!fs)
		return;
	add(&fs->b[backend_index(backend)].flows[p], 1);
	if (steer_us < 0)
		return;
	while (i < FLOW_SETUP_NBOUNDS && (uint64_t)steer_us > flow_setup_bounds_us[i])
		i++;
	add(&fs->b[backend_index(backend)].sum_us[p], (uint64_t)steer_us);
	add(&fs->b[backend_index(backend)].hist[p][i], 1);
}

void flow_stats_failure(struct flow_stats *fs, const char *backend, enum flow_failure f)
{
	if (fs)
		add(&fs->b[backend_index(backend)].failures[f], 1);
}

void flow_stats_drop(struct flow_stats *fs, const char *backend, const char *reason)
{
	size_t n, i;

	if (!fs)
		return;
	struct fs_backend *b = &fs->b[backend_index(backend)];
	n = atomic_load_explicit(&b->nreasons, memory_order_relaxed);
	for (i = 0; i < n; i++)
		if (!strcmp(atomic_load_explicit(&b->reason[i], memory_order_relaxed), reason))
			break;
	if (i == n && n < FLOW_DROP_REASONS) {
		atomic_store_explicit(&b->reason[n], reason, memory_order_relaxed);
		atomic_store_explicit(&b->nreasons, n + 1, memory_order_release);
	}
	add(&b->drops[i], 1); /* i == FLOW_DROP_REASONS: "other" */
}

void flow_stats_read(const struct flow_stats *fs, struct flow_stats_snap *out)
{
	memset(out, 0, sizeof(*out));
	if (!fs)
		return;
	for (int k = 0; k < FS_BACKENDS; k++) {
		struct flow_stats_backend_snap *o = &out->b[k];
		/* Loads from a const object: the C11 atomics take non-const pointers. */
		struct fs_backend *b = (struct fs_backend *)&fs->b[k];
		size_t n = atomic_load_explicit(&b->nreasons, memory_order_acquire);

		for (int p = 0; p < FS_PROTOS; p++) {
			o->flows[p] = atomic_load_explicit(&b->flows[p], memory_order_relaxed);
			o->sum_us[p] = atomic_load_explicit(&b->sum_us[p], memory_order_relaxed);
			for (int i = 0; i <= FLOW_SETUP_NBOUNDS; i++)
				o->hist[p][i] = atomic_load_explicit(&b->hist[p][i], memory_order_relaxed);
		}
		for (int f = 0; f < FLOW_FAIL_MAX; f++)
			o->failures[f] = atomic_load_explicit(&b->failures[f], memory_order_relaxed);
		for (size_t i = 0; i < n; i++) {
			o->drops[i].reason = atomic_load_explicit(&b->reason[i], memory_order_relaxed);
			o->drops[i].n = atomic_load_explicit(&b->drops[i], memory_order_relaxed);
		}
		o->ndrops = n;
		if (n == FLOW_DROP_REASONS && atomic_load_explicit(&b->drops[n], memory_order_relaxed)) {
			o->drops[n].reason = "other";
			o->drops[n].n = atomic_load_explicit(&b->drops[n], memory_order_relaxed);
			o->ndrops++;
		}
	}
}

void flow_stats_hist(const struct flow_stats_backend_snap *b, uint64_t out[FLOW_SETUP_NBOUNDS + 1])
{
	for (int i = 0; i <= FLOW_SETUP_NBOUNDS; i++) {
		out[i] = 0;
		for (int p = 0; p < FS_PROTOS; p++)
			out[i] += b->hist[p][i];
	}
}

uint64_t flow_stats_count(const struct flow_stats_backend_snap *b)
{
	uint64_t h[FLOW_SETUP_NBOUNDS + 1], n = 0;

	flow_stats_hist(b, h);
	for (int i = 0; i <= FLOW_SETUP_NBOUNDS; i++)
		n += h[i];
	return n;
}

uint64_t flow_stats_flows(const struct flow_stats_backend_snap *b)
{
	return b->flows[FS_TCP] + b->flows[FS_UDP];
}

uint64_t flow_stats_failures(const struct flow_stats_backend_snap *b)
{
	uint64_t n = 0;

	for (int f = 0; f < FLOW_FAIL_MAX; f++)
		n += b->failures[f];
	return n;
}

uint64_t flow_stats_drops(const struct flow_stats_backend_snap *b)
{
	uint64_t n = 0;

	for (size_t i = 0; i < b->ndrops; i++)
		n += b->drops[i].n;
	return n;
}

double flow_setup_quantile(const uint64_t hist[FLOW_SETUP_NBOUNDS + 1], double q)
{
	uint64_t total = 0, below = 0;
	double rank;

	for (int i = 0; i <= FLOW_SETUP_NBOUNDS; i++)
		total += hist[i];
	if (!total)
		return -1;
	rank = q * (double)total;
	for (int i = 0; i <= FLOW_SETUP_NBOUNDS; i++) {
		double lo = i ? (double)flow_setup_bounds_us[i - 1] : 0;

		if (hist[i] && (double)(below + hist[i]) >= rank) {
			if (i == FLOW_SETUP_NBOUNDS)
				return lo / 1e6;
			return (lo + ((double)flow_setup_bounds_us[i] - lo) * (rank - (double)below) / (double)hist[i]) /
			       1e6;
		}
		below += hist[i];
	}
	return (double)flow_setup_bounds_us[FLOW_SETUP_NBOUNDS - 1] / 1e6;
}
