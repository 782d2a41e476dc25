/* SPDX-License-Identifier: GPL-2.0-only */
/* A pool of empty pipes for splice(), one per worker. */
#ifndef STEER_PROXY_PIPE_POOL_H
#define STEER_PROXY_PIPE_POOL_H

#include <stdbool.h>

#include "proxy/proxy.h"

#define PIPE_POOL_MAX        128     /* idle pipes kept per worker */
#define PIPE_SMALL           65536   /* a new pipe's capacity: 16 slots */
#define PIPE_BIG             (1 << 20) /* a bulk direction's pipe: 256 slots */

/* An empty pipe (kernel buffer) used to splice one direction of a connection. */
struct relay_pipe {
	int rd, wr; /* -1/-1 when none */
	int size;   /* capacity in bytes (F_GETPIPE_SZ) */
};

struct pipe_pool {
	struct relay_pipe idle[PIPE_POOL_MAX];
	int n;
	struct proxy_stats *st; /* pipes_created, pipes_reused */
};

int pipe_pool_get(struct pipe_pool *pool, struct relay_pipe *out);
void pipe_pool_put(struct pipe_pool *pool, struct relay_pipe *pp, bool empty);
void pipe_pool_drain(struct pipe_pool *pool);
void pipe_grow(struct relay_pipe *pp);

#endif
