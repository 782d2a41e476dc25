// SPDX-License-Identifier: GPL-2.0-only
/*
 * Classifier, kernels that refuse to assign a SO_REUSEPORT socket (before
 * Linux 6.6; forced here with STEER_BPF_ASSIGN=lookup): a new flow is only
 * marked and recorded in steer_redirect, and steer_lookup gives its socket
 * lookup the proxy's listener; a packet of a flow the proxy holds is only
 * marked (the kernel's established lookup finds the socket). No assign is
 * tried on the client program, so every outcome is exact (X_MARK), even
 * under BPF_PROG_TEST_RUN, which refuses assigns.
 */
#include <netinet/in.h>
#include <stdlib.h>

#include <bpf/bpf.h>

#include "tests/lib/classifier_lookup.h"

static struct inst lookup_ready(void)
{
	struct inst in;

	setenv("STEER_BPF_ASSIGN", "lookup", 1);
	in = ct_ready("install rules A");
	unsetenv("STEER_BPF_ASSIGN");
	ct_check("sk_lookup program attached to the namespace", steer_bpf_lookup_attached(in.b), "not attached");
	return in;
}

/* The redirect entry of a tuple: its reason and time; false when absent. */
static bool redirect_entry(struct inst *in, int fam, int proto, const char *src, const char *dst, uint16_t sport,
			   uint16_t dport, struct steer_redirect_val *v)
{
	struct steer_flow_key k;

	ct_flow_key(&k, fam, proto, src, dst, sport, dport);
	return bpf_map_lookup_elem(steer_bpf_map_fd(in->b, "steer_redirect"), &k, v) == 0;
}

static void new_tcp_flows(void)
{
	struct inst in = lookup_ready();
	struct spec s4 = ct_tcp_flow(4, "192.168.1.2", 40100, "10.1.2.3", 80, F_SYN);
	struct spec s6 = ct_tcp_flow(6, "fd00::2", 40101, "2001:db8::10", 80, F_SYN);
	struct steer_redirect_val v;

	ct_expect_ev(&in, false, "v4 syn: marked, steered_new, one FLOW event", &s4, X_MARK + STEER_C_STEERED_NEW, 1);
	ct_check("v4 syn: recorded for steer_lookup as a new flow, TCP4 slot",
		 redirect_entry(&in, 4, IPPROTO_TCP, "192.168.1.2", "10.1.2.3", 40100, 80, &v) &&
			 v.why == STEER_REDIRECT_NEW && v.slot == STEER_LISTEN_TCP4,
		 "not recorded");
	ct_expect_lookup(&in, "v4 syn's listener lookup selects the TCP4 listener", 4, IPPROTO_TCP, "192.168.1.2",
			 40100, "10.1.2.3", 80, in.lfd[STEER_LISTEN_TCP4], STEER_C_NEW_REDIRECTED);
	ct_check("v4: a TCP entry is used once",
		 !redirect_entry(&in, 4, IPPROTO_TCP, "192.168.1.2", "10.1.2.3", 40100, 80, &v), "still there");

	ct_expect_ev(&in, false, "v6 syn: marked, steered_new, one FLOW event", &s6, X_MARK + STEER_C_STEERED_NEW, 1);
	ct_expect_lookup(&in, "v6 syn's listener lookup selects the TCP6 listener", 6, IPPROTO_TCP, "fd00::2", 40101,
			 "2001:db8::10", 80, in.lfd[STEER_LISTEN_TCP6], STEER_C_NEW_REDIRECTED);

	s4.dport = 81; /* no rule */
	ct_expect_spec(&in, false, "unmatched syn: nothing recorded", &s4, STEER_C_NOT_MATCHED);
	ct_check("unmatched syn: no entry", !redirect_entry(&in, 4, IPPROTO_TCP, "192.168.1.2", "10.1.2.3", 40100, 81, &v),
		 "recorded");
	ct_destroy(&in);
}

static void no_listener(void)
{
	struct inst in = lookup_ready();
	struct spec s = ct_syn4("192.168.1.2", "10.1.2.3", 80);
	struct steer_redirect_val v;

	ct_clear_listeners(&in);
	ct_expect_spec(&in, false, "no listener: fail-open, nothing recorded", &s, STEER_C_NO_LISTENER_PASS);
	ct_check("no listener: no entry", !redirect_entry(&in, 4, IPPROTO_TCP, "192.168.1.2", "10.1.2.3", s.sport, 80, &v),
		 "recorded");
	ct_destroy(&in);
}

/* Every datagram is marked; the entry serves the flow and is rewritten at most once a second. */
static void udp_flow(void)
{
	struct inst in = lookup_ready();
	struct spec s = ct_udp(6, "fd00::2", "2001:4860::8888", 5300, 53);
	struct steer_redirect_val v1, v2;

	ct_expect_ev(&in, false, "udp v6 first datagram: marked, steered_new, one FLOW event", &s,
		     X_MARK + STEER_C_STEERED_NEW, 1);
	ct_check("udp: recorded as a new flow, UDP6 slot",
		 redirect_entry(&in, 6, IPPROTO_UDP, "fd00::2", "2001:4860::8888", 5300, 53, &v1) &&
			 v1.why == STEER_REDIRECT_NEW && v1.slot == STEER_LISTEN_UDP6,
		 "not recorded");
	ct_expect_ev(&in, false, "udp v6 second datagram: marked, steered_new, no event", &s,
		     X_MARK + STEER_C_STEERED_NEW, 0);
	ct_check("udp: a fresh entry is not rewritten",
		 redirect_entry(&in, 6, IPPROTO_UDP, "fd00::2", "2001:4860::8888", 5300, 53, &v2) && v2.ts == v1.ts,
		 "rewritten");
	ct_expect_lookup(&in, "udp: lookup selects the UDP6 listener", 6, IPPROTO_UDP, "fd00::2", 5300,
			 "2001:4860::8888", 53, in.lfd[STEER_LISTEN_UDP6], STEER_C_NEW_REDIRECTED);
	ct_expect_lookup(&in, "udp: the entry serves the next lookup too", 6, IPPROTO_UDP, "fd00::2", 5300,
			 "2001:4860::8888", 53, in.lfd[STEER_LISTEN_UDP6], STEER_C_NEW_REDIRECTED);
	ct_destroy(&in);
}

/* A flow the proxy holds: marked only, no assign tried (test-run would refuse it: assign_failed). */
static void established_marked(void)
{
	struct inst in = lookup_ready();
	struct ct_pair p = ct_tcp_pair("127.0.0.1", 34570, "127.0.0.1", 8900);
	struct spec s = ct_tcp_flow(4, "127.0.0.1", 34570, "127.0.0.1", 8900, F_ACK);

	ct_expect_spec(&in, false, "established v4: marked, steered_established, no assign", &s,
		       X_MARK + STEER_C_STEERED_ESTABLISHED);
	ct_expect_spec(&in, true, "return program: still tries the assign (upstream sockets are no reuseport)", &s,
		       X_RET);
	ct_pair_close(&p);
	ct_destroy(&in);
}

CT_CASES({ "new_tcp_flows", new_tcp_flows }, { "no_listener", no_listener }, { "udp_flow", udp_flow },
	 { "established_marked", established_marked })
