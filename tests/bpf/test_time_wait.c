// SPDX-License-Identifier: GPL-2.0-only
/*
 * Classifier, TIME_WAIT: a new SYN meeting a time-wait socket is marked and
 * its tuple recorded in steer_redirect; steer_lookup (the netns sk_lookup
 * program) then hands the kernel's listener lookup the proxy's listener.
 */
#include <netinet/in.h>
#include <time.h>

#include <bpf/bpf.h>

#include "tests/lib/classifier_lookup.h"

/* Client 127.0.0.1:7777 closed first and sits in TIME_WAIT. */
static void time_wait_socket(void)
{
	struct inst in = ct_ready("install rules A");
	struct spec s = ct_tcp_flow(4, "127.0.0.1", 9002, "127.0.0.1", 7777, F_ACK);

	ct_time_wait(9002);
	ct_expect_spec(&in, false, "time-wait: non-syn assigned to the time-wait socket", &s, X_EST);
	ct_expect_spec(&in, true, "return: time-wait socket not assigned", &s, STEER_C_RETURN_PASSED);
	s.flags = F_SYN;
	/* marked, and handed to the time-wait socket (refused in test-run): see recorded_for_lookup */
	ct_expect_spec(&in, false, "time-wait: new syn marked, redirect recorded", &s, X_MARK + STEER_C_TIME_WAIT_SYN);
	steer_bpf_set_listener(in.b, STEER_LISTEN_TCP4, -1);
	ct_expect_spec(&in, false, "time-wait: new syn, no listener (not assigned to time-wait)", &s,
		       STEER_C_NO_LISTENER_PASS);
	s.sport = 9003; /* no time-wait socket: same rule, counted as a new flow */
	ct_expect_spec(&in, false, "no time-wait socket: plain new flow, no listener", &s, STEER_C_NO_LISTENER_PASS);
	s.sport = 9002;
	s.dport = 7778; /* no rule */
	ct_expect_spec(&in, false, "time-wait-ish syn without rule: not matched", &s, STEER_C_NOT_MATCHED);
	ct_destroy(&in);
}

/* Rules A, the listeners, and the sk_lookup program and maps in place. */
static struct inst redirect_ready(void)
{
	struct inst rd = ct_ready("redirect: install rules");

	ct_check("redirect: sk_lookup program attached to the namespace", steer_bpf_lookup_attached(rd.b),
		 "not attached");
	ct_check("redirect: map fds",
		 steer_bpf_map_fd(rd.b, "steer_frags") >= 0 && steer_bpf_map_fd(rd.b, "steer_redirect") >= 0,
		 "missing");
	return rd;
}

/* The SYN is marked, handed to the time-wait socket, the tuple recorded; steer_lookup uses it once. */
static void recorded_for_lookup(void)
{
	struct inst rd = redirect_ready();
	struct spec s = ct_tcp_flow(4, "127.0.0.1", 9030, "127.0.0.1", 7777, F_SYN);

	ct_time_wait(9030);
	ct_expect_ev(&rd, false, "tw: syn of a steered flow marked, counted time_wait_syn, one event", &s,
		     X_MARK + STEER_C_TIME_WAIT_SYN, 1);
	ct_check("tw: tuple recorded in steer_redirect with the TCP4 slot",
		 ct_redirect_slot(&rd, 4, IPPROTO_TCP, "127.0.0.1", "127.0.0.1", 9030, 7777) == STEER_LISTEN_TCP4,
		 "not recorded");
	s.flags = F_ACK;
	ct_expect_spec(&rd, false, "tw: an ack still goes to the time-wait socket", &s, X_EST);
	ct_check("tw: ack records nothing new",
		 ct_redirect_slot(&rd, 4, IPPROTO_TCP, "127.0.0.1", "127.0.0.1", 9031, 7777) == -1, "recorded");
	s = ct_tcp_flow(4, "127.0.0.1", 9032, "127.0.0.1", 7777, F_SYN);
	ct_expect_spec(&rd, false, "no time-wait socket: plain new flow (assign step)", &s, X_STEER);
	ct_check("no time-wait socket: nothing recorded",
		 ct_redirect_slot(&rd, 4, IPPROTO_TCP, "127.0.0.1", "127.0.0.1", 9032, 7777) == -1, "recorded");

	/* the recorded tuple gets the listener, once; others nothing */
	ct_expect_lookup(&rd, "lookup: recorded tw tuple selects the TCP4 listener", 4, IPPROTO_TCP, "127.0.0.1",
			 9030, "127.0.0.1", 7777, rd.lfd[STEER_LISTEN_TCP4], STEER_C_TW_REDIRECTED);
	ct_check("lookup: a tcp entry is used once (deleted)",
		 ct_redirect_slot(&rd, 4, IPPROTO_TCP, "127.0.0.1", "127.0.0.1", 9030, 7777) == -1, "still there");
	ct_expect_lookup(&rd, "lookup: the same tuple again passes", 4, IPPROTO_TCP, "127.0.0.1", 9030, "127.0.0.1",
			 7777, -1, -1);
	ct_expect_lookup(&rd, "lookup: an unrecorded tcp tuple passes", 4, IPPROTO_TCP, "10.9.9.9", 1234,
			 "10.1.1.1", 80, -1, -1);
	ct_expect_lookup(&rd, "lookup: an unrecorded udp tuple passes", 4, IPPROTO_UDP, "10.9.9.9", 1234,
			 "10.1.1.1", 53, -1, -1);
	ct_expect_lookup(&rd, "lookup: an unrecorded v6 tuple passes", 6, IPPROTO_TCP, "fd00::2", 1234,
			 "2001:db8::10", 80, -1, -1);
	ct_destroy(&rd);
}

/* A v6 time-wait through the map directly (a v6 tw pair would need the same dance). */
static void lookup_v6_entries(void)
{
	struct inst rd = redirect_ready();
	struct steer_flow_key k;
	struct steer_redirect_val v = { .slot = STEER_LISTEN_TCP6 };
	int map = steer_bpf_map_fd(rd.b, "steer_redirect");

	v.ts = ct_mono_ns();
	ct_flow_key(&k, 6, IPPROTO_TCP, "fd00::2", "2001:db8::10", 40000, 80);
	bpf_map_update_elem(map, &k, &v, BPF_ANY);
	ct_expect_lookup(&rd, "lookup: v6 recorded tuple selects the TCP6 listener", 6, IPPROTO_TCP, "fd00::2",
			 40000, "2001:db8::10", 80, rd.lfd[STEER_LISTEN_TCP6], STEER_C_TW_REDIRECTED);
	/* an entry older than its limit is ignored and removed */
	v.ts -= 10ull * 1000000000;
	bpf_map_update_elem(map, &k, &v, BPF_ANY);
	ct_expect_lookup(&rd, "lookup: a stale tcp entry (10 s) passes", 6, IPPROTO_TCP, "fd00::2", 40000,
			 "2001:db8::10", 80, -1, -1);
	ct_check("lookup: the stale entry is removed",
		 ct_redirect_slot(&rd, 6, IPPROTO_TCP, "fd00::2", "2001:db8::10", 40000, 80) == -1, "still there");
	/* recorded, but the slot is empty: counted, nothing selected */
	v.ts = ct_mono_ns();
	bpf_map_update_elem(map, &k, &v, BPF_ANY);
	steer_bpf_set_listener(rd.b, STEER_LISTEN_TCP6, -1);
	ct_expect_lookup(&rd, "lookup: recorded but no listener: lookup_failed", 6, IPPROTO_TCP, "fd00::2", 40000,
			 "2001:db8::10", 80, -1, STEER_C_LOOKUP_FAILED);
	ct_destroy(&rd);
}

/* PROBE: nft steers the time-wait SYN; the classifier records nothing. */
static void probe_records_nothing(void)
{
	struct inst rd = redirect_ready();
	struct spec s = ct_tcp_flow(4, "127.0.0.1", 9033, "127.0.0.1", 7777, F_SYN);

	steer_bpf_set_mode(rd.b, STEER_MODE_PROBE, 0);
	ct_time_wait(9033);
	ct_expect_spec(&rd, false, "probe: time-wait syn probed", &s, STEER_C_PROBED);
	ct_check("probe: time-wait syn not recorded",
		 ct_redirect_slot(&rd, 4, IPPROTO_TCP, "127.0.0.1", "127.0.0.1", 9033, 7777) == -1, "recorded");
	ct_destroy(&rd);
}

CT_CASES({ "time_wait_socket", time_wait_socket }, { "recorded_for_lookup", recorded_for_lookup },
	 { "lookup_v6_entries", lookup_v6_entries }, { "probe_records_nothing", probe_records_nothing })
