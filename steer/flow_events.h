/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel's flow records as user space sees them, and the event source
 * that delivers them: the classifier implements it (bpf/classifier.c), the
 * audit log reads it. Records name their backend and reason as strings, so
 * that nothing downstream needs the kernel ABI.
 */
#ifndef STEER_FLOW_EVENTS_H
#define STEER_FLOW_EVENTS_H

#include <stdint.h>

#include "steer/flow.h"

enum flow_record_kind {
	FLOW_RECORD_FLOW = 1, /* a new flow steered (or, backend "nft", left to nft) */
	FLOW_RECORD_DROP,     /* dropped fail-closed */
};

struct flow_record {
	enum flow_record_kind kind;
	uint64_t ts_ns;      /* CLOCK_MONOTONIC: when the kernel saw the flow's first packet */
	const char *backend; /* the mechanism that steered it: "ebpf", "nft" (static) */
	const char *reason;  /* FLOW_RECORD_DROP: why, e.g. "proxy_down" (static) */
	struct flow_tuple tuple;
};

typedef void (*flow_record_cb)(void *ctx, const struct flow_record *r);

struct flow_events {
	/*
	 * Hand every record waiting now to cb, on the caller's thread; never
	 * blocks. Calls must not overlap (any thread, one at a time: the
	 * consumer serializes them). Returns the number handled, or -errno.
	 */
	int (*consume)(struct flow_events *e, flow_record_cb cb, void *ctx);
	/* Records the kernel could not write so far (a running total; 0 when unknown). */
	uint64_t (*lost)(struct flow_events *e);
};

#endif
