// SPDX-License-Identifier: GPL-2.0-only
/*
 * proxy/per_cpu.c through the real kernel: a SO_REUSEPORT group of one
 * loopback listener per CPU with the per-CPU program attached; a client
 * thread pinned to each CPU in turn connects, and the connection must be
 * queued on that CPU's listener (loopback runs the SYN in the sending CPU's
 * softirq). A program that names no CPU of this machine leaves the choice
 * to the kernel's hash: the connection still lands.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/per_cpu.h"

#define MAX_CPUS 64
#define CONNS_PER_CPU 20

struct group {
	int n, fd[MAX_CPUS], cpus[MAX_CPUS];
	struct sockaddr_in addr;
};

static int listener(struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	socklen_t len = sizeof(*a);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)a, sizeof(*a)), 0);
	assert_int_equal(listen(fd, 128), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)a, &len), 0);
	return fd;
}

/* One listener per CPU of this process, in CPU order, on one 127.0.0.1 port. */
static void group_open(struct group *g)
{
	memset(g, 0, sizeof(*g));
	g->n = per_cpu_list(g->cpus, MAX_CPUS);
	assert_true(g->n >= 1);
	g->addr.sin_family = AF_INET;
	g->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < g->n; i++)
		g->fd[i] = listener(&g->addr);
}

static void group_close(struct group *g)
{
	for (int i = 0; i < g->n; i++)
		close(g->fd[i]);
}

struct dial {
	int cpu, pinned;
	struct sockaddr_in addr;
	int fd;
};

static void *dial(void *arg)
{
	struct dial *d = arg;

	d->pinned = per_cpu_pin(d->cpu);
	d->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (d->fd >= 0 && connect(d->fd, (struct sockaddr *)&d->addr, sizeof(d->addr)) < 0) {
		close(d->fd);
		d->fd = -1;
	}
	return NULL;
}

/* A connection from a thread on cpu: the index of the listener that queued it, or -1. */
static int connect_from(struct group *g, int cpu)
{
	struct dial d = { .cpu = cpu, .addr = g->addr, .fd = -1 };
	pthread_t t;
	int got = -1;

	assert_int_equal(pthread_create(&t, NULL, dial, &d), 0);
	pthread_join(t, NULL);
	assert_int_equal(d.pinned, 0);
	assert_true(d.fd >= 0);
	for (int i = 0; i < g->n; i++) {
		int c = accept(g->fd[i], NULL, NULL);

		if (c >= 0) {
			assert_int_equal(got, -1); /* one listener only */
			got = i;
			close(c);
		} else {
			assert_int_equal(errno, EAGAIN);
		}
	}
	close(d.fd);
	return got;
}

static void test_list_is_the_affinity(void **state)
{
	int cpus[MAX_CPUS], n = per_cpu_list(cpus, MAX_CPUS);
	cpu_set_t set;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	assert_int_equal(n, CPU_COUNT(&set) < MAX_CPUS ? CPU_COUNT(&set) : MAX_CPUS);
	for (int i = 0; i < n; i++) {
		assert_true(CPU_ISSET(cpus[i], &set));
		if (i)
			assert_true(cpus[i] > cpus[i - 1]);
	}
	/* max bounds what is written */
	assert_int_equal(per_cpu_list(cpus, 1), 1);
}

static void test_syn_cpu_picks_the_listener(void **state)
{
	struct group g;

	(void)state;
	group_open(&g);
	assert_int_equal(per_cpu_reuseport(g.fd[0], g.cpus, g.n), 0);
	for (int i = 0; i < g.n; i++)
		for (int k = 0; k < CONNS_PER_CPU; k++)
			assert_int_equal(connect_from(&g, g.cpus[i]), i);
	group_close(&g);
}

static void test_unknown_cpu_falls_back_to_the_hash(void **state)
{
	struct group g;
	int none = CPU_SETSIZE + 1; /* no CPU has this number */

	(void)state;
	group_open(&g);
	assert_int_equal(per_cpu_reuseport(g.fd[0], &none, 1), 0);
	for (int k = 0; k < CONNS_PER_CPU; k++)
		assert_true(connect_from(&g, g.cpus[k % g.n]) >= 0);
	group_close(&g);
}

static void test_bad_lists_refused(void **state)
{
	int cpus[1] = { 0 }, fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	errno = 0;
	assert_int_equal(per_cpu_reuseport(fd, cpus, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(per_cpu_reuseport(fd, cpus, 100000), -1);
	assert_int_equal(errno, EINVAL);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_is_the_affinity),
		cmocka_unit_test(test_syn_cpu_picks_the_listener),
		cmocka_unit_test(test_unknown_cpu_falls_back_to_the_hash),
		cmocka_unit_test(test_bad_lists_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
