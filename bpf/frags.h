/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IP fragments of steered flows. Reassembly orphans the skb, so a socket
 * assigned to a fragment would be dropped: every fragment of a steered
 * datagram is only marked for local delivery instead. The first one records
 * the datagram in steer_frags, by which the later ones are recognized.
 */
#ifndef STEER_BPF_FRAGS_H
#define STEER_BPF_FRAGS_H

#include "bpf/keys.h"
#include "bpf/verdict.h"

/* This first fragment's datagram is steered: its later fragments follow it. */
static __always_inline void frag_record(const struct pkt *p)
{
	struct steer_frag_key fk;
	__u64 now = bpf_ktime_get_ns();

	frag_key_make(&fk, p);
	bpf_map_update_elem(&steer_frags, &fk, &now, BPF_ANY);
}

/*
 * The first fragment of a TCP segment for a socket the proxy holds (client
 * side: an established flow; return side: a reply to an upstream socket):
 * reassembly orphans the skb, so an assigned socket would be dropped. All
 * fragments are only marked (the later ones through steer_frags); the
 * reassembled segment finds the socket by the kernel's own lookup.
 */
static __always_inline void frag_held(struct __sk_buff *skb, const struct pkt *p)
{
	frag_record(p);
	skb->mark |= steer_mark;
	count(STEER_C_FRAGMENT_STEERED);
}

/*
 * A fragment after the first: marked for local delivery when it belongs to a
 * datagram whose first fragment was steered (steer_frags, within
 * STEER_FRAG_NS); else passed. A later fragment that arrives before its first
 * (reordering, rare on a LAN) is passed and counted as STEER_C_FRAGMENT too:
 * its datagram is lost (the rest is reassembled locally, this one is
 * forwarded). PROBE: nft steers the reassembled datagram, nothing to do.
 */
static __always_inline int frag_rest(struct __sk_buff *skb, const struct pkt *p, __u32 mode)
{
	struct steer_frag_key k;
	__u64 *ts;

	if (mode != STEER_MODE_PROBE) {
		frag_key_make(&k, p);
		ts = bpf_map_lookup_elem(&steer_frags, &k);
		if (ts && (__s64)(bpf_ktime_get_ns() - *ts) < (__s64)STEER_FRAG_NS) {
			skb->mark |= steer_mark;
			count(STEER_C_FRAGMENT_STEERED);
			return STEER_PASS;
		}
	}
	count(STEER_C_FRAGMENT);
	return STEER_PASS;
}


#endif
