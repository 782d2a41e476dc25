// SPDX-License-Identifier: GPL-2.0-only
/* Classifier, fail-closed: drops only the flows eBPF steers when it has no listener, and reports them. */
#include <stdlib.h>
#include <string.h>

#include "tests/lib/classifier_harness.h"

/* Fail-closed, rules A, the four listeners. */
static struct inst fc_ready(void)
{
	struct inst fc = ct_load(true, false);

	ct_install_rules_a(&fc, "fail-closed: install rules");
	ct_set_listeners(&fc);
	return fc;
}

static void with_listener(void)
{
	struct inst fc = fc_ready();
	struct spec s = ct_syn4("192.168.1.2", "10.1.2.3", 80);
	uint8_t buf[64] = { 0 };

	ct_expect_spec(&fc, false, "fail-closed: v4 syn with listener reaches assign", &s, X_STEER);
	s = ct_udp(6, "2001:db8:1::1", "2001:4860::8888", 5555, 53);
	ct_expect_spec(&fc, false, "fail-closed: v6 udp with listener reaches assign", &s, X_STEER);
	buf[12] = 0x08;
	buf[14] = 0x46; /* IHL 6, total length 0 */
	ct_expect(&fc, false, "fail-closed: malformed still passes", buf, 60, STEER_C_MALFORMED);
	s = ct_syn4("192.168.1.2", "10.0.2.5", 80);
	ct_expect_spec(&fc, false, "fail-closed: bypass passes", &s, STEER_C_BYPASSED);
	ct_destroy(&fc);
}

/*
 * The built-in proxy at its connection limit: new flows meet on-proxy-down
 * (here dropped, with a DROP event), flows it holds and other traffic do not.
 */
static void proxy_full(void)
{
	struct inst fc = fc_ready();
	struct spec s = ct_syn4("192.168.1.2", "10.1.2.3", 80);

	steer_bpf_set_proxy_full(fc.b, true);
	ct_expect_ev(&fc, false, "proxy full: v4 syn dropped, one DROP event", &s, STEER_C_PROXY_FULL_DROP, 1);
	s = ct_udp(6, "2001:db8:1::1", "2001:4860::8888", 5556, 53);
	ct_expect_spec(&fc, false, "proxy full: v6 udp dropped", &s, STEER_C_PROXY_FULL_DROP);
	s = ct_syn4("192.168.1.2", "10.1.2.3", 81);
	ct_expect_spec(&fc, false, "proxy full: unmatched still passes", &s, STEER_C_NOT_MATCHED);
	steer_bpf_set_proxy_full(fc.b, false);
	s = ct_syn4("192.168.1.2", "10.1.2.3", 80);
	ct_expect_spec(&fc, false, "room again: v4 syn reaches assign", &s, X_STEER);
	ct_destroy(&fc);
}

static void no_listener(void)
{
	struct inst fc = fc_ready();

	ct_expect_no_listener(&fc, "fail-closed", STEER_C_NO_LISTENER_DROP);
	ct_destroy(&fc);
}

static void tcp_drops_reported(void)
{
	struct inst fc = fc_ready();
	struct spec s = ct_syn4("192.168.7.7", "10.7.7.7", 80);

	ct_clear_listeners(&fc);
	ct_expect_ev(&fc, false, "fail-closed: v4 no-listener drop reported (DROP, reason no_listener_drop)", &s,
		     STEER_C_NO_LISTENER_DROP, 1);
	ct_expect_ev(&fc, false, "fail-closed: retransmitted syn dropped and reported again", &s,
		     STEER_C_NO_LISTENER_DROP, 1);
	s = ct_syn6("fd00::7", "2001:db8::77", 80);
	ct_expect_ev(&fc, false, "fail-closed: v6 no-listener drop reported", &s, STEER_C_NO_LISTENER_DROP, 1);
	ct_destroy(&fc);
}

/* UDP: one DROP per flow; a change of outcome (now left to nft) is reported again. */
static void udp_drop_then_probe(void)
{
	struct inst fc = fc_ready();
	struct spec s = ct_udp(4, "1.2.3.7", "8.8.4.4", 7000, 53);

	ct_clear_listeners(&fc);
	ct_expect_ev(&fc, false, "fail-closed: udp drop reported on the first datagram", &s, STEER_C_NO_LISTENER_DROP,
		     1);
	ct_expect_ev(&fc, false, "fail-closed: udp second drop not reported", &s, STEER_C_NO_LISTENER_DROP, 0);
	ct_check("fail-closed: set mode probe", steer_bpf_set_mode(fc.b, STEER_MODE_PROBE, 0) == 0, "failed");
	ct_expect_ev(&fc, false, "fail-closed probe: the dropped udp flow now probed and reported", &s,
		     STEER_C_PROBED, 1);
	ct_expect_ev(&fc, false, "fail-closed probe: then not again", &s, STEER_C_PROBED, 0);
	s = ct_syn4("192.168.7.7", "10.7.7.7", 80);
	ct_expect_ev(&fc, false, "fail-closed probe: no listener, no drop (nft decides)", &s, STEER_C_PROBED, 1);
	ct_destroy(&fc);
}

/* SPLIT 50, no listener: eBPF's half is dropped, nft's half probed. */
static void split_half_dropped(void)
{
	struct inst fc = fc_ready();
	char sb[64], db[64];
	struct spec s, e = { 0 }, n = { 0 };
	bool have_e = false, have_n = false;

	ct_clear_listeners(&fc);
	for (int i = 0; i < 100 && !(have_e && have_n); i++) {
		s = ct_split_tuple(i, sb, db, 0);
		if (ct_bucket(&s) < 50 && !have_e) {
			e = s;
			have_e = true;
			e.src = strdup(sb);
			e.dst = strdup(db);
		} else if (ct_bucket(&s) >= 50 && !have_n) {
			n = s;
			have_n = true;
			n.src = strdup(sb);
			n.dst = strdup(db);
		}
	}
	steer_bpf_set_mode(fc.b, STEER_MODE_SPLIT, 50);
	ct_expect_ev(&fc, false, "fail-closed split: eBPF's flow dropped and reported", &e, STEER_C_NO_LISTENER_DROP,
		     1);
	ct_expect_ev(&fc, false, "fail-closed split: nft's flow passed and reported as nft", &n, STEER_C_PROBED, 1);
	free((char *)e.src);
	free((char *)e.dst);
	free((char *)n.src);
	free((char *)n.dst);
	ct_destroy(&fc);
}

CT_CASES({ "with_listener", with_listener }, { "no_listener", no_listener },
	 { "tcp_drops_reported", tcp_drops_reported }, { "udp_drop_then_probe", udp_drop_then_probe },
	 { "split_half_dropped", split_half_dropped }, { "proxy_full", proxy_full })
