/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Connection lifecycle: creation after accept, interest changes on the one
 * ev_io each socket has, events to the owner, and the single close path.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/internal.h"

/* close() will then send RST and drop unsent data instead of FIN. */
void set_rst_on_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

static uint16_t sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* Change the interest of a socket's single watcher: stop, set, start. */
void conn_set_interest(struct conn *c, struct conn_side *s, int events)
{
	if (s->events == events)
		return;
	ev_io_stop(c->w->loop, &s->io);
	ev_io_set(&s->io, s->fd, events);
	if (events)
		ev_io_start(c->w->loop, &s->io);
	s->events = events;
}

void conn_emit(struct conn *c, bool open, enum proxy_close_reason r)
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
		ev.bytes_up = c->dir[DIR_UP].bytes;
		ev.bytes_down = c->dir[DIR_DOWN].bytes;
		ev.close_ns = proxy_now_ns();
		ev.reason = r;
	}
	s->on_event(s->ctx, &ev);
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
	c->flow = atomic_fetch_add_explicit(&w->p->next_flow, 1, memory_order_relaxed) + 1;
	c->accept_ns = proxy_now_ns();
	c->client = *client;
	c->dst = *dst;
	c->state = CONN_CONNECTING;
	c->cli.fd = cfd;
	c->up.fd = -1;
	for (int d = 0; d < 2; d++)
		c->dir[d].pipe = (struct relay_pipe){ .rd = -1, .wr = -1 };
	ev_init(&c->cli.io, relay_cli_cb);
	ev_init(&c->up.io, upstream_io_cb);
	ev_init(&c->timer, conn_timer_cb);

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
	upstream_connect(c);
}

void conn_close(struct conn *c, enum proxy_close_reason r, bool rst_cli, bool rst_up)
{
	struct worker *w = c->w;
	struct conn_side *sides[2] = { &c->cli, &c->up };
	bool rst[2] = { rst_cli, rst_up };

	ev_timer_stop(w->loop, &c->timer);
	for (int i = 0; i < 2; i++) {
		struct conn_side *s = sides[i];

		ev_io_stop(w->loop, &s->io);
		if (s->fd < 0)
			continue;
		if (rst[i]) {
			set_rst_on_close(s->fd);
			STAT_INC(w, resets_sent);
		}
		close(s->fd);
		s->fd = -1;
	}
	for (int d = 0; d < 2; d++)
		pipe_pool_put(w, &c->dir[d].pipe, c->dir[d].inpipe == 0);

	STAT_INC(w, closed[r]);
	conn_emit(c, false, r);

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

/* Proxy stopping: reset everything still open. */
void conn_close_all(struct worker *w)
{
	while (w->conns)
		conn_close(w->conns, CLOSE_SHUTDOWN, true, true);
}
