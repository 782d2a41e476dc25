/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one interface both steering mechanisms implement. steer/steering.c
 * composes them (switching, split) through these ops alone; nothing else in
 * the daemon looks at which backend is which.
 */
#ifndef STEER_BACKEND_H
#define STEER_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "steer/classifier.h"
#include "steer/config.h"

/* The proxy's listener fds by enum listen_slot (-1 where absent). */
struct backend_listeners {
	int fd[LISTEN_SLOTS];
};

/*
 * What every backend is installed with. `classifier` is the TC program on
 * every configured interface, loaded with the current rules; it runs in
 * every mode, as the steering mechanism or as the probe that records new
 * flows for the audit log. NULL when eBPF could not be loaded.
 */
struct backend_env {
	const struct steer_config *cfg;
	struct backend_listeners listeners;
	struct classifier *classifier;
};

struct backend_counter {
	const char *name;
	uint64_t value;
};

struct backend;

struct backend_ops {
	const char *name;
	enum backend_kind kind; /* the `backend` setting that selects it alone */
	/*
	 * In split mode, this backend takes what the others' shares leave
	 * (100 - PERCENT); the other takes PERCENT through set_share.
	 */
	bool takes_remainder;
	/* Start steering; on failure nothing stays installed (message printed). */
	struct backend *(*install)(const struct backend_env *env);
	/*
	 * Take `percent` of the new matching flows (split mode); the flows it
	 * does not take are left to the backend without a share, which takes
	 * whatever reaches it. NULL: this backend takes everything left to it.
	 */
	int (*set_share)(struct backend *b, int percent);
	/* Swap to cfg's rules atomically; on failure the old rules stay. NULL: none of its own. */
	int (*replace_rules)(struct backend *b, const struct steer_config *cfg);
	/*
	 * Fill up to max named counters; returns how many. b is NULL when the
	 * backend is not installed (the classifier still counts as the probe).
	 */
	size_t (*counters)(const struct backend_env *env, struct backend *b, struct backend_counter *out,
			   size_t max);
	/*
	 * Stop steering and remove everything install added; 0, and b is
	 * freed. On failure (message printed) b stays installed and valid.
	 */
	int (*remove)(struct backend *b);
	/* Remove what a daemon that died left behind; returns the count or -errno. */
	int (*cleanup_stale)(void);
};

struct backend {
	const struct backend_ops *ops;
};

extern const struct backend_ops ebpf_backend_ops;
extern const struct backend_ops nft_backend_ops;
/* Every backend this build has, NULL-terminated. */
extern const struct backend_ops *const backend_all[];

#endif
