/* SPDX-License-Identifier: GPL-2.0-only */
/* `steer status`: what the daemon runs and its counters, as text or JSON. */
#ifndef STEER_STATUS_H
#define STEER_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "proxy/proxy.h"
#include "steer/audit.h"
#include "steer/health.h"
#include "steer/links.h"
#include "steer/steering.h"
#include "steer/strbuf.h"

struct status_view {
	const struct steer_config *cfg;
	struct steering *steering;
	struct proxy *proxy; /* NULL with an external proxy */
	struct audit *audit;
	struct health *health; /* NULL: no warnings */
	const struct links *links; /* NULL: the configured names alone */
	time_t started;
	bool reload_ok;      /* the last `steer reload` succeeded (true before any) */
	time_t reload_ok_at; /* when one last did (the start before any) */
	/* Stopping, while open flows end (drain.h): seconds left of drain_timeout_s. */
	bool draining;
	long drain_left_s;
	int drain_timeout_s;
};

/*
 * The "schema" of `steer status --json`: raised when a key is removed or
 * changes meaning, not when keys are added.
 */
#define STATUS_JSON_SCHEMA 1

/*
 * A row of a stats table (PROXY_STATS in proxy/stats.h, AUDIT_STATS in
 * steer/audit.h) as the views read it; columns described there.
 */
struct stat_row {
	const char *key, *type, *metric, *labels, *help, *text;
	int line;      /* the status text line, private to status.c */
	size_t offset; /* of its uint64_t in the stats struct */
};

struct stat_table {
	const struct stat_row *rows;
	size_t n;
};

/* Rows over struct proxy_stats and struct audit_stats. */
extern const struct stat_table proxy_stat_table, audit_stat_table, tcp_stack_stat_table;

uint64_t stat_value(const struct stat_row *r, const void *stats);

/* The classifier programs' run time (0: no classifier, or the kernel does not account it). */
size_t status_run_stats(const struct status_view *v, struct classifier_run_stat *out, size_t max);

void status_format(const struct status_view *v, bool json, struct strbuf *out);

#endif
