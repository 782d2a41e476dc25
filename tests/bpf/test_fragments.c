// SPDX-License-Identifier: GPL-2.0-only
/*
 * Classifier, IP fragments. UDP: the first fragment of a steered datagram is
 * marked and recorded in steer_frags (later fragments are found there) and
 * its tuple in steer_redirect (UDP slot), so steer_lookup gives the
 * reassembled datagram the proxy's socket.
 *
 * TCP: reassembly orphans the skb (an assigned socket would be dropped), so
 * every fragment of a steered SYN, or of a segment of a flow the proxy holds,
 * is only marked (first: recorded in steer_frags; later: found there). A
 * steered SYN's tuple also goes to steer_redirect (TCP slot), so steer_lookup
 * gives the reassembled SYN the proxy's listener.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "tests/lib/classifier_lookup.h"

#define STEERED (X_MARK + STEER_C_FRAGMENT_STEERED)

/* v4 UDP: first (offset 0, MF; uh.len is the whole datagram's), later, strangers, then stale and probe. */
static void udp_v4(void)
{
	struct inst rd = ct_ready("redirect: install rules");
	struct spec s = ct_udp(4, "1.2.3.4", "8.8.8.8", 5555, 53), o, mid = s;
	int udp4 = rd.lfd[STEER_LISTEN_UDP4];

	s.frag = 0x2000;
	ct_expect_frag_ev(&rd, false, "frag v4: first fragment marked, fragment_steered, one event", s, 0x4242, 3000,
			  STEERED, 1);
	ct_check("frag v4: tuple recorded with the UDP4 slot",
		 ct_redirect_slot(&rd, 4, IPPROTO_UDP, "1.2.3.4", "8.8.8.8", 5555, 53) == STEER_LISTEN_UDP4,
		 "not recorded");
	mid.sport = mid.dport = 0; /* no ports in a later fragment */
	mid.frag = 0x20b9;
	ct_expect_frag(&rd, false, "frag v4: middle fragment marked", mid, 0x4242, 0, STEERED);
	s.frag = 0x00b9; /* offset 185*8 = 1480 */
	ct_expect_frag(&rd, false, "frag v4: last fragment marked", s, 0x4242, 0, STEERED);
	ct_expect_frag(&rd, false, "frag v4: unknown id passed", s, 0x4243, 0, STEER_C_FRAGMENT);
	o = s;
	o.src = "1.2.3.5";
	ct_expect_frag(&rd, false, "frag v4: same id from another source passed", o, 0x4242, 0, STEER_C_FRAGMENT);
	o = s;
	o.proto = IPPROTO_TCP;
	ct_expect_frag(&rd, false, "frag v4: same id, another protocol passed", o, 0x4242, 0, STEER_C_FRAGMENT);
	ct_expect_frag(&rd, true, "return: unknown later fragment counted", s, 0x4244, 0, STEER_C_FRAGMENT);
	o = ct_udp(4, "1.2.3.4", "8.8.8.8", 5555, 54); /* no rule */
	o.frag = 0x2000;
	ct_expect_frag(&rd, false, "frag v4: first fragment of an unsteered port not matched", o, 0x5151, 3000,
		       STEER_C_NOT_MATCHED);
	o.frag = 0x00b9;
	ct_expect_frag(&rd, false, "frag v4: its later fragment passed", o, 0x5151, 0, STEER_C_FRAGMENT);
	o = ct_udp(4, "1.2.3.4", "10.0.2.5", 5555, 53); /* bypass */
	o.frag = 0x2000;
	ct_expect_frag(&rd, false, "frag v4: first fragment to a bypassed destination", o, 0x6161, 3000,
		       STEER_C_BYPASSED);
	o = ct_udp(4, "1.2.3.4", "8.8.8.8", 5555, 53);
	o.frag = 0x2000;
	ct_expect_frag(&rd, false, "frag v4: first fragment with uh.len shorter than a udp header malformed", o,
		       0x7171, 4, STEER_C_MALFORMED);
	ct_expect_lookup(&rd, "lookup: reassembled v4 datagram selects the UDP4 listener", 4, IPPROTO_UDP, "1.2.3.4",
			 5555, "8.8.8.8", 53, udp4, STEER_C_FRAG_REDIRECTED);
	ct_expect_lookup(&rd, "lookup: a udp entry stays for the next datagram", 4, IPPROTO_UDP, "1.2.3.4", 5555,
			 "8.8.8.8", 53, udp4, STEER_C_FRAG_REDIRECTED);
	ct_expect_lookup(&rd, "lookup: the udp entry is not a tcp one", 4, IPPROTO_TCP, "1.2.3.4", 5555, "8.8.8.8",
			 53, -1, -1);

	/* a stale fragment record (older than STEER_FRAG_NS) is not honoured */
	{
		int frags = steer_bpf_map_fd(rd.b, "steer_frags");
		struct steer_frag_key k;
		uint64_t old;

		memset(&k, 0, sizeof(k));
		k.family = 4;
		k.proto = IPPROTO_UDP;
		k.id = htons(0x4242);
		inet_pton(AF_INET, "1.2.3.4", k.saddr);
		inet_pton(AF_INET, "8.8.8.8", k.daddr);
		ct_check("frag v4: record keyed by (family, proto, saddr, daddr, id)",
			 bpf_map_lookup_elem(frags, &k, &old) == 0, "no record");
		old = ct_mono_ns() - 3000000000ull;
		bpf_map_update_elem(frags, &k, &old, BPF_ANY);
		ct_expect_frag(&rd, false, "frag v4: a 3 s old record is not honoured", s, 0x4242, 0, STEER_C_FRAGMENT);
	}

	/* PROBE: nft reassembles and steers; the classifier only reports the first fragment */
	steer_bpf_set_mode(rd.b, STEER_MODE_PROBE, 0);
	s.frag = 0x2000;
	ct_expect_frag(&rd, false, "probe: first fragment probed, not marked", s, 0x4444, 3000, STEER_C_PROBED);
	s.frag = 0x00b9;
	ct_expect_frag(&rd, false, "probe: later fragment of a known datagram only counted", s, 0x4242, 0,
		       STEER_C_FRAGMENT);
	ct_destroy(&rd);
}

/* No UDP listener: the first fragment is not recorded. */
static void udp_no_listener(void)
{
	struct inst rd = ct_ready("redirect: install rules");
	struct spec s = ct_udp(4, "1.2.3.9", "8.8.8.8", 5555, 53);

	steer_bpf_set_listener(rd.b, STEER_LISTEN_UDP4, -1);
	s.frag = 0x2000;
	ct_expect_frag(&rd, false, "frag v4: no listener: fail-open pass", s, 0x4343, 3000, STEER_C_NO_LISTENER_PASS);
	s.frag = 0x00b9;
	ct_expect_frag(&rd, false, "frag v4: no listener: later fragment passed", s, 0x4343, 0, STEER_C_FRAGMENT);
	ct_destroy(&rd);
}

/* The return path: a fragmented reply to a connected (upstream) socket. */
static void udp_return(void)
{
	struct inst rd = ct_ready("redirect: install rules");
	int u = ct_udp_connected("127.0.0.1", 6010, 6011), u6 = ct_udp_connected("::1", 6010, 6011);
	struct spec r = ct_udp(4, "127.0.0.1", "127.0.0.1", 6011, 6010);

	r.frag = 0x2000;
	ct_expect_frag(&rd, true, "return: first fragment of a reply to an upstream socket marked", r, 0x3131, 3000,
		       STEERED);
	r.frag = 0x00b9;
	ct_expect_frag(&rd, true, "return: its later fragment marked", r, 0x3131, 0, STEERED);
	ct_expect_frag(&rd, true, "return: another datagram's later fragment passed", r, 0x3132, 0, STEER_C_FRAGMENT);
	r = ct_udp(4, "127.0.0.1", "127.0.0.1", 6011, 6012); /* no socket */
	r.frag = 0x2000;
	ct_expect_frag(&rd, true, "return: first fragment to no socket passed", r, 0x3133, 3000,
		       STEER_C_RETURN_PASSED);
	r = ct_udp(6, "::1", "::1", 6011, 6010);
	r.ext = EXT_FRAG;
	r.frag = 0x0001;
	ct_expect_frag(&rd, true, "return: v6 first fragment of a reply marked", r, 0xabcdef01, 1480, STEERED);
	r.frag = 0x05a8;
	ct_expect_frag(&rd, true, "return: v6 later fragment marked", r, 0xabcdef01, 0, STEERED);
	close(u);
	close(u6);
	ct_destroy(&rd);
}

/* v6 UDP (fragment header id, 32 bit). */
static void udp_v6(void)
{
	struct inst rd = ct_ready("redirect: install rules");
	struct spec s = ct_udp(6, "2001:db8:1::1", "2001:4860::8888", 5555, 53), h;

	s.ext = EXT_FRAG;
	s.frag = 0x0001;
	ct_expect_frag(&rd, false, "frag v6: first fragment marked, fragment_steered", s, 0xdeadbeef, 1480, STEERED);
	ct_check("frag v6: tuple recorded with the UDP6 slot",
		 ct_redirect_slot(&rd, 6, IPPROTO_UDP, "2001:db8:1::1", "2001:4860::8888", 5555, 53) ==
			 STEER_LISTEN_UDP6,
		 "not recorded");
	s.frag = 0x05a8; /* offset 1448/8 = 181 */
	ct_expect_frag(&rd, false, "frag v6: last fragment marked", s, 0xdeadbeef, 0, STEERED);
	ct_expect_frag(&rd, false, "frag v6: unknown id passed", s, 0xdeadbef0, 0, STEER_C_FRAGMENT);
	ct_expect_frag(&rd, false, "frag v6: same low 16 bits of the id, other high bits: passed", s, 0x0000beef, 0,
		       STEER_C_FRAGMENT);
	h = ct_udp(6, "2001:db8:1::1", "2001:4860::8888", 5556, 53);
	h.ext = EXT_HOP | EXT_FRAG;
	h.frag = 0x0001;
	ct_expect_frag(&rd, false, "frag v6: first fragment after hop-by-hop marked", h, 0x11223344, 1480, STEERED);
	h.frag = 0x05a9; /* offset 181, M */
	ct_expect_frag(&rd, false, "frag v6: its middle fragment marked", h, 0x11223344, 0, STEERED);
	ct_expect_lookup(&rd, "lookup: reassembled v6 datagram selects the UDP6 listener", 6, IPPROTO_UDP,
			 "2001:db8:1::1", 5555, "2001:4860::8888", 53, rd.lfd[STEER_LISTEN_UDP6],
			 STEER_C_FRAG_REDIRECTED);
	ct_destroy(&rd);
}

static void tcp_syn_v4(void)
{
	struct inst in = ct_ready("tcp frags: install rules");
	struct spec s = ct_syn4("192.168.1.2", "10.1.2.3", 80);

	s.sport = 41000;
	s.frag = 0x2000;
	ct_expect_frag_ev(&in, false, "tcp frag v4: first fragment of a steered syn marked, one FLOW event", s, 0x5a5a,
			  0, STEERED, 1);
	ct_check("tcp frag v4: tuple recorded in steer_redirect with the TCP4 slot",
		 ct_redirect_slot(&in, 4, IPPROTO_TCP, "192.168.1.2", "10.1.2.3", 41000, 80) == STEER_LISTEN_TCP4,
		 "not recorded");
	s.frag = 0x20b9;
	ct_expect_frag_ev(&in, false, "tcp frag v4: middle fragment marked, no event", s, 0x5a5a, 0, STEERED, 0);
	s.frag = 0x0172;
	ct_expect_frag_ev(&in, false, "tcp frag v4: last fragment marked", s, 0x5a5a, 0, STEERED, 0);
	ct_expect_frag(&in, false, "tcp frag v4: another datagram's later fragment passed", s, 0x5a5b, 0,
		       STEER_C_FRAGMENT);
	ct_expect_lookup(&in, "tcp frag v4: the reassembled syn's listener lookup gets the TCP4 listener", 4,
			 IPPROTO_TCP, "192.168.1.2", 41000, "10.1.2.3", 80, in.lfd[STEER_LISTEN_TCP4],
			 STEER_C_TW_REDIRECTED);
	ct_expect_lookup(&in, "tcp frag v4: a tcp redirect is used once", 4, IPPROTO_TCP, "192.168.1.2", 41000,
			 "10.1.2.3", 80, -1, -1);
	ct_destroy(&in);
}

static void tcp_syn_v6(void)
{
	struct inst in = ct_ready("tcp frags: install rules");
	struct spec s = ct_syn6("fd00::2", "2001:db8::10", 80);

	s.sport = 41000;
	s.ext = EXT_FRAG;
	s.frag = 0x0001;
	ct_expect_frag_ev(&in, false, "tcp frag v6: first fragment of a steered syn marked, one FLOW event", s,
			  0x7a7a7a7a, 0, STEERED, 1);
	ct_check("tcp frag v6: tuple recorded with the TCP6 slot",
		 ct_redirect_slot(&in, 6, IPPROTO_TCP, "fd00::2", "2001:db8::10", 41000, 80) == STEER_LISTEN_TCP6,
		 "not recorded");
	s.frag = 0x05a8;
	ct_expect_frag_ev(&in, false, "tcp frag v6: later fragment marked", s, 0x7a7a7a7a, 0, STEERED, 0);
	ct_expect_lookup(&in, "tcp frag v6: the reassembled syn gets the TCP6 listener", 6, IPPROTO_TCP, "fd00::2",
			 41000, "2001:db8::10", 80, in.lfd[STEER_LISTEN_TCP6], STEER_C_TW_REDIRECTED);
	ct_destroy(&in);
}

/* No rule, bypass, an ACK without a socket. */
static void tcp_not_steered(void)
{
	struct inst in = ct_ready("tcp frags: install rules");
	struct spec s = ct_syn4("192.168.1.2", "10.1.2.3", 81);

	s.sport = 41001;
	s.frag = 0x2000;
	ct_expect_frag(&in, false, "tcp frag: first fragment of an unmatched syn not matched", s, 0x5c5c, 0,
		       STEER_C_NOT_MATCHED);
	s.frag = 0x00b9;
	ct_expect_frag(&in, false, "tcp frag: its later fragment passed", s, 0x5c5c, 0, STEER_C_FRAGMENT);
	s = ct_syn4("192.168.1.2", "10.0.2.5", 80);
	s.frag = 0x2000;
	ct_expect_frag(&in, false, "tcp frag: first fragment of a bypassed syn", s, 0x5d5d, 0, STEER_C_BYPASSED);
	s = ct_tcp(4, "192.168.1.2", "10.1.2.3", 80, F_ACK);
	s.sport = 41002;
	s.frag = 0x2000;
	ct_expect_frag(&in, false, "tcp frag: first fragment of an ack without socket not matched", s, 0x5e5e, 0,
		       STEER_C_NOT_MATCHED);
	ct_destroy(&in);
}

/* Flows the proxy holds: client side and return side, marked, never assigned. */
static void tcp_established_v4(void)
{
	struct inst in = ct_ready("tcp frags: install rules");
	struct ct_pair p = ct_tcp_pair("127.0.0.1", 34700, "127.0.0.1", 8970);
	struct spec s = ct_tcp_flow(4, "127.0.0.1", 34700, "127.0.0.1", 8970, F_ACK);

	s.frag = 0x2000;
	ct_expect_frag_ev(&in, false, "tcp frag: established flow's first fragment marked, not assigned, no event", s,
			  0x6a6a, 0, STEERED, 0);
	s.frag = 0x00b9;
	ct_expect_frag_ev(&in, false, "tcp frag: established flow's later fragment marked", s, 0x6a6a, 0, STEERED, 0);
	s.frag = 0x2000;
	ct_expect_frag_ev(&in, true, "return: first fragment of a reply to an upstream tcp socket marked", s, 0x6b6b,
			  0, STEERED, 0);
	s.frag = 0x00b9;
	ct_expect_frag_ev(&in, true, "return: its later fragment marked", s, 0x6b6b, 0, STEERED, 0);
	s.frag = 0x0000;
	ct_expect_spec(&in, true, "return: the same reply unfragmented still assigned", &s, X_RET);
	s.sport = 34701; /* the listener only */
	s.frag = 0x2000;
	ct_expect_frag(&in, true, "return: first fragment for a listener only passed", s, 0x6c6c, 0,
		       STEER_C_RETURN_PASSED);
	s.frag = 0x00b9;
	ct_expect_frag(&in, true, "return: and its later fragment", s, 0x6c6c, 0, STEER_C_FRAGMENT);
	ct_pair_close(&p);
	ct_destroy(&in);
}

static void tcp_established_v6(void)
{
	struct inst in = ct_ready("tcp frags: install rules");
	struct ct_pair p = ct_tcp_pair("::1", 34700, "::1", 8971);
	struct spec s = ct_tcp_flow(6, "::1", 34700, "::1", 8971, F_ACK);

	s.ext = EXT_FRAG;
	s.frag = 0x0001;
	ct_expect_frag(&in, false, "tcp frag v6: established flow's first fragment marked", s, 0x6d6d6d6d, 0, STEERED);
	s.frag = 0x05a8;
	ct_expect_frag(&in, false, "tcp frag v6: established flow's later fragment marked", s, 0x6d6d6d6d, 0, STEERED);
	s.frag = 0x0001;
	ct_expect_frag(&in, true, "return: v6 first fragment of a reply to an upstream tcp socket marked", s,
		       0x6e6e6e6e, 0, STEERED);
	ct_pair_close(&p);
	ct_destroy(&in);
}

/*
 * A fragmented SYN that meets a TIME_WAIT socket: marked and recorded (the
 * reassembled SYN takes the TW_SYN path, whose listener lookup steer_lookup answers).
 */
static void tcp_time_wait_syn(void)
{
	struct inst in = ct_ready("tcp frags: install rules");
	struct spec s = ct_tcp_flow(4, "127.0.0.1", 9072, "127.0.0.1", 7777, F_SYN);

	ct_time_wait(9072);
	s.frag = 0x2000;
	ct_expect_frag(&in, false, "tcp frag: time-wait syn fragmented: marked, fragment_steered", s, 0x6f6f, 0,
		       STEERED);
	ct_check("tcp frag: time-wait syn recorded with the TCP4 slot",
		 ct_redirect_slot(&in, 4, IPPROTO_TCP, "127.0.0.1", "127.0.0.1", 9072, 7777) == STEER_LISTEN_TCP4,
		 "not recorded");
	ct_destroy(&in);
}

/* No listener: fail-open, nothing recorded. */
static void tcp_no_listener(void)
{
	struct inst in = ct_ready("tcp frags: install rules");
	struct spec s = ct_syn4("192.168.1.2", "10.1.2.3", 80);

	steer_bpf_set_listener(in.b, STEER_LISTEN_TCP4, -1);
	s.sport = 41003;
	s.frag = 0x2000;
	ct_expect_frag(&in, false, "tcp frag: no listener: fail-open pass", s, 0x7070, 0, STEER_C_NO_LISTENER_PASS);
	s.frag = 0x00b9;
	ct_expect_frag(&in, false, "tcp frag: no listener: later fragment passed", s, 0x7070, 0, STEER_C_FRAGMENT);
	ct_check("tcp frag: no listener: nothing recorded",
		 ct_redirect_slot(&in, 4, IPPROTO_TCP, "192.168.1.2", "10.1.2.3", 41003, 80) == -1, "recorded");
	ct_destroy(&in);
}

/* PROBE: nft's; the first fragment of a SYN probed, nothing marked or recorded. */
static void tcp_probe(void)
{
	struct inst in = ct_ready("tcp frags: install rules");
	struct spec s = ct_syn4("192.168.1.2", "10.1.2.3", 80);

	steer_bpf_set_mode(in.b, STEER_MODE_PROBE, 0);
	s.sport = 41004;
	s.frag = 0x2000;
	ct_expect_frag_ev(&in, false, "probe: tcp first fragment probed, not marked", s, 0x7171, 0, STEER_C_PROBED, 1);
	s.frag = 0x00b9;
	ct_expect_frag(&in, false, "probe: its later fragment only counted", s, 0x7171, 0, STEER_C_FRAGMENT);
	ct_check("probe: tcp first fragment not recorded",
		 ct_redirect_slot(&in, 4, IPPROTO_TCP, "192.168.1.2", "10.1.2.3", 41004, 80) == -1, "recorded");
	ct_destroy(&in);
}

CT_CASES({ "udp_v4", udp_v4 }, { "udp_no_listener", udp_no_listener }, { "udp_return", udp_return },
	 { "udp_v6", udp_v6 }, { "tcp_syn_v4", tcp_syn_v4 }, { "tcp_syn_v6", tcp_syn_v6 },
	 { "tcp_not_steered", tcp_not_steered }, { "tcp_established_v4", tcp_established_v4 },
	 { "tcp_established_v6", tcp_established_v6 }, { "tcp_time_wait_syn", tcp_time_wait_syn },
	 { "tcp_no_listener", tcp_no_listener }, { "tcp_probe", tcp_probe })
