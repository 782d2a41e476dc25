/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The audit log (schema in DESIGN.md). Producers (proxy workers) only copy
 * a record into a bounded queue; a writer thread formats and writes, so a
 * slow sink never slows proxying. What the queue cannot hold is counted and
 * reported in a "lost" record.
 */
#ifndef STEER_AUDIT_H
#define STEER_AUDIT_H

#include <stdint.h>
#include <time.h>

#include "../proxy/proxy.h"

struct audit;

struct audit_stats {
	uint64_t written; /* records written to the sink */
	uint64_t lost;    /* records dropped (queue full or sink error) */
	uint64_t queued;  /* waiting now */
};

/* sink: a file path (appended), "-" for stdout, or "syslog". NULL + message on error. */
struct audit *audit_open(const char *sink);
/* A proxy connection event; backend is the mechanism that steered it. */
void audit_conn(struct audit *a, const struct proxy_conn_event *ev, const char *backend);
void audit_backend_change(struct audit *a, const char *from, const char *to);
/* Reopen the file (SIGHUP, logrotate); the writer does it before its next write. */
void audit_reopen(struct audit *a);
void audit_get_stats(struct audit *a, struct audit_stats *out);
/* Drain what is queued, then close. Safe with NULL. */
void audit_close(struct audit *a);

enum audit_kind { AUDIT_CONN, AUDIT_BACKEND, AUDIT_LOST };

struct audit_record {
	enum audit_kind kind;
	struct timespec ts; /* CLOCK_REALTIME when it happened */
	struct proxy_conn_event ev; /* AUDIT_CONN */
	char backend[8];            /* AUDIT_CONN */
	char from[8], to[8];        /* AUDIT_BACKEND */
	uint64_t count;             /* AUDIT_LOST */
};

/* Format one record as a JSON line (no newline); exposed for the tests. */
size_t audit_format(const struct audit_record *r, char *buf, size_t len);

#endif
