/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The TCP relay: each direction is src socket -> pipe -> dst socket with
 * splice(2), so bulk payload never enters user space (small messages are
 * copied, see below).
 *
 * Interest rules, returned after every run as RELAY_READ/RELAY_WRITE flags:
 *  - a direction with bytes in its pipe waits for dst to be writable and
 *    does not read src (backpressure: the pipe is the only buffer we hold);
 *  - an empty direction waits for src to be readable until src reaches EOF;
 *  - src at EOF and pipe empty: shutdown(dst, SHUT_WR), direction done;
 *  - both directions done: RELAY_DONE;
 *  - an error on either socket: RELAY_ERR_CLI or RELAY_ERR_UP.
 * The pump never closes a socket: it returns flags (tcp_relay.h) for the
 * connection to act on, the same way whether it runs in a worker or a test.
 *
 * Pipes are held only while bytes sit in them: a direction takes one from the
 * worker's pool when it has something to move and gives it back as soon as
 * it is empty again, so an idle connection holds two descriptors (its
 * sockets).
 *
 * Small messages are copied, not spliced (as HAProxy's splice-auto): recv()
 * into the worker's COPY_BUF bytes and send() cost the same number of
 * syscalls as the two splices, and less kernel work than moving page
 * references through a pipe for a few hundred bytes. What send() does not
 * take goes into the pipe (write(): an empty pipe holds COPY_BUF), so
 * backpressure stays as above. A direction whose read fills COPY_BUF has
 * bulk to move and splices from then on.
 */
#include "proxy/tcp_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#define SPLICE_FLAGS (SPLICE_F_NONBLOCK | SPLICE_F_MOVE)

enum pump_result { PUMP_OK, PUMP_SRC_ERR, PUMP_DST_ERR, PUMP_PIPE_ERR };

void relay_init(struct relay *r, int cli, int up)
{
	*r = (struct relay){ .fd = { cli, up } };
	for (int d = 0; d < 2; d++)
		r->dir[d].pipe = (struct relay_pipe){ .rd = -1, .wr = -1 };
}

/*
 * The copy path, for a direction with an empty pipe that has not turned to
 * splicing: read until EAGAIN, EOF or a full buffer, then send it all at once.
 * Data followed by EOF goes out with MSG_MORE, so the FIN that shutdown() or
 * close() sends right after rides on the last data segment instead of a
 * packet of its own (a request/response ending in a close: one packet less
 * each way on the client's side). Returns PUMP_OK with the leftover of a
 * short send in the pipe, or an error.
 */
static enum pump_result copy(const struct relay_env *env, struct relay_dir *p, int src, int dst,
			     int *err)
{
	char *buf = env->buf;
	size_t have = 0;
	bool eof = false;
	ssize_t m, m2;

	for (int round = 0; round < RELAY_ROUNDS && have < COPY_BUF; round++) {
		ssize_t n = recv(src, buf + have, COPY_BUF - have, 0);

		if (n == 0) {
			eof = true;
			break;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			*err = errno;
			return PUMP_SRC_ERR;
		}
		have += (size_t)n;
	}
	if (have == COPY_BUF)
		p->spliced = true;
	if (have) {
		m = send(dst, buf, have, MSG_NOSIGNAL | (eof ? MSG_MORE : 0));
		if (m < 0 && errno != EAGAIN && errno != EINTR) {
			*err = errno;
			return PUMP_DST_ERR;
		}
		if (m < 0)
			m = 0;
		p->bytes += (uint64_t)m;
		if ((size_t)m < have) {
			/* dst is full: the rest waits in the pipe for dst to be writable */
			if (pipe_pool_get(env->pool, &p->pipe) < 0) {
				*err = errno;
				return PUMP_PIPE_ERR;
			}
			m2 = write(p->pipe.wr, buf + m, have - (size_t)m);
			if (m2 != (ssize_t)(have - (size_t)m)) {
				*err = m2 < 0 ? errno : EIO;
				return PUMP_PIPE_ERR;
			}
			p->inpipe = have - (size_t)m;
		}
	}
	p->src_eof = eof;
	return PUMP_OK;
}

/* One splice round's two halves. Each returns -1 on EINTR, else progress (0/1). */
static int fill(struct relay_dir *p, int src, int *err, enum pump_result *res)
{
	ssize_t n;

	if (p->src_eof || p->inpipe >= (size_t)p->pipe.size)
		return 0;
	n = splice(src, NULL, p->pipe.wr, NULL, p->pipe.size - p->inpipe, SPLICE_FLAGS);
	if (n > 0) {
		p->inpipe += (size_t)n;
		return 1;
	}
	if (n == 0) {
		p->src_eof = true;
		return 1;
	}
	if (errno == EINTR)
		return -1;
	if (errno != EAGAIN) {
		/* EAGAIN: src empty, or the pipe is full (inpipe > 0) */
		*err = errno;
		*res = PUMP_SRC_ERR;
	}
	return 0;
}

/* Returns 1 on progress, 0 when dst is full (wait for it to be writable), -1 on EINTR. */
static int drain(struct relay_dir *p, int dst, int *err, enum pump_result *res)
{
	ssize_t n = splice(p->pipe.rd, NULL, dst, NULL, p->inpipe, SPLICE_FLAGS);

	if (n > 0) {
		p->inpipe -= (size_t)n;
		p->bytes += (uint64_t)n;
		if (!p->bulk && p->spliced && p->bytes >= PIPE_GROW_AFTER) {
			p->bulk = true;
			pipe_grow(&p->pipe);
		}
		return 1;
	}
	if (n < 0 && errno == EINTR)
		return -1;
	if (n < 0 && errno == EAGAIN)
		return 0;
	*err = n < 0 ? errno : EPIPE;
	*res = PUMP_DST_ERR;
	return 0;
}

/* The splice path: src -> pipe -> dst, bounded by RELAY_ROUNDS. */
static enum pump_result splice_rounds(const struct relay_env *env, struct relay_dir *p, int src,
				      int dst, int *err)
{
	enum pump_result res = PUMP_OK;

	if (p->pipe.rd < 0 && !p->src_eof) {
		if (pipe_pool_get(env->pool, &p->pipe) < 0) {
			*err = errno;
			return PUMP_PIPE_ERR;
		}
		if (p->bulk)
			pipe_grow(&p->pipe);
	}
	for (int round = 0; round < RELAY_ROUNDS; round++) {
		int in = fill(p, src, err, &res), out = 0;

		if (res != PUMP_OK)
			return res;
		if (in < 0)
			continue;
		if (p->inpipe > 0) {
			out = drain(p, dst, err, &res);
			if (res != PUMP_OK)
				return res;
			if (out < 0)
				continue;
			if (out == 0)
				break; /* dst full */
		}
		if (!in && !out)
			break;
	}
	return PUMP_OK;
}

/* Direction d after its pumping: return an empty pipe, shut dst after EOF. */
static void settle(const struct relay_env *env, struct relay *r, int d)
{
	struct relay_dir *p = &r->dir[d];

	if (p->inpipe == 0)
		pipe_pool_put(env->pool, &p->pipe, true);
	if (p->src_eof && p->inpipe == 0) {
		/*
		 * ENOTCONN if the peer already reset: its read reports that. The
		 * last direction to finish skips it: both sockets are closed
		 * right away, and close() sends the FIN (all input was read).
		 */
		if (!r->dir[!d].shut)
			shutdown(r->fd[!d], SHUT_WR);
		p->shut = true;
	}
}

/* Move as much as the sockets allow in direction d. */
static enum pump_result pump(const struct relay_env *env, struct relay *r, int d, int *err)
{
	struct relay_dir *p = &r->dir[d];
	int src = r->fd[d], dst = r->fd[!d];
	enum pump_result res;

	if (p->shut)
		return PUMP_OK;
	if (!p->spliced && p->inpipe == 0 && !p->src_eof) {
		res = copy(env, p, src, dst, err);
		if (res != PUMP_OK)
			return res;
		/* Only a read that filled the buffer, all of it sent, goes on splicing now. */
		if (!p->spliced || p->inpipe > 0 || p->src_eof) {
			settle(env, r, d);
			return PUMP_OK;
		}
	}
	res = splice_rounds(env, p, src, dst, err);
	if (res != PUMP_OK)
		return res;
	settle(env, r, d);
	return PUMP_OK;
}

/* What each socket waits for, from the state of the two directions. */
static unsigned interest(const struct relay *r)
{
	unsigned f = 0;

	for (int d = 0; d < 2; d++) {
		if (r->dir[d].inpipe > 0)
			f |= RELAY_WRITE(!d);
		else if (!r->dir[d].src_eof)
			f |= RELAY_READ(d);
		if (r->dir[d].shut)
			f |= 1u << d; /* RELAY_EOF_UP, RELAY_EOF_DOWN */
	}
	return f;
}

unsigned relay_run(const struct relay_env *env, struct relay *r, unsigned mask, int *err)
{
	for (int d = 0; d < 2; d++) {
		if (!(mask & (1u << d)))
			continue;
		switch (pump(env, r, d, err)) {
		case PUMP_OK:
			break;
		case PUMP_SRC_ERR:
			return RELAY_ERR(d);
		case PUMP_DST_ERR:
			return RELAY_ERR(!d);
		case PUMP_PIPE_ERR:
			return RELAY_ERR_PIPE;
		}
	}
	return interest(r);
}

void relay_release(const struct relay_env *env, struct relay *r)
{
	for (int d = 0; d < 2; d++)
		pipe_pool_put(env->pool, &r->dir[d].pipe, r->dir[d].inpipe == 0);
}
