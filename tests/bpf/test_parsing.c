// SPDX-License-Identifier: GPL-2.0-only
/* Classifier parsing: IP options, IPv6 extension headers, fragments, VLAN tags, non-IP, malformed input. */
#include <netinet/in.h>
#include <string.h>

#include "tests/lib/classifier_harness.h"

static void ipv4_options(void)
{
	struct inst in = ct_ready("install rules A");
	struct spec s = ct_syn4("192.168.1.2", "10.1.2.3", 80);

	s.ipopt = 8;
	ct_expect_spec(&in, false, "v4 with options steered", &s, X_STEER);
	s.ipopt = 40;
	ct_expect_spec(&in, false, "v4 with 40 bytes of options steered", &s, X_STEER);
	s.ipopt = 0;
	s.frag = 0x4000; /* DF */
	ct_expect_spec(&in, false, "v4 DF not a fragment", &s, X_STEER);
	ct_destroy(&in);
}

static void ipv6_extension_headers(void)
{
	struct inst in = ct_ready("install rules A");
	struct spec s = ct_syn6("fd00::2", "2001:db8::10", 80);
	uint8_t buf[CT_PKT_MAX], tmp[CT_PKT_MAX];
	size_t len, l3o = 14, hdrs = 7;

	s.ext = EXT_HOP | EXT_DST | EXT_RT;
	ct_expect_spec(&in, false, "v6 hop-by-hop + dest-opts + routing steered", &s, X_STEER);
	s.ext = EXT_HOP | EXT_DST | EXT_RT | EXT_AH;
	ct_expect_spec(&in, false, "v6 hop + dst + rt + AH steered", &s, X_STEER);

	/* more extension headers than the parser walks: 7 dest-opts headers (8 bytes each) */
	s.ext = 0;
	len = ct_build(&s, buf);
	memcpy(tmp, buf, len);
	memcpy(buf + l3o + 40 + hdrs * 8, tmp + l3o + 40, len - l3o - 40);
	for (size_t i = 0; i < hdrs; i++) {
		uint8_t *h = buf + l3o + 40 + i * 8;

		memset(h, 0, 8);
		h[0] = i + 1 < hdrs ? 60 : IPPROTO_TCP;
		h[2] = 1;
		h[3] = 4;
	}
	buf[l3o + 6] = 60;
	ct_put16(buf + l3o + 4, 20 + hdrs * 8);
	ct_expect(&in, false, "v6 with 7 extension headers (beyond the walk)", buf, len + hdrs * 8, STEER_C_NOT_IP);
	ct_destroy(&in);
}

/* A fragmented SYN is marked, not assigned (reassembly drops the socket): see test_fragments. */
static void ipv6_fragment_headers(void)
{
	struct inst in = ct_ready("install rules A");
	struct spec s = ct_syn6("fd00::2", "2001:db8::10", 80);

	s.ext = EXT_FRAG;
	s.frag = 0x0001; /* offset 0, M */
	s.sport = 40100;
	ct_expect_spec(&in, false, "v6 first fragment of a syn marked (fragment_steered)", &s,
		       X_MARK + STEER_C_FRAGMENT_STEERED);
	s.src = "fd00::3"; /* another datagram: not in steer_frags */
	s.frag = 0x0008; /* offset 1 */
	ct_expect_spec(&in, false, "v6 non-first fragment", &s, STEER_C_FRAGMENT);
	s.ext = EXT_HOP | EXT_FRAG;
	s.frag = 0x0100;
	ct_expect_spec(&in, false, "v6 non-first fragment after hop-by-hop", &s, STEER_C_FRAGMENT);
	ct_destroy(&in);
}

static void ipv4_fragments(void)
{
	struct inst in = ct_ready("install rules A");
	struct spec s = ct_syn4("192.168.1.2", "10.1.2.3", 80);

	s.frag = 0x2000; /* MF, offset 0 */
	s.sport = 40100;
	ct_expect_spec(&in, false, "v4 first fragment (MF) of a syn marked (fragment_steered)", &s,
		       X_MARK + STEER_C_FRAGMENT_STEERED);
	s.src = "192.168.1.3"; /* another datagram: not in steer_frags */
	s.frag = 0x0010;
	ct_expect_spec(&in, false, "v4 non-first fragment", &s, STEER_C_FRAGMENT);
	s.frag = 0x2010;
	ct_expect_spec(&in, false, "v4 middle fragment", &s, STEER_C_FRAGMENT);
	ct_destroy(&in);
}

static void vlan(void)
{
	struct inst in = ct_ready("install rules A");
	struct spec s = ct_syn4("192.168.1.2", "10.1.2.3", 80);

	s.vlan = 1;
	ct_expect_spec(&in, false, "v4 vlan-tagged steered", &s, X_STEER);
	s = ct_syn6("fd00::2", "2001:db8::10", 80);
	s.vlan = 1;
	ct_expect_spec(&in, false, "v6 vlan-tagged steered", &s, X_STEER);
	s = ct_syn4("192.168.1.2", "10.1.2.3", 80);
	s.qinq = 1;
	ct_expect_spec(&in, false, "two vlan tags: not parsed", &s, STEER_C_NOT_IP);
	ct_destroy(&in);
}

static void not_ip(void)
{
	struct inst in = ct_ready("install rules A");
	uint8_t buf[64] = { 0 };
	struct spec s;

	buf[12] = 0x08;
	buf[13] = 0x06; /* ARP */
	ct_expect(&in, false, "arp", buf, 42, STEER_C_NOT_IP);
	buf[12] = 0x81;
	buf[13] = 0x00;
	buf[16] = 0x08;
	buf[17] = 0x06;
	ct_expect(&in, false, "vlan-tagged arp", buf, 46, STEER_C_NOT_IP);
	s = ct_syn4("192.168.1.2", "10.1.2.3", 80);
	s.proto = IPPROTO_ICMP;
	ct_expect_spec(&in, false, "icmp", &s, STEER_C_NOT_IP);
	s = ct_syn6("fd00::2", "2001:db8::10", 80);
	s.proto = 58;
	ct_expect_spec(&in, false, "icmpv6", &s, STEER_C_NOT_IP);
	s.proto = 50;
	s.ext = EXT_HOP;
	ct_expect_spec(&in, false, "v6 esp after hop-by-hop", &s, STEER_C_NOT_IP);
	ct_destroy(&in);
}

/* A built frame with one field patched (at 0: none), cut to len bytes (0: whole). */
struct cut {
	const char *name;
	const struct spec *s;
	size_t at;
	int width; /* bytes patched: 1 or 2 */
	uint16_t val;
	size_t len;
	int want;
};

/*
 * Truncation and invalid headers, at every layer. The kernel's test-run
 * refuses an untagged IP packet shorter than its IP header (EINVAL) before
 * the program runs; the VLAN-tagged variants get through to the parser. A
 * malformed packet is never dropped, not even fail-closed: see
 * test_fail_closed.
 */
static void truncated_and_invalid(void)
{
	struct inst in = ct_ready("install rules A");
	struct spec t4 = ct_syn4("192.168.1.2", "10.1.2.3", 80), t4v = t4, t4o = t4;
	struct spec t6 = ct_syn6("fd00::2", "2001:db8::10", 80), t6v = t6, t6x = t6;
	struct spec u4 = ct_udp(4, "1.2.3.4", "8.8.8.8", 5555, 53);
	struct spec u6 = ct_udp(6, "fd00::2", "2001:4860::8888", 5555, 53);
	const int M = STEER_C_MALFORMED;
	uint8_t buf[CT_PKT_MAX] = { 0 };

	t4v.vlan = t6v.vlan = 1;
	t4o.ipopt = 12;
	t6x.ext = EXT_HOP | EXT_DST; /* hop 8 bytes, dest-opts 16 */
	const struct cut cuts[] = {
		{ "truncated vlan tag", &t4v, 0, 0, 0, 16, M },
		{ "truncated ipv4 header (untagged)", &t4, 0, 0, 0, 14 + 12, X_EINVAL },
		{ "ethernet only (ipv4 type)", &t4, 0, 0, 0, 14, X_EINVAL },
		{ "truncated ipv4 header (vlan)", &t4v, 0, 0, 0, 18 + 12, M },
		{ "vlan header only (ipv4 type)", &t4v, 0, 0, 0, 18, M },
		{ "truncated ipv6 header (vlan)", &t6v, 0, 0, 0, 18 + 30, M },
		{ "ipv4 ihl < 5", &t4, 14, 1, 0x44, 0, M },
		{ "ipv4 wrong version", &t4, 14, 1, 0x55, 0, M },
		{ "ipv4 total length < header", &t4, 16, 2, 19, 0, M },
		{ "ipv4 total length > packet", &t4, 16, 2, 20 + 20 + 1, 0, M },
		{ "truncated ipv4 options", &t4o, 0, 0, 0, 14 + 24, M },
		{ "ipv4 options beyond total length", &t4o, 16, 2, 24, 14 + 24, M }, /* consistent length, options cut */
		{ "truncated tcp (v4)", &t4, 16, 2, 20 + 10, 14 + 30, M },
		{ "tcp data offset < 5", &t4, 14 + 20 + 12, 1, 4 << 4, 0, M },
		{ "tcp data offset beyond packet", &t4, 14 + 20 + 12, 1, 6 << 4, 0, M },
		{ "truncated udp (v4)", &u4, 16, 2, 20 + 4, 14 + 24, M },
		{ "udp length < 8", &u4, 14 + 20 + 4, 2, 4, 0, M },
		{ "truncated ipv6 header (untagged)", &t6, 0, 0, 0, 14 + 30, X_EINVAL },
		{ "ipv6 payload length > packet", &t6, 18, 2, 21, 0, M },
		{ "truncated tcp (v6)", &t6, 18, 2, 10, 14 + 50, M },
		/* cut inside the dest-opts header */
		{ "truncated ipv6 extension header", &t6x, 18, 2, 8 + 10, 14 + 40 + 8 + 10, M },
		{ "ipv6 extension header cut at its length byte", &t6x, 18, 2, 8 + 1, 14 + 40 + 9, M },
		/* dest-opts claims 248 bytes */
		{ "ipv6 extension header longer than payload", &t6x, 14 + 40 + 8 + 1, 1, 30, 0, M },
		{ "truncated udp (v6)", &u6, 18, 2, 6, 14 + 46, M },
	};

	buf[12] = 0x08;
	ct_expect(&in, false, "truncated ethernet (10 bytes)", buf, 10, X_EINVAL);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		const struct cut *c = &cuts[i];
		size_t len = ct_build(c->s, buf);

		if (c->width == 2)
			ct_put16(buf + c->at, c->val);
		else if (c->width == 1)
			buf[c->at] = c->val;
		ct_expect(&in, false, c->name, buf, c->len ? c->len : len, c->want);
	}
	ct_destroy(&in);
}

CT_CASES({ "ipv4_options", ipv4_options }, { "ipv6_extension_headers", ipv6_extension_headers },
	 { "ipv6_fragment_headers", ipv6_fragment_headers }, { "ipv4_fragments", ipv4_fragments },
	 { "vlan", vlan }, { "not_ip", not_ip }, { "truncated_and_invalid", truncated_and_invalid })
