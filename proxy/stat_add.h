/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Statistics: each worker writes only its own struct proxy_stats, with
 * relaxed atomic stores (single writer, so load+store needs no RMW);
 * proxy_get_stats() sums relaxed atomic loads from any thread.
 */
#ifndef STEER_PROXY_STAT_ADD_H
#define STEER_PROXY_STAT_ADD_H

#include <stdint.h>

#include "proxy/proxy.h"

#define STATS_ADD(st, field, n)                                                         \
	__atomic_store_n(&(st)->field,                                                  \
			 __atomic_load_n(&(st)->field, __ATOMIC_RELAXED) + (uint64_t)(n), \
			 __ATOMIC_RELAXED)
#define STATS_INC(st, field) STATS_ADD(st, field, 1)

/* The same on a worker's own statistics. */
#define STAT_ADD(w, field, n) STATS_ADD(&(w)->st, field, n)
#define STAT_INC(w, field) STAT_ADD(w, field, 1)
#define STAT_DEC(w, field) STAT_ADD(w, field, -1)

#endif
