// SPDX-License-Identifier: GPL-2.0-only
#include "tests/lib/classifier_runner.h"

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;
static int assign_works = -1; /* learned from the first steered case */

void ct_fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failed++;
}

void ct_ok(const char *name)
{
	printf("ok   %s\n", name);
	passed++;
}

void ct_check(const char *name, int cond, const char *what)
{
	if (cond)
		ct_ok(name);
	else
		ct_fail(name, "%s", what);
}

void ct_abort(const char *why)
{
	printf("FAIL: %s\n", why);
	printf("%d passed, %d failed\n", passed, failed + 1);
	exit(1);
}

void ct_note_assign(int works)
{
	if (works && assign_works != 1)
		printf("note: bpf_sk_assign succeeds in test-run on this kernel\n");
	if (!works && assign_works == -1)
		printf("note: bpf_sk_assign refused in test-run (as expected): steered cases assert assign_failed\n");
	assign_works = works;
}

static int lo_up(void)
{
	struct ifreq r;
	int s = socket(AF_INET, SOCK_DGRAM, 0), err = 0;

	memset(&r, 0, sizeof(r));
	strcpy(r.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &r) < 0)
		err = -1;
	r.ifr_flags |= IFF_UP;
	if (!err && ioctl(s, SIOCSIFFLAGS, &r) < 0)
		err = -1;
	if (s >= 0)
		close(s);
	return err;
}

/* The run order: indices into cases, as STEER_TEST_ORDER and the names on the command line say. */
static size_t pick(int argc, char **argv, const struct ct_case *cases, size_t n, size_t *order)
{
	const char *how = getenv("STEER_TEST_ORDER");
	size_t k = 0;

	if (argc > 1) {
		for (int a = 1; a < argc; a++) {
			size_t i = 0;

			while (i < n && strcmp(argv[a], cases[i].name))
				i++;
			if (i == n) {
				printf("FAIL: no case named %s (--list shows them)\n", argv[a]);
				exit(1);
			}
			order[k++] = i;
		}
	} else {
		for (; k < n; k++)
			order[k] = k;
	}
	if (how && !strcmp(how, "reverse")) {
		for (size_t i = 0; i < k / 2; i++) {
			size_t t = order[i];

			order[i] = order[k - 1 - i];
			order[k - 1 - i] = t;
		}
	} else if (how && !strncmp(how, "shuffle", 7)) {
		unsigned seed = how[7] == ':' ? (unsigned)strtoul(how + 8, NULL, 0) : (unsigned)time(NULL);

		printf("order: shuffle:%u\n", seed);
		srand(seed);
		for (size_t i = k; i > 1; i--) {
			size_t j = rand() % i, t = order[i - 1];

			order[i - 1] = order[j];
			order[j] = t;
		}
	}
	return k;
}

int ct_main(int argc, char **argv, const struct ct_case *cases, size_t n)
{
	size_t order[n], k;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", cases[i].name);
		return 0;
	}
	if (geteuid() != 0) {
		printf("FAIL: %s must run as root (loads BPF, creates network namespaces)\n", argv[0]);
		printf("0 passed, 1 failed\n");
		return 1;
	}
	k = pick(argc, argv, cases, n, order);
	for (size_t i = 0; i < k; i++) {
		const struct ct_case *c = &cases[order[i]];
		int before = passed + failed;

		printf("-- %s\n", c->name);
		/* A namespace of its own: no socket, TIME_WAIT or sk_lookup link of another case is seen. */
		if (unshare(CLONE_NEWNET) < 0 || lo_up() < 0) {
			ct_fail(c->name, "new network namespace: %s", strerror(errno));
			continue;
		}
		c->run();
		if (passed + failed == before)
			ct_fail(c->name, "the case asserted nothing");
	}
	printf("bpf_sk_assign in BPF_PROG_TEST_RUN: %s\n",
	       assign_works == 1 ? "accepted" : assign_works == 0 ? "refused (assign step asserted)" : "not reached");
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
