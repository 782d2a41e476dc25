/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one interface both steering mechanisms implement. The daemon holds a
 * `struct backend *` and calls through its ops; it never looks at the name
 * except to print it.
 */
#ifndef STEER_BACKEND_H
#define STEER_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../bpf/steer_abi.h"
#include "config.h"

/* The proxy's listener fds by enum steer_listen_slot (-1 where absent). */
struct backend_listeners {
	int fd[STEER_LISTEN_MAX];
};

struct backend_counter {
	const char *name;
	uint64_t value;
};

struct backend;

struct backend_ops {
	const char *name;
	/* Install steering for cfg; on failure nothing stays installed. */
	struct backend *(*install)(const struct steer_config *cfg, const struct backend_listeners *l);
	/* Swap the rules atomically; on failure the old rules stay. */
	int (*replace_rules)(struct backend *b, const struct steer_config *cfg);
	/* Fill up to max named counters; returns how many. */
	size_t (*counters)(struct backend *b, struct backend_counter *out, size_t max);
	/* One of the gateway's own addresses appeared or went (may be NULL). */
	void (*local_addr)(struct backend *b, int family, const uint8_t *addr, bool add);
	/* Remove everything install added. */
	void (*remove)(struct backend *b);
	/* Remove what a daemon that died left behind; returns the count or -errno. */
	int (*cleanup_stale)(void);
};

struct backend {
	const struct backend_ops *ops;
};

extern const struct backend_ops ebpf_backend_ops;
/* Every backend this build has, NULL-terminated. */
extern const struct backend_ops *const backend_all[];

/* The ops for a configured kind, or NULL if this build has no such backend. */
const struct backend_ops *backend_ops_for(enum backend_kind kind);

#endif
