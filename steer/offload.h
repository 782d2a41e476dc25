/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The flows the proxy handed to the classifier (offload after BYTES), from
 * the handoff to their close record: the proxy's splice callbacks land here,
 * and a once-a-second reap reads what the classifier noted of each flow's end
 * (FIN both ways, an RST, or idle) to retire its entries and write the close
 * event the proxy no longer can.
 */
#ifndef STEER_OFFLOAD_H
#define STEER_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "proxy/proxy.h"
#include "steer/classifier.h"

struct offload_table;

/*
 * on_close gets each offloaded flow's close event (any thread of the
 * caller's reap or stop); idle_ns: a flow with no packet for this long ends
 * (CLOSE_IDLE_TIMEOUT).
 */
struct offload_table *offload_table_new(void (*on_close)(void *ctx, const struct proxy_conn_event *ev),
					void *ctx, uint64_t idle_ns);
/*
 * The flows that end take their conntrack entries with them (conntrack.h;
 * the daemon's table: a test's would touch its host's conntrack).
 */
void offload_forget_conntrack(struct offload_table *t);
/* The classifier that holds the entries (NULL: none any more; handoffs are refused). */
void offload_set_classifier(struct offload_table *t, struct classifier *c);

/* The proxy's settings callbacks (ctx: the table). */
int offload_splice_add(void *ctx, const struct proxy_splice *sp);
int64_t offload_splice_del(void *ctx, const struct proxy_splice *sp);
void offload_on_splice(void *ctx, const struct proxy_splice *sp);

/* Retire the flows that ended; returns how many are still offloaded. */
size_t offload_reap(struct offload_table *t);
/*
 * Every flow still offloaded ends now with `why` (its entries removed), and
 * the classifier is forgotten: later handoffs are refused. Safe with NULL.
 */
void offload_end_all(struct offload_table *t, enum proxy_close_reason why);
/* Once the proxy that calls into it is gone. Safe with NULL. */
void offload_table_free(struct offload_table *t);

#endif
