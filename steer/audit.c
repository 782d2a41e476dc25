/* SPDX-License-Identifier: GPL-2.0-only */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "addr.h"

#define AUDIT_QUEUE 16384
#define AUDIT_LINE 1024

enum sink_kind { SINK_FILE, SINK_STDOUT, SINK_SYSLOG };

struct audit {
	enum sink_kind kind;
	char path[STEER_PATH_MAX];
	int fd;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct audit_record *ring;
	size_t head, count;          /* under lock */
	bool stopping;               /* under lock */
	uint64_t lost_unreported;    /* under lock */
	atomic_bool reopen;
	atomic_uint_fast64_t written, lost;
};

static int open_file(const char *path)
{
	char dir[STEER_PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0750); /* the default /var/log/steer may not exist yet */
	}
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

static void format_ts(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&ts->tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06ldZ", ts->tv_nsec / 1000);
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

size_t audit_format(const struct audit_record *r, char *buf, size_t len)
{
	char ts[40], c[ADDR_STR_MAX], d[ADDR_STR_MAX], u[ADDR_STR_MAX];
	const struct proxy_conn_event *ev = &r->ev;
	int n = 0;

	format_ts(&r->ts, ts, sizeof(ts));
	switch (r->kind) {
	case AUDIT_BACKEND:
		n = snprintf(buf, len, "{\"ts\":\"%s\",\"event\":\"backend\",\"from\":\"%s\",\"to\":\"%s\"}",
			     ts, r->from, r->to);
		break;
	case AUDIT_LOST:
		n = snprintf(buf, len, "{\"ts\":\"%s\",\"event\":\"lost\",\"count\":%llu}", ts,
			     (unsigned long long)r->count);
		break;
	case AUDIT_CONN:
		sockaddr_format((const struct sockaddr *)&ev->client, c, sizeof(c));
		sockaddr_format((const struct sockaddr *)&ev->dst, d, sizeof(d));
		n = snprintf(buf, len,
			     "{\"ts\":\"%s\",\"event\":\"%s\",\"flow\":%llu,\"proto\":\"%s\","
			     "\"backend\":\"%s\",\"client\":\"%s\",\"dst\":\"%s\"",
			     ts, ev->open ? "open" : "close", (unsigned long long)ev->flow,
			     proto_name(ev->proto), r->backend, c, d);
		if (n < 0 || (size_t)n >= len)
			break;
		if (ev->open) {
			sockaddr_format((const struct sockaddr *)&ev->upstream_src, u, sizeof(u));
			n += snprintf(buf + n, len - n, ",\"upstream_src\":\"%s\"}", u);
		} else {
			double ms = (double)(ev->close_ns - ev->accept_ns) / 1e6;

			n += snprintf(buf + n, len - n,
				      ",\"bytes_up\":%llu,\"bytes_down\":%llu,\"duration_ms\":%.3f,\"reason\":\"%s\"}",
				      (unsigned long long)ev->bytes_up, (unsigned long long)ev->bytes_down,
				      ms, proxy_close_reason_name(ev->reason));
		}
		break;
	}
	if (n < 0)
		return 0;
	return (size_t)n < len ? (size_t)n : len - 1;
}

static void push(struct audit *a, const struct audit_record *r)
{
	pthread_mutex_lock(&a->lock);
	if (a->count == AUDIT_QUEUE) {
		a->lost_unreported++;
		atomic_fetch_add_explicit(&a->lost, 1, memory_order_relaxed);
	} else {
		a->ring[(a->head + a->count) % AUDIT_QUEUE] = *r;
		if (a->count++ == 0)
			pthread_cond_signal(&a->wake);
	}
	pthread_mutex_unlock(&a->lock);
}

static bool sink_write(struct audit *a, const char *buf, size_t len)
{
	if (a->kind == SINK_SYSLOG) {
		syslog(LOG_INFO, "%.*s", (int)len, buf);
		return true;
	}
	while (len > 0) {
		ssize_t n = write(a->fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static void do_reopen(struct audit *a)
{
	int fd;

	if (a->kind != SINK_FILE)
		return;
	fd = open_file(a->path);
	if (fd < 0) {
		fprintf(stderr, "steer: audit log %s: cannot reopen: %s\n", a->path, strerror(errno));
		return;
	}
	close(a->fd);
	a->fd = fd;
}

/* Write a batch of lines with as few syscalls as the buffer allows. */
static void write_batch(struct audit *a, const struct audit_record *recs, size_t n)
{
	static __thread char out[64 * AUDIT_LINE];
	size_t used = 0, lines = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || used + AUDIT_LINE > sizeof(out) || (a->kind == SINK_SYSLOG && lines)) {
			if (used && !sink_write(a, out, a->kind == SINK_SYSLOG ? used - 1 : used))
				atomic_fetch_add_explicit(&a->lost, lines, memory_order_relaxed);
			else
				atomic_fetch_add_explicit(&a->written, lines, memory_order_relaxed);
			used = lines = 0;
		}
		if (i == n)
			break;
		used += audit_format(&recs[i], out + used, AUDIT_LINE - 1);
		out[used++] = '\n';
		lines++;
	}
}

static void *writer(void *arg)
{
	struct audit *a = arg;
	struct audit_record batch[256];

	for (;;) {
		size_t n = 0;
		uint64_t lost = 0;
		bool stop;

		pthread_mutex_lock(&a->lock);
		while (!a->count && !a->stopping && !a->lost_unreported &&
		       !atomic_load(&a->reopen))
			pthread_cond_wait(&a->wake, &a->lock);
		while (n < 256 && a->count) {
			batch[n++] = a->ring[a->head];
			a->head = (a->head + 1) % AUDIT_QUEUE;
			a->count--;
		}
		lost = a->lost_unreported;
		a->lost_unreported = 0;
		stop = a->stopping && !a->count;
		pthread_mutex_unlock(&a->lock);

		if (atomic_exchange(&a->reopen, false))
			do_reopen(a);
		write_batch(a, batch, n);
		if (lost) {
			struct audit_record r = { .kind = AUDIT_LOST, .count = lost };

			clock_gettime(CLOCK_REALTIME, &r.ts);
			write_batch(a, &r, 1);
		}
		if (stop)
			return NULL;
	}
}

struct audit *audit_open(const char *sink)
{
	struct audit *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->ring = calloc(AUDIT_QUEUE, sizeof(*a->ring));
	if (!a->ring)
		goto fail;
	snprintf(a->path, sizeof(a->path), "%s", sink);
	if (!strcmp(sink, "-")) {
		a->kind = SINK_STDOUT;
		a->fd = STDOUT_FILENO;
	} else if (!strcmp(sink, "syslog")) {
		a->kind = SINK_SYSLOG;
		a->fd = -1;
		openlog("steer", LOG_PID, LOG_DAEMON);
	} else {
		a->kind = SINK_FILE;
		a->fd = open_file(sink);
		if (a->fd < 0) {
			fprintf(stderr, "steer: audit log %s: %s\n", sink, strerror(errno));
			goto fail;
		}
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	if (pthread_create(&a->thread, NULL, writer, a)) {
		fprintf(stderr, "steer: audit: cannot start the writer thread\n");
		if (a->kind == SINK_FILE)
			close(a->fd);
		goto fail;
	}
	return a;
fail:
	free(a->ring);
	free(a);
	return NULL;
}

void audit_conn(struct audit *a, const struct proxy_conn_event *ev, const char *backend)
{
	struct audit_record r = { .kind = AUDIT_CONN, .ev = *ev };

	if (!a)
		return;
	clock_gettime(CLOCK_REALTIME, &r.ts);
	snprintf(r.backend, sizeof(r.backend), "%s", backend);
	push(a, &r);
}

void audit_backend_change(struct audit *a, const char *from, const char *to)
{
	struct audit_record r = { .kind = AUDIT_BACKEND };

	if (!a)
		return;
	clock_gettime(CLOCK_REALTIME, &r.ts);
	snprintf(r.from, sizeof(r.from), "%s", from);
	snprintf(r.to, sizeof(r.to), "%s", to);
	push(a, &r);
}

void audit_reopen(struct audit *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	atomic_store(&a->reopen, true);
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
}

void audit_get_stats(struct audit *a, struct audit_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!a)
		return;
	out->written = atomic_load(&a->written);
	out->lost = atomic_load(&a->lost);
	pthread_mutex_lock(&a->lock);
	out->queued = a->count;
	pthread_mutex_unlock(&a->lock);
}

void audit_close(struct audit *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	if (a->kind == SINK_FILE)
		close(a->fd);
	if (a->kind == SINK_SYSLOG)
		closelog();
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->wake);
	free(a->ring);
	free(a);
}
