/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/daemon.h"

#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "proxy/proxy.h"
#include "steer/audit.h"
#include "steer/control.h"
#include "steer/drain.h"
#include "steer/health.h"
#include "steer/kernel_report.h"
#include "steer/links.h"
#include "steer/log.h"
#include "steer/metrics.h"
#include "steer/notify.h"
#include "steer/offload.h"
#include "steer/preflight.h"
#include "steer/route.h"
#include "steer/status.h"
#include "steer/steering.h"

#define CONNECT_TIMEOUT_MS 5000
#define IDLE_TIMEOUT_MS (300 * 1000)
/* Sockets and pipe ends one proxied TCP connection can hold. */
#define FDS_PER_CONN 6
#define UDP_SESSIONS_MAX 65536
/* How often the failure counters are looked at: a "not proxied" line follows within this. */
#define HEALTH_TICK_S 1.0

struct daemon {
	struct steer_config *cfg; /* replaced by a successful reload */
	bool cfg_owned;           /* cfg came from a reload: ours to free (the first is the caller's) */
	const struct config_loader *loader;
	struct ev_loop *loop;
	struct steering *steering;
	struct proxy *proxy;
	struct audit *audit;
	struct control *control;
	struct control *metrics;
	struct addr_monitor *mon;
	struct links *links;
	struct health *health;
	ev_io mon_io, links_io;
	ev_timer health_tick;
	ev_signal sig_term, sig_int, sig_hup;
	struct drain drain;
	/*
	 * The classifier the proxy's workers tell when it is at its connection
	 * limit (on_proxy_full), and the last word, under full_lock: the
	 * classifier is set once steering runs and cleared before it goes.
	 */
	pthread_mutex_t full_lock;
	struct classifier *full_to;
	bool full;
	bool routes;
	time_t started;
	/* The last `steer reload`: refused or failed (false), and when one last succeeded (the start counts). */
	bool reload_ok;
	time_t reload_ok_at;
	const char *_Atomic fallback; /* backend name for flows without a kernel record */
	/*
	 * The one flow-id counter of the run: the proxy numbers its flows from
	 * it and the audit its drop (and kernel-only open) records, so that a
	 * record's "flow" names one flow whichever numbered it.
	 */
	_Atomic uint64_t flow_ids;
	struct offload_table *offload; /* flows handed to the classifier (offload after BYTES) */
};

static const char *src_fallback(void *ctx)
{
	struct daemon *d = ctx;

	return atomic_load(&d->fallback);
}

static void set_fallback(struct daemon *d, enum backend_kind kind)
{
	atomic_store(&d->fallback, kind == BACKEND_SPLIT ? "unknown" : backend_kind_name(kind));
}

/* The audit log learns each flow's backend and steer_us from the classifier's records. */
static int start_audit_source(struct daemon *d)
{
	struct classifier *c = steering_classifier(d->steering);
	struct audit_source src = {
		.fallback = src_fallback,
		.kernel_only = d->cfg->proxy == PROXY_EXTERNAL,
		.flow_ids = &d->flow_ids,
		.ctx = d,
	};

	if (c && !(src.events = c->ops->events(c)))
		return -1;
	audit_set_source(d->audit, &src);
	return 0;
}

static void on_conn_event(void *ctx, const struct proxy_conn_event *ev)
{
	struct daemon *d = ctx;

	audit_conn(d->audit, ev);
}

struct addr_query {
	int family;
	const uint8_t *addr;
	bool found;
};

static void find_addr(void *ctx, int family, const uint8_t *addr, bool add)
{
	struct addr_query *q = ctx;

	if (add && family == q->family && !memcmp(addr, q->addr, family == 4 ? 4 : 16))
		q->found = true;
}

static void on_addr(void *ctx, int family, const uint8_t *addr, bool add)
{
	struct daemon *d = ctx;
	struct addr_query q = { family, addr, false };

	if (!d->steering)
		return;
	/* The same address may stay on another interface (fe80::1 on every VLAN, VRRP). */
	if (!add && addr_dump(find_addr, &q) >= 0 && q.found)
		return;
	steering_local_addr(d->steering, family, addr, add);
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

static void on_link_change(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	links_read(((struct daemon *)((char *)w - offsetof(struct daemon, links_io)))->links);
}

/* What systemctl status shows: the mechanism and how many rules it steers by. */
static void notify(const struct daemon *d, enum service_state state)
{
	char backend[32], status[96];

	steering_describe(d->steering, backend, sizeof(backend));
	snprintf(status, sizeof(status), "steering: %s, %zu rules", backend, d->cfg->nrules);
	service_notify(state, status);
}

/* The failure counters and the classifier's runtime learning, logged (see health.h). */
static void check_health(struct daemon *d)
{
	struct counter_group g[4];
	struct proxy_stats ps;
	struct classifier *c = steering_classifier(d->steering);
	size_t n = steering_counters(d->steering, g, 4);

	if (d->proxy)
		proxy_get_stats(d->proxy, &ps);
	health_observe(d->health, g, n, d->proxy ? &ps : NULL, health_now(), stderr);
	if (c) {
		struct classifier_features f;

		c->ops->features(c, &f);
		health_features(d->health, &f, stderr);
	}
}

static void on_health_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct daemon *d = (struct daemon *)((char *)w - offsetof(struct daemon, health_tick));

	check_health(d);
	if (d->offload)
		offload_reap(d->offload);
}

/* What new flows meet while the proxy drains: the steering without a listener. */
static const char *without_proxy(const struct steer_config *cfg)
{
	return cfg->on_proxy_down == PROXY_DOWN_FAIL_OPEN ? "on-proxy-down fail-open: forwarded untouched"
							  : "on-proxy-down fail-closed: dropped, counted";
}

/* The first signal drains (drain-timeout), a second one during the drain stops at once. */
static void on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;

	(void)revents;
	if (d->drain.active) {
		drain_cut(&d->drain, w->signum);
		return;
	}
	if (drain_start(&d->drain, loop, d->proxy, d->cfg->drain_timeout, w->signum, without_proxy(d->cfg))) {
		/* Flows not proxied are the drain's point now: its line said so, the health lines would repeat it. */
		ev_timer_stop(loop, &d->health_tick);
		return;
	}
	service_notify(SERVICE_STOPPING, "stopping: removing steering");
	log_msg(LOG_INFO, "steer: signal %d: stopping\n", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

static void on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = (struct daemon *)((char *)w - offsetof(struct daemon, sig_hup));

	(void)loop;
	(void)revents;
	audit_reopen(d->audit);
}

static int parse_backend(struct steer_config *cfg, const char *arg)
{
	char *msgs = NULL;
	size_t len = 0;
	FILE *errs = open_memstream(&msgs, &len);
	int bad;

	if (!errs)
		return -1;
	bad = config_apply_flag(cfg, "backend", arg, errs);
	fclose(errs);
	free(msgs);
	return bad ? -1 : 0;
}

static void cmd_backend(struct daemon *d, const char *arg, struct strbuf *out)
{
	struct steer_config want;
	char before[32], after[32];
	struct strbuf err = { 0 };

	steering_describe(d->steering, before, sizeof(before));
	if (!*arg) {
		sb_printf(out, "%s\n", before);
		return;
	}
	/* The same grammar as the config's `backend` directive. */
	config_init(&want);
	if (parse_backend(&want, arg) < 0 || want.backend == BACKEND_AUTO) {
		sb_printf(out, "error: backend: expected ebpf, nft or split PERCENT, not '%s'\n", arg);
	} else if (steering_set(d->steering, want.backend, want.split_percent, &err) < 0) {
		steering_describe(d->steering, after, sizeof(after));
		sb_printf(out, "error: backend %s: %s; now %s\n", arg, err.s ? err.s : "failed", after);
	} else {
		steering_describe(d->steering, after, sizeof(after));
		set_fallback(d, want.backend);
		audit_backend_change(d->audit, before, after);
		notify(d, SERVICE_STATUS);
		log_msg(LOG_INFO, "steer: backend %s -> %s\n", before, after);
		sb_printf(out, "backend %s -> %s\n", before, after);
	}
	config_free(&want);
	sb_free(&err);
}

static void cmd_reload(struct daemon *d, struct strbuf *out)
{
	struct steer_config *next = calloc(1, sizeof(*next));
	struct strbuf err = { 0 };
	char *msgs = NULL;
	size_t len = 0;
	FILE *errs = open_memstream(&msgs, &len);
	int bad;

	service_notify(SERVICE_RELOADING, NULL);
	if (!next || !errs) {
		sb_printf(out, "error: reload: out of memory\n");
		free(next);
		if (errs)
			fclose(errs);
		free(msgs);
		notify(d, SERVICE_READY);
		return;
	}
	bad = d->loader->load(next, errs, d->loader->ctx);
	if (!bad)
		bad = config_validate(next, errs);
	if (!bad)
		bad = config_diff_except_rules(d->cfg, next, errs);
	fclose(errs);
	d->reload_ok = false;
	if (bad) {
		sb_printf(out, "error: reload refused; the running rules stay:\n%s", msgs);
	} else if (steering_reload(d->steering, next, &err) < 0) {
		sb_printf(out, "error: reload: %s\n", err.s ? err.s : "failed");
	} else {
		if (d->cfg_owned) {
			config_free(d->cfg);
			free(d->cfg);
		}
		d->cfg = next;
		d->cfg_owned = true;
		next = NULL;
		d->reload_ok = true;
		d->reload_ok_at = time(NULL);
		log_msg(LOG_INFO, "steer: reloaded: %zu rules\n", d->cfg->nrules);
		sb_printf(out, "reloaded: %zu rules\n", d->cfg->nrules);
	}
	if (next) {
		config_free(next);
		free(next);
	}
	free(msgs);
	sb_free(&err);
	/* Refused or not, the daemon steers as it did before or as it now does. */
	notify(d, SERVICE_READY);
}

static struct status_view view_of(const struct daemon *d)
{
	return (struct status_view){
		.cfg = d->cfg,
		.steering = d->steering,
		.proxy = d->proxy,
		.audit = d->audit,
		.health = d->drain.active ? NULL : d->health,
		.links = d->links,
		.started = d->started,
		.reload_ok = d->reload_ok,
		.reload_ok_at = d->reload_ok_at,
		.draining = d->drain.active,
		.drain_left_s = d->drain.active ? drain_left(&d->drain) : 0,
		.drain_timeout_s = d->drain.timeout_s,
	};
}

static void on_metrics(void *ctx, const char *req, struct strbuf *out)
{
	struct status_view v = view_of(ctx);

	metrics_http(&v, req, out);
}

static void on_request(void *ctx, const char *req, struct strbuf *out)
{
	struct daemon *d = ctx;
	struct status_view v = view_of(d);

	if (d->drain.active && (!strncmp(req, "backend ", 8) || !strcmp(req, "reload"))) {
		/* The listeners are closed and the steering is about to go: nothing to switch or reload. */
		sb_printf(out, "error: %s refused: steer is stopping, draining open flows (%ld s left)\n",
			  req[0] == 'r' ? "reload" : "backend", drain_left(&d->drain));
		return;
	}
	if (!strcmp(req, "status"))
		status_format(&v, false, out);
	else if (!strcmp(req, "status json"))
		status_format(&v, true, out);
	else if (!strcmp(req, "backend"))
		cmd_backend(d, "", out);
	else if (!strncmp(req, "backend ", 8))
		cmd_backend(d, req + 8, out);
	else if (!strcmp(req, "reload"))
		cmd_reload(d, out);
	else
		sb_printf(out, "error: unknown request (expected: status, status json, backend [ebpf|nft|split P], reload)\n");
}

/*
 * Enough descriptors for the connection bound; the bound follows from the
 * limit. TCP gets half of them: UDP sessions may take the other half
 * (proxy.c's udp_session_bound), and a worker that runs out of descriptors
 * before its bound stops accepting without the proxy being "full".
 */
static int conn_bound(void)
{
	struct rlimit rl = { 0 };

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 1048576 ? 1048576 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < 256)
		return 16;
	return (int)((rl.rlim_cur - 128) / 2 / FDS_PER_CONN);
}

static enum proxy_upstream_source proxy_source(enum upstream_source u)
{
	switch (u) {
	case UPSTREAM_CLIENT_IP:
		return PROXY_SRC_CLIENT_IP;
	case UPSTREAM_GATEWAY:
		return PROXY_SRC_GATEWAY;
	case UPSTREAM_CLIENT:
		return PROXY_SRC_CLIENT;
	}
	/* Not a value the parser makes: the proxy's bind refuses it (EINVAL), as it always did. */
	return (enum proxy_upstream_source)-1;
}

/*
 * From a proxy worker: the proxy is (no longer) at its connection limit.
 * Two workers' calls may cross (one's "no longer" after the other's "full"),
 * so the state is read again under the lock: the last call tells the truth.
 */
static void on_proxy_full(void *ctx, bool full)
{
	struct daemon *d = ctx;

	(void)full;
	pthread_mutex_lock(&d->full_lock);
	d->full = proxy_is_full(d->proxy);
	full = d->full;
	if (d->full_to && d->full_to->ops->set_proxy_full)
		d->full_to->ops->set_proxy_full(d->full_to, full);
	pthread_mutex_unlock(&d->full_lock);
}

/* The classifier (or NULL: none any more) that on_proxy_full tells, told the current state. */
static void tell_proxy_full(struct daemon *d, struct classifier *c)
{
	pthread_mutex_lock(&d->full_lock);
	d->full_to = c;
	if (c && c->ops->set_proxy_full)
		c->ops->set_proxy_full(c, d->full);
	pthread_mutex_unlock(&d->full_lock);
}

static int start_proxy(struct daemon *d, struct backend_listeners *l)
{
	const struct steer_config *cfg = d->cfg;
	struct proxy_settings ps = {
		.port = cfg->proxy_port,
		.upstream_source = proxy_source(cfg->upstream_source),
		.workers = cfg->workers > 0 ? cfg->workers : (int)sysconf(_SC_NPROCESSORS_ONLN),
		.per_cpu = cfg->workers == STEER_WORKERS_PER_CPU,
		.connect_timeout_ms = CONNECT_TIMEOUT_MS,
		.idle_timeout_ms = IDLE_TIMEOUT_MS,
		.max_conns = conn_bound(),
		.udp_idle_timeout_ms = cfg->udp_idle_timeout * 1000,
		.max_udp_sessions = UDP_SESSIONS_MAX,
		.on_event = on_conn_event,
		.on_full = on_proxy_full,
		.flow_ids = &d->flow_ids,
		.ctx = d,
	};

	if (cfg->offload) {
		d->offload = offload_table_new(on_conn_event, d, (uint64_t)IDLE_TIMEOUT_MS * 1000000);
		if (!d->offload)
			return -1;
		offload_forget_conntrack(d->offload);
		/* The proxy calls these with the table as its context, the events with the daemon. */
		ps.offload_after = cfg->offload_after;
		ps.splice_add = offload_splice_add;
		ps.splice_del = offload_splice_del;
		ps.on_splice = offload_on_splice;
		ps.splice_ctx = d->offload;
		d->drain.offload = d->offload;
	}
	if (ps.workers < 1)
		ps.workers = 1;
	d->proxy = proxy_create(&ps);
	if (!d->proxy)
		return -1;
	l->fd[LISTEN_TCP4] = proxy_listener_fd(d->proxy, AF_INET, IPPROTO_TCP);
	l->fd[LISTEN_TCP6] = proxy_listener_fd(d->proxy, AF_INET6, IPPROTO_TCP);
	l->fd[LISTEN_UDP4] = proxy_listener_fd(d->proxy, AF_INET, IPPROTO_UDP);
	l->fd[LISTEN_UDP6] = proxy_listener_fd(d->proxy, AF_INET6, IPPROTO_UDP);
	return 0;
}

static void teardown(struct daemon *d)
{
	control_close(d->control);
	control_close(d->metrics);
	if (d->loop)
		ev_timer_stop(d->loop, &d->health_tick);
	if (d->mon) {
		ev_io_stop(d->loop, &d->mon_io);
		addr_monitor_close(d->mon);
	}
	if (d->links) {
		ev_io_stop(d->loop, &d->links_io);
		links_close(d->links);
	}
	/*
	 * Offloaded flows live only in the classifier's entries: they end with
	 * it, before it goes (their close records read its entries). A freeze
	 * the proxy still holds is not removed by its stop after this (the
	 * table no longer has the classifier): its entries go with the map.
	 */
	offload_end_all(d->offload, drain_close_reason(&d->drain));
	/* Steering off first, so no new flow is handed to a proxy that is going. */
	audit_set_source(d->audit, NULL);
	tell_proxy_full(d, NULL);
	steering_stop(d->steering);
	drain_finish(&d->drain, proxy_destroy_why(d->proxy, drain_close_reason(&d->drain)));
	offload_table_free(d->offload);
	if (d->routes)
		route_remove(d->cfg->mark, d->cfg->route_table);
	audit_close(d->audit);
	health_free(d->health);
}

static void print_started(const struct daemon *d)
{
	const struct steer_config *cfg = d->cfg;
	struct kernel_report kr;
	struct strbuf line = { 0 };
	char backend[32];
	size_t n = 0;

	steering_describe(d->steering, backend, sizeof(backend));
	kernel_report_get(steering_classifier(d->steering), &kr);
	kernel_report_line(&kr, backend, &line);
	log_msg(LOG_INFO, "steer: %s\n", line.s ? line.s : "");
	sb_free(&line);
	line = (struct strbuf){ 0 };
	sb_printf(&line, "running: backend %s, %zu rules, proxy %s on port %u, upstream-source %s, interfaces",
		  backend, cfg->nrules, cfg->proxy == PROXY_BUILTIN ? "builtin" : "external",
		  cfg->proxy_port, upstream_source_name(cfg->upstream_source));
	for (const struct link_info *i; (i = links_get(d->links, n)); n++)
		sb_printf(&line, " %s%s%s", i->name, i->ret ? "(return)" : "", i->ifindex ? "" : "(waiting)");
	log_msg(LOG_INFO, "steer: %s\n", line.s ? line.s : "running");
	sb_free(&line);
}

int daemon_run(struct steer_config *cfg, const struct config_loader *loader)
{
	struct daemon d = { .cfg = cfg, .loader = loader, .started = time(NULL), .reload_ok = true,
			    .full_lock = PTHREAD_MUTEX_INITIALIZER };
	struct backend_listeners l = { .fd = { -1, -1, -1, -1 } };
	sigset_t stop_signals;
	int status = 1;

	d.reload_ok_at = d.started;

	/*
	 * A signal while installing must not kill the process half-way: it
	 * stays pending until the watchers exist, then stops us cleanly.
	 * Threads started meanwhile inherit the mask.
	 */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop_signals, NULL);

	if (preflight_run(cfg, stderr) > 0)
		return 1;
	d.health = health_new();
	if (!d.health)
		return 1;
	d.loop = ev_default_loop(EVFLAG_AUTO);
	d.control = control_open(d.loop, cfg->control_socket, on_request, &d);
	if (!d.control)
		goto out;
	d.audit = audit_open_keyed(cfg->audit_log, cfg->audit_syslog_facility, cfg->audit_key[0] ? cfg->audit_key : NULL,
				   cfg->audit_anchor_interval);
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
	/* Subscribed before the backend dumps addresses and attaches: no change falls between. */
	d.links = links_open();
	if (!d.links)
		goto out;
	d.steering = steering_start(cfg, &l);
	if (!d.steering)
		goto out;
	links_start(d.links, cfg, steering_classifier(d.steering));
	tell_proxy_full(&d, steering_classifier(d.steering));
	if (d.offload)
		offload_set_classifier(d.offload, steering_classifier(d.steering));
	set_fallback(&d, steering_kind(d.steering));
	if (start_audit_source(&d) < 0)
		goto out;
	ev_io_init(&d.mon_io, on_addr_change, addr_monitor_fd(d.mon), EV_READ);
	ev_io_start(d.loop, &d.mon_io);
	ev_io_init(&d.links_io, on_link_change, links_fd(d.links), EV_READ);
	ev_io_start(d.loop, &d.links_io);
	if (d.proxy && proxy_start(d.proxy) < 0)
		goto out;
	if (cfg->metrics_enabled) {
		d.metrics = control_listen_http(d.loop, &cfg->metrics_addr, on_metrics, &d);
		if (!d.metrics)
			goto out;
	}
	ev_signal_init(&d.sig_term, on_stop, SIGTERM);
	ev_signal_init(&d.sig_int, on_stop, SIGINT);
	d.sig_term.data = d.sig_int.data = &d;
	ev_signal_init(&d.sig_hup, on_hup, SIGHUP);
	ev_signal_start(d.loop, &d.sig_term);
	ev_signal_start(d.loop, &d.sig_int);
	ev_signal_start(d.loop, &d.sig_hup);
	print_started(&d);
	notify(&d, SERVICE_READY);
	check_health(&d);
	ev_timer_init(&d.health_tick, on_health_tick, HEALTH_TICK_S, HEALTH_TICK_S);
	ev_timer_start(d.loop, &d.health_tick);
	sigprocmask(SIG_UNBLOCK, &stop_signals, NULL);
	ev_run(d.loop, 0);
	status = 0;
out:
	teardown(&d);
	if (d.cfg_owned) {
		config_free(d.cfg);
		free(d.cfg);
	}
	if (status)
		fprintf(stderr, "steer: not started; nothing left installed\n");
	else
		log_msg(LOG_INFO, "steer: stopped; everything removed\n");
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
	log_msg(failed ? LOG_ERR : LOG_INFO, "steer: cleanup: %d object(s) removed%s\n", total,
		failed ? ", some could not be" : "");
	return failed ? 1 : 0;
}
