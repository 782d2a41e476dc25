/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The audit log (schema in README, The audit log). Producers (proxy workers) only copy
 * a record into a bounded queue; a writer thread formats and writes, so a
 * slow sink never slows proxying. What the queue cannot hold is counted and
 * reported in a "lost" record.
 */
#ifndef STEER_AUDIT_H
#define STEER_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "proxy/proxy.h"
#include "steer/flow_events.h"

struct audit;

/*
 * The audit's counters, one row each, with the columns of PROXY_STATS
 * (proxy/stats.h): X(field, type, metric, labels, help, line, text).
 */
#define AUDIT_STATS(X)                                                                                       \
	X(written, "counter", "steer_audit_records_total", "result=\"written\"",                             \
	  "Audit records written, and lost (queue full or sink error).", AUDIT, "written") /* to the sink */ \
	X(lost, "counter", "steer_audit_records_total", "result=\"lost\"", NULL, AUDIT,                      \
	  "lost") /* records dropped (queue full or sink error) */                                           \
	X(queued, "gauge", "steer_audit_queue_length", NULL, "Audit records waiting for the writer.", AUDIT, \
	  "queued") /* waiting now */                                                                        \
	/* flow events the kernel could not put in the ring (the metric: steer_kernel_events_lost_total) */  \
	X(kernel_lost, "counter", NULL, NULL, NULL, AUDIT, "kernel lost")                                    \
	X(joined, "counter", "steer_audit_flows_total", "join=\"joined\"",                                   \
	  "Proxied flows by whether their kernel record was found (joined: backend and steer_us known).",    \
	  AUDIT, "joined") /* proxy flows matched with their kernel record (steer_us known) */               \
	X(unjoined, "counter", "steer_audit_flows_total", "join=\"unjoined\"", NULL, AUDIT,                  \
	  "unjoined") /* proxy flows without a kernel record */

struct audit_stats {
#define AUDIT_STAT_FIELD(field, ...) uint64_t field;
	AUDIT_STATS(AUDIT_STAT_FIELD)
#undef AUDIT_STAT_FIELD
};

/*
 * Where the writer learns which backend steered each flow and when the
 * kernel first saw it. The audit calls it under its source lock, never two
 * calls at once: from the writer thread, and from audit_set_source's caller
 * (which drains what is waiting when a source comes or goes).
 */
struct audit_source {
	/* The kernel's flow records (the classifier's), or NULL: none. */
	struct flow_events *events;
	/* The backend to name when no kernel record says ("ebpf", "nft"). */
	const char *(*fallback)(void *ctx);
	/* No builtin proxy: kernel flow records are written as open records themselves. */
	bool kernel_only;
	/*
	 * The counter the proxy takes its flow ids from (proxy_settings'
	 * flow_ids), or NULL: the audit's own. Drop records, and open records
	 * with kernel_only, take their "flow" from it too: one counter, so a
	 * drop's id is never a proxied flow's.
	 */
	_Atomic uint64_t *flow_ids;
	void *ctx;
};

/*
 * sink: a file path (appended), "-" for stdout, "syslog" or "journald", with
 * syslog_facility (LOG_*) for the last two. NULL + message on error.
 */
struct audit *audit_open(const char *sink, int syslog_facility);
/*
 * The same, chained with the key in key_path (NULL: unkeyed): a file sink's
 * chain continues the one the file holds, and every anchor_s seconds (0:
 * never) and at close the chain's position goes to syslog ("audit anchor").
 */
struct audit *audit_open_keyed(const char *sink, int syslog_facility, const char *key_path, int anchor_s);
/*
 * Set before any traffic (NULL detaches: the writer stops calling the old
 * source before this returns). Without a source every flow names "unknown".
 */
void audit_set_source(struct audit *a, const struct audit_source *src);
/* A proxy connection event (open or close). */
void audit_conn(struct audit *a, const struct proxy_conn_event *ev);
void audit_backend_change(struct audit *a, const char *from, const char *to);
/* Reopen the file (SIGHUP, logrotate); the writer does it before its next write. */
void audit_reopen(struct audit *a);
void audit_get_stats(struct audit *a, struct audit_stats *out);
struct flow_stats_snap;
/* The per-backend flow events (steer/flow_stats.h); zeroes with a NULL audit. */
void audit_flow_stats(struct audit *a, struct flow_stats_snap *out);
/* Drain what is queued, then close. Safe with NULL. */
void audit_close(struct audit *a);

enum audit_kind { AUDIT_CONN, AUDIT_BACKEND, AUDIT_LOST, AUDIT_DROP };

struct audit_record {
	enum audit_kind kind;
	struct timespec ts; /* CLOCK_REALTIME when it happened */
	struct proxy_conn_event ev; /* AUDIT_CONN, AUDIT_DROP (client, dst, proto) */
	char backend[8];            /* AUDIT_CONN, AUDIT_DROP */
	int64_t steer_us;           /* AUDIT_CONN open: < 0 unknown */
	char reason[24];            /* AUDIT_DROP */
	char from[16], to[16];      /* AUDIT_BACKEND: "ebpf", "nft", "split 50" (steering_describe) */
	uint64_t count;             /* AUDIT_LOST */
	/* AUDIT_CONN, AUDIT_DROP: "1:<base64>" (Community ID v1, seed 0), "" until the writer computes it. */
	char community_id[48];
};

/* A record's "ts": RFC 3339 UTC with microseconds (buf: 40 bytes). */
void audit_format_ts(const struct timespec *ts, char *buf, size_t len);
/* Format one record as a JSON line (no newline); exposed for the tests. */
size_t audit_format(const struct audit_record *r, char *buf, size_t len);

#endif
