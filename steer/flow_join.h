/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel flow records waiting for the proxy's accept of the same flow,
 * keyed by (proto, client, original destination). Bounded: the oldest
 * record is evicted first (a flow the proxy never accepted).
 */
#ifndef STEER_FLOW_JOIN_H
#define STEER_FLOW_JOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "steer/flow_events.h"

struct flow_join;

struct flow_join *join_new(size_t capacity); /* capacity: a power of two */
void join_free(struct flow_join *j);
/* Remember a kernel FLOW record (a newer one for the same tuple replaces it). */
void join_add(struct flow_join *j, const struct flow_record *r);
/*
 * Take the record for this flow if there is one no later than not_after
 * (the proxy's accept): a later record belongs to a newer flow of the same
 * tuple (a reused port) and stays for it.
 */
bool join_take(struct flow_join *j, const struct flow_tuple *t, uint64_t not_after, struct flow_record *out);
/* Records evicted before their flow was accepted. */
uint64_t join_evicted(const struct flow_join *j);

#endif
