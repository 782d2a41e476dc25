// SPDX-License-Identifier: GPL-2.0-only
/*
 * Classifier flow events: the reader before open, a full ring (records are
 * lost, verdicts are not), and a steered flow's event, which needs a
 * successful bpf_sk_assign: real traffic on lo with the classifier attached.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <linux/pkt_cls.h>

#include "tests/lib/classifier_harness.h"

static void before_open(void)
{
	struct bpf_settings st = { .mark = MARK, .proxy_port = PROXY_PORT, .events_bytes = 1 };
	struct inst q = ct_load_settings(st, false);

	ct_check("events before open: fd -EBADF", steer_bpf_events_fd(q.b) == -EBADF, "wrong");
	ct_check("events before open: consume -EBADF", steer_bpf_events_consume(q.b) == -EBADF, "wrong");
	ct_destroy(&q);
}

/* Flow i of the ring-full case: 192.168.50.(i+1) -> 10.1.2.3:80. */
static struct spec ring_flow(int i, char sb[64])
{
	snprintf(sb, 64, "192.168.50.%d", i + 1);
	return ct_syn4(sb, "10.1.2.3", 80);
}

/* A one-page ring, never read while filling. */
static void ring_full(void)
{
	struct bpf_settings st = { .mark = MARK, .proxy_port = PROXY_PORT, .events_bytes = 1 };
	struct inst r = ct_load_settings(st, false);
	uint64_t c0[STEER_C_MAX], c1[STEER_C_MAX];
	int bad = 0, first_lost = -1, efd, n, got;
	struct epoll_event ee;
	char sb[64];

	ct_install_rules_a(&r, "tiny ring: install rules");
	ct_check("tiny ring: open events", steer_bpf_events_open(r.b, ct_ev_cb, NULL) == 0, "failed");
	efd = steer_bpf_events_fd(r.b);
	steer_bpf_set_mode(r.b, STEER_MODE_PROBE, 0);
	ct_counters(&r, c0);
	for (int i = 0; i < 100; i++) {
		struct spec s = ring_flow(i, sb);
		uint8_t buf[CT_PKT_MAX];
		size_t len = ct_build(&s, buf);
		uint64_t d[STEER_C_MAX];
		uint32_t mark;
		int rv, others = 0;

		if (ct_run_pkt(&r, false, buf, len, 0x5, &rv, &mark, d)) {
			bad++;
			continue;
		}
		for (int k = 0; k < STEER_C_MAX; k++)
			if (k != STEER_C_PROBED && k != STEER_C_EVENTS_LOST)
				others += d[k] != 0;
		if (rv != TC_ACT_UNSPEC || mark != 0x5 || d[STEER_C_PROBED] != 1 || others)
			bad++;
		if (d[STEER_C_EVENTS_LOST] && first_lost < 0)
			first_lost = i;
		if (i == 0)
			ct_check("tiny ring: one record does not wake the reader (batched)",
				 epoll_wait(efd, &ee, 1, 20) == 0, "woken");
	}
	ct_counters(&r, c1);
	ct_check("tiny ring: 100 flows, every verdict/mark/probed counter unaffected", bad == 0, "a packet differs");
	ct_check("tiny ring: a quarter full woke the reader (epoll fd readable)", epoll_wait(efd, &ee, 1, 1000) == 1,
		 "not woken");
	ct_nev = 0;
	n = steer_bpf_events_consume(r.b);
	got = ct_nev;
	printf("note: tiny ring held %d records, %llu lost\n", n,
	       (unsigned long long)(c1[STEER_C_EVENTS_LOST] - c0[STEER_C_EVENTS_LOST]));
	ct_check("tiny ring: consume returns the count handled", n == got && n > 16 && n < 100, "wrong count");
	ct_check("tiny ring: events_lost = flows - records",
		 c1[STEER_C_EVENTS_LOST] - c0[STEER_C_EVENTS_LOST] == (uint64_t)(100 - got) && first_lost == got,
		 "mismatch");
	bad = 0;
	for (int i = 0; i < got && i < CT_MAX_EV; i++) {
		struct spec s = ring_flow(i, sb);

		bad += !ct_ev_tuple_is(&ct_evs[i], &s) || ct_evs[i].backend != STEER_BACKEND_NFT;
	}
	ct_check("tiny ring: the records kept are the first flows, in order", bad == 0, "differ");
	ct_check("tiny ring: consume on an empty ring returns 0", steer_bpf_events_consume(r.b) == 0, "not 0");
	r.no_drain = false;
	{
		struct spec s = ct_syn4("192.168.51.1", "10.1.2.3", 80);

		ct_expect_ev(&r, false, "tiny ring: drained ring reports again", &s, STEER_C_PROBED, 1);
	}
	ct_destroy(&r);
}

/* Rules A, the listeners, the classifier attached to lo. */
static struct inst on_lo(void)
{
	struct inst rt = ct_ready("lo: install rules");

	ct_check("lo: attach the classifier to lo", steer_bpf_attach(rt.b, "lo", false) == 0, "failed");
	return rt;
}

/* TCP: 127.0.0.1:41000 -> 127.0.0.9:7777 (rule 3), delivered to the listener. */
static void real_tcp(void)
{
	struct inst rt = on_lo();
	int lfd = rt.lfd[STEER_LISTEN_TCP4], cl, acc = -1, len, one = 1;
	uint64_t c0[STEER_C_MAX], c1[STEER_C_MAX], t0, t1;
	struct sockaddr_storage ss;
	struct pollfd pf;
	uint8_t a1[4], a9[4];

	inet_pton(AF_INET, "127.0.0.1", a1);
	inet_pton(AF_INET, "127.0.0.9", a9);
	ct_counters(&rt, c0);
	ct_drain(&rt);
	cl = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(cl, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	len = ct_sa(&ss, "127.0.0.1", 41000);
	bind(cl, (struct sockaddr *)&ss, len);
	len = ct_sa(&ss, "127.0.0.9", 7777);
	t0 = ct_mono_ns();
	if (connect(cl, (struct sockaddr *)&ss, len) == 0) {
		pf = (struct pollfd){ .fd = lfd, .events = POLLIN };
		if (poll(&pf, 1, 2000) == 1)
			acc = accept(lfd, NULL, NULL);
	}
	t1 = ct_mono_ns();
	ct_counters(&rt, c1);
	ct_check("lo: tcp connection to 127.0.0.9:7777 accepted by the proxy listener", acc >= 0, "not delivered");
	ct_check("lo: the SYN counted steered_new once", c1[STEER_C_STEERED_NEW] - c0[STEER_C_STEERED_NEW] == 1,
		 "not once");
	ct_drain(&rt);
	{
		const struct steer_event *e = &ct_evs[0];
		bool good = ct_nev == 1 && e->kind == STEER_EV_FLOW && e->backend == STEER_BACKEND_EBPF &&
			    e->family == 4 && e->proto == IPPROTO_TCP && e->sport == 41000 && e->dport == 7777 &&
			    !memcmp(e->saddr, a1, 4) && !memcmp(e->daddr, a9, 4) && e->ifindex == if_nametoindex("lo");

		ct_check("lo: one FLOW/EBPF event with the tuple and lo's ifindex", good, "wrong or missing");
		ct_check("lo: event time within connect..accept (CLOCK_MONOTONIC)",
			 ct_nev == 1 && e->ts_ns >= t0 && e->ts_ns <= t1, "outside");
	}
	if (acc >= 0)
		close(acc);
	close(cl);
	ct_destroy(&rt);
}

/* UDP: 127.0.0.1:41001 -> 127.0.0.9:53 (rule 1), twice: one event. */
static void real_udp(void)
{
	struct inst rt = on_lo();
	int lfd = rt.lfd[STEER_LISTEN_UDP4], cl, len, got = 0;
	uint64_t c0[STEER_C_MAX], c1[STEER_C_MAX];
	struct sockaddr_storage ss;
	struct pollfd pf;
	uint8_t a9[4];
	char b[16];

	inet_pton(AF_INET, "127.0.0.9", a9);
	cl = socket(AF_INET, SOCK_DGRAM, 0);
	len = ct_sa(&ss, "127.0.0.1", 41001);
	bind(cl, (struct sockaddr *)&ss, len);
	len = ct_sa(&ss, "127.0.0.9", 53);
	ct_counters(&rt, c0);
	ct_drain(&rt);
	for (int i = 0; i < 2; i++) {
		sendto(cl, "ping", 4, 0, (struct sockaddr *)&ss, len);
		pf = (struct pollfd){ .fd = lfd, .events = POLLIN };
		if (poll(&pf, 1, 2000) == 1 && recv(lfd, b, sizeof(b), 0) == 4)
			got++;
	}
	ct_counters(&rt, c1);
	ct_check("lo: two udp datagrams delivered to the proxy's udp listener", got == 2, "not delivered");
	ct_check("lo: each udp datagram counted steered_new", c1[STEER_C_STEERED_NEW] - c0[STEER_C_STEERED_NEW] == 2,
		 "wrong");
	ct_drain(&rt);
	ct_check("lo: one FLOW/EBPF event for the udp flow",
		 ct_nev == 1 && ct_evs[0].proto == IPPROTO_UDP && ct_evs[0].backend == STEER_BACKEND_EBPF &&
			 ct_evs[0].sport == 41001 && ct_evs[0].dport == 53 && !memcmp(ct_evs[0].daddr, a9, 4),
		 "wrong or missing");
	close(cl);
	ct_destroy(&rt);
}

CT_CASES({ "before_open", before_open }, { "ring_full", ring_full }, { "real_tcp", real_tcp },
	 { "real_udp", real_udp })
