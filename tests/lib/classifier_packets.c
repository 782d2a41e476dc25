// SPDX-License-Identifier: GPL-2.0-only
#include "tests/lib/classifier_packets.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct spec ct_tcp(int family, const char *src, const char *dst, uint16_t dport, uint8_t flags)
{
	return (struct spec){ .family = family, .proto = IPPROTO_TCP, .src = src, .dst = dst, .sport = 40000,
			      .dport = dport, .flags = flags };
}

struct spec ct_syn4(const char *src, const char *dst, uint16_t dport)
{
	return ct_tcp(4, src, dst, dport, F_SYN);
}

struct spec ct_syn6(const char *src, const char *dst, uint16_t dport)
{
	return ct_tcp(6, src, dst, dport, F_SYN);
}

struct spec ct_tcp_flow(int family, const char *src, uint16_t sport, const char *dst, uint16_t dport,
			uint8_t flags)
{
	struct spec s = ct_tcp(family, src, dst, dport, flags);

	s.sport = sport;
	return s;
}

struct spec ct_udp(int family, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	return (struct spec){ .family = family, .proto = IPPROTO_UDP, .src = src, .dst = dst, .sport = sport,
			      .dport = dport };
}

void ct_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* Ethernet header (and tags) up to the EtherType; returns the offset of the IP header. */
static size_t build_l2(uint8_t *buf, int family, int vlan, int qinq)
{
	size_t off = 12;

	memset(buf, 0, CT_PKT_MAX);
	memcpy(buf, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	if (vlan || qinq) {
		ct_put16(buf + off, qinq ? 0x88a8 : 0x8100);
		ct_put16(buf + off + 2, 100);
		off += 4;
	}
	if (qinq) {
		ct_put16(buf + off, 0x8100);
		ct_put16(buf + off + 2, 200);
		off += 4;
	}
	ct_put16(buf + off, family == 4 ? 0x0800 : 0x86dd);
	return off + 2;
}

/* IPv6 extension headers after the fixed header; returns the offset of the L4 header. */
static size_t build_ext6(const struct spec *s, uint8_t *buf, size_t l3)
{
	size_t o = l3 + 40;
	uint8_t *prev_nh = buf + l3 + 6;

	if (s->ext & EXT_HOP) {
		*prev_nh = 0;
		prev_nh = buf + o;
		buf[o + 1] = 0; /* 8 bytes */
		buf[o + 2] = 1; /* PadN */
		buf[o + 3] = 4;
		o += 8;
	}
	if (s->ext & EXT_DST) {
		*prev_nh = 60;
		prev_nh = buf + o;
		buf[o + 1] = 1; /* 16 bytes */
		buf[o + 2] = 1;
		buf[o + 3] = 12;
		o += 16;
	}
	if (s->ext & EXT_RT) {
		*prev_nh = 43;
		prev_nh = buf + o;
		buf[o + 1] = 2; /* 24 bytes */
		buf[o + 2] = 4; /* SRH */
		buf[o + 3] = 0; /* segments left */
		o += 24;
	}
	if (s->ext & EXT_FRAG) {
		*prev_nh = 44;
		prev_nh = buf + o;
		ct_put16(buf + o + 2, s->frag);
		o += 8;
	}
	if (s->ext & EXT_AH) {
		*prev_nh = 51;
		prev_nh = buf + o;
		buf[o + 1] = 4; /* (4 + 2) * 4 = 24 bytes */
		o += 24;
	}
	*prev_nh = s->proto;
	return o;
}

size_t ct_build(const struct spec *s, uint8_t *buf)
{
	size_t l3 = build_l2(buf, s->family, s->vlan, s->qinq), l4, l4len;

	l4len = s->proto == IPPROTO_TCP ? 20 : s->proto == IPPROTO_UDP ? 12 : 8;
	if (s->family == 4) {
		uint8_t *ip = buf + l3;
		size_t hl = 20 + s->ipopt;

		ip[0] = 0x40 | (hl / 4);
		ct_put16(ip + 2, hl + l4len);
		ct_put16(ip + 4, 0x1234);
		ct_put16(ip + 6, s->frag);
		ip[8] = 64;
		ip[9] = s->proto;
		inet_pton(AF_INET, s->src, ip + 12);
		inet_pton(AF_INET, s->dst, ip + 16);
		for (int i = 0; i < s->ipopt; i++)
			ip[20 + i] = 1; /* NOP */
		l4 = l3 + hl;
	} else {
		uint8_t *ip = buf + l3;

		ip[0] = 0x60;
		ip[7] = 64;
		inet_pton(AF_INET6, s->src, ip + 8);
		inet_pton(AF_INET6, s->dst, ip + 24);
		l4 = build_ext6(s, buf, l3);
		ct_put16(ip + 4, (l4 - l3 - 40) + l4len);
	}

	if (s->proto == IPPROTO_TCP) {
		ct_put16(buf + l4, s->sport);
		ct_put16(buf + l4 + 2, s->dport);
		buf[l4 + 12] = 5 << 4;
		buf[l4 + 13] = s->flags;
		ct_put16(buf + l4 + 14, 65535);
	} else if (s->proto == IPPROTO_UDP) {
		ct_put16(buf + l4, s->sport);
		ct_put16(buf + l4 + 2, s->dport);
		ct_put16(buf + l4 + 4, l4len);
		memcpy(buf + l4 + 8, "ping", 4);
	} else {
		buf[l4] = 8; /* ICMP echo request-ish */
	}
	return l4 + l4len;
}

size_t ct_l3_off(const struct spec *s)
{
	return 14 + (s->vlan ? 4 : 0) + (s->qinq ? 8 : 0);
}

void ct_patch_frag(uint8_t *buf, const struct spec *s, uint32_t id, uint16_t ulen)
{
	size_t l3 = ct_l3_off(s);

	if (s->family == 4) {
		ct_put16(buf + l3 + 4, id);
	} else {
		size_t fo = l3 + 40 + ((s->ext & EXT_HOP) ? 8 : 0) + ((s->ext & EXT_DST) ? 16 : 0) +
			    ((s->ext & EXT_RT) ? 24 : 0);

		buf[fo + 4] = id >> 24;
		buf[fo + 5] = id >> 16;
		buf[fo + 6] = id >> 8;
		buf[fo + 7] = id;
	}
	if (ulen) {
		size_t l4 = s->family == 4 ? l3 + 20 : l3 + 40 + 8 + ((s->ext & EXT_HOP) ? 8 : 0);

		ct_put16(buf + l4 + 4, ulen);
	}
}

size_t ct_build_icmp(const struct icmp_spec *s, uint8_t *buf)
{
	int v4 = s->family == 4;
	size_t l3 = build_l2(buf, s->family, s->vlan, 0), ic, in, l4, end;

	ic = l3 + (v4 ? 20 : 40);
	in = ic + 8;
	if (v4) {
		buf[l3] = 0x45;
		ct_put16(buf + l3 + 6, s->outer_frag);
		buf[l3 + 8] = 64;
		buf[l3 + 9] = IPPROTO_ICMP;
		inet_pton(AF_INET, "192.0.2.1", buf + l3 + 12);
		inet_pton(AF_INET, s->src, buf + l3 + 16);
		buf[in] = 0x45;
		ct_put16(buf + in + 2, 1500);
		ct_put16(buf + in + 6, s->inner_frag);
		buf[in + 8] = 63;
		buf[in + 9] = s->proto;
		inet_pton(AF_INET, s->src, buf + in + 12);
		inet_pton(AF_INET, s->dst, buf + in + 16);
		l4 = in + 20;
	} else {
		buf[l3] = 0x60;
		buf[l3 + 6] = 58;
		buf[l3 + 7] = 64;
		inet_pton(AF_INET6, "2001:db8:ffff::1", buf + l3 + 8);
		inet_pton(AF_INET6, s->src, buf + l3 + 24);
		buf[in] = 0x60;
		ct_put16(buf + in + 4, 1460);
		buf[in + 6] = s->inner_fraghdr ? 44 : s->proto;
		buf[in + 7] = 63;
		inet_pton(AF_INET6, s->src, buf + in + 8);
		inet_pton(AF_INET6, s->dst, buf + in + 24);
		l4 = in + 40;
		if (s->inner_fraghdr) {
			buf[l4] = s->proto;
			ct_put16(buf + l4 + 2, s->inner_frag);
			l4 += 8;
		}
	}
	buf[ic] = s->type;
	buf[ic + 1] = s->code;
	buf[ic + 4] = s->info >> 24;
	buf[ic + 5] = s->info >> 16;
	buf[ic + 6] = s->info >> 8;
	buf[ic + 7] = s->info;
	ct_put16(buf + l4, s->sport);
	ct_put16(buf + l4 + 2, s->dport);
	buf[l4 + 7] = 1; /* sequence number / udp checksum: anything */
	end = l4 + 8;
	if (s->cut_ip)
		end = in + s->cut_ip;
	else if (s->cut_l4)
		end = l4 + s->cut_l4;
	if (v4)
		ct_put16(buf + l3 + 2, end - l3);
	else
		ct_put16(buf + l3 + 4, end - l3 - 40);
	return end;
}

struct prefix ct_pfx(const char *s)
{
	struct prefix p;
	char buf[64];
	char *slash;

	memset(&p, 0, sizeof(p));
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	p.family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	inet_pton(p.family, buf, p.addr);
	p.len = slash ? atoi(slash + 1) : p.family == AF_INET6 ? 128 : 32;
	return p;
}
