/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The TCP relay: each direction is src socket -> pipe -> dst socket with
 * splice(2), so payload never enters user space.
 *
 * Interest rules, re-evaluated after every wakeup (one ev_io per socket,
 * changed with ev_io_set only when it differs):
 *  - a direction with bytes in its pipe watches dst for EV_WRITE and does
 *    not read src (backpressure: the pipe is the only buffer we hold);
 *  - an empty direction watches src for EV_READ until src reaches EOF;
 *  - src at EOF and pipe empty: shutdown(dst, SHUT_WR), direction done;
 *  - both directions done: close both (CLOSE_EOF);
 *  - ECONNRESET/EPIPE on either socket: RST the other one and close.
 * The idle timer is never touched on the data path: moving bytes only
 * stores ev_now(); the timer callback re-arms itself for the remainder.
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
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/internal.h"

#define SPLICE_FLAGS (SPLICE_F_NONBLOCK | SPLICE_F_MOVE)

enum pump_result { PUMP_OK, PUMP_SRC_ERR, PUMP_DST_ERR, PUMP_PIPE_ERR };

static struct conn_side *dir_src(struct conn *c, int d)
{
	return d == DIR_UP ? &c->cli : &c->up;
}

static struct conn_side *dir_dst(struct conn *c, int d)
{
	return d == DIR_UP ? &c->up : &c->cli;
}

static void delivered(struct conn *c, int d, size_t n)
{
	struct conn_dir *p = &c->dir[d];
	struct worker *w = c->w;

	p->bytes += (uint64_t)n;
	if (d == DIR_UP)
		STAT_ADD(w, bytes_up, n);
	else
		STAT_ADD(w, bytes_down, n);
	c->last_io = ev_now(w->loop);
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
static enum pump_result copy(struct conn *c, int d, int src, int dst, int *err)
{
	struct conn_dir *p = &c->dir[d];
	struct worker *w = c->w;
	char *buf = w->copy_buf;
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
		if (m > 0)
			delivered(c, d, (size_t)m);
		if ((size_t)m < have) {
			/* dst is full: the rest waits in the pipe for EV_WRITE on dst */
			if (pipe_pool_get(w, &p->pipe) < 0) {
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

/* Move as much as the sockets allow in direction d (bounded by RELAY_ROUNDS). */
static enum pump_result pump(struct conn *c, int d, int *err)
{
	struct conn_dir *p = &c->dir[d];
	int src = dir_src(c, d)->fd, dst = dir_dst(c, d)->fd;
	struct worker *w = c->w;

	if (p->shut)
		return PUMP_OK;
	if (!p->spliced && p->inpipe == 0 && !p->src_eof) {
		enum pump_result r = copy(c, d, src, dst, err);

		if (r != PUMP_OK)
			return r;
		if (!p->spliced || p->inpipe > 0 || p->src_eof)
			goto done;
	}
	if (p->pipe.rd < 0 && !p->src_eof) {
		if (pipe_pool_get(w, &p->pipe) < 0) {
			*err = errno;
			return PUMP_PIPE_ERR;
		}
		if (p->bulk)
			pipe_grow(&p->pipe);
	}
	for (int round = 0; round < RELAY_ROUNDS; round++) {
		bool progress = false;
		ssize_t n;

		if (!p->src_eof && p->inpipe < (size_t)p->pipe.size) {
			n = splice(src, NULL, p->pipe.wr, NULL, p->pipe.size - p->inpipe, SPLICE_FLAGS);
			if (n > 0) {
				p->inpipe += (size_t)n;
				progress = true;
			} else if (n == 0) {
				p->src_eof = true;
				progress = true;
			} else if (errno == EINTR) {
				continue;
			} else if (errno != EAGAIN) {
				/* EAGAIN: src empty, or the pipe is full (inpipe > 0) */
				*err = errno;
				return PUMP_SRC_ERR;
			}
		}
		if (p->inpipe > 0) {
			n = splice(p->pipe.rd, NULL, dst, NULL, p->inpipe, SPLICE_FLAGS);
			if (n > 0) {
				p->inpipe -= (size_t)n;
				delivered(c, d, (size_t)n);
				if (!p->bulk && p->spliced && p->bytes >= PIPE_GROW_AFTER) {
					p->bulk = true;
					pipe_grow(&p->pipe);
				}
				progress = true;
			} else if (n < 0 && errno == EINTR) {
				continue;
			} else if (n < 0 && errno == EAGAIN) {
				break; /* dst full: wait for EV_WRITE on dst */
			} else {
				*err = n < 0 ? errno : EPIPE;
				return PUMP_DST_ERR;
			}
		}
		if (!progress)
			break;
	}
done:
	if (p->inpipe == 0)
		pipe_pool_put(w, &p->pipe, true);
	if (p->src_eof && p->inpipe == 0) {
		/*
		 * ENOTCONN if the peer already reset: its read reports that. The
		 * last direction to finish skips it: both sockets are closed
		 * right away, and close() sends the FIN (all input was read).
		 */
		if (!c->dir[!d].shut)
			shutdown(dst, SHUT_WR);
		p->shut = true;
	}
	return PUMP_OK;
}

static void update_interest(struct conn *c)
{
	struct conn_dir *up = &c->dir[DIR_UP], *down = &c->dir[DIR_DOWN];
	int ce = 0, ue = 0;

	if (up->inpipe > 0)
		ue |= EV_WRITE;
	else if (!up->src_eof)
		ce |= EV_READ;
	if (down->inpipe > 0)
		ce |= EV_WRITE;
	else if (!down->src_eof)
		ue |= EV_READ;
	conn_set_interest(c, &c->cli, ce);
	conn_set_interest(c, &c->up, ue);
}

static bool is_reset(int err)
{
	return err == ECONNRESET || err == EPIPE || err == ETIMEDOUT || err == ECONNABORTED ||
	       err == EHOSTUNREACH || err == ENETUNREACH;
}

/* Socket `side` failed with err: RST the other socket, close both. */
static void relay_fail(struct conn *c, struct conn_side *side, int err)
{
	bool client = side == &c->cli;
	enum proxy_close_reason r;

	if (is_reset(err)) {
		r = client ? CLOSE_CLIENT_RESET : CLOSE_UPSTREAM_RESET;
	} else {
		STAT_INC(c->w, splice_errors);
		r = CLOSE_ERROR;
	}
	conn_close(c, r, !client, client);
}

/* Pump the directions in mask (bit d = direction d), then close or re-arm. */
static void relay_run(struct conn *c, unsigned mask)
{
	for (int d = 0; d < 2; d++) {
		int err = 0;

		if (!(mask & (1u << d)))
			continue;
		switch (pump(c, d, &err)) {
		case PUMP_OK:
			break;
		case PUMP_SRC_ERR:
			relay_fail(c, dir_src(c, d), err);
			return;
		case PUMP_DST_ERR:
			relay_fail(c, dir_dst(c, d), err);
			return;
		case PUMP_PIPE_ERR:
			STAT_INC(c->w, pipe_errors);
			if (err == EMFILE || err == ENFILE) {
				STAT_INC(c->w, emfile);
				worker_accept_backoff(c->w);
			}
			conn_close(c, CLOSE_ERROR, true, true);
			return;
		}
	}
	if (c->dir[DIR_UP].shut && c->dir[DIR_DOWN].shut) {
		conn_close(c, CLOSE_EOF, false, false);
		return;
	}
	update_interest(c);
}

void relay_begin(struct conn *c)
{
	struct worker *w = c->w;
	int idle_ms = w->p->s.idle_timeout_ms;

	c->state = CONN_RELAY;
	ev_set_cb(&c->up.io, relay_up_cb);
	c->last_io = ev_now(w->loop);
	ev_timer_stop(w->loop, &c->timer);
	if (idle_ms > 0) {
		c->timer.repeat = idle_ms / 1000.;
		ev_timer_again(w->loop, &c->timer);
	}
	/* The client may have sent data (or EOF) while we were connecting. */
	relay_run(c, 3);
}

void relay_cli_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = container_of(io, struct conn, cli.io);

	(void)loop;
	/* client readable: client->upstream; client writable: upstream->client */
	relay_run(c, (revents & EV_READ ? 1u << DIR_UP : 0) | (revents & EV_WRITE ? 1u << DIR_DOWN : 0));
}

void relay_up_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = container_of(io, struct conn, up.io);

	(void)loop;
	relay_run(c, (revents & EV_READ ? 1u << DIR_DOWN : 0) | (revents & EV_WRITE ? 1u << DIR_UP : 0));
}

void relay_idle_check(struct conn *c)
{
	struct worker *w = c->w;
	ev_tstamp idle = w->p->s.idle_timeout_ms / 1000.;
	ev_tstamp left = c->last_io + idle - ev_now(w->loop);

	if (left > 0.001) {
		c->timer.repeat = left;
		ev_timer_again(w->loop, &c->timer);
		return;
	}
	conn_close(c, CLOSE_IDLE_TIMEOUT, true, true);
}
