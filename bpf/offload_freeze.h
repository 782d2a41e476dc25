/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A frozen flow's data segment (docs/offload.md, "Streams that never
 * pause"): its payload must not reach the proxy's socket, which has to go
 * quiet for the handoff, but its acknowledgement must. In a request and
 * response exchange (HTTP keep-alive) every ACK rides on the next request
 * or response: with the whole segment dropped, each socket kept waiting
 * for the ACK of what it had sent, and no such flow was ever quiet.
 */
#ifndef STEER_BPF_OFFLOAD_FREEZE_H
#define STEER_BPF_OFFLOAD_FREEZE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/offload.h"
#include "bpf/parse.h"

#define OFL_TCP_FLAGS_BYTE 13
#define OFL_TCP_CSUM 16
#define OFL_FLAG_FIN 0x01
#define OFL_FLAG_PSH 0x08
#define OFL_FLAG_URG 0x20

/* The one's complement sum s folded to 16 bits and inverted: a checksum field. */
static __always_inline __u16 ofl_csum_fold(__u64 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/*
 * The checksum of the header s->hdr[0..hl) as a whole segment (no payload),
 * its pseudo header made from p's addresses: -1 if a helper failed. The
 * field is computed whole, not adjusted: the payload's sum is not known here.
 */
static __always_inline long ofl_hdr_csum(const struct pkt *p, struct ofl_scratch *s, __u64 hl)
{
	struct {
		__be32 saddr[4];
		__be32 daddr[4];
		__be32 len;
		__u8 zero[3];
		__u8 proto;
	} ph6 = {};
	struct {
		__be32 saddr;
		__be32 daddr;
		__u8 zero;
		__u8 proto;
		__be16 len;
	} ph4 = {};
	__s64 sum;

	if (p->family == 4) {
		ph4.saddr = p->t.ipv4.saddr;
		ph4.daddr = p->t.ipv4.daddr;
		ph4.proto = IPPROTO_TCP;
		ph4.len = bpf_htons((__u16)hl);
		sum = bpf_csum_diff(NULL, 0, (__be32 *)&ph4, sizeof(ph4), 0);
	} else {
		__builtin_memcpy(ph6.saddr, p->t.ipv6.saddr, 16);
		__builtin_memcpy(ph6.daddr, p->t.ipv6.daddr, 16);
		ph6.len = bpf_htonl((__u32)hl);
		ph6.proto = IPPROTO_TCP;
		sum = bpf_csum_diff(NULL, 0, (__be32 *)&ph6, sizeof(ph6), 0);
	}
	if (sum < 0)
		return -1;
	s->hdr[OFL_TCP_CSUM] = 0;
	s->hdr[OFL_TCP_CSUM + 1] = 0;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)s->hdr, hl, (__wsum)sum);
	if (sum < 0)
		return -1;
	return ofl_csum_fold((__u64)(__u32)sum);
}

/*
 * Cut p's payload off: a pure ACK at the same sequence number, FIN, PSH and
 * URG cleared (the sender sends the data, and the FIN after it, again: after
 * the handoff, translated). The IP length follows; the TCP checksum is made
 * anew, whole: the kernel's trim turns a CHECKSUM_COMPLETE skb into
 * CHECKSUM_NONE, so TCP checks it in full (a CHECKSUM_PARTIAL one stays
 * PARTIAL and is trusted). 0, or -1: the caller drops the segment, as a
 * freeze did before (its ACK then comes with the next one).
 */
static __always_inline int ofl_ack_only(struct __sk_buff *skb, struct pkt *p, struct ofl_scratch *s)
{
	__u32 off = p->l4_off, l3 = p->l3_off;
	__be16 old_len, new_len;
	__u64 hl;
	long csum;
	__u16 c;

	if (!(p->tcp_flags & TCPF_ACK) || ofl_load_hdr(skb, off, s, &hl) != STEER_OFL_REWRITTEN)
		return -1;
	if (bpf_skb_change_tail(skb, off + hl, 0))
		return -1;
	/* URG too: its pointer would mark data the socket never gets */
	s->hdr[OFL_TCP_FLAGS_BYTE] &= ~(OFL_FLAG_FIN | OFL_FLAG_PSH | OFL_FLAG_URG);
	if (p->family == 4) {
		if (bpf_skb_load_bytes(skb, l3 + 2, &old_len, 2))
			return -1;
		new_len = bpf_htons((__u16)(off - l3 + hl));
		if (bpf_skb_store_bytes(skb, l3 + 2, &new_len, 2, 0) ||
		    bpf_l3_csum_replace(skb, l3 + 10, old_len, new_len, 2))
			return -1;
	} else {
		/* the extension headers between l3 + 40 and off stay */
		new_len = bpf_htons((__u16)(off - l3 - 40 + hl));
		if (bpf_skb_store_bytes(skb, l3 + 4, &new_len, 2, BPF_F_RECOMPUTE_CSUM))
			return -1;
	}
	csum = ofl_hdr_csum(p, s, hl);
	if (csum < 0)
		return -1;
	c = (__u16)csum;
	s->hdr[OFL_TCP_CSUM] = 0;
	s->hdr[OFL_TCP_CSUM + 1] = 0;
	__builtin_memcpy(&s->hdr[OFL_TCP_CSUM], &c, 2);
	if (bpf_skb_store_bytes(skb, off, s->hdr, hl, BPF_F_RECOMPUTE_CSUM))
		return -1;
	p->tcp_flags &= ~TCPF_FIN;
	p->l4_end = off + hl;
	return 0;
}

#endif
