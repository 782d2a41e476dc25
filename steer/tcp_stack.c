// SPDX-License-Identifier: GPL-2.0-only
#include "steer/tcp_stack.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* /proc/net/netstat's TcpExt names of the counters, by field. */
static const struct {
	const char *name;
	size_t offset;
} netstat_names[] = {
	{ "SyncookiesSent", offsetof(struct tcp_stack_stats, syncookies_sent) },
	{ "SyncookiesRecv", offsetof(struct tcp_stack_stats, syncookies_recv) },
	{ "SyncookiesFailed", offsetof(struct tcp_stack_stats, syncookies_failed) },
	{ "ListenOverflows", offsetof(struct tcp_stack_stats, listen_overflows) },
	{ "ListenDrops", offsetof(struct tcp_stack_stats, listen_drops) },
};

static void store(struct tcp_stack_stats *s, const char *name, const char *value)
{
	for (size_t i = 0; i < sizeof(netstat_names) / sizeof(netstat_names[0]); i++)
		if (!strcmp(name, netstat_names[i].name))
			*(uint64_t *)((char *)s + netstat_names[i].offset) = strtoull(value, NULL, 10);
}

/* The file pairs a line of names with a line of values, each starting "TcpExt:". */
static void read_netstat(struct tcp_stack_stats *s)
{
	char names[4096], values[4096];
	FILE *f = fopen("/proc/net/netstat", "re");

	if (!f)
		return;
	while (fgets(names, sizeof(names), f) && fgets(values, sizeof(values), f)) {
		char *np, *vp, *n, *v;

		if (strncmp(names, "TcpExt:", 7) || strncmp(values, "TcpExt:", 7))
			continue;
		n = strtok_r(names + 7, " \n", &np);
		v = strtok_r(values + 7, " \n", &vp);
		for (; n && v; n = strtok_r(NULL, " \n", &np), v = strtok_r(NULL, " \n", &vp))
			store(s, n, v);
	}
	fclose(f);
}

void tcp_stack_read(struct tcp_stack_stats *s, unsigned int backlog)
{
	unsigned long max = 0;
	FILE *f;

	memset(s, 0, sizeof(*s));
	read_netstat(s);
	/* listen(2) silently caps the backlog at somaxconn. */
	f = fopen("/proc/sys/net/core/somaxconn", "re");
	if (f && fscanf(f, "%lu", &max) != 1)
		max = 0;
	if (f)
		fclose(f);
	s->backlog = max && max < backlog ? max : backlog;
}
