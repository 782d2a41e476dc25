// SPDX-License-Identifier: GPL-2.0-only
/*
 * The benchmark's load client. Threads with their own epoll loop keep
 * CONC connections in flight, each: connect -> send one HTTP request ->
 * read the response until the server closes -> close -> start again.
 * The time from connect() to the first response byte goes into a log-linear
 * histogram (64 sub-buckets per power of two, ~1.5% resolution).
 *
 *   loadgen -a IP -p PORT [-c CONC] [-d SECS] [-T THREADS] [-r RATE] [-H CDF_FILE]
 *   loadgen -a IP -p PORT -i N [-d SECS]   idle: open N connections, send nothing,
 *                                          print "ready" and hold them SECS
 * Prints one line: conns= secs= cps= errors= p50_us= p99_us= p999_us= max_us=
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SUB_BITS 6
#define SUB      (1 << SUB_BITS)
#define NBUCKETS (SUB + (64 - SUB_BITS) * (SUB / 2))
#define MAX_THREADS 16

static struct sockaddr_storage target;
static socklen_t target_len;
static int conc = 64, nthreads = 1, idle_n;
static double secs = 5, rate;
static volatile sig_atomic_t stop;
static const char req[] = "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";

struct thr {
	pthread_t t;
	int id, ep, quota;
	uint64_t done, errors, started;
	uint64_t hist[NBUCKETS];
};

struct cstate {
	int fd;
	int phase; /* 0 connecting, 1 waiting for the first byte, 2 reading */
	uint64_t t0;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int bucket(uint64_t v)
{
	int m;

	if (v < SUB)
		return (int)v;
	m = 63 - __builtin_clzll(v);
	return SUB + (m - SUB_BITS) * (SUB / 2) + (int)((v >> (m - SUB_BITS + 1)) & (SUB / 2 - 1));
}

/* The middle of bucket i, in ns. */
static double bucket_value(int i)
{
	int m, sub;

	if (i < SUB)
		return i;
	m = (i - SUB) / (SUB / 2) + SUB_BITS;
	sub = (i - SUB) % (SUB / 2) + SUB / 2;
	return ((double)sub + 0.5) * (double)(1ull << (m - SUB_BITS + 1));
}

static int start_conn(struct thr *t, struct cstate *c)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	int one = 1;

	c->fd = socket(target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->t0 = now_ns();
	c->phase = 0;
	if (connect(c->fd, (struct sockaddr *)&target, target_len) < 0 && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	t->started++;
	epoll_ctl(t->ep, EPOLL_CTL_ADD, c->fd, &ev);
	return 0;
}

static void end_conn(struct thr *t, struct cstate *c, bool ok)
{
	close(c->fd);
	c->fd = -1;
	if (ok)
		t->done++;
	else
		t->errors++;
}

static void on_event(struct thr *t, struct cstate *c, uint32_t events)
{
	char buf[4096];
	ssize_t n;

	if (c->phase == 0) {
		int err = 0;
		socklen_t len = sizeof(err);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err || (events & EPOLLERR)) {
			end_conn(t, c, false);
			return;
		}
		if (idle_n) {
			c->phase = 3;
			t->done++;
			ev.events = EPOLLRDHUP;
			epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev);
			return;
		}
		if (write(c->fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
			end_conn(t, c, false);
			return;
		}
		c->phase = 1;
		epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev);
		return;
	}
	if (c->phase == 3) { /* an idle connection the other side closed */
		end_conn(t, c, false);
		t->done--;
		return;
	}
	for (;;) {
		n = read(c->fd, buf, sizeof(buf));
		if (n > 0) {
			if (c->phase == 1) {
				t->hist[bucket(now_ns() - c->t0)]++;
				c->phase = 2;
			}
			continue;
		}
		if (n == 0) {
			end_conn(t, c, c->phase == 2);
			return;
		}
		if (errno == EAGAIN)
			return;
		end_conn(t, c, false);
		return;
	}
}

static void *run(void *arg)
{
	struct thr *t = arg;
	int n = idle_n ? t->quota : conc / nthreads + (t->id < conc % nthreads);
	struct cstate *cs = calloc((size_t)n, sizeof(*cs));
	struct epoll_event evs[256];
	uint64_t t_start = now_ns(), end = t_start + (uint64_t)(secs * 1e9);
	double per_ns = rate / nthreads / 1e9;
	int window = idle_n ? 256 : n; /* idle: connections being opened at once */

	t->ep = epoll_create1(EPOLL_CLOEXEC);
	for (int i = 0; i < n; i++)
		cs[i].fd = -1;
	while (!stop) {
		uint64_t now = now_ns();
		int inflight = 0, k;

		if (now >= end && !(idle_n && secs <= 0))
			break;
		for (int i = 0; i < n; i++) {
			if (cs[i].fd >= 0) {
				inflight += cs[i].phase != 3;
				continue;
			}
			if (idle_n && t->started >= (uint64_t)n)
				continue;
			if (inflight >= window)
				continue;
			if (rate > 0 && (double)t->started >= (double)(now - t_start) * per_ns)
				break;
			if (start_conn(t, &cs[i]) < 0)
				t->errors++;
			else
				inflight++;
		}
		k = epoll_wait(t->ep, evs, 256, rate > 0 || idle_n ? 1 : 50);
		for (int i = 0; i < k; i++)
			on_event(t, evs[i].data.ptr, evs[i].events);
		if (idle_n && t->done + t->errors >= (uint64_t)n && t->started >= (uint64_t)n) {
			static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
			static int ready;
			static uint64_t held;

			pthread_mutex_lock(&mu);
			held += t->done;
			if (++ready == nthreads)
				printf("ready held=%llu\n", (unsigned long long)held), fflush(stdout);
			pthread_mutex_unlock(&mu);
			while (!stop && (secs <= 0 || now_ns() < end))
				usleep(10000);
			break;
		}
	}
	for (int i = 0; i < n; i++)
		if (cs[i].fd >= 0)
			close(cs[i].fd);
	free(cs);
	close(t->ep);
	return NULL;
}

static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

static double pct(const uint64_t *h, uint64_t total, double q)
{
	uint64_t want = (uint64_t)(q * (double)total), acc = 0;

	for (int i = 0; i < NBUCKETS; i++) {
		acc += h[i];
		if (acc > want || (acc == total && h[i]))
			return bucket_value(i) / 1000.;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct thr th[MAX_THREADS];
	static uint64_t hist[NBUCKETS];
	const char *addr = NULL, *cdf = NULL;
	int port = 80, o;
	uint64_t done = 0, errors = 0, total = 0;
	struct rlimit rl;
	double t0, el;

	while ((o = getopt(argc, argv, "a:p:c:d:T:r:H:i:")) != -1) {
		switch (o) {
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'c': conc = atoi(optarg); break;
		case 'd': secs = atof(optarg); break;
		case 'T': nthreads = atoi(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'H': cdf = optarg; break;
		case 'i': idle_n = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (!addr || nthreads < 1 || nthreads > MAX_THREADS || conc < nthreads)
		goto usage;
	memset(&target, 0, sizeof(target));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&target;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			goto usage;
		target_len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&target;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			goto usage;
		target_len = sizeof(*s4);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	signal(SIGPIPE, SIG_IGN);
	t0 = (double)now_ns();
	for (int i = 0; i < nthreads; i++) {
		th[i].id = i;
		th[i].quota = idle_n / nthreads + (i < idle_n % nthreads);
		pthread_create(&th[i].t, NULL, run, &th[i]);
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i].t, NULL);
		done += th[i].done;
		errors += th[i].errors;
		for (int b = 0; b < NBUCKETS; b++)
			hist[b] += th[i].hist[b];
	}
	el = ((double)now_ns() - t0) / 1e9;
	for (int b = 0; b < NBUCKETS; b++)
		total += hist[b];
	printf("conns=%llu secs=%.3f cps=%.0f errors=%llu p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f\n",
	       (unsigned long long)done, el, (double)done / el, (unsigned long long)errors,
	       pct(hist, total, 0.5), pct(hist, total, 0.99), pct(hist, total, 0.999),
	       pct(hist, total, 1.0));
	if (cdf && total) {
		FILE *f = fopen(cdf, "w");
		uint64_t acc = 0;

		if (!f) {
			perror(cdf);
			return 1;
		}
		for (int b = 0; b < NBUCKETS; b++) {
			if (!hist[b])
				continue;
			acc += hist[b];
			fprintf(f, "%.2f %.6f\n", bucket_value(b) / 1000., (double)acc / (double)total);
		}
		fclose(f);
	}
	return 0;
usage:
	fprintf(stderr, "usage: loadgen -a IP -p PORT [-c CONC] [-d SECS] [-T THREADS] [-r RATE] "
			"[-H CDF_FILE] [-i IDLE_CONNS]\n");
	return 2;
}
