// SPDX-License-Identifier: GPL-2.0-only
/*
 * Classifier, ICMP errors. Errors about packets the proxy's sockets sent are
 * addressed to a non-local address (the client's, for an upstream socket
 * bound to it; the server's, for an accepted socket): both programs mark them
 * for local delivery when the quoted tuple, reversed, finds a connected
 * socket, and never assign them (icmp_rcv looks the socket up itself). The
 * quoted packets here are sent by real sockets in the case's namespace
 * (loopback pairs, so the same packet serves as the client side and the
 * return side).
 */
#include <netinet/in.h>
#include <unistd.h>

#include "tests/lib/classifier_harness.h"

#define DELIVERED (X_MARK + STEER_C_ICMP_DELIVERED)

/* The sockets the quoted packets come from. */
struct env {
	struct inst in;
	struct ct_pair p4, p6; /* 127.0.0.1:34800 -> :9080, [::1]:34800 -> :9081 */
	int u, v, u6;          /* udp 6030 connected to 6031 (v4, v6); 6032 unconnected (v4) */
};

static struct env env_up(void)
{
	struct env e;

	e.in = ct_ready("icmp: install rules");
	e.p4 = ct_tcp_pair("127.0.0.1", 34800, "127.0.0.1", 9080);
	e.p6 = ct_tcp_pair("::1", 34800, "::1", 9081);
	e.u = ct_udp_connected("127.0.0.1", 6030, 6031);
	e.v = ct_sock(SOCK_DGRAM, "127.0.0.1", 6032, false);
	e.u6 = ct_udp_connected("::1", 6030, 6031);
	return e;
}

static void env_down(struct env *e)
{
	ct_pair_close(&e->p4);
	ct_pair_close(&e->p6);
	close(e->u);
	close(e->v);
	close(e->u6);
	ct_destroy(&e->in);
}

/* Frag needed for the v4 segment 127.0.0.1:34800 -> :9080 (sent by the client socket). */
static struct icmp_spec frag_needed4(void)
{
	return (struct icmp_spec){ .family = 4, .type = 3, .code = 4, .info = 1280, .proto = IPPROTO_TCP,
				   .src = "127.0.0.1", .dst = "127.0.0.1", .sport = 34800, .dport = 9080 };
}

/* Packet too big for the v6 segment [::1]:34800 -> :9081. */
static struct icmp_spec too_big6(void)
{
	return (struct icmp_spec){ .family = 6, .type = 2, .info = 1280, .proto = IPPROTO_TCP, .src = "::1",
				   .dst = "::1", .sport = 34800, .dport = 9081 };
}

/* One kind of error (type, code, info) through the client program, the return program or both. */
struct kind {
	const char *name;
	uint8_t type, code;
	uint32_t info;
	enum { INGRESS, RETURN, BOTH } on;
	int want;
};

static void expect_kinds(struct inst *in, struct icmp_spec s, const struct kind *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		s.type = k[i].type;
		s.code = k[i].code;
		s.info = k[i].info;
		if (k[i].on == BOTH)
			ct_expect_icmp_both(in, k[i].name, &s, k[i].want);
		else
			ct_expect_icmp(in, k[i].on == RETURN, k[i].name, &s, k[i].want);
	}
}

static void v4_tcp(void)
{
	struct env e = env_up();
	struct inst *in = &e.in;
	struct icmp_spec s = frag_needed4();

	const struct kind kinds[] = {
		{ "v4 frag needed for an established tcp socket: marked, icmp_delivered", 3, 4, 1280, BOTH, DELIVERED },
		{ "v4 port unreachable for a tcp socket: delivered", 3, 3, 0, BOTH, DELIVERED },
		{ "v4 host unreachable: delivered", 3, 1, 0, INGRESS, DELIVERED },
		{ "v4 time exceeded: delivered", 11, 0, 0, INGRESS, DELIVERED },
		{ "v4 parameter problem: delivered", 12, 0, 0, RETURN, DELIVERED },
		/* redirect: not an error we deliver */
		{ "v4 redirect quoting the socket's segment: not_ip", 5, 0, 0, BOTH, STEER_C_NOT_IP },
	};

	expect_kinds(in, s, kinds, sizeof(kinds) / sizeof(kinds[0]));
	s.sport = 9080;
	s.dport = 34800;
	ct_expect_icmp(in, false, "v4 frag needed for the accepted socket's segment: delivered", &s, DELIVERED);
	s.vlan = 1;
	ct_expect_icmp(in, false, "v4 frag needed, vlan-tagged: delivered", &s, DELIVERED);
	s.vlan = 0;
	s.sport = 34801; /* no such socket */
	s.dport = 9080;
	ct_expect_icmp_both(in, "v4 frag needed quoting a tuple with no socket: passed, not_ip", &s, STEER_C_NOT_IP);
	s.sport = 9080; /* sent from the listener's port to some peer: only the listener is there */
	s.dport = 55555;
	ct_expect_icmp_both(in, "v4 frag needed quoting a listener's port: passed", &s, STEER_C_NOT_IP);
	env_down(&e);
}

static void v4_fragments_and_truncation(void)
{
	struct env e = env_up();
	struct inst *in = &e.in;
	struct icmp_spec s = frag_needed4();

	s.outer_frag = 0x2000;
	ct_expect_icmp(in, false, "v4 fragmented icmp error (first fragment) ignored: not_ip", &s, STEER_C_NOT_IP);
	s.outer_frag = 0;
	s.inner_frag = 0x2000; /* quotes a first fragment: ports there */
	ct_expect_icmp(in, false, "v4 error quoting a first fragment: delivered", &s, DELIVERED);
	s.inner_frag = 0x00b9;
	ct_expect_icmp(in, false, "v4 error quoting a later fragment (no ports): not_ip", &s, STEER_C_NOT_IP);
	s.inner_frag = 0;
	s.cut_l4 = 4;
	ct_expect_icmp_both(in, "v4 quoted tcp header cut to 4 bytes: malformed, passed", &s, STEER_C_MALFORMED);
	s.cut_l4 = 0;
	s.cut_ip = 12;
	ct_expect_icmp_both(in, "v4 quoted ip header cut: malformed, passed", &s, STEER_C_MALFORMED);
	s.cut_ip = -4; /* ICMP header cut to 4 bytes */
	ct_expect_icmp(in, false, "v4 icmp header cut: malformed", &s, STEER_C_MALFORMED);
	s.cut_ip = 0;
	s.proto = IPPROTO_ICMP; /* an error about an echo request */
	ct_expect_icmp(in, false, "v4 error quoting icmp: not_ip", &s, STEER_C_NOT_IP);
	env_down(&e);
}

static void v4_udp(void)
{
	struct env e = env_up();
	struct icmp_spec s = { .family = 4, .type = 3, .code = 3, .proto = IPPROTO_UDP, .src = "127.0.0.1",
			       .dst = "127.0.0.1", .sport = 6030, .dport = 6031 };

	ct_expect_icmp_both(&e.in, "v4 port unreachable for a connected udp socket: delivered", &s, DELIVERED);
	s.sport = 6032;
	s.dport = 6033;
	ct_expect_icmp_both(&e.in, "v4 port unreachable for an unconnected udp socket: passed", &s, STEER_C_NOT_IP);
	s.sport = 6034;
	ct_expect_icmp_both(&e.in, "v4 port unreachable for no udp socket: passed", &s, STEER_C_NOT_IP);
	env_down(&e);
}

/* A time-wait socket does not take errors. */
static void v4_time_wait(void)
{
	struct env e = env_up();
	struct icmp_spec s = frag_needed4();

	ct_time_wait(9082);
	s.sport = 7777;
	s.dport = 9082;
	ct_expect_icmp_both(&e.in, "v4 frag needed for a time-wait socket: passed", &s, STEER_C_NOT_IP);
	env_down(&e);
}

static void v6_tcp(void)
{
	struct env e = env_up();
	struct inst *in = &e.in;
	struct icmp_spec s = too_big6();

	const struct kind kinds[] = {
		{ "v6 packet too big for an established tcp socket: delivered", 2, 0, 1280, BOTH, DELIVERED },
		{ "v6 destination unreachable (port) for a tcp socket: delivered", 1, 4, 0, BOTH, DELIVERED },
		{ "v6 address unreachable: delivered", 1, 3, 0, INGRESS, DELIVERED },
		{ "v6 time exceeded: delivered", 3, 0, 0, INGRESS, DELIVERED },
		{ "v6 parameter problem: delivered", 4, 0, 0, RETURN, DELIVERED },
		{ "v6 echo request shaped like an error: not_ip", 128, 0, 0, INGRESS, STEER_C_NOT_IP },
	};

	expect_kinds(in, s, kinds, sizeof(kinds) / sizeof(kinds[0]));
	s.type = 2;
	s.info = 0;
	s.sport = 34801;
	ct_expect_icmp_both(in, "v6 packet too big quoting a tuple with no socket: passed", &s, STEER_C_NOT_IP);
	s.sport = 34800;
	s.cut_l4 = 6;
	ct_expect_icmp_both(in, "v6 quoted tcp header cut to 6 bytes: malformed", &s, STEER_C_MALFORMED);
	s.cut_l4 = 0;
	s.cut_ip = 39;
	ct_expect_icmp(in, false, "v6 quoted ip header cut: malformed", &s, STEER_C_MALFORMED);
	env_down(&e);
}

static void v6_udp(void)
{
	struct env e = env_up();
	struct inst *in = &e.in;
	struct icmp_spec s = { .family = 6, .type = 1, .code = 4, .proto = IPPROTO_UDP, .src = "::1", .dst = "::1",
			       .sport = 6030, .dport = 6031 };

	ct_expect_icmp_both(in, "v6 port unreachable for a connected udp socket: delivered", &s, DELIVERED);
	s.inner_fraghdr = true;
	s.inner_frag = 0x0001;
	s.type = 2;
	s.info = 1280;
	ct_expect_icmp(in, true, "v6 packet too big quoting a udp first fragment: delivered", &s, DELIVERED);
	s.inner_frag = 0x05a8;
	ct_expect_icmp(in, true, "v6 error quoting a later fragment: not_ip", &s, STEER_C_NOT_IP);
	s = (struct icmp_spec){ .family = 6, .type = 1, .code = 4, .proto = IPPROTO_UDP, .src = "::1", .dst = "::1",
				.sport = 6040, .dport = 6031 };
	ct_expect_icmp_both(in, "v6 port unreachable for no udp socket: passed", &s, STEER_C_NOT_IP);
	env_down(&e);
}

/* SPLIT: whichever backend steered the flow, the socket is the proxy's. PROBE: nft's socket expression does it. */
static void modes(void)
{
	struct env e = env_up();
	struct inst *in = &e.in;
	struct icmp_spec s = frag_needed4();

	steer_bpf_set_mode(in->b, STEER_MODE_SPLIT, 0);
	ct_expect_icmp_both(in, "split 0: frag needed still delivered", &s, DELIVERED);
	steer_bpf_set_mode(in->b, STEER_MODE_PROBE, 0);
	ct_expect_icmp_both(in, "probe: v4 frag needed: nothing done (not_ip, mark untouched)", &s, STEER_C_NOT_IP);
	s = too_big6();
	ct_expect_icmp_both(in, "probe: v6 packet too big: nothing done", &s, STEER_C_NOT_IP);
	s = (struct icmp_spec){ .family = 4, .type = 3, .code = 3, .proto = IPPROTO_UDP, .src = "127.0.0.1",
				.dst = "127.0.0.1", .sport = 6030, .dport = 6031 };
	ct_expect_icmp_both(in, "probe: v4 udp port unreachable: nothing done", &s, STEER_C_NOT_IP);
	env_down(&e);
}

CT_CASES({ "v4_tcp", v4_tcp }, { "v4_fragments_and_truncation", v4_fragments_and_truncation },
	 { "v4_udp", v4_udp }, { "v4_time_wait", v4_time_wait }, { "v6_tcp", v6_tcp }, { "v6_udp", v6_udp },
	 { "modes", modes })
