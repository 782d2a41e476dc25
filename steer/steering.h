/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which backends steer, and how they are switched: the classifier (loaded in
 * every mode, as the mechanism of the eBPF backend or as the probe that
 * records new flows for the audit log), plus the installed backends with
 * their shares of new flows. Switching is make-before-break: the new
 * backend is installed, then the shares move, then the old one is removed.
 */
#ifndef STEER_STEERING_H
#define STEER_STEERING_H

#include <stdbool.h>
#include <stddef.h>

#include "steer/backend.h"
#include "steer/strbuf.h"

#define STEERING_MAX_COUNTERS 32

struct steering;

struct counter_group {
	const char *backend;
	struct backend_counter c[STEERING_MAX_COUNTERS];
	size_t n;
};

/*
 * Load and attach the classifier with cfg's rules, then install cfg's
 * backend. With backend auto, a classifier that cannot be loaded or
 * attached means nft (one line says why). NULL on failure, with nothing
 * left installed.
 */
struct steering *steering_start(const struct steer_config *cfg, const struct backend_listeners *l);

/*
 * The composition alone, over these backends (NULL-terminated) and this
 * classifier (NULL: none), which it owns once this succeeds; nothing is
 * installed until steering_set. NULL when the list has more than four
 * backends or two of one kind. steering_start's second half, and the tests' entry.
 */
struct steering *steering_new(const struct steer_config *cfg, const struct backend_listeners *l,
			      const struct backend_ops *const *backends, struct classifier *classifier);

/* Switch live to kind (percent for BACKEND_SPLIT). 0, or -1 with a reason in err. */
int steering_set(struct steering *s, enum backend_kind kind, int percent, struct strbuf *err);

/*
 * Swap every installed backend (and the classifier) to cfg's rules; cfg
 * must differ from the running one in rules only, and stays referenced.
 * On failure the old rules stay everywhere. 0, or -1 with a reason in err.
 */
int steering_reload(struct steering *s, const struct steer_config *cfg, struct strbuf *err);

/* "ebpf", "nft" or "split P" */
void steering_describe(const struct steering *s, char *buf, size_t len);

/* The active kind (never BACKEND_AUTO: auto became ebpf or nft at start). */
enum backend_kind steering_kind(const struct steering *s);

/* Counters of every backend, installed or not (the classifier counts as the probe too). */
size_t steering_counters(struct steering *s, struct counter_group *groups, size_t max);

/* The classifier (for its flow events), or NULL. */
struct classifier *steering_classifier(struct steering *s);

void steering_local_addr(struct steering *s, int family, const uint8_t *addr, bool add);

/* Remove every backend, then detach the classifier. Safe with NULL. */
void steering_stop(struct steering *s);

#endif
