/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-worker pool of empty pipes for splice(): a direction takes one when it
 * has bytes to move and gives it back as soon as it is empty, so steady-state
 * traffic does no pipe2()/close() per connection. Only pipes known to be
 * empty go back; the pool holds at most PIPE_POOL_MAX, the rest are closed.
 *
 * A pipe holds 16 buffers by default, one per skb fragment spliced into it,
 * however small: for bulk traffic that is ~20 KiB per splice pair. A bulk
 * direction grows its pipe to 256 buffers (pipe_grow) and the pool shrinks
 * it back when it is returned, so big pipes exist only while bulk transfers
 * run (they count against the user's pipe-user-pages limits).
 */
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "proxy/pipe_pool.h"
#include "proxy/stat_add.h"

int pipe_pool_get(struct pipe_pool *pool, struct relay_pipe *out)
{
	int fds[2];

	if (pool->n > 0) {
		*out = pool->idle[--pool->n];
		STATS_INC(pool->st, pipes_reused);
		return 0;
	}
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
		out->rd = out->wr = -1;
		return -1;
	}
	out->rd = fds[0];
	out->wr = fds[1];
	out->size = PIPE_SMALL;
	STATS_INC(pool->st, pipes_created);
	return 0;
}

void pipe_pool_put(struct pipe_pool *pool, struct relay_pipe *pp, bool empty)
{
	if (pp->rd < 0)
		return;
	if (empty && pool->n < PIPE_POOL_MAX &&
	    (pp->size <= PIPE_SMALL || fcntl(pp->wr, F_SETPIPE_SZ, PIPE_SMALL) >= 0)) {
		pp->size = PIPE_SMALL;
		pool->idle[pool->n++] = *pp;
	} else {
		close(pp->rd);
		close(pp->wr);
	}
	pp->rd = pp->wr = -1;
}

void pipe_pool_drain(struct pipe_pool *pool)
{
	while (pool->n > 0) {
		struct relay_pipe *pp = &pool->idle[--pool->n];

		close(pp->rd);
		close(pp->wr);
	}
}

/* Best effort: a pipe that cannot grow (limits) keeps its size. */
void pipe_grow(struct relay_pipe *pp)
{
	int n;

	if (pp->rd < 0 || pp->size >= PIPE_BIG)
		return;
	n = fcntl(pp->wr, F_SETPIPE_SZ, PIPE_BIG);
	if (n > 0)
		pp->size = n;
}
