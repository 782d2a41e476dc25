/* SPDX-License-Identifier: GPL-2.0-only */
#include "daemon.h"

#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../proxy/proxy.h"
#include "audit.h"
#include "backend.h"
#include "control.h"
#include "preflight.h"
#include "route.h"
#include "status.h"

#define CONNECT_TIMEOUT_MS 5000
#define IDLE_TIMEOUT_MS (300 * 1000)
/* Sockets and pipe ends one proxied TCP connection can hold. */
#define FDS_PER_CONN 6
#define UDP_SESSIONS_MAX 65536

struct daemon {
	const struct steer_config *cfg;
	struct ev_loop *loop;
	const struct backend_ops *_Atomic ops; /* read by proxy workers for the audit log */
	struct backend *backend;
	struct proxy *proxy;
	struct audit *audit;
	struct control *control;
	struct addr_monitor *mon;
	ev_io mon_io;
	ev_signal sig_term, sig_int, sig_hup;
	bool routes;
	time_t started;
};

static void on_conn_event(void *ctx, const struct proxy_conn_event *ev)
{
	struct daemon *d = ctx;

	audit_conn(d->audit, ev, atomic_load_explicit(&d->ops, memory_order_relaxed)->name);
}

static void on_addr(void *ctx, int family, const uint8_t *addr, bool add)
{
	struct daemon *d = ctx;

	if (d->backend && d->backend->ops->local_addr)
		d->backend->ops->local_addr(d->backend, family, addr, add);
}

static void on_addr_change(struct ev_loop *loop, ev_io *w, int revents)
{
	struct daemon *d = (struct daemon *)((char *)w - offsetof(struct daemon, mon_io));

	(void)loop;
	(void)revents;
	/* Notifications were lost: the dump re-adds every current address. */
	if (addr_monitor_read(d->mon, on_addr, d) == -ENOBUFS)
		addr_dump(on_addr, d);
}

static void on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	fprintf(stderr, "steer: signal %d: stopping\n", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

static void on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = (struct daemon *)((char *)w - offsetof(struct daemon, sig_hup));

	(void)loop;
	(void)revents;
	audit_reopen(d->audit);
}

static void on_request(void *ctx, const char *req, struct strbuf *out)
{
	struct daemon *d = ctx;
	struct status_view v = {
		.cfg = d->cfg,
		.backend = d->backend,
		.proxy = d->proxy,
		.audit = d->audit,
		.started = d->started,
	};

	if (!strcmp(req, "status"))
		status_format(&v, false, out);
	else if (!strcmp(req, "status json"))
		status_format(&v, true, out);
	else
		sb_printf(out, "error: unknown request (expected: status, status json)\n");
}

/* Enough descriptors for the connection bound; the bound follows from the limit. */
static int conn_bound(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 1048576 ? 1048576 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < 256)
		return 16;
	return (int)((rl.rlim_cur - 128) / FDS_PER_CONN);
}

static int start_proxy(struct daemon *d, struct backend_listeners *l)
{
	const struct steer_config *cfg = d->cfg;
	struct proxy_settings ps = {
		.port = cfg->proxy_port,
		.upstream_source = cfg->upstream_source,
		.workers = cfg->workers > 0 ? cfg->workers : (int)sysconf(_SC_NPROCESSORS_ONLN),
		.connect_timeout_ms = CONNECT_TIMEOUT_MS,
		.idle_timeout_ms = IDLE_TIMEOUT_MS,
		.max_conns = conn_bound(),
		.udp_idle_timeout_ms = cfg->udp_idle_timeout * 1000,
		.max_udp_sessions = UDP_SESSIONS_MAX,
		.on_event = on_conn_event,
		.ctx = d,
	};

	if (ps.workers < 1)
		ps.workers = 1;
	d->proxy = proxy_create(&ps);
	if (!d->proxy)
		return -1;
	l->fd[STEER_LISTEN_TCP4] = proxy_listener_fd(d->proxy, AF_INET, IPPROTO_TCP);
	l->fd[STEER_LISTEN_TCP6] = proxy_listener_fd(d->proxy, AF_INET6, IPPROTO_TCP);
	l->fd[STEER_LISTEN_UDP4] = proxy_listener_fd(d->proxy, AF_INET, IPPROTO_UDP);
	l->fd[STEER_LISTEN_UDP6] = proxy_listener_fd(d->proxy, AF_INET6, IPPROTO_UDP);
	return 0;
}

static void teardown(struct daemon *d)
{
	control_close(d->control);
	if (d->mon) {
		ev_io_stop(d->loop, &d->mon_io);
		addr_monitor_close(d->mon);
	}
	/* Steering off first, so no new flow is handed to a proxy that is going. */
	if (d->backend)
		d->backend->ops->remove(d->backend);
	proxy_destroy(d->proxy);
	if (d->routes)
		route_remove(d->cfg->mark, d->cfg->route_table);
	audit_close(d->audit);
}

static void print_started(const struct daemon *d)
{
	const struct steer_config *cfg = d->cfg;

	fprintf(stderr, "steer: running: backend %s, %zu rules, proxy %s on port %u, upstream-source %s, interfaces",
		d->backend->ops->name, cfg->nrules, cfg->proxy == PROXY_BUILTIN ? "builtin" : "external",
		cfg->proxy_port, upstream_source_name(cfg->upstream_source));
	for (int i = 0; i < cfg->n_ifaces; i++)
		fprintf(stderr, " %s", cfg->ifaces[i]);
	for (int i = 0; i < cfg->n_return_ifaces; i++)
		fprintf(stderr, " %s(return)", cfg->return_ifaces[i]);
	fputc('\n', stderr);
}

int daemon_run(const struct steer_config *cfg)
{
	struct daemon d = { .cfg = cfg, .started = time(NULL) };
	struct backend_listeners l = { .fd = { -1, -1, -1, -1 } };
	int status = 1;

	if (preflight_run(cfg, stderr) > 0)
		return 1;
	d.loop = ev_default_loop(EVFLAG_AUTO);
	d.ops = backend_ops_for(cfg->backend);
	if (!d.ops) {
		fprintf(stderr, "steer: backend %s is not available in this version\n",
			backend_kind_name(cfg->backend));
		return 1;
	}
	d.control = control_open(d.loop, cfg->control_socket, on_request, &d);
	if (!d.control)
		goto out;
	d.audit = audit_open(cfg->audit_log);
	if (!d.audit)
		goto out;
	if (route_install(cfg->mark, cfg->route_table) < 0)
		goto out;
	d.routes = true;
	if (cfg->proxy == PROXY_BUILTIN && start_proxy(&d, &l) < 0)
		goto out;
	d.mon = addr_monitor_open();
	if (!d.mon) {
		fprintf(stderr, "steer: cannot watch address changes\n");
		goto out;
	}
	/* Subscribed before the backend dumps addresses: no change falls between. */
	d.backend = d.ops->install(cfg, &l);
	if (!d.backend)
		goto out;
	ev_io_init(&d.mon_io, on_addr_change, addr_monitor_fd(d.mon), EV_READ);
	ev_io_start(d.loop, &d.mon_io);
	if (d.proxy && proxy_start(d.proxy) < 0)
		goto out;
	ev_signal_init(&d.sig_term, on_stop, SIGTERM);
	ev_signal_init(&d.sig_int, on_stop, SIGINT);
	ev_signal_init(&d.sig_hup, on_hup, SIGHUP);
	ev_signal_start(d.loop, &d.sig_term);
	ev_signal_start(d.loop, &d.sig_int);
	ev_signal_start(d.loop, &d.sig_hup);
	print_started(&d);
	ev_run(d.loop, 0);
	status = 0;
out:
	teardown(&d);
	if (status)
		fprintf(stderr, "steer: not started; nothing left installed\n");
	else
		fprintf(stderr, "steer: stopped; everything removed\n");
	return status;
}

int daemon_cleanup(const struct steer_config *cfg)
{
	int total = 0, failed = 0, n;

	if (control_daemon_alive(cfg->control_socket)) {
		fprintf(stderr, "steer: a steer daemon is running (control socket %s): stop it instead\n",
			cfg->control_socket);
		return 1;
	}
	n = route_cleanup_stale();
	failed += n < 0;
	total += n > 0 ? n : 0;
	for (const struct backend_ops *const *ops = backend_all; *ops; ops++) {
		n = (*ops)->cleanup_stale();
		failed += n < 0;
		total += n > 0 ? n : 0;
	}
	if (unlink(cfg->control_socket) == 0)
		total++;
	fprintf(stderr, "steer: cleanup: %d object(s) removed%s\n", total,
		failed ? ", some could not be" : "");
	return failed ? 1 : 0;
}
