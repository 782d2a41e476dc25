/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * An offloaded flow's segments in the TC programs (docs/offload.md): found
 * by the packet's own tuple in steer_offload, translated by ofl_rewrite
 * (bpf/offload.h), then forwarded here rather than by the stack, so that
 * netfilter never sees them: conntrack's entry for the tuple holds the
 * windows of the two connections the proxy had, and a rewritten segment
 * outside them would be "ct state invalid", which common firewalls drop.
 */
#ifndef STEER_BPF_OFFLOAD_PATH_H
#define STEER_BPF_OFFLOAD_PATH_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/keys.h"
#include "bpf/maps.h"
#include "bpf/offload.h"
#include "bpf/offload_freeze.h"
#include "bpf/parse.h"
#include "bpf/verdict.h"

#define OFL_AF_INET 2
#define OFL_AF_INET6 10

/* The direction's opposite entry: the tuple with addresses and ports swapped. */
static __always_inline void ofl_reverse_key(struct steer_flow_key *r, const struct steer_flow_key *k)
{
	__builtin_memset(r, 0, sizeof(*r));
	r->family = k->family;
	r->proto = k->proto;
	r->sport = k->dport;
	r->dport = k->sport;
	__builtin_memcpy(r->saddr, k->daddr, 16);
	__builtin_memcpy(r->daddr, k->saddr, 16);
}

/*
 * Forward the translated segment as the stack would: the FIB's next hop,
 * TTL / hop limit decremented, out of the FIB's interface. The stack keeps
 * what needs more than a route: a TTL about to expire (its ICMP), a VLAN
 * tag (bpf_redirect would send the tag onto the other link), and no route
 * or no forwarding (the FIB's other answers). NO_NEIGH: the kernel resolves
 * the neighbour for us (bpf_redirect_neigh), which is what the stack would
 * do with the first segment anyway.
 */
static __always_inline int ofl_forward(struct __sk_buff *skb, const struct pkt *p)
{
	struct bpf_fib_lookup f = {};
	struct bpf_redir_neigh nh = {};
	__u32 l3 = p->l3_off;
	__u8 ip[12];
	__be16 old, new;
	long rc;

	/*
	 * A fragment stays with the stack: netfilter's defragmentation would
	 * wait for a first fragment sent around it.
	 */
	if (p->frag || l3 != ETH_HLEN || bpf_skb_load_bytes(skb, l3, ip, sizeof(ip)))
		return -1;
	/*
	 * tot_len stays 0: given, the kernel checks it against the MTU, and a
	 * GRO aggregate's IP length is far above it (FRAG_NEEDED for most of a
	 * bulk flow); left 0, it checks the skb itself, GSO included.
	 */
	f.ifindex = skb->ingress_ifindex;
	f.l4_protocol = IPPROTO_TCP;
	if (p->family == 4) {
		if (ip[8] <= 1)
			return -1;
		f.family = OFL_AF_INET;
		f.tos = ip[1];
		f.sport = p->t.ipv4.sport;
		f.dport = p->t.ipv4.dport;
		f.ipv4_src = p->t.ipv4.saddr;
		f.ipv4_dst = p->t.ipv4.daddr;
	} else {
		if (ip[7] <= 1)
			return -1;
		f.family = OFL_AF_INET6;
		__builtin_memcpy(&f.flowinfo, ip, 4);
		f.flowinfo &= bpf_htonl(0x0fffffff);
		f.sport = p->t.ipv6.sport;
		f.dport = p->t.ipv6.dport;
		__builtin_memcpy(f.ipv6_src, p->t.ipv6.saddr, 16);
		__builtin_memcpy(f.ipv6_dst, p->t.ipv6.daddr, 16);
	}
	rc = bpf_fib_lookup(skb, &f, sizeof(f), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return -1;
	if (p->family == 4) {
		__builtin_memcpy(&old, ip + 8, 2);
		ip[8]--;
		__builtin_memcpy(&new, ip + 8, 2);
		if (bpf_skb_store_bytes(skb, l3 + 8, ip + 8, 1, 0) ||
		    bpf_l3_csum_replace(skb, l3 + 10, old, new, sizeof(new)))
			return -1;
	} else {
		ip[7]--;
		if (bpf_skb_store_bytes(skb, l3 + 7, ip + 7, 1, 0))
			return -1;
	}
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		nh.nh_family = f.family;
		if (f.family == OFL_AF_INET)
			nh.ipv4_nh = f.ipv4_dst; /* the FIB's answer: the gateway, if the route has one */
		else
			__builtin_memcpy(nh.ipv6_nh, f.ipv6_dst, 16);
		return bpf_redirect_neigh(f.ifindex, &nh, sizeof(nh), 0);
	}
	if (bpf_skb_store_bytes(skb, 0, f.dmac, ETH_ALEN, 0) ||
	    bpf_skb_store_bytes(skb, ETH_ALEN, f.smac, ETH_ALEN, 0))
		return -1;
	return bpf_redirect(f.ifindex, 0);
}

/*
 * The segment p of an offloaded flow? A SYN is never one (a SYN on the tuple
 * is a new connection: the normal path's, and the old flow is over). Yes: *verdict is the TC verdict,
 * one counter moved; the packet never carries steer's mark (nft's rules and
 * the proxy's sockets must not take it). A frozen flow's segment that carries
 * data is not: its payload is cut off (ofl_ack_only) and the ACK left goes
 * on to the proxy's socket; dropped if that fails. So is a FIN after such a
 * cut (STEER_OFL_S_CUT).
 */
static __always_inline int offloaded(struct __sk_buff *skb, struct pkt *p, int *verdict)
{
	struct steer_offload_dir *d, *r;
	struct steer_flow_key k, rk;
	struct ofl_scratch *s;
	__u32 zero = 0;
	int learnt, v;

	if (!*(volatile __u32 *)&steer_offload_live || p->proto != IPPROTO_TCP)
		return 0;
	flow_key_make(&k, p);
	d = bpf_map_lookup_elem(&steer_offload, &k);
	if (!d)
		return 0;
	if (p->tcp_flags & TCPF_SYN) {
		/*
		 * A new connection on the tuple (a client that reuses its port
		 * as soon as the old one closed): the old one's entries must not
		 * translate the new one's segments. Both directions, once.
		 */
		if (!(d->state & STEER_OFL_S_SYN)) {
			__sync_fetch_and_or(&d->state, STEER_OFL_S_SYN);
			ofl_reverse_key(&rk, &k);
			r = bpf_map_lookup_elem(&steer_offload, &rk);
			if (r)
				__sync_fetch_and_or(&r->state, STEER_OFL_S_SYN);
		}
		return 0;
	}
	if (d->state & STEER_OFL_S_SYN)
		return 0;
	s = bpf_map_lookup_elem(&steer_offload_scratch, &zero);
	if (d->flags & STEER_OFL_F_FREEZE) {
		/*
		 * An RST ends the flow: the proxy's socket must see it, data or
		 * not. Unreadable: the proxy's socket takes it, as without a freeze.
		 */
		if (p->tcp_flags & TCPF_RST)
			return 0;
		v = ofl_carries_data(skb, p);
		if (v < 0 || (v == 0 && !((p->tcp_flags & TCPF_FIN) && (d->state & STEER_OFL_S_CUT))))
			return 0;
		/* before the trim: a FIN on another CPU a moment later sees it */
		if (v > 0 && !(d->state & STEER_OFL_S_CUT))
			__sync_fetch_and_or(&d->state, STEER_OFL_S_CUT);
		count(STEER_C_OFFLOAD_FROZEN);
		/*
		 * Its ACK goes on to the proxy's socket, the normal path's. Dropped
		 * whole: an IP fragment (trimmed, reassembly would wait on the
		 * hole), and a segment the trim failed on (it linearises the skb
		 * first: a large aggregate needs memory the kernel may not have).
		 */
		if (s && !p->frag && !ofl_ack_only(skb, p, s))
			return 0;
		*verdict = TC_ACT_SHOT;
		return 1;
	}
	/*
	 * Counted before it is rewritten: a proxy that removes the entries and
	 * reads 0 may undo the handoff, so a segment on its way out must
	 * already show (one that fails to translate errs on the safe side).
	 */
	__sync_fetch_and_add(&d->packets, 1);
	*verdict = STEER_PASS;
	if (!s) {
		count(STEER_C_OFFLOAD_ERROR);
		return 1;
	}
	switch (ofl_rewrite(skb, p, d, s, &learnt)) {
	case STEER_OFL_REWRITTEN:
		break;
	case STEER_OFL_MALFORMED:
		count(STEER_C_OFFLOAD_MALFORMED);
		return 1;
	default:
		count(STEER_C_OFFLOAD_ERROR);
		return 1;
	}
	if (learnt) {
		ofl_reverse_key(&rk, &k);
		r = bpf_map_lookup_elem(&steer_offload, &rk);
		if (r) /* its peer echoes our TSvals: back into the clock it knows */
			r->tsecr_delta = -d->tsval_delta;
		count(STEER_C_OFFLOAD_TS_LEARNT);
	}
	d->last_ns = bpf_ktime_get_ns();
	v = ofl_forward(skb, p);
	if (v < 0) {
		count(STEER_C_OFFLOAD_PASSED);
		return 1;
	}
	count(STEER_C_OFFLOAD_REDIRECTED);
	*verdict = v;
	return 1;
}

#endif
