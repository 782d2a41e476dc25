// SPDX-License-Identifier: GPL-2.0-only
/*
 * Classifier cost per packet against the number of rule entries, through
 * BPF_PROG_TEST_RUN on the real object (steer_bpf_load): for each N given,
 * N destination prefixes (distinct random IPv4 /32 and /24, spread over up
 * to STEER_MAX_RULES `steer tcp dport 80` rules, one of them holding the
 * probe's destination), then REPEAT runs of each packet kind:
 *   match: a matching SYN (rules, socket lookup for TIME_WAIT, listener, the
 *          assign step: test-run refuses the assign itself), once per new flow;
 *   miss:  a SYN no rule matches (rules only);
 *   fwd:   a forwarded segment (ACK) to a port no rule steers (one bit test);
 *   fwd80: a segment (ACK) of a flow the proxy does not hold, on a steered
 *          port (the established socket lookup, which misses).
 * Also the cost of BPF_PROG_TEST_RUN itself: a program that only returns.
 * Runs in a private network namespace.
 *
 *   classify [-r REPEAT] N...
 *     prints "empty_ns=E" then "rules=N match_ns=X miss_ns=Y fwd_ns=Z fwd80_ns=W" per N
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf/loader.h"
#include "bpf/rules_compile.h"

#define PROXY_PORT 15001

static uint32_t rnd_state = 2463534242u;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* Ethernet + IPv4 + TCP SYN (or ACK) from 192.168.1.2:40000 to dst:dport. */
static size_t seg(uint8_t *pkt, uint32_t dst, uint16_t dport, bool ack)
{
	struct iphdr *ip = (struct iphdr *)(pkt + 14);
	struct tcphdr *tcp = (struct tcphdr *)(pkt + 14 + 20);

	memset(pkt, 0, 14 + 20 + 20);
	pkt[12] = 0x08;
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->tot_len = htons(40);
	ip->saddr = inet_addr("192.168.1.2");
	ip->daddr = dst;
	tcp->source = htons(40000);
	tcp->dest = htons(dport);
	tcp->doff = 5;
	tcp->syn = !ack;
	tcp->ack = ack;
	tcp->window = htons(65535);
	return 14 + 20 + 20;
}

static double run_ns(int prog, uint8_t *pkt, size_t len, int repeat)
{
	struct __sk_buff ctx;

	memset(&ctx, 0, sizeof(ctx));
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);
	if (bpf_prog_test_run_opts(prog, &o) < 0) {
		fprintf(stderr, "classify: BPF_PROG_TEST_RUN: %s\n", strerror(errno));
		exit(1);
	}
	return o.duration;
}

/* The harness's own cost per run: a TC program that only returns TC_ACT_UNSPEC. */
static void empty_ns(int repeat)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	uint8_t pkt[64];
	size_t len = seg(pkt, inet_addr("10.200.0.1"), 80, false);
	double best = 1e9;
	int fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "empty", "GPL", insns, 2, NULL);

	if (fd < 0) {
		fprintf(stderr, "classify: loading the empty program: %s\n", strerror(errno));
		exit(1);
	}
	for (int k = 0; k < 5; k++) {
		double ns = run_ns(fd, pkt, len, repeat);

		best = ns < best ? ns : best;
	}
	close(fd);
	printf("empty_ns=%.0f\n", best);
	fflush(stdout);
}

static int listener(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(PROXY_PORT) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 16) < 0) {
		perror("classify: listener");
		exit(1);
	}
	return fd;
}

static void measure(size_t n, int repeat, int lfd)
{
	size_t nrules = n < STEER_MAX_RULES ? n : STEER_MAX_RULES;
	struct prefix *p = calloc(n, sizeof(*p));
	struct rule *r = calloc(nrules, sizeof(*r));
	static struct port_range port80 = { 80, 80 };
	struct bpf_settings s = { .mark = 0x1000000, .proxy_port = PROXY_PORT,
				  .lpm_entries = (uint32_t)(2 * n + 16) };
	struct compiled_rules c;
	const char *err = NULL;
	struct steer_bpf *b;
	uint8_t pkt[64];
	uint32_t hit = inet_addr("10.200.0.1"), miss = inet_addr("10.201.0.1");
	double best[4] = { 1e9, 1e9, 1e9, 1e9 };

	/* p[0] = the probe's /32; the rest random, never covering the miss address. */
	p[0] = (struct prefix){ .family = AF_INET, .len = 32 };
	memcpy(p[0].addr, &hit, 4);
	for (size_t i = 1; i < n; i++) {
		uint32_t a = rnd();

		p[i].family = AF_INET;
		p[i].len = (i & 3) ? 32 : 24;
		if ((a >> 24) == 10)
			a ^= 0x01000000;
		a &= p[i].len == 32 ? 0xffffffffu : 0xffffff00u;
		a = htonl(a);
		memcpy(p[i].addr, &a, 4);
	}
	for (size_t i = 0; i < nrules; i++) {
		size_t lo = n * i / nrules, hi = n * (i + 1) / nrules;

		r[i] = (struct rule){ .proto = IPPROTO_TCP, .ports = &port80, .nports = 1,
				      .dst = p + lo, .ndst = hi - lo, .line = (int)i + 1 };
	}
	memset(&c, 0, sizeof(c));
	if (rules_compile(r, nrules, &c, &err) < 0) {
		fprintf(stderr, "classify: rules_compile: %s\n", err ? err : "?");
		exit(1);
	}
	b = steer_bpf_load(&s);
	if (!b || steer_bpf_set_rules(b, &c) < 0 ||
	    steer_bpf_set_listener(b, STEER_LISTEN_TCP4, lfd) < 0) {
		fprintf(stderr, "classify: load/rules/listener failed\n");
		exit(1);
	}
	/* Best of 5: the least disturbed by the rest of the machine. */
	for (int k = 0; k < 5; k++) {
		size_t len[4] = { seg(pkt, hit, 80, false), 0, 0, 0 };
		uint8_t kinds[4][64];

		memcpy(kinds[0], pkt, len[0]);
		len[1] = seg(kinds[1], miss, 80, false);
		len[2] = seg(kinds[2], hit, 5201, true);
		len[3] = seg(kinds[3], hit, 80, true);
		for (int i = 0; i < 4; i++) {
			double ns = run_ns(steer_bpf_prog_fd(b, false), kinds[i], len[i], repeat);

			best[i] = ns < best[i] ? ns : best[i];
		}
	}
	printf("rules=%zu match_ns=%.0f miss_ns=%.0f fwd_ns=%.0f fwd80_ns=%.0f\n", n, best[0], best[1],
	       best[2], best[3]);
	fflush(stdout);
	steer_bpf_destroy(b);
	rules_compiled_free(&c);
	free(r);
	free(p);
}

int main(int argc, char **argv)
{
	int repeat = 200000, o, lfd;

	while ((o = getopt(argc, argv, "r:")) != -1) {
		if (o != 'r')
			goto usage;
		repeat = atoi(optarg);
	}
	if (optind >= argc || repeat < 1)
		goto usage;
	if (unshare(CLONE_NEWNET) < 0) {
		perror("classify: unshare(CLONE_NEWNET) (needs root)");
		return 1;
	}
	lfd = listener();
	empty_ns(repeat);
	for (int i = optind; i < argc; i++)
		measure((size_t)strtoul(argv[i], NULL, 10), repeat, lfd);
	return 0;
usage:
	fprintf(stderr, "usage: classify [-r REPEAT] N...\n");
	return 2;
}
