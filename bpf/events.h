/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow events (struct steer_event in the steer_events ring buffer): one per
 * new matching flow steered, left to nft or dropped; for UDP only the first
 * datagram of a flow (steer_udp_seen).
 */
#ifndef STEER_BPF_EVENTS_H
#define STEER_BPF_EVENTS_H

#include "bpf/verdict.h"

/*
 * UDP: is this datagram the first of its flow for reporting purposes? Yes
 * when the flow is unknown, idle for longer than steer_udp_idle_ns, or its
 * last event was of another kind (a dropped flow that is now steered, or the
 * reverse). Records the datagram's time either way.
 */
static __always_inline int udp_first(const struct steer_flow_key *k, __u64 now, __u32 kind)
{
	struct udp_seen *v = bpf_map_lookup_elem(&steer_udp_seen, k);
	struct udp_seen n = { .ts = now, .kind = kind };

	if (v) {
		/* signed: another CPU may have stored a slightly later time */
		int first = (__s64)(now - v->ts) > (__s64)steer_udp_idle_ns || v->kind != kind;

		v->ts = now;
		if (v->kind != kind)
			v->kind = kind;
		return first;
	}
	/* NOEXIST: when two CPUs race on a new flow, only one reports it. */
	return bpf_map_update_elem(&steer_udp_seen, k, &n, BPF_NOEXIST) == 0;
}

static __always_inline void emit(struct __sk_buff *skb, const struct steer_flow_key *k, __u64 now, __u8 kind,
				 __u8 backend, __u8 reason)
{
	struct steer_event *e = bpf_ringbuf_reserve(&steer_events, sizeof(*e), 0);
	__u64 flags;

	if (!e) {
		count(STEER_C_EVENTS_LOST);
		return;
	}
	e->ts_ns = now;
	e->ifindex = skb->ifindex;
	e->kind = kind;
	e->backend = backend;
	e->family = k->family;
	e->proto = k->proto;
	e->reason = reason;
	e->pad[0] = 0;
	e->sport = k->sport;
	e->dport = k->dport;
	__builtin_memcpy(e->saddr, k->saddr, 16);
	__builtin_memcpy(e->daddr, k->daddr, 16);
	/* Batched wakeups: user space also consumes on a short timer. */
	flags = bpf_ringbuf_query(&steer_events, BPF_RB_AVAIL_DATA) > steer_events_wake ? BPF_RB_FORCE_WAKEUP
											    : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}


#endif
