/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Never silent: the counters that mean "steer meant to proxy this flow and
 * did not" (the kernel's and the proxy's, listed in health.c) are watched.
 * Each that grows gives a log line naming the cause, at most one per counter
 * per HEALTH_LOG_EVERY_S with the count since its last line, and a warning in
 * `steer status` while it grew within the last HEALTH_RECENT_S. The
 * classifier learning at runtime that the kernel refuses to assign reuseport
 * listeners is one line too. Main thread only.
 */
#ifndef STEER_HEALTH_H
#define STEER_HEALTH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "proxy/proxy.h"
#include "steer/classifier.h"
#include "steer/steering.h"

#define HEALTH_LOG_EVERY_S 60
#define HEALTH_RECENT_S 300

struct health_warning {
	const char *source;  /* "ebpf", "nft" (the kernel counters' group) or "proxy" */
	const char *counter; /* its name in `steer status --json` */
	const char *cause;
	uint64_t recent;     /* how much it grew in the last HEALTH_RECENT_S */
	long last_s;         /* seconds since it last grew */
};

struct health;

/* NULL when out of memory (message printed). */
struct health *health_new(void);
void health_free(struct health *h);

/*
 * The counters as they are at now (seconds, CLOCK_MONOTONIC): log a line on
 * log for each watched counter that grew, when its last line is at least
 * HEALTH_LOG_EVERY_S old. ps NULL: no built-in proxy.
 */
void health_observe(struct health *h, const struct counter_group *groups, size_t ngroups,
		    const struct proxy_stats *ps, time_t now, FILE *log);

/* One line on log when the classifier turned to sk_lookup for new flows since the last call. */
void health_features(struct health *h, const struct classifier_features *f, FILE *log);

/* The watched counters that grew in the last HEALTH_RECENT_S; up to max, returns how many. */
size_t health_warnings(const struct health *h, time_t now, struct health_warning *out, size_t max);

/* CLOCK_MONOTONIC in seconds, the clock health_observe and health_warnings take. */
time_t health_now(void);

#endif
