// SPDX-License-Identifier: GPL-2.0-only
/* Classifier, TCP: the listener slot, established flows (client and return programs), no listener, SYN cookies. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "steer/tcp_stack.h"
#include "tests/lib/classifier_harness.h"

/* A TCP listener slot holding a non-listening socket counts as no listener. */
static void slot_holding_established_socket(void)
{
	struct inst in = ct_ready("install rules A");
	struct ct_pair p = ct_tcp_pair("127.0.0.1", 35000, "127.0.0.1", 9010);
	struct spec s = ct_syn4("192.168.1.2", "10.1.2.3", 80);

	steer_bpf_set_listener(in.b, STEER_LISTEN_TCP4, p.accepted);
	ct_expect_spec(&in, false, "tcp slot holding an established socket: no listener", &s,
		       STEER_C_NO_LISTENER_PASS);
	steer_bpf_set_listener(in.b, STEER_LISTEN_TCP4, in.lfd[STEER_LISTEN_TCP4]);
	ct_expect_spec(&in, false, "tcp listener back in its slot", &s, X_STEER);
	ct_pair_close(&p);
	ct_destroy(&in);
}

/* Established: the client's packet finds the accepted socket (8900: a steered port). */
static void established_v4(void)
{
	struct inst in = ct_ready("install rules A");
	struct ct_pair p = ct_tcp_pair("127.0.0.1", 34567, "127.0.0.1", 8900);
	struct spec s = ct_tcp_flow(4, "127.0.0.1", 34567, "127.0.0.1", 8900, F_ACK);

	ct_expect_spec(&in, false, "v4 established flow's packet assigned to its socket", &s, X_EST);
	/* Only an older generation steered 8900: its flows keep going to the proxy. */
	ct_check("sockets: rules without port 8900", ct_install(&in, ct_rules_b(), CT_RULES_B_N) == 0, "failed");
	ct_expect_spec(&in, false, "v4 established flow on a port no longer steered still assigned", &s, X_EST);
	ct_install_rules_a(&in, "sockets: rules A back");
	s.sport = 34568; /* same listener, no established socket */
	ct_expect_spec(&in, false, "v4 ack to a listener only: not matched", &s, STEER_C_NOT_MATCHED);
	s.flags = F_SYN;
	ct_expect_spec(&in, false, "v4 syn to a listener (ignored, no rule)", &s, STEER_C_NOT_MATCHED);
	/* return program: same lookup, for upstream sockets */
	s.sport = 34567;
	s.flags = F_ACK;
	ct_expect_spec(&in, true, "return: v4 reply assigned to the established socket", &s, X_RET);
	s.sport = 34568;
	ct_expect_spec(&in, true, "return: no socket passed", &s, STEER_C_RETURN_PASSED);
	s.flags = F_SYN;
	ct_expect_spec(&in, true, "return: listener only passed", &s, STEER_C_RETURN_PASSED);
	ct_pair_close(&p);
	ct_destroy(&in);
}

/*
 * A port no rule ever steered (a bypass rule covers every port): its
 * packets skip the socket lookup, so even a local established socket
 * is not assigned. The return program still looks every socket up.
 */
static void never_steered_port(void)
{
	struct inst in = ct_ready("install rules A");
	struct ct_pair p = ct_tcp_pair("127.0.0.1", 34567, "127.0.0.1", 9000);
	struct spec s = ct_tcp_flow(4, "127.0.0.1", 34567, "127.0.0.1", 9000, F_ACK);

	ct_expect_spec(&in, false, "v4 packet to a never-steered port: no lookup, not matched", &s,
		       STEER_C_NOT_MATCHED);
	ct_expect_spec(&in, true, "return: reply on a never-steered port still assigned", &s, X_RET);
	ct_pair_close(&p);
	ct_destroy(&in);
}

static void established_v6(void)
{
	struct inst in = ct_ready("install rules A");
	struct ct_pair p = ct_tcp_pair("::1", 34567, "::1", 8901);
	struct spec s = ct_tcp_flow(6, "::1", 34567, "::1", 8901, F_ACK);

	ct_expect_spec(&in, false, "v6 established flow's packet assigned to its socket", &s, X_EST);
	ct_expect_spec(&in, true, "return: v6 reply assigned to the established socket", &s, X_RET);
	ct_pair_close(&p);
	ct_destroy(&in);
}

static void return_new_flow_and_fragment(void)
{
	struct inst in = ct_ready("install rules A");
	struct spec s = ct_syn4("192.168.1.2", "10.1.2.3", 80);

	ct_expect_spec(&in, true, "return: a new flow is never steered", &s, STEER_C_RETURN_PASSED);
	s.src = "192.168.1.4";
	s.frag = 0x0010;
	ct_expect_spec(&in, true, "return: fragment counted", &s, STEER_C_FRAGMENT);
	ct_destroy(&in);
}

static void no_listener_fail_open(void)
{
	struct inst in = ct_ready("install rules A");

	ct_expect_no_listener(&in, "fail-open", STEER_C_NO_LISTENER_PASS);
	ct_destroy(&in);
}

/* The built-in proxy at its connection limit, fail-open: new flows forwarded, counted; its flows still its. */
static void proxy_full_fail_open(void)
{
	struct inst in = ct_ready("install rules A");
	struct ct_pair p = ct_tcp_pair("127.0.0.1", 34580, "127.0.0.1", 8900);
	struct spec s = ct_syn4("192.168.1.2", "10.1.2.3", 80);

	steer_bpf_set_proxy_full(in.b, true);
	ct_expect_ev(&in, false, "proxy full: v4 syn forwarded, no event", &s, STEER_C_PROXY_FULL_PASS, 0);
	s = ct_tcp_flow(4, "127.0.0.1", 34580, "127.0.0.1", 8900, F_ACK);
	ct_expect_spec(&in, false, "proxy full: a flow it holds still reaches its socket", &s, X_EST);
	ct_pair_close(&p);
	ct_destroy(&in);
}

/* TcpExt SyncookiesSent of this network namespace (what steer status shows). */
static long cookies_sent(void)
{
	struct tcp_stack_stats t;

	tcp_stack_read(&t, 0);
	return (long)t.syncookies_sent;
}

/* A connection to the listener at ip: with tcp_syncookies=2 its SYN is answered with a cookie. */
static void cookie_from_listener(int family, const char *ip)
{
	struct sockaddr_storage ss;
	int len = ct_sa(&ss, ip, PROXY_PORT), fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0)
		ct_abort("cannot connect to the listener");
	close(fd);
}

/*
 * A plain ACK that no socket claims, of a flow the rules steer, while the
 * listener sends SYN cookies: its acknowledgement is no cookie of ours (a
 * flow older than steer), so it is forwarded, not given to the listener.
 * (A real cookie's ACK is proven end to end by tests/net/test_syncookies.sh.)
 */
static void ack_without_our_cookie(void)
{
	struct inst in = ct_ready("install rules A");
	struct spec s4 = ct_tcp_flow(4, "192.168.1.2", 40300, "10.1.2.3", 80, F_ACK);
	struct spec s6 = ct_tcp_flow(6, "fd00::2", 40301, "2001:db8::10", 80, F_ACK);
	long before;

	if (system("sysctl -qw net.ipv4.tcp_syncookies=2") != 0)
		ct_abort("cannot set tcp_syncookies");
	before = cookies_sent();
	cookie_from_listener(AF_INET, "127.0.0.1");
	cookie_from_listener(AF_INET6, "::1");
	ct_check("the listeners sent SYN cookies (the flood window is open)", cookies_sent() >= before + 2,
		 "no cookie sent");
	ct_expect_spec(&in, false, "v4 ACK without our cookie: forwarded (not matched)", &s4, STEER_C_NOT_MATCHED);
	ct_expect_spec(&in, false, "v6 ACK without our cookie: forwarded (not matched)", &s6, STEER_C_NOT_MATCHED);
	s4.dport = 81; /* no rule */
	ct_expect_spec(&in, false, "ACK of an unsteered flow: not matched", &s4, STEER_C_NOT_MATCHED);
	ct_destroy(&in);
}

CT_CASES({ "slot_holding_established_socket", slot_holding_established_socket },
	 { "established_v4", established_v4 }, { "never_steered_port", never_steered_port },
	 { "established_v6", established_v6 }, { "return_new_flow_and_fragment", return_new_flow_and_fragment },
	 { "no_listener_fail_open", no_listener_fail_open }, { "ack_without_our_cookie", ack_without_our_cookie },
	 { "proxy_full_fail_open", proxy_full_fail_open })
