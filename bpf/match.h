/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Which packets the classifier may steer: the rules of the active generation
 * (port, destination and source maps, bypass rules win), the TCP ports any
 * rule ever steered, and the gateway's own addresses, which are never
 * steered. The rules are compiled into the maps by bpf/rules_compile.c.
 */
#ifndef STEER_BPF_MATCH_H
#define STEER_BPF_MATCH_H

#include "bpf/maps.h"
#include "bpf/parse.h"

/* The rules of the active generation: 0 not matched, 1 steer, 2 bypass. */
static __always_inline int rules_verdict(const struct pkt *p)
{
	__u32 gen = *(volatile __u32 *)&steer_gen & 1;
	__u32 idx = steer_port_index(gen, p->proto == IPPROTO_TCP ? STEER_PROTO_TCP : STEER_PROTO_UDP,
				     pkt_dport(p));
	struct steer_mask *pm, *dm, *sm;
	struct steer_ruleset *rs;
	__u64 m0, m1;

	pm = bpf_map_lookup_elem(&steer_ports, &idx);
	if (!pm)
		return 0;
	m0 = pm->w[0];
	m1 = pm->w[1];
	if (!(m0 | m1))
		return 0;

	if (p->family == 4) {
		struct steer_lpm4_key k = { .prefixlen = 8 + 32, .gen = gen };

		__builtin_memcpy(k.addr, &p->t.ipv4.daddr, 4);
		dm = bpf_map_lookup_elem(&steer_dst4, &k);
		if (!dm)
			return 0;
		m0 &= dm->w[0];
		m1 &= dm->w[1];
		__builtin_memcpy(k.addr, &p->t.ipv4.saddr, 4);
		sm = bpf_map_lookup_elem(&steer_src4, &k);
	} else {
		struct steer_lpm6_key k = { .prefixlen = 8 + 128, .gen = gen };

		__builtin_memcpy(k.addr, p->t.ipv6.daddr, 16);
		dm = bpf_map_lookup_elem(&steer_dst6, &k);
		if (!dm)
			return 0;
		m0 &= dm->w[0];
		m1 &= dm->w[1];
		__builtin_memcpy(k.addr, p->t.ipv6.saddr, 16);
		sm = bpf_map_lookup_elem(&steer_src6, &k);
	}
	if (!sm)
		return 0;
	m0 &= sm->w[0];
	m1 &= sm->w[1];
	if (!(m0 | m1))
		return 0;
	rs = &steer_rulesets[gen];
	if ((m0 & rs->bypass.w[0]) | (m1 & rs->bypass.w[1]))
		return 2;
	return 1;
}

static __always_inline int tcp_port_seen(const struct pkt *p)
{
	__u16 port = pkt_dport(p);

	return (steer_tcp_ports_seen[(port >> 6) & 1023] >> (port & 63)) & 1;
}

/*
 * Addressed to the gateway itself: one of its addresses, or broadcast or
 * multicast (by the frame's type or by the IP destination), which is
 * delivered locally too (DHCP, mDNS, SSDP must reach the gateway's services).
 */
static __always_inline int is_local_dst(const struct __sk_buff *skb, const struct pkt *p)
{
	struct steer_local_key k = {};

	if (skb->pkt_type == 1 /* PACKET_BROADCAST */ || skb->pkt_type == 2 /* PACKET_MULTICAST */)
		return 1;
	if (p->family == 4) {
		__u32 d = bpf_ntohl(p->t.ipv4.daddr);

		if ((d >> 28) == 0xe || d == 0xffffffff)
			return 1;
	} else if ((bpf_ntohl(p->t.ipv6.daddr[0]) >> 24) == 0xff) {
		return 1;
	}
	k.family = p->family;
	if (p->family == 4)
		__builtin_memcpy(k.addr, &p->t.ipv4.daddr, 4);
	else
		__builtin_memcpy(k.addr, p->t.ipv6.daddr, 16);
	return bpf_map_lookup_elem(&steer_local, &k) != NULL;
}

#endif
