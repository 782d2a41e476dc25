/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The map keys a parsed packet makes (steer_abi.h): its flow, the key of
 * steer_udp_seen and steer_redirect and what the split hash and events use;
 * and its reassembly identity, the key of steer_frags.
 */
#ifndef STEER_BPF_KEYS_H
#define STEER_BPF_KEYS_H

#include "bpf/parse.h"

static __always_inline void flow_key_make(struct steer_flow_key *k, const struct pkt *p)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->proto = p->proto;
	if (p->family == 4) {
		__builtin_memcpy(k->saddr, &p->t.ipv4.saddr, 4);
		__builtin_memcpy(k->daddr, &p->t.ipv4.daddr, 4);
		k->sport = bpf_ntohs(p->t.ipv4.sport);
		k->dport = bpf_ntohs(p->t.ipv4.dport);
	} else {
		__builtin_memcpy(k->saddr, p->t.ipv6.saddr, 16);
		__builtin_memcpy(k->daddr, p->t.ipv6.daddr, 16);
		k->sport = bpf_ntohs(p->t.ipv6.sport);
		k->dport = bpf_ntohs(p->t.ipv6.dport);
	}
}


static __always_inline void frag_key_make(struct steer_frag_key *k, const struct pkt *p)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->id = p->frag_id;
	if (p->family == 4) {
		k->proto = p->proto;
		__builtin_memcpy(k->saddr, &p->t.ipv4.saddr, 4);
		__builtin_memcpy(k->daddr, &p->t.ipv4.daddr, 4);
	} else {
		__builtin_memcpy(k->saddr, p->t.ipv6.saddr, 16);
		__builtin_memcpy(k->daddr, p->t.ipv6.daddr, 16);
	}
}


#endif
