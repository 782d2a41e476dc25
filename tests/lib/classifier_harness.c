// SPDX-License-Identifier: GPL-2.0-only
#include "tests/lib/classifier_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

const char *const ct_counter_names[STEER_C_MAX] = STEER_COUNTER_NAMES;

struct steer_event ct_evs[CT_MAX_EV];
int ct_nev;
static uint64_t run_t0, run_t1; /* the last run's clock window */

/* When set (expect_n), the exact number of events and the one event's tuple. */
static int want_nev = -1;
static const struct spec *want_tuple;

/* ---- loading and set-up ---- */

struct inst ct_load_settings(struct bpf_settings s, bool events)
{
	struct inst in = { 0 };

	for (int i = 0; i < STEER_LISTEN_MAX; i++)
		in.lfd[i] = -1;
	/*
	 * The direct-assign path unless a test asks for the pre-6.6 one
	 * (STEER_BPF_ASSIGN=lookup): the harness's listeners are in no reuseport
	 * group, so the kernel never refuses them, and every case means the same
	 * on every kernel. Which path a kernel takes is test_attach's question.
	 */
	setenv("STEER_BPF_ASSIGN", "direct", 0);
	in.b = steer_bpf_load(&s);
	if (!in.b)
		ct_abort("steer_bpf_load failed");
	in.fd[0] = steer_bpf_prog_fd(in.b, false);
	in.fd[1] = steer_bpf_prog_fd(in.b, true);
	in.fail_closed = s.fail_closed;
	if (events && steer_bpf_events_open(in.b, ct_ev_cb, NULL) < 0)
		ct_abort("steer_bpf_events_open failed");
	in.no_drain = !events;
	return in;
}

struct inst ct_load(bool fail_closed, bool external)
{
	struct bpf_settings s = {
		.mark = MARK,
		.fail_closed = fail_closed,
		.external_proxy = external,
		.proxy_port = PROXY_PORT,
		.offload = true, /* the offloaded flows' path is tested too; live 0 skips it */
	};

	return ct_load_settings(s, true);
}

struct inst ct_ready(const char *name)
{
	struct inst in = ct_load(false, false);

	ct_install_rules_a(&in, name);
	ct_set_listeners(&in);
	return in;
}

void ct_destroy(struct inst *in)
{
	steer_bpf_destroy(in->b);
	in->b = NULL;
	for (int i = 0; i < STEER_LISTEN_MAX; i++) {
		if (in->lfd[i] >= 0)
			close(in->lfd[i]);
		in->lfd[i] = -1;
	}
}

const struct rule *ct_rules_a(void)
{
	static struct port_range r0_ports[] = { { 80, 80 }, { 8000, 8999 } };
	static struct port_range r1_ports[] = { { 53, 53 } };
	static struct port_range r3_ports[] = { { 7777, 7777 } };
	static struct port_range r4_ports[] = { { 443, 443 } };
	static struct prefix r0_dst[2], r0_src[2], r2_dst[2], r3_dst[1], r4_src[1];
	static struct rule rules[CT_RULES_A_N];

	if (rules[0].line)
		return rules;
	r0_dst[0] = ct_pfx("10.0.0.0/8");
	r0_dst[1] = ct_pfx("2001:db8::/32");
	r0_src[0] = ct_pfx("192.168.0.0/16");
	r0_src[1] = ct_pfx("fd00::/8");
	r2_dst[0] = ct_pfx("10.0.2.5/32");
	r2_dst[1] = ct_pfx("2001:db8::5/128");
	r3_dst[0] = ct_pfx("127.0.0.0/8");
	r4_src[0] = ct_pfx("172.16.0.0/12");
	rules[0] = (struct rule){ .proto = IPPROTO_TCP, .ports = r0_ports, .nports = 2, .dst = r0_dst, .ndst = 2,
				  .src = r0_src, .nsrc = 2, .line = 1 };
	rules[1] = (struct rule){ .proto = IPPROTO_UDP, .ports = r1_ports, .nports = 1, .line = 2 };
	rules[2] = (struct rule){ .bypass = true, .dst = r2_dst, .ndst = 2, .line = 3 };
	rules[3] = (struct rule){ .proto = IPPROTO_TCP, .ports = r3_ports, .nports = 1, .dst = r3_dst, .ndst = 1,
				  .line = 4 };
	rules[4] = (struct rule){ .proto = IPPROTO_TCP, .ports = r4_ports, .nports = 1, .src = r4_src, .nsrc = 1,
				  .line = 5 };
	return rules;
}

const struct rule *ct_rules_b(void)
{
	static struct port_range p81[] = { { 81, 81 } };
	static const struct rule b[CT_RULES_B_N] = { { .proto = IPPROTO_TCP, .ports = p81, .nports = 1, .line = 1 } };

	return b;
}

int ct_install(struct inst *in, const struct rule *r, size_t n)
{
	struct compiled_rules c;
	const char *err = NULL;
	int ret;

	memset(&c, 0, sizeof(c));
	if (rules_compile(r, n, &c, &err) < 0) {
		printf("FAIL: rules_compile: %s\n", err ? err : "?");
		return -1;
	}
	ret = steer_bpf_set_rules(in->b, &c);
	rules_compiled_free(&c);
	return ret;
}

void ct_install_rules_a(struct inst *in, const char *name)
{
	ct_check(name, ct_install(in, ct_rules_a(), CT_RULES_A_N) == 0, "failed");
}

void ct_set_listeners(struct inst *in)
{
	in->lfd[STEER_LISTEN_TCP4] = ct_sock(SOCK_STREAM, "127.0.0.1", PROXY_PORT, true);
	in->lfd[STEER_LISTEN_TCP6] = ct_sock(SOCK_STREAM, "::1", PROXY_PORT, true);
	in->lfd[STEER_LISTEN_UDP4] = ct_sock(SOCK_DGRAM, "127.0.0.1", PROXY_PORT, true);
	in->lfd[STEER_LISTEN_UDP6] = ct_sock(SOCK_DGRAM, "::1", PROXY_PORT, true);
	for (int i = 0; i < STEER_LISTEN_MAX; i++) {
		char name[64];

		snprintf(name, sizeof(name), "listener into sockmap slot %d", i);
		ct_check(name, steer_bpf_set_listener(in->b, i, in->lfd[i]) == 0, "steer_bpf_set_listener failed");
	}
}

void ct_clear_listeners(struct inst *in)
{
	for (int i = 0; i < STEER_LISTEN_MAX; i++)
		steer_bpf_set_listener(in->b, i, -1);
}

/* ---- running ---- */

void ct_ev_cb(void *ctx, const struct steer_event *e)
{
	(void)ctx;
	if (ct_nev < CT_MAX_EV)
		ct_evs[ct_nev] = *e;
	ct_nev++;
}

int ct_drain(struct inst *in)
{
	ct_nev = 0;
	return steer_bpf_events_consume(in->b);
}

uint64_t ct_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

bool ct_counters(struct inst *in, uint64_t c[STEER_C_MAX])
{
	return steer_bpf_counters(in->b, c) == 0;
}

int ct_run_pkt(struct inst *in, bool ret, const uint8_t *pkt, size_t len, uint32_t mark_in, int *retval,
	       uint32_t *mark_out, uint64_t delta[STEER_C_MAX])
{
	struct __sk_buff ctx, out;
	uint64_t c0[STEER_C_MAX], c1[STEER_C_MAX];
	int err;

	memset(&ctx, 0, sizeof(ctx));
	memset(&out, 0, sizeof(out));
	ctx.mark = mark_in;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .ctx_out = &out, .ctx_size_out = sizeof(out),
		    .repeat = 1);
	if (steer_bpf_counters(in->b, c0))
		return -EIO;
	ct_nev = 0;
	run_t0 = ct_mono_ns();
	err = bpf_prog_test_run_opts(in->fd[ret], &o);
	run_t1 = ct_mono_ns();
	if (err)
		return -errno;
	if (steer_bpf_counters(in->b, c1))
		return -EIO;
	if (!in->no_drain && ct_drain(in) < 0)
		return -EIO;
	for (int i = 0; i < STEER_C_MAX; i++)
		delta[i] = c1[i] - c0[i];
	*retval = o.retval;
	*mark_out = out.mark;
	return 0;
}

bool ct_ev_tuple_is(const struct steer_event *e, const struct spec *s)
{
	uint8_t sa[16] = { 0 }, da[16] = { 0 };

	inet_pton(s->family == 4 ? AF_INET : AF_INET6, s->src, sa);
	inet_pton(s->family == 4 ? AF_INET : AF_INET6, s->dst, da);
	return e->family == s->family && e->proto == s->proto && e->sport == s->sport &&
	       e->dport == s->dport && !memcmp(e->saddr, sa, 16) && !memcmp(e->daddr, da, 16);
}

/* The events of the last run against the counter that moved; NULL if fine. */
static const char *ev_check(int moved, int rv, bool ret)
{
	const struct steer_event *e = &ct_evs[0];

	if (want_nev >= 0 && ct_nev != want_nev) {
		static char m[64];

		snprintf(m, sizeof(m), "%d events, expected %d", ct_nev, want_nev);
		return m;
	}
	if (ct_nev == 0)
		return NULL;
	if (ct_nev > 1)
		return "more than one event for one packet";
	if (ret)
		return "an event from the return program";
	if (e->ts_ns < run_t0 || e->ts_ns > run_t1)
		return "event time outside the run (not CLOCK_MONOTONIC?)";
	if (e->ifindex != 1)
		return "event ifindex is not the test-run device (lo)";
	if (want_tuple && !ct_ev_tuple_is(e, want_tuple))
		return "event tuple differs from the packet's";
	switch (moved) {
	case STEER_C_STEERED_NEW:
	case STEER_C_TIME_WAIT_SYN:
	case STEER_C_FRAGMENT_STEERED: /* a first fragment: the flow's event */
		if (e->kind == STEER_EV_FLOW && e->backend == STEER_BACKEND_EBPF && !e->reason)
			return NULL;
		return "steered flow: expected a FLOW/EBPF event";
	case STEER_C_PROBED:
		if (e->kind == STEER_EV_FLOW && e->backend == STEER_BACKEND_NFT && !e->reason)
			return NULL;
		return "probed flow: expected a FLOW/NFT event";
	case STEER_C_NO_LISTENER_DROP:
	case STEER_C_PROXY_FULL_DROP:
	case STEER_C_ASSIGN_FAILED:
		if (rv == TC_ACT_SHOT && e->kind == STEER_EV_DROP && e->backend == STEER_BACKEND_EBPF &&
		    e->reason == moved)
			return NULL;
		return "dropped flow: expected a DROP/EBPF event with the counter as reason";
	default:
		return "an event for a packet that is no new steered, probed or dropped flow";
	}
}

/* The counter, verdict and mark an expected outcome stands for, given the counter that moved. */
static void outcome(const struct inst *in, bool ret, int want, int moved, uint32_t mark_in, int *want_c,
		    int *want_rv, uint32_t *want_mark)
{
	*want_rv = TC_ACT_UNSPEC;
	*want_mark = mark_in;
	if (want >= X_MARK) {
		*want_c = want - X_MARK;
		*want_mark = mark_in | MARK;
	} else if (want >= X_STEER && want <= X_RET) {
		int success_c = want == X_STEER ? STEER_C_STEERED_NEW :
				want == X_STEER_TW ? STEER_C_TIME_WAIT_SYN :
				want == X_EST ? STEER_C_STEERED_ESTABLISHED : STEER_C_RETURN_ASSIGNED;

		ct_note_assign(moved == success_c);
		if (moved == success_c) {
			*want_c = success_c;
			*want_mark = mark_in | MARK;
		} else {
			*want_c = STEER_C_ASSIGN_FAILED;
			if (in->fail_closed && !ret)
				*want_rv = TC_ACT_SHOT;
		}
	} else {
		*want_c = want;
		if (want == STEER_C_NO_LISTENER_DROP || want == STEER_C_PROXY_FULL_DROP)
			*want_rv = TC_ACT_SHOT;
	}
}

void ct_expect(struct inst *in, bool ret, const char *name, const uint8_t *pkt, size_t len, int want)
{
	const char *evm;
	const uint32_t mark_in = 0x5;
	uint64_t d[STEER_C_MAX];
	uint32_t mark = 0, want_mark;
	int rv = 0, err, moved = -1, nmoved = 0, want_c, want_rv;

	err = ct_run_pkt(in, ret, pkt, len, mark_in, &rv, &mark, d);
	if (want == X_EINVAL) {
		/* The kernel itself refuses the input (e.g. shorter than Ethernet). */
		if (err == -EINVAL)
			ct_ok(name);
		else if (err)
			ct_fail(name, "test-run: %s", strerror(-err));
		else if (d[STEER_C_MALFORMED] == 1 && rv == TC_ACT_UNSPEC)
			ct_ok(name);
		else
			ct_fail(name, "expected EINVAL or malformed, got retval %d", rv);
		return;
	}
	if (err) {
		ct_fail(name, "test-run: %s", strerror(-err));
		return;
	}
	for (int i = 0; i < STEER_C_MAX; i++) {
		if (d[i]) {
			nmoved++;
			moved = i;
		}
	}
	if (nmoved != 1 || d[moved] != 1) {
		char which[256] = "";

		for (int i = 0; i < STEER_C_MAX; i++)
			if (d[i])
				snprintf(which + strlen(which), sizeof(which) - strlen(which), " %s+%llu",
					 ct_counter_names[i], (unsigned long long)d[i]);
		ct_fail(name, "expected exactly one counter to move by one, %d moved:%s", nmoved, which);
		return;
	}
	outcome(in, ret, want, moved, mark_in, &want_c, &want_rv, &want_mark);
	evm = ev_check(moved, rv, ret);
	if (moved != want_c)
		ct_fail(name, "counter %s moved, expected %s", ct_counter_names[moved], ct_counter_names[want_c]);
	else if (rv != want_rv)
		ct_fail(name, "retval %d, expected %d", rv, want_rv);
	else if (mark != want_mark)
		ct_fail(name, "mark 0x%x, expected 0x%x", mark, want_mark);
	else if (evm)
		ct_fail(name, "%s", evm);
	else
		ct_ok(name);
}

/* ct_expect with the event count and tuple checked as asked (nwant -1, tuple NULL: not checked). */
static void expect_n(struct inst *in, bool ret, const char *name, const uint8_t *pkt, size_t len, int want,
		     int nwant, const struct spec *tuple)
{
	want_nev = nwant;
	want_tuple = tuple;
	ct_expect(in, ret, name, pkt, len, want);
	want_nev = -1;
	want_tuple = NULL;
}

void ct_expect_spec(struct inst *in, bool ret, const char *name, const struct spec *s, int want)
{
	uint8_t buf[CT_PKT_MAX];
	size_t len = ct_build(s, buf);

	ct_expect(in, ret, name, buf, len, want);
}

void ct_expect_matches(struct inst *in, const struct ct_match *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ct_expect_spec(in, false, m[i].name, &m[i].s, m[i].want);
}

void ct_expect_ev(struct inst *in, bool ret, const char *name, const struct spec *s, int want, int nwant)
{
	uint8_t buf[CT_PKT_MAX];
	size_t len = ct_build(s, buf);

	expect_n(in, ret, name, buf, len, want, nwant, s);
}

void ct_expect_frag_ev(struct inst *in, bool ret, const char *name, struct spec s, uint32_t id, uint16_t ulen,
		       int want, int nwant)
{
	uint8_t buf[CT_PKT_MAX];
	size_t len = ct_build(&s, buf);

	ct_patch_frag(buf, &s, id, ulen);
	expect_n(in, ret, name, buf, len, want, nwant, nwant > 0 ? &s : NULL);
}

void ct_expect_frag(struct inst *in, bool ret, const char *name, struct spec s, uint32_t id, uint16_t ulen,
		    int want)
{
	ct_expect_frag_ev(in, ret, name, s, id, ulen, want, -1);
}

void ct_expect_icmp(struct inst *in, bool ret, const char *name, const struct icmp_spec *s, int want)
{
	uint8_t buf[CT_PKT_MAX];
	size_t len = ct_build_icmp(s, buf);

	expect_n(in, ret, name, buf, len, want, 0, NULL); /* an ICMP error is never a new flow */
}

void ct_expect_icmp_both(struct inst *in, const char *name, const struct icmp_spec *s, int want)
{
	char n[192];

	snprintf(n, sizeof(n), "ingress: %s", name);
	ct_expect_icmp(in, false, n, s, want);
	snprintf(n, sizeof(n), "return: %s", name);
	ct_expect_icmp(in, true, n, s, want);
}

void ct_expect_no_listener(struct inst *in, const char *tag, int want)
{
	const struct ct_match m[] = {
		{ "v4 tcp no listener", ct_syn4("192.168.1.2", "10.1.2.3", 80), want },
		{ "v6 tcp no listener", ct_syn6("fd00::2", "2001:db8::10", 80), want },
		{ "v4 udp no listener", ct_udp(4, "1.2.3.4", "8.8.8.8", 5555, 53), want },
		{ "unmatched still passes", ct_syn4("192.168.1.2", "10.1.2.3", 81), STEER_C_NOT_MATCHED },
	};

	ct_clear_listeners(in);
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		char name[128];

		snprintf(name, sizeof(name), "%s: %s", tag, m[i].name);
		ct_expect_spec(in, false, name, &m[i].s, m[i].want);
	}
}

/* ---- split ---- */

uint32_t ct_bucket(const struct spec *s)
{
	uint8_t sa[16] = { 0 }, da[16] = { 0 };

	inet_pton(s->family == 4 ? AF_INET : AF_INET6, s->src, sa);
	inet_pton(s->family == 4 ? AF_INET : AF_INET6, s->dst, da);
	return steer_flow_bucket(s->family, s->proto, sa, da, s->sport, s->dport);
}

struct spec ct_split_tuple(int i, char *sbuf, char *dbuf, int salt)
{
	int k = i % 100;
	struct spec s;

	switch (i / 100) {
	case 0:
		snprintf(sbuf, 64, "192.168.%d.%d", k / 7, 1 + k * 3 % 250);
		snprintf(dbuf, 64, "10.%d.2.3", k);
		s = ct_syn4(sbuf, dbuf, 80);
		break;
	case 1:
		snprintf(sbuf, 64, "fd00::%x", 0x100 + k * 13);
		snprintf(dbuf, 64, "2001:db8:%x::10", k);
		s = ct_syn6(sbuf, dbuf, 8000 + k);
		break;
	case 2:
		snprintf(sbuf, 64, "198.51.100.%d", k);
		snprintf(dbuf, 64, "203.0.113.%d", 200 - k);
		s = ct_udp(4, sbuf, dbuf, 1024 + k * 511, 53);
		break;
	default:
		snprintf(sbuf, 64, "2001:db8:1::%x", k);
		snprintf(dbuf, 64, "2001:4860::%x", 0x8888 + k);
		s = ct_udp(6, sbuf, dbuf, 30000 + k, 53);
		break;
	}
	s.sport += i + salt; /* different ports too; salt: new UDP flows for each sweep */
	return s;
}
