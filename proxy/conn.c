/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A TCP connection's state machine: accepted, CONN_CONNECTING (the upstream
 * connect, under the connect timeout), CONN_RELAY (under the idle timeout),
 * closed. The connection owns its sockets' watchers and its timer; the
 * upstream connect (upstream.c) and the relay pump (tcp_relay.c) return
 * outcomes, and only this file acts on them: interest changes, timers,
 * events to the owner, and the single close path.
 *
 * The idle timer is never touched on the data path: moving bytes only
 * stores ev_now(); the timer callback re-arms itself for the remainder.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/internal.h"
#include "proxy/sock.h"
#include "proxy/upstream.h"

static struct relay_env relay_env(struct worker *w)
{
	return (struct relay_env){ .pool = &w->pool, .buf = w->copy_buf };
}

/* Change the interest of a socket's single watcher: stop, set, start. */
static void set_interest(struct conn *c, int side, int events)
{
	struct conn_side *s = &c->side[side];

	if (s->events == events)
		return;
	ev_io_stop(c->w->loop, &s->io);
	ev_io_set(&s->io, c->relay.fd[side], events);
	if (events)
		ev_io_start(c->w->loop, &s->io);
	s->events = events;
}

static void conn_emit(struct conn *c, bool open, enum proxy_close_reason r)
{
	const struct proxy_settings *s = &c->w->p->s;
	struct proxy_conn_event ev;

	if (!s->on_event)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.open = open;
	ev.flow = c->flow;
	ev.proto = IPPROTO_TCP;
	ev.client = c->client;
	ev.dst = c->dst;
	ev.upstream_src = c->upstream_src;
	ev.accept_ns = c->accept_ns;
	if (!open) {
		ev.bytes_up = c->relay.dir[DIR_UP].bytes;
		ev.bytes_down = c->relay.dir[DIR_DOWN].bytes;
		ev.close_ns = proxy_now_ns();
		ev.reason = r;
	}
	s->on_event(s->ctx, &ev);
}

/* Stop watching, close the sockets (those in rst with a reset), return the pipes. */
static void conn_shut(struct conn *c, const bool rst[2])
{
	struct worker *w = c->w;
	struct relay_env env = relay_env(w);

	ev_timer_stop(w->loop, &c->timer);
	ev_timer_stop(w->loop, &c->splice_timer);
	for (int i = 0; i < 2; i++) {
		int *fd = &c->relay.fd[i];

		ev_io_stop(w->loop, &c->side[i].io);
		if (*fd < 0)
			continue;
		if (rst[i]) {
			set_rst_on_close(*fd);
			STAT_INC(w, resets_sent);
		}
		close(*fd);
		*fd = -1;
	}
	relay_release(&env, &c->relay);
}

/* Unlink and free; the worker may accept again. */
static void conn_free(struct conn *c)
{
	struct worker *w = c->w;

	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	STAT_DEC(w, open);
	free(c);
	worker_accept_resume(w);
}

static void conn_close(struct conn *c, enum proxy_close_reason r, bool rst_cli, bool rst_up)
{
	bool rst[2] = { rst_cli, rst_up };

	conn_splice_abandon(c);
	conn_shut(c, rst);
	STAT_INC(c->w, closed[r]);
	conn_emit(c, false, r);
	conn_free(c);
}

void conn_abort(struct conn *c)
{
	conn_close(c, CLOSE_ERROR, true, true);
}

void conn_retire(struct conn *c)
{
	static const bool none[2];

	free(c->splice_hold);
	c->splice_hold = NULL;
	conn_shut(c, none);
	conn_free(c);
}

void conn_pause(struct conn *c)
{
	set_interest(c, SIDE_CLI, 0);
	set_interest(c, SIDE_UP, 0);
}

/* Out of descriptors: accept nothing more for a while. */
static void fd_shortage(struct worker *w, int err)
{
	if (err != EMFILE && err != ENFILE)
		return;
	STAT_INC(w, emfile);
	worker_accept_backoff(w);
}

/* Count what the relay delivered since `before`; it is activity for the idle timer. */
static void account(struct conn *c, const uint64_t before[2])
{
	struct worker *w = c->w;
	uint64_t up = c->relay.dir[DIR_UP].bytes - before[DIR_UP];
	uint64_t down = c->relay.dir[DIR_DOWN].bytes - before[DIR_DOWN];

	if (up)
		STAT_ADD(w, bytes_up, up);
	if (down)
		STAT_ADD(w, bytes_down, down);
	if (up || down)
		c->last_io = ev_now(w->loop);
}

static bool is_reset(int err)
{
	return err == ECONNRESET || err == EPIPE || err == ETIMEDOUT || err == ECONNABORTED ||
	       err == EHOSTUNREACH || err == ENETUNREACH;
}

/* The relay failed (flags f, errno err): RST the socket that did not fail, close both. */
static void relay_failed(struct conn *c, unsigned f, int err)
{
	bool client = f & RELAY_ERR_CLI;
	enum proxy_close_reason r;

	if (f & RELAY_ERR_PIPE) {
		STAT_INC(c->w, pipe_errors);
		fd_shortage(c->w, err);
		conn_close(c, CLOSE_ERROR, true, true);
		return;
	}
	if (is_reset(err)) {
		r = client ? CLOSE_CLIENT_RESET : CLOSE_UPSTREAM_RESET;
	} else {
		STAT_INC(c->w, splice_errors);
		r = CLOSE_ERROR;
	}
	conn_close(c, r, !client, client);
}

/* Pump the directions in mask (bit d = direction d), then close or re-arm. */
static void conn_relay(struct conn *c, unsigned mask)
{
	struct relay_env env = relay_env(c->w);
	uint64_t before[2] = { c->relay.dir[DIR_UP].bytes, c->relay.dir[DIR_DOWN].bytes };
	int err = 0;
	unsigned f = relay_run(&env, &c->relay, mask, &err);

	account(c, before);
	if (f & RELAY_ERRORS) {
		relay_failed(c, f, err);
		return;
	}
	if ((f & RELAY_DONE) == RELAY_DONE) {
		conn_close(c, CLOSE_EOF, false, false);
		return;
	}
	for (int s = 0; s < 2; s++)
		set_interest(c, s, (f & RELAY_READ(s) ? EV_READ : 0) | (f & RELAY_WRITE(s) ? EV_WRITE : 0));
	conn_splice_check(c);
}

void conn_resume(struct conn *c)
{
	conn_relay(c, 1u << DIR_UP | 1u << DIR_DOWN);
}

/* The upstream handshake is done: open event, idle timer, relay. */
static void conn_established(struct conn *c)
{
	struct worker *w = c->w;
	const struct proxy_settings *s = &w->p->s;

	upstream_local_addr(c->relay.fd[SIDE_UP], s->upstream_source, &c->client, &c->upstream_src);
	STAT_INC(w, upstream_connected);
	conn_emit(c, true, CLOSE_EOF);
	c->state = CONN_RELAY;
	c->last_io = ev_now(w->loop);
	ev_timer_stop(w->loop, &c->timer);
	if (s->idle_timeout_ms > 0) {
		c->timer.repeat = s->idle_timeout_ms / 1000.;
		ev_timer_again(w->loop, &c->timer);
	}
	/* The client may have sent data (or EOF) while we were connecting. */
	conn_relay(c, 1u << DIR_UP | 1u << DIR_DOWN);
}

/* The client sees what a refused connection looks like: an RST, now. */
static void conn_connect_failed(struct conn *c, int err)
{
	conn_close(c, upstream_failure(&c->w->st, err), true, false);
}

static void conn_connect(struct conn *c)
{
	struct worker *w = c->w;
	const struct proxy_settings *s = &w->p->s;
	int fd, err = 0;
	enum upstream_status st = upstream_connect(s->upstream_source, &c->client, &c->dst, &fd, &err);

	c->relay.fd[SIDE_UP] = fd;
	switch (st) {
	case UP_LOCAL:
		STAT_INC(w, upstream_errors);
		if (fd < 0)
			fd_shortage(w, err);
		conn_close(c, CLOSE_ERROR, true, false);
		return;
	case UP_FAILED:
		conn_connect_failed(c, err);
		return;
	case UP_CONNECTED:
		conn_established(c);
		return;
	case UP_PENDING:
		break;
	}
	set_interest(c, SIDE_UP, EV_WRITE);
	if (s->connect_timeout_ms > 0) {
		c->timer.repeat = s->connect_timeout_ms / 1000.;
		ev_timer_again(w->loop, &c->timer);
	}
}

/* The one callback of both sockets: what an event means depends on the state. */
static void conn_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = io->data;
	int s = io == &c->side[SIDE_UP].io ? SIDE_UP : SIDE_CLI;
	int err;

	(void)loop;
	if (c->state == CONN_RELAY) {
		/* readable: the direction that reads s; writable: the one that writes it */
		conn_relay(c, (revents & EV_READ ? 1u << s : 0) | (revents & EV_WRITE ? 1u << !s : 0));
		return;
	}
	/* Connecting: only the upstream socket is watched, writable when the handshake ends. */
	switch (upstream_finish(c->relay.fd[SIDE_UP], &err)) {
	case UP_PENDING:
		return;
	case UP_CONNECTED:
		conn_established(c);
		return;
	default:
		conn_connect_failed(c, err); /* conn_close stops the connect timer */
		return;
	}
}

/* Connect timeout, then idle timeout (re-armed for what is left of it). */
static void conn_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn *c = container_of(t, struct conn, timer);
	ev_tstamp left;

	(void)revents;
	if (c->state == CONN_CONNECTING) {
		STAT_INC(c->w, connect_timeout);
		conn_close(c, CLOSE_CONNECT_TIMEOUT, true, false);
		return;
	}
	left = c->last_io + c->w->p->s.idle_timeout_ms / 1000. - ev_now(loop);
	if (left > 0.001) {
		t->repeat = left;
		ev_timer_again(loop, t);
		return;
	}
	conn_close(c, CLOSE_IDLE_TIMEOUT, true, true);
}

void conn_new(struct worker *w, int cfd, const struct sockaddr_storage *client,
	      const struct sockaddr_storage *dst)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		STAT_INC(w, accept_errors);
		set_rst_on_close(cfd);
		STAT_INC(w, resets_sent);
		close(cfd);
		return;
	}
	STAT_INC(w, accepted);
	STAT_INC(w, open);
	c->w = w;
	c->flow = proxy_flow_id(w->p);
	c->accept_ns = proxy_now_ns();
	c->client = *client;
	c->dst = *dst;
	c->state = CONN_CONNECTING;
	relay_init(&c->relay, cfd, -1);
	for (int s = 0; s < 2; s++) {
		ev_init(&c->side[s].io, conn_io_cb);
		c->side[s].io.data = c;
	}
	ev_init(&c->timer, conn_timer_cb);
	ev_init(&c->splice_timer, NULL);
	/* Only with the client's own ip:port upstream do both legs carry one tuple to join. */
	if (w->p->s.splice_add && w->p->s.upstream_source == PROXY_SRC_CLIENT)
		c->splice_state = SPLICE_STATE_WAIT;

	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	if (w->max_conns && w->nconns >= w->max_conns)
		worker_accept_pause(w);

	/* A connection addressed to the proxy port itself would loop back into us. */
	if (sa_port(dst) == w->p->s.port) {
		STAT_INC(w, loop_rejected);
		conn_close(c, CLOSE_ERROR, true, false);
		return;
	}
	conn_connect(c);
}

/* Proxy stopping: reset everything still open. */
void conn_close_all(struct worker *w, enum proxy_close_reason why)
{
	for (; w->conns; w->cut++)
		conn_close(w->conns, why, true, true);
}
