/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-worker pool of empty pipes for splice(): a connection takes two before
 * its upstream connect and gives them back when it closes, so steady-state
 * traffic does no pipe2()/close() per connection. Only pipes known to be
 * empty go back; the pool holds at most PIPE_POOL_MAX, the rest are closed.
 */
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

int pipe_pool_get(struct worker *w, struct relay_pipe *out)
{
	int fds[2];

	if (w->pool.n > 0) {
		*out = w->pool.idle[--w->pool.n];
		STAT_INC(w, pipes_reused);
		return 0;
	}
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
		out->rd = out->wr = -1;
		return -1;
	}
	out->rd = fds[0];
	out->wr = fds[1];
	STAT_INC(w, pipes_created);
	return 0;
}

void pipe_pool_put(struct worker *w, struct relay_pipe *pp, bool empty)
{
	if (pp->rd < 0)
		return;
	if (empty && w->pool.n < PIPE_POOL_MAX) {
		w->pool.idle[w->pool.n++] = *pp;
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
