// SPDX-License-Identifier: GPL-2.0-only
/*
 * Classifier run modes: PROBE reports new matching flows and assigns nothing
 * (nft steers them); SPLIT steers the new flows whose steer_flow_bucket() is
 * below the percentage and probes the others, the split hash checked against
 * user space; established flows and replies keep their sockets outside PROBE.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <linux/pkt_cls.h>

#include "tests/lib/classifier_harness.h"

static void set_mode(struct inst *in, const char *name, enum steer_mode mode, int percent)
{
	ct_check(name, steer_bpf_set_mode(in->b, mode, percent) == 0, "failed");
}

static void api(void)
{
	struct inst in = ct_ready("modes: install rules");

	ct_check("set_mode: unknown mode refused", steer_bpf_set_mode(in.b, 7, 0) == -EINVAL, "accepted");
	ct_check("set_mode: split 101% refused", steer_bpf_set_mode(in.b, STEER_MODE_SPLIT, 101) == -EINVAL,
		 "accepted");
	ct_check("set_mode: split -1% refused", steer_bpf_set_mode(in.b, STEER_MODE_SPLIT, -1) == -EINVAL,
		 "accepted");
	ct_check("events_open twice refused", steer_bpf_events_open(in.b, ct_ev_cb, NULL) == -EBUSY, "accepted");
	ct_check("events fd is an fd", steer_bpf_events_fd(in.b) >= 0, "no fd");
	ct_destroy(&in);
}

/* PROBE: report new matching flows, assign nothing, move PROBED. */
static void probe_new_flows(void)
{
	struct inst in = ct_ready("modes: install rules");
	struct spec s;

	set_mode(&in, "set mode probe", STEER_MODE_PROBE, 0);
	s = ct_syn4("192.168.1.2", "10.1.2.3", 80);
	ct_expect_ev(&in, false, "probe: v4 syn probed, mark untouched, FLOW/NFT event with its tuple", &s,
		     STEER_C_PROBED, 1);
	s = ct_syn6("fd00::2", "2001:db8::10", 8080);
	ct_expect_ev(&in, false, "probe: v6 syn probed, FLOW/NFT event with its tuple", &s, STEER_C_PROBED, 1);
	s = ct_syn4("192.168.1.2", "10.1.2.3", 81);
	ct_expect_ev(&in, false, "probe: unmatched syn: no event", &s, STEER_C_NOT_MATCHED, 0);
	s = ct_syn4("192.168.1.2", "10.0.2.5", 80);
	ct_expect_ev(&in, false, "probe: bypass: no event", &s, STEER_C_BYPASSED, 0);
	s = ct_tcp(4, "192.168.1.2", "10.1.2.3", 80, F_ACK);
	ct_expect_ev(&in, false, "probe: ack: not matched, no event", &s, STEER_C_NOT_MATCHED, 0);
	s.flags = F_SYN;
	s.frag = 0x0010;
	ct_expect_ev(&in, false, "probe: fragment counted, no event", &s, STEER_C_FRAGMENT, 0);
	ct_destroy(&in);
}

/* A UDP flow is reported on its first datagram, and again only after the idle timeout. */
static void probe_udp_first_datagram(void)
{
	struct inst in = ct_ready("modes: install rules");
	struct spec s = ct_udp(4, "1.2.3.4", "8.8.8.8", 5600, 53);

	set_mode(&in, "set mode probe", STEER_MODE_PROBE, 0);
	ct_expect_ev(&in, false, "probe: udp first datagram reported", &s, STEER_C_PROBED, 1);
	ct_expect_ev(&in, false, "probe: udp second datagram probed, not reported", &s, STEER_C_PROBED, 0);
	usleep(5000);
	ct_expect_ev(&in, false, "probe: udp within the idle timeout (60 s) not reported", &s, STEER_C_PROBED, 0);
	s.sport = 5601;
	ct_expect_ev(&in, false, "probe: udp another flow reported", &s, STEER_C_PROBED, 1);
	s = ct_udp(6, "2001:db8:1::1", "2001:4860::8888", 5600, 53);
	ct_expect_ev(&in, false, "probe: v6 udp first datagram reported", &s, STEER_C_PROBED, 1);
	ct_destroy(&in);
}

/* An established flow on a matching rule (3: tcp dport 7777 dst 127/8), through every mode. */
static void established_across_modes(void)
{
	struct inst in = ct_ready("modes: install rules");
	struct ct_pair p = ct_tcp_pair("127.0.0.1", 34600, "127.0.0.1", 7777);
	struct spec s = ct_tcp_flow(4, "127.0.0.1", 34600, "127.0.0.1", 7777, F_ACK);

	set_mode(&in, "set mode probe", STEER_MODE_PROBE, 0);
	ct_expect_ev(&in, false, "probe: established flow's packet not assigned (not matched)", &s,
		     STEER_C_NOT_MATCHED, 0);
	s.flags = F_SYN;
	ct_expect_ev(&in, false, "probe: syn of a flow that has a socket: not new, not reported", &s,
		     STEER_C_NOT_MATCHED, 0);
	s.flags = F_ACK;
	ct_expect_ev(&in, true, "probe: return program assigns no tcp reply", &s, STEER_C_RETURN_PASSED, 0);
	set_mode(&in, "set mode split 0%", STEER_MODE_SPLIT, 0);
	ct_expect_ev(&in, false, "split: established flow still assigned", &s, X_EST, 0);
	ct_expect_ev(&in, true, "split: return program still assigns", &s, X_RET, 0);
	set_mode(&in, "set mode ebpf", STEER_MODE_EBPF, 0);
	ct_expect_ev(&in, false, "ebpf: established flow assigned, no event", &s, X_EST, 0);
	set_mode(&in, "set mode probe again", STEER_MODE_PROBE, 0);
	ct_expect_ev(&in, false, "probe again: established not assigned", &s, STEER_C_NOT_MATCHED, 0);
	ct_pair_close(&p);
	ct_destroy(&in);
}

static void udp_reply_across_modes(void)
{
	struct inst in = ct_ready("modes: install rules");
	int u = ct_udp_connected("127.0.0.1", 6100, 6101);
	struct spec s = ct_udp(4, "127.0.0.1", "127.0.0.1", 6101, 6100);

	set_mode(&in, "set mode probe", STEER_MODE_PROBE, 0);
	ct_expect_ev(&in, true, "probe: return program assigns no udp reply", &s, STEER_C_RETURN_PASSED, 0);
	steer_bpf_set_mode(in.b, STEER_MODE_EBPF, 0);
	ct_expect_ev(&in, true, "ebpf: the same udp reply assigned", &s, X_RET, 0);
	close(u);
	ct_destroy(&in);
}

/* TIME_WAIT: a new SYN on a rule is a new flow, probed and reported. */
static void probe_time_wait_syn(void)
{
	struct inst in = ct_ready("modes: install rules");
	struct spec s = ct_tcp_flow(4, "127.0.0.1", 9102, "127.0.0.1", 7777, F_SYN);

	set_mode(&in, "set mode probe", STEER_MODE_PROBE, 0);
	ct_time_wait(9102);
	ct_expect_ev(&in, false, "probe: syn hitting time-wait is a new flow, probed and reported", &s,
		     STEER_C_PROBED, 1);
	s.flags = F_ACK;
	ct_expect_ev(&in, false, "probe: non-syn hitting time-wait not assigned", &s, STEER_C_NOT_MATCHED, 0);
	set_mode(&in, "set mode split 100%", STEER_MODE_SPLIT, 100);
	s.flags = F_SYN;
	ct_expect_ev(&in, false, "split 100%: syn hitting time-wait goes to the listener", &s, X_STEER_TW, -1);
	set_mode(&in, "back to ebpf", STEER_MODE_EBPF, 0);
	ct_destroy(&in);
}

static void split_0_and_100(void)
{
	struct inst in = ct_ready("modes: install rules");
	char sb[64], db[64], name[128];
	struct spec s;

	set_mode(&in, "set mode split 0%", STEER_MODE_SPLIT, 0);
	for (int i = 0; i < 400; i += 50) {
		s = ct_split_tuple(i, sb, db, 0);
		snprintf(name, sizeof(name), "split 0%%: flow %d probed, reported as nft", i);
		ct_expect_ev(&in, false, name, &s, STEER_C_PROBED, 1);
	}
	set_mode(&in, "set mode split 100%", STEER_MODE_SPLIT, 100);
	for (int i = 0; i < 400; i += 50) {
		s = ct_split_tuple(i, sb, db, 0);
		snprintf(name, sizeof(name), "split 100%%: flow %d reaches the listener assign", i);
		ct_expect_spec(&in, false, name, &s, X_STEER);
	}
	ct_destroy(&in);
}

/*
 * Run the 400 split tuples at this percentage; each flow must be steered
 * (assign step) exactly when the user-space bucket is below it, and probed
 * (FLOW/NFT event with its tuple) otherwise.
 */
static void split_sweep(int percent, int salt)
{
	struct inst in = ct_ready("modes: install rules");
	char name[128], sb[64], db[64], why[160] = "";
	int bad = 0, n_ebpf = 0;

	steer_bpf_set_mode(in.b, STEER_MODE_SPLIT, percent);
	for (int i = 0; i < 400; i++) {
		struct spec s = ct_split_tuple(i, sb, db, salt);
		uint8_t buf[CT_PKT_MAX];
		size_t len = ct_build(&s, buf);
		uint64_t d[STEER_C_MAX];
		uint32_t mark;
		int rv, ebpf = ct_bucket(&s) < (uint32_t)percent;
		bool good;

		if (ct_run_pkt(&in, false, buf, len, 0, &rv, &mark, d)) {
			bad++;
			continue;
		}
		if (ebpf)
			good = (d[STEER_C_ASSIGN_FAILED] == 1 || d[STEER_C_STEERED_NEW] == 1) &&
			       d[STEER_C_PROBED] == 0;
		else
			good = d[STEER_C_PROBED] == 1 && rv == TC_ACT_UNSPEC && mark == 0 && ct_nev == 1 &&
			       ct_evs[0].backend == STEER_BACKEND_NFT && ct_ev_tuple_is(&ct_evs[0], &s);
		n_ebpf += ebpf;
		if (!good && !bad++)
			snprintf(why, sizeof(why), "first mismatch: %s %s:%u -> %s:%u bucket %u",
				 s.proto == 6 ? "tcp" : "udp", s.src, s.sport, s.dst, s.dport, ct_bucket(&s));
	}
	snprintf(name, sizeof(name), "split %d%%: 400 flows (v4/v6, tcp/udp) follow the user-space steer_flow_bucket",
		 percent);
	if (bad)
		ct_fail(name, "%d of 400 differ; %s", bad, why);
	else
		ct_ok(name);
	snprintf(name, sizeof(name), "split %d%%: %d of 400 flows on eBPF (about %d expected)", percent, n_ebpf,
		 percent * 4);
	ct_check(name, n_ebpf > percent * 4 - 60 && n_ebpf < percent * 4 + 60, "hash badly skewed");
	ct_destroy(&in);
}

static void split_50(void)
{
	split_sweep(50, 1000);
}

static void split_37(void)
{
	split_sweep(37, 2000);
}

/* The threshold is strict: a flow in bucket b is eBPF's from percent b+1. */
static void split_threshold_strict(void)
{
	struct inst in = ct_ready("modes: install rules");
	char sb[64], db[64], name[128];
	struct spec s;
	int lo = -1, hi;

	for (int i = 0; i < 400 && lo < 0; i++) {
		s = ct_split_tuple(i, sb, db, 0);
		if (ct_bucket(&s) > 10 && ct_bucket(&s) < 90)
			lo = i;
	}
	s = ct_split_tuple(lo, sb, db, 0);
	hi = ct_bucket(&s);
	steer_bpf_set_mode(in.b, STEER_MODE_SPLIT, hi);
	snprintf(name, sizeof(name), "split %d%%: a flow in bucket %d is probed", hi, hi);
	ct_expect_ev(&in, false, name, &s, STEER_C_PROBED, 1);
	steer_bpf_set_mode(in.b, STEER_MODE_SPLIT, hi + 1);
	snprintf(name, sizeof(name), "split %d%%: the flow in bucket %d is steered", hi + 1, hi);
	ct_expect_spec(&in, false, name, &s, X_STEER);
	ct_destroy(&in);
}

CT_CASES({ "api", api }, { "probe_new_flows", probe_new_flows },
	 { "probe_udp_first_datagram", probe_udp_first_datagram },
	 { "established_across_modes", established_across_modes },
	 { "udp_reply_across_modes", udp_reply_across_modes }, { "probe_time_wait_syn", probe_time_wait_syn },
	 { "split_0_and_100", split_0_and_100 }, { "split_50", split_50 }, { "split_37", split_37 },
	 { "split_threshold_strict", split_threshold_strict })
