/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A worker: one thread, one libev (epoll) loop, its own SO_REUSEPORT
 * listeners, its own connections. Stopped from another thread by ev_async.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proxy/internal.h"
#include "proxy/per_cpu.h"

static void listeners_start(struct worker *w)
{
	for (int i = 0; i < 2; i++)
		if (w->lst[i].fd >= 0)
			ev_io_start(w->loop, &w->lst[i].io);
}

static void listeners_stop(struct worker *w)
{
	for (int i = 0; i < 2; i++)
		ev_io_stop(w->loop, &w->lst[i].io);
}

/* The worker reached its share of max_conns: stop accepting. */
void worker_accept_pause(struct worker *w)
{
	if (w->accept_paused_limit)
		return;
	w->accept_paused_limit = true;
	STAT_INC(w, conn_limit_hits);
	listeners_stop(w);
	if (atomic_fetch_add(&w->p->full, 1) == 0 && w->p->s.on_full)
		w->p->s.on_full(w->p->s.ctx, true);
}

/* A connection closed: accept again if the limit was what held us. */
void worker_accept_resume(struct worker *w)
{
	if (!w->accept_paused_limit || (w->max_conns && w->nconns >= w->max_conns))
		return;
	w->accept_paused_limit = false;
	if (atomic_fetch_sub(&w->p->full, 1) == 1 && w->p->s.on_full)
		w->p->s.on_full(w->p->s.ctx, false);
	if (!ev_is_active(&w->accept_retry))
		listeners_start(w);
}

/* Out of fds or memory: stop accepting, try again in ACCEPT_RETRY_S. */
void worker_accept_backoff(struct worker *w)
{
	listeners_stop(w);
	if (!ev_is_active(&w->accept_retry)) {
		ev_timer_set(&w->accept_retry, ACCEPT_RETRY_S, 0.);
		ev_timer_start(w->loop, &w->accept_retry);
	}
}

static void accept_retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = container_of(t, struct worker, accept_retry);

	(void)loop;
	(void)revents;
	if (!w->accept_paused_limit)
		listeners_start(w);
}

static void stop_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct worker *w = container_of(a, struct worker, stop_w);

	enum proxy_close_reason why = (enum proxy_close_reason)atomic_load(&w->p->stop_why);

	(void)revents;
	listeners_stop(w);
	ev_timer_stop(loop, &w->accept_retry);
	conn_close_all(w, why);
	udp_close_all(w, why);
	ev_async_stop(loop, &w->drain_w);
	ev_async_stop(loop, a);
	ev_break(loop, EVBREAK_ALL);
}

/*
 * proxy_drain, on the worker's thread: what the listeners already hold is
 * taken (those flows were steered before the drain), then they close.
 */
static void drain_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct worker *w = container_of(a, struct worker, drain_w);

	(void)revents;
	for (int i = 0; i < 2; i++) {
		listener_accept_all(&w->lst[i]);
		if (w->ulst[i].fd >= 0)
			udp_listener_cb(loop, &w->ulst[i].io, EV_READ);
	}
	w->draining = true;
	ev_timer_stop(loop, &w->accept_retry);
	for (int i = 0; i < 2; i++) {
		listener_close(w, &w->lst[i]);
		listener_close(w, &w->ulst[i]);
	}
	ev_async_stop(loop, a);
	atomic_fetch_add(&w->p->drained, 1);
}

int worker_init(struct worker *w, struct proxy *p, int id)
{
	const struct proxy_settings *s = &p->s;

	w->p = p;
	w->id = id;
	w->pool.st = &w->st;
	w->lst[0].fd = w->lst[1].fd = -1;
	w->ulst[0].fd = w->ulst[1].fd = -1;
	if (s->max_conns > 0) {
		w->max_conns = s->max_conns / s->workers + (id < s->max_conns % s->workers);
		if (w->max_conns < 1)
			w->max_conns = 1;
	}
	w->loop = ev_loop_new(EVBACKEND_EPOLL);
	if (!w->loop) {
		fprintf(stderr, "proxy: worker %d: cannot create an epoll event loop\n", id);
		return -1;
	}
	ev_async_init(&w->stop_w, stop_cb);
	ev_async_start(w->loop, &w->stop_w);
	ev_async_init(&w->drain_w, drain_cb);
	ev_async_start(w->loop, &w->drain_w);
	ev_init(&w->accept_retry, accept_retry_cb);

	if (listener_open(&w->lst[0], AF_INET, IPPROTO_TCP, s->port) < 0)
		return -1;
	if (listener_open(&w->lst[1], AF_INET6, IPPROTO_TCP, s->port) < 0) {
		if (errno != EAFNOSUPPORT)
			return -1;
		if (id == 0)
			fprintf(stderr, "proxy: warning: no IPv6 in this kernel, IPv4 listeners only\n");
	}
	if (listener_open(&w->ulst[0], AF_INET, IPPROTO_UDP, s->port) < 0)
		return -1;
	if (listener_open(&w->ulst[1], AF_INET6, IPPROTO_UDP, s->port) < 0 && errno != EAFNOSUPPORT)
		return -1;
	for (int i = 0; i < 2; i++) {
		w->lst[i].w = w;
		ev_io_init(&w->lst[i].io, listener_accept_cb, w->lst[i].fd, EV_READ);
	}
	listeners_start(w);
	return udp_worker_init(w);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int err = w->p->cpus ? per_cpu_pin(w->p->cpus[w->id]) : 0;
	char name[16];

	/* top -H, ps -L and perf tell the workers apart by it. */
	snprintf(name, sizeof(name), "steer-w%d", w->id);
	pthread_setname_np(pthread_self(), name);

	if (err)
		fprintf(stderr, "proxy: warning: worker %d not pinned to CPU %d: %s\n", w->id, w->p->cpus[w->id],
			strerror(err));
	ev_run(w->loop, 0);
	return NULL;
}

int worker_start(struct worker *w)
{
	sigset_t all, old;
	int err;

	/* Signals belong to the daemon's main thread, never to a worker. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		fprintf(stderr, "proxy: worker %d: pthread_create: %s\n", w->id, strerror(err));
		return -1;
	}
	w->thread_started = true;
	return 0;
}

void worker_stop_join(struct worker *w)
{
	if (!w->thread_started)
		return;
	ev_async_send(w->loop, &w->stop_w);
	pthread_join(w->thread, NULL);
	w->thread_started = false;
}

void worker_fini(struct worker *w)
{
	if (w->loop) {
		/* Never started (or start failed): the loop is ours to clean. */
		stop_cb(w->loop, &w->stop_w, 0);
	}
	for (int i = 0; i < 2; i++) {
		listener_close(w, &w->lst[i]);
		listener_close(w, &w->ulst[i]);
	}
	pipe_pool_drain(&w->pool);
	udp_worker_fini(w);
	if (w->loop) {
		ev_loop_destroy(w->loop);
		w->loop = NULL;
	}
}
