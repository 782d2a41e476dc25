// SPDX-License-Identifier: GPL-2.0-only
/* Test frames of one TCP flow and their expected translation (tcp_segments.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "tests/lib/tcp_segments.h"

void seg_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

void seg_put32(uint8_t *p, uint32_t v)
{
	seg_put16(p, v >> 16);
	seg_put16(p + 2, v);
}

uint32_t seg_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void seg_addrs(const struct seg *s, uint8_t *src, uint8_t *dst)
{
	int af = s->family == 4 ? AF_INET : AF_INET6;
	const char *c = s->family == 4 ? CLI4 : CLI6, *v = s->family == 4 ? SRV4 : SRV6;

	inet_pton(af, s->reverse ? v : c, src);
	inet_pton(af, s->reverse ? c : v, dst);
}

/* RFC 1071 over the pseudo header and the segment: 0xffff when the checksum field is right. */
uint16_t seg_l4_sum(int family, const uint8_t *l3, const uint8_t *l4, size_t l4len)
{
	uint32_t sum = 0;
	size_t alen = family == 4 ? 4 : 16, i;
	const uint8_t *sa = l3 + (family == 4 ? 12 : 8);

	for (i = 0; i < 2 * alen; i += 2)
		sum += sa[i] << 8 | sa[i + 1];
	sum += IPPROTO_TCP + (uint32_t)l4len;
	for (i = 0; i + 1 < l4len; i += 2)
		sum += l4[i] << 8 | l4[i + 1];
	if (l4len & 1)
		sum += l4[l4len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

size_t seg_l3_len(int family)
{
	return family == 4 ? 20 : 40;
}

/* Ethernet, IP, TCP with s's options and payload, the checksum right. */
size_t seg_build(const struct seg *s, uint8_t *f)
{
	size_t l3 = 14, l4 = l3 + seg_l3_len(s->family), hl = 20 + s->optlen, seglen = hl + s->payload;
	uint8_t *ip = f + l3, *th = f + l4;

	memset(f, 0, SEG_FRAME_MAX);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	if (s->family == 4) {
		seg_put16(f + 12, 0x0800);
		ip[0] = 0x45;
		seg_put16(ip + 2, 20 + seglen);
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		seg_addrs(s, ip + 12, ip + 16);
	} else {
		seg_put16(f + 12, 0x86dd);
		ip[0] = 0x60;
		seg_put16(ip + 4, seglen);
		ip[6] = IPPROTO_TCP;
		ip[7] = 64;
		seg_addrs(s, ip + 8, ip + 24);
	}
	seg_put16(th, s->reverse ? 80 : 40112);
	seg_put16(th + 2, s->reverse ? 40112 : 80);
	seg_put32(th + 4, s->seq);
	seg_put32(th + 8, s->ack);
	th[12] = hl / 4 << 4;
	th[13] = s->flags;
	seg_put16(th + 14, s->win);
	memcpy(th + 20, s->opt, s->optlen);
	for (size_t i = 0; i < s->payload; i++)
		th[hl + i] = (uint8_t)(i * 7 + 3);
	seg_put16(th + 16, ~seg_l4_sum(s->family, ip, th, seglen));
	return l4 + seglen + s->trailer;
}

void seg_opt_ts(uint8_t *o, uint32_t tsval, uint32_t tsecr)
{
	o[0] = 8;
	o[1] = 10;
	seg_put32(o + 2, tsval);
	seg_put32(o + 6, tsecr);
}

/* NOP NOP TS: the layout Linux sends. */
void seg_ts(struct seg *s, uint32_t tsval, uint32_t tsecr)
{
	s->opt[s->optlen] = s->opt[s->optlen + 1] = 1;
	seg_opt_ts(s->opt + s->optlen + 2, tsval, tsecr);
	s->optlen += 12;
}

/* NOP NOP SACK with n blocks (edges in pairs). */
void seg_sack(struct seg *s, const uint32_t *edges, int n)
{
	uint8_t *o = s->opt + s->optlen;

	o[0] = o[1] = 1;
	o[2] = 5;
	o[3] = 2 + 8 * n;
	for (int i = 0; i < 2 * n; i++)
		seg_put32(o + 4 + 4 * i, edges[i]);
	s->optlen += 4 + 8 * n;
}

struct steer_flow_key seg_key(const struct seg *s)
{
	struct steer_flow_key k;

	memset(&k, 0, sizeof(k));
	k.family = s->family;
	k.proto = IPPROTO_TCP;
	k.sport = s->reverse ? 80 : 40112;
	k.dport = s->reverse ? 40112 : 80;
	seg_addrs(s, k.saddr, k.daddr);
	return k;
}

/* Where the TCP header of a frame built by seg_build() starts. */
const uint8_t *seg_tcp(const struct seg *s, const uint8_t *f)
{
	return f + 14 + seg_l3_len(s->family);
}

/* The segment's checksum, over the length its IP header gives (not the frame's: padding). */
int seg_csum_ok(const struct seg *s, const uint8_t *f)
{
	const uint8_t *ip = f + 14;
	size_t seglen = s->family == 4 ? (size_t)(ip[2] << 8 | ip[3]) - 20 : (size_t)(ip[4] << 8 | ip[5]);

	return seg_l4_sum(s->family, ip, seg_tcp(s, f), seglen) == 0xffff;
}

/* What the translation must give, computed here (mod 2^32, window rounded down and clamped). */
uint16_t seg_window(uint16_t win, int in, int out)
{
	uint64_t w = (uint64_t)win << in >> out;

	return w > 0xffff ? 0xffff : (uint16_t)w;
}

static void seg_want_opts(struct seg *w, const struct steer_offload_dir *d)
{
	for (size_t i = 0; i < w->optlen;) {
		uint8_t kind = w->opt[i];

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (kind == 8) {
			seg_put32(w->opt + i + 2, seg_get32(w->opt + i + 2) + d->tsval_delta);
			if (w->flags & 0x10)
				seg_put32(w->opt + i + 6, seg_get32(w->opt + i + 6) + d->tsecr_delta);
		} else if (kind == 5) {
			for (int e = 0; e < (w->opt[i + 1] - 2) / 4; e++)
				seg_put32(w->opt + i + 2 + 4 * e, seg_get32(w->opt + i + 2 + 4 * e) + d->ack_delta);
		}
		i += w->opt[i + 1];
	}
}

struct seg seg_translated(const struct seg *s, const struct steer_offload_dir *d)
{
	struct seg w = *s;

	w.seq = s->seq + d->seq_delta;
	if (s->flags & 0x10)
		w.ack = s->ack + d->ack_delta;
	w.win = seg_window(s->win, d->wscale_in, d->wscale_out);
	seg_want_opts(&w, d);
	return w;
}