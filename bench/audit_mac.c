/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The cost of audit-key: per record, the formatting alone, with the chain's
 * position (no key) and with its HMAC-SHA256; then the writer thread's
 * throughput end to end into a file, without and with the key.
 *
 *   audit_mac [-n RECORDS] [-f FILE]      (FILE: default /tmp/steer-audit-mac.jsonl, removed)
 *
 * Prints one line per figure: "NAME VALUE UNIT".
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "steer/audit.h"
#include "steer/audit_chain.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A close record as the proxy gives it: the longest common record. */
static struct proxy_conn_event event(uint64_t flow)
{
	struct proxy_conn_event ev = { .flow = flow, .proto = IPPROTO_TCP, .bytes_up = 78, .bytes_down = 612 };
	struct sockaddr_in *c = (struct sockaddr_in *)&ev.client, *d = (struct sockaddr_in *)&ev.dst;

	c->sin_family = d->sin_family = AF_INET;
	c->sin_port = htons((uint16_t)(1024 + flow % 60000));
	d->sin_port = htons(80);
	inet_pton(AF_INET, "198.18.1.2", &c->sin_addr);
	inet_pton(AF_INET, "198.18.2.2", &d->sin_addr);
	ev.accept_ns = 1000000;
	ev.close_ns = 4200000;
	return ev;
}

/* ns per record: audit_format, then the chain's seal with chain c (NULL: format only). */
static double per_record(struct audit_chain *c, long n)
{
	struct audit_record r = { .kind = AUDIT_CONN, .steer_us = -1 };
	char line[1024];
	double t0 = now_s();

	strcpy(r.backend, "ebpf");
	clock_gettime(CLOCK_REALTIME, &r.ts);
	for (long i = 0; i < n; i++) {
		size_t len;

		r.ev = event((uint64_t)i);
		len = audit_format(&r, line, sizeof(line) - AUDIT_CHAIN_ROOM);
		if (c)
			audit_chain_seal(c, line, len);
	}
	return (now_s() - t0) * 1e9 / (double)n;
}

/* Records per second through the writer thread into file (key: a key file, or NULL). */
static double writer_rate(const char *file, const char *key, long n)
{
	struct audit_stats st;
	struct audit *a;
	double t0;

	unlink(file);
	a = audit_open_keyed(file, LOG_DAEMON, key, 0);
	if (!a)
		exit(1);
	t0 = now_s();
	for (long i = 0; i < n; i++) {
		struct proxy_conn_event ev = event((uint64_t)i);

		/* Never faster than the writer: a full queue would count losses, not throughput. */
		if (i % 1024 == 0)
			for (audit_get_stats(a, &st); st.queued > 8192; audit_get_stats(a, &st))
				usleep(200);
		audit_conn(a, &ev);
	}
	audit_close(a);
	t0 = now_s() - t0;
	unlink(file);
	return (double)n / t0;
}

int main(int argc, char **argv)
{
	const char *file = "/tmp/steer-audit-mac.jsonl";
	char key[] = "/tmp/steer-audit-mac.key.XXXXXX";
	unsigned char bytes[32];
	long n = 1000000;
	int opt, fd;

	while ((opt = getopt(argc, argv, "n:f:")) != -1) {
		if (opt == 'n')
			n = atol(optarg);
		else if (opt == 'f')
			file = optarg;
		else {
			fprintf(stderr, "usage: audit_mac [-n RECORDS] [-f FILE]\n");
			return 2;
		}
	}
	if (n <= 0)
		return 2;
	fd = mkstemp(key); /* mode 0600, ours: what audit-key requires */
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)rand();
	if (fd < 0 || write(fd, bytes, sizeof(bytes)) != (ssize_t)sizeof(bytes))
		return 1;
	close(fd);
	{
		struct audit_chain *plain = audit_chain_new(NULL, 0), *keyed = audit_chain_new(bytes, sizeof(bytes));
		double f = per_record(NULL, n), p = per_record(plain, n), k = per_record(keyed, n);

		printf("format_ns %.0f ns/record\n", f);
		printf("format_chain_ns %.0f ns/record\n", p);
		printf("format_mac_ns %.0f ns/record\n", k);
		printf("mac_ns %.0f ns/record\n", k - p);
		audit_chain_free(plain);
		audit_chain_free(keyed);
	}
	printf("writer_plain %.0f records/s\n", writer_rate(file, NULL, n));
	printf("writer_keyed %.0f records/s\n", writer_rate(file, key, n));
	unlink(key);
	return 0;
}
