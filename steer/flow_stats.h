/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-flow events by the backend that steered each flow: opens, the
 * setup-latency histogram (steer_us), failed setups and drops. These are
 * event counters (one per flow), kept apart from the classifier's and nft's
 * packet counters (steering_counters). The audit writer is the only writer;
 * status and metrics read a snapshot (flow_stats_read), so both views come
 * from the same numbers.
 */
#ifndef STEER_FLOW_STATS_H
#define STEER_FLOW_STATS_H

#include <stddef.h>
#include <stdint.h>

enum flow_stats_backend { FS_EBPF, FS_NFT, FS_UNKNOWN, FS_BACKENDS };
enum flow_stats_proto { FS_TCP, FS_UDP, FS_PROTOS };

/*
 * Upper bounds of the setup-latency buckets, in µs: steer_us spans a few µs
 * (eBPF, local client) to tens of ms (a slow client's handshake); beyond the
 * last, +Inf.
 */
#define FLOW_SETUP_BOUNDS_US                                                                               \
	{ 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000 }
#define FLOW_SETUP_NBOUNDS 14

/*
 * Failed setups, X(reason, help): a flow that reached the proxy but was not
 * set up as steered.
 */
#define FLOW_FAILURES(X)                                                                                    \
	X(setup_failed, "the proxy accepted the flow but could not connect upstream (a close without an open)") \
	X(unjoined, "the proxy accepted the flow but no kernel record named its backend (no steer_us)")

enum flow_failure {
#define FLOW_FAILURE_ENUM(name, help) FLOW_FAIL_##name,
	FLOW_FAILURES(FLOW_FAILURE_ENUM)
#undef FLOW_FAILURE_ENUM
	FLOW_FAIL_MAX,
};

extern const char *const flow_failure_names[FLOW_FAIL_MAX];
extern const char *const flow_stats_backend_names[FS_BACKENDS];
extern const char *const flow_stats_proto_names[FS_PROTOS];
extern const uint64_t flow_setup_bounds_us[FLOW_SETUP_NBOUNDS];

#define FLOW_DROP_REASONS 8 /* distinct drop reasons kept per backend; more are counted as "other" */

struct flow_stats_backend_snap {
	uint64_t flows[FS_PROTOS];
	/* Not cumulative: hist[p][i] counts steer_us <= bound i and > bound i-1; [NBOUNDS] is +Inf. */
	uint64_t hist[FS_PROTOS][FLOW_SETUP_NBOUNDS + 1];
	uint64_t sum_us[FS_PROTOS];
	uint64_t failures[FLOW_FAIL_MAX];
	size_t ndrops;
	struct {
		const char *reason;
		uint64_t n;
	} drops[FLOW_DROP_REASONS + 1];
};

struct flow_stats_snap {
	struct flow_stats_backend_snap b[FS_BACKENDS];
};

struct flow_stats;

struct flow_stats *flow_stats_new(void);
void flow_stats_free(struct flow_stats *fs);

/* Writer side (one thread). backend: "ebpf", "nft" (else unknown); proto: IPPROTO_*; steer_us < 0: unknown. */
void flow_stats_open(struct flow_stats *fs, const char *backend, int proto, int64_t steer_us);
void flow_stats_failure(struct flow_stats *fs, const char *backend, enum flow_failure f);
/* reason: a static string (the kernel counter's name). */
void flow_stats_drop(struct flow_stats *fs, const char *backend, const char *reason);

/* Any thread. Zeroes out when fs is NULL. */
void flow_stats_read(const struct flow_stats *fs, struct flow_stats_snap *out);

/* Helpers over one backend's snapshot, for the views. */
uint64_t flow_stats_count(const struct flow_stats_backend_snap *b); /* histogram samples, all protos */
uint64_t flow_stats_flows(const struct flow_stats_backend_snap *b);
uint64_t flow_stats_failures(const struct flow_stats_backend_snap *b);
uint64_t flow_stats_drops(const struct flow_stats_backend_snap *b);

/*
 * The q-quantile (0..1) of a non-cumulative histogram over
 * flow_setup_bounds_us, in seconds, interpolated linearly inside its bucket
 * the way Prometheus' histogram_quantile() does (the first bucket starts at
 * 0; a quantile in +Inf gives the last finite bound). -1 when empty.
 */
double flow_setup_quantile(const uint64_t hist[FLOW_SETUP_NBOUNDS + 1], double q);

/* Sum the histograms of every proto of one backend into out. */
void flow_stats_hist(const struct flow_stats_backend_snap *b, uint64_t out[FLOW_SETUP_NBOUNDS + 1]);

#endif
