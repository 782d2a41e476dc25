/* SPDX-License-Identifier: GPL-2.0-only */
/* The proxy object: create (listeners first), start (threads), destroy, stats. */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sched.h>
#include <time.h>

#include "proxy/internal.h"
#include "proxy/per_cpu.h"

uint64_t proxy_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void ignore_sigpipe(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGPIPE, &sa, NULL);
	}
}

/* max_udp_sessions capped so that UDP takes at most half the descriptors. */
static int udp_session_bound(int want)
{
	struct rlimit rl;
	long cap;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return want;
	cap = rl.rlim_cur > UDP_FD_RESERVE + 4 ? ((long)rl.rlim_cur - UDP_FD_RESERVE) / 4 : 1;
	if (cap > 1 << 30)
		cap = 1 << 30;
	if (want <= 0 || want > cap)
		return (int)cap;
	return want;
}

int proxy_max_conns(const struct proxy *p)
{
	return p->s.max_conns;
}

bool proxy_is_full(struct proxy *p)
{
	return atomic_load(&p->full) > 0;
}

uint64_t proxy_flow_id(struct proxy *p)
{
	return atomic_fetch_add_explicit(p->flow_ids, 1, memory_order_relaxed) + 1;
}

/* per_cpu: the CPUs, and one worker each. -1: out of memory (no CPU list: the settings' workers). */
static int per_cpu_setup(struct proxy *p)
{
	int *cpus = malloc(CPU_SETSIZE * sizeof(*cpus)), n;

	if (!cpus)
		return -1;
	n = per_cpu_list(cpus, CPU_SETSIZE);
	if (n < 1) {
		fprintf(stderr, "proxy: warning: the CPUs this process may use are unknown (%s): %d workers, not "
				"pinned\n", strerror(errno), p->s.workers);
		free(cpus);
		return 0;
	}
	p->cpus = cpus;
	p->s.workers = n;
	return 0;
}

/*
 * Each TCP listener group: the SYN's CPU picks the worker (the groups hold
 * the workers' listeners in worker order: they joined in it). Without it,
 * the kernel's hash picks, as without per_cpu.
 */
static void per_cpu_steer(struct proxy *p)
{
	for (int i = 0; p->cpus && i < 2; i++) {
		int fd = p->workers[0].lst[i].fd;

		if (fd >= 0 && per_cpu_reuseport(fd, p->cpus, p->nworkers) < 0)
			fprintf(stderr, "proxy: warning: connections are not kept on the CPU of their SYN: "
					"SO_ATTACH_REUSEPORT_CBPF: %s\n", strerror(errno));
	}
}

struct proxy *proxy_create(const struct proxy_settings *s)
{
	struct proxy *p;

	if (!s || s->workers < 1 || s->port == 0) {
		fprintf(stderr, "proxy: invalid settings (workers >= 1 and a port are required)\n");
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		goto oom;
	p->s = *s;
	p->s.max_udp_sessions = udp_session_bound(s->max_udp_sessions);
	if (s->per_cpu && per_cpu_setup(p) < 0)
		goto oom;
	p->workers = calloc((size_t)p->s.workers, sizeof(*p->workers));
	if (!p->workers)
		goto oom;
	atomic_init(&p->next_flow, 0);
	p->flow_ids = s->flow_ids ? s->flow_ids : &p->next_flow;
	atomic_init(&p->drained, 0);
	atomic_init(&p->stop_why, CLOSE_SHUTDOWN);
	ignore_sigpipe();
	for (int i = 0; i < p->s.workers; i++) {
		/* Counted first: a worker that fails half-way is cleaned up with the rest. */
		p->nworkers = i + 1;
		if (worker_init(&p->workers[i], p, i) < 0) {
			proxy_destroy(p);
			return NULL;
		}
	}
	per_cpu_steer(p);
	return p;
oom:
	fprintf(stderr, "proxy: out of memory\n");
	if (p)
		free(p->cpus);
	free(p);
	return NULL;
}

int proxy_listener_fd(struct proxy *p, int family, int proto)
{
	struct listener *l;

	if (!p || p->nworkers < 1)
		return -1;
	if (proto == IPPROTO_TCP)
		l = p->workers[0].lst;
	else if (proto == IPPROTO_UDP)
		l = p->workers[0].ulst;
	else
		return -1;
	if (family == AF_INET)
		return l[0].fd;
	if (family == AF_INET6)
		return l[1].fd;
	return -1;
}

int proxy_start(struct proxy *p)
{
	if (!p || p->started) {
		fprintf(stderr, "proxy: already started\n");
		return -1;
	}
	p->started = true;
	for (int i = 0; i < p->nworkers; i++)
		if (worker_start(&p->workers[i]) < 0)
			return -1; /* proxy_destroy stops the ones that started */
	return 0;
}

void proxy_drain(struct proxy *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nworkers; i++)
		if (p->workers[i].thread_started)
			ev_async_send(p->workers[i].loop, &p->workers[i].drain_w);
}

bool proxy_drained(struct proxy *p)
{
	int started = 0;

	for (int i = 0; p && i < p->nworkers; i++)
		started += p->workers[i].thread_started;
	return p && atomic_load(&p->drained) >= started;
}

void proxy_destroy(struct proxy *p)
{
	proxy_destroy_why(p, CLOSE_SHUTDOWN);
}

uint64_t proxy_destroy_why(struct proxy *p, enum proxy_close_reason why)
{
	uint64_t cut = 0;

	if (!p)
		return 0;
	atomic_store(&p->stop_why, (int)why);
	/* Signal every worker first so they wind down in parallel, then join. */
	for (int i = 0; i < p->nworkers; i++)
		if (p->workers[i].thread_started)
			ev_async_send(p->workers[i].loop, &p->workers[i].stop_w);
	for (int i = 0; i < p->nworkers; i++)
		worker_stop_join(&p->workers[i]);
	for (int i = 0; i < p->nworkers; i++) {
		worker_fini(&p->workers[i]);
		cut += p->workers[i].cut;
	}
	free(p->workers);
	free(p->cpus);
	free(p);
	return cut;
}

#define LOAD(f) __atomic_load_n(&w->st.f, __ATOMIC_RELAXED)

void proxy_get_stats(struct proxy *p, struct proxy_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!p)
		return;
	for (int i = 0; i < p->nworkers; i++) {
		struct worker *w = &p->workers[i];

#define SUM(field, ...) out->field += LOAD(field);
		PROXY_STATS(SUM)
#undef SUM
		for (int r = 0; r < CLOSE_REASON_MAX; r++)
			out->closed[r] += LOAD(closed[r]);
	}
}

const char *proxy_close_reason_name(enum proxy_close_reason r)
{
	static const char *const names[CLOSE_REASON_MAX] = {
		[CLOSE_EOF] = "eof",
		[CLOSE_CLIENT_RESET] = "client_reset",
		[CLOSE_UPSTREAM_RESET] = "upstream_reset",
		[CLOSE_UPSTREAM_REFUSED] = "upstream_refused",
		[CLOSE_CONNECT_TIMEOUT] = "connect_timeout",
		[CLOSE_IDLE_TIMEOUT] = "idle_timeout",
		[CLOSE_ERROR] = "error",
		[CLOSE_SHUTDOWN] = "shutdown",
		[CLOSE_DRAIN_TIMEOUT] = "drain_timeout",
	};

	if ((unsigned)r < CLOSE_REASON_MAX && names[r])
		return names[r];
	return "unknown";
}
