// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * steer's TC ingress classifier.
 *
 *   steer_ingress  client-facing interfaces: packets of flows the proxy
 *                  already holds go to their socket; new flows (TCP SYN, any
 *                  UDP datagram) that match the rules go to the proxy's
 *                  transparent listener.
 *   steer_return   return (server-facing) interfaces: replies to the proxy's
 *                  upstream sockets that are bound to a client's non-local
 *                  address go to that socket (a fragmented reply: all its
 *                  fragments are marked, see steer_frags). Never steers
 *                  new flows.
 *   Both TC programs first translate and forward the segments of offloaded
 *   flows (offload_path.h), in every mode: once the proxy has handed a flow
 *   back (docs/offload.md), no backend and no socket has it but this.
 *   Both TC programs mark ICMP/ICMPv6 errors about packets the proxy's
 *   sockets sent for local delivery (icmp_err), and only mark, never assign,
 *   IP-fragmented TCP/UDP of steered flows (reassembly drops an assigned
 *   socket).
 *   steer_lookup   sk_lookup, attached to the network namespace: gives the
 *                  proxy's listener to the socket lookups the classifier
 *                  cannot settle with an assign (a SYN that meets a
 *                  TIME_WAIT socket; a reassembled fragmented datagram;
 *                  before Linux 6.6, every new flow: the kernel refuses to
 *                  assign a SO_REUSEPORT listener, see
 *                  steer_assign_via_lookup in maps.h).
 *
 * Modes (steer_mode, enum steer_mode in steer_abi.h): EBPF steers as above;
 * PROBE assigns nothing at all (nft steers) and only reports new matching
 * flows; SPLIT decides per new flow by steer_flow_bucket(). Every new
 * matching flow that is steered, left to nft, or dropped is reported in the
 * steer_events ring buffer (TCP: the SYN that goes to the listener; UDP: the
 * first datagram of a flow, see steer_udp_seen). Only new matching flows do
 * hashing, map updates or ring work: established packets never do.
 *
 * Every packet moves exactly one counter (enum steer_counter), besides
 * STEER_C_EVENTS_LOST, which counts event records that could not be written,
 * STEER_C_OFFLOAD_TS_LEARNT, which counts learnt timestamp offsets,
 * and the counters of steer_lookup (TW_REDIRECTED, FRAG_REDIRECTED,
 * LOOKUP_FAILED), which count socket lookups, not packets.
 *
 * The programs are here; what they share is in headers by concern, each
 * including what it uses: parse.h (struct pkt, one parser per layer),
 * maps.h (settings and maps), verdict.h (TC verdict, counters), keys.h
 * (map keys from a packet), match.h (rules, local addresses), frags.h (IP
 * fragments), sockets.h (lookups, assign, TIME_WAIT, redirect), events.h
 * (the ring buffer), offload_path.h and offload.h (offloaded flows).
 * steer_abi.h is the ABI with user space.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/events.h"
#include "bpf/frags.h"
#include "bpf/keys.h"
#include "bpf/maps.h"
#include "bpf/match.h"
#include "bpf/offload_path.h"
#include "bpf/parse.h"
#include "bpf/sockets.h"
#include "bpf/steer_abi.h"
#include "bpf/verdict.h"

/*
 * A new flow that passed the rules (TCP: the SYN that goes to the listener;
 * UDP: any datagram). The mode decides who steers it; it is reported when
 * steered, left to nft, or dropped (UDP: once per flow, see udp_first).
 */
static __always_inline int new_flow(struct __sk_buff *skb, struct pkt *p, struct bpf_sock *tw_sk, __u32 mode)
{
	/*
	 * The flow's first-seen time (events' ts_ns), taken here rather than at
	 * program entry: the clock read costs ~30 ns, too much for every packet,
	 * and here is still before either backend steers the flow.
	 */
	__u64 now = bpf_ktime_get_ns();
	struct steer_flow_key k;
	__u32 c, kind = 0;
	int ebpf = 1, rv;

	flow_key_make(&k, p);
	if (mode == STEER_MODE_PROBE)
		ebpf = 0;
	else if (mode == STEER_MODE_SPLIT)
		ebpf = steer_flow_bucket(k.family, k.proto, k.saddr, k.daddr, k.sport, k.dport) <
		       *(volatile __u32 *)&steer_split_percent;

	if (ebpf) {
		rv = steer_new(skb, p, tw_sk, &c);
	} else {
		/* nft tproxies it (its rules skip marked packets; this one is not marked) */
		c = STEER_C_PROBED;
		rv = STEER_PASS;
	}
	count(c);

	if (c == STEER_C_STEERED_NEW || c == STEER_C_TIME_WAIT_SYN || c == STEER_C_FRAGMENT_STEERED ||
	    c == STEER_C_PROBED)
		kind = STEER_EV_FLOW;
	else if (rv == TC_ACT_SHOT)
		kind = STEER_EV_DROP; /* fail-closed: no listener, or assign refused */
	if (kind && (p->proto != IPPROTO_UDP || udp_first(&k, now, kind)))
		emit(skb, &k, now, kind, ebpf ? STEER_BACKEND_EBPF : STEER_BACKEND_NFT,
		     kind == STEER_EV_DROP ? c : 0);
	if (tw_sk)
		bpf_sk_release(tw_sk);
	return rv;
}

/*
 * An ICMP/ICMPv6 error quoting a TCP/UDP packet (parse: PARSE_ICMP_ERR, p->t
 * already reversed). When one of the proxy's sockets sent the quoted packet,
 * the error is addressed to a non-local address (the client's, for an
 * upstream socket bound to it; the original server's, for a socket the
 * proxy accepted or a UDP reply socket) and would be forwarded: mark it for
 * local delivery, where icmp_rcv/icmpv6_rcv find the socket themselves
 * (tcp_v4_err and friends: PMTU, unreachable, ...), as nft's socket
 * expression, which looks inside ICMP errors, does. No bpf_sk_assign: the
 * ICMP layer does its own lookup. TCP: any socket but LISTEN and TIME_WAIT;
 * UDP: only a connected one (an unconnected socket is a local service's).
 * PROBE: nft's work, nothing done (not_ip, as any other ICMP).
 */
static __always_inline int icmp_err(struct __sk_buff *skb, struct pkt *p, __u32 mode)
{
	struct bpf_sock *sk;
	int ours = 0;

	if (mode != STEER_MODE_PROBE) {
		if (p->proto == IPPROTO_TCP) {
			sk = skc_lookup(skb, p);
			if (sk) {
				ours = sk->state != BPF_TCP_LISTEN && sk->state != BPF_TCP_TIME_WAIT;
				bpf_sk_release(sk);
			}
		} else {
			sk = udp_lookup(skb, p);
			if (sk) {
				ours = sk->dst_port != 0;
				bpf_sk_release(sk);
			}
		}
	}
	if (!ours) {
		count(STEER_C_NOT_IP);
		return STEER_PASS;
	}
	skb->mark |= steer_mark;
	count(STEER_C_ICMP_DELIVERED);
	return STEER_PASS;
}

SEC("tc")
int steer_ingress(struct __sk_buff *skb)
{
	__u32 mode = *(volatile __u32 *)&steer_mode;
	struct bpf_sock *tw_sk = NULL;
	struct pkt p = {};
	int c, v;

	c = parse(skb, &p);
	if (c == PARSE_FRAG_REST)
		return frag_rest(skb, &p, mode);
	if (c == PARSE_ICMP_ERR)
		return icmp_err(skb, &p, mode);
	if (c >= 0) {
		count(c);
		return STEER_PASS;
	}
	/* First, whatever the mode: nft as the backend does not translate offloaded flows. */
	if (steer_offload_on && offloaded(skb, &p, &v))
		return v;
	/*
	 * The gateway's own addresses, broadcast and multicast are never
	 * steered. Checked only for packets that could be (a hash lookup):
	 * after the rules matched, or before a socket lookup.
	 */
	if (p.proto == IPPROTO_TCP) {
		int syn = is_syn(&p);
		struct bpf_sock *sk;

		/*
		 * A SYN meets the rules before any socket lookup: most SYNs a
		 * gateway forwards are not steered, and the lookup (established
		 * hash, then the listener hash with the netns sk_lookup program)
		 * costs more than the rules themselves. A matching one still
		 * needs the lookup: a TIME_WAIT socket may hold its tuple.
		 */
		if (syn) {
			v = rules_verdict(&p);
			if (v != 1) {
				count(v ? STEER_C_BYPASSED : STEER_C_NOT_MATCHED);
				return STEER_PASS;
			}
		} else if (mode == STEER_MODE_PROBE || !tcp_port_seen(&p)) {
			/* PROBE: nft handles every packet; only a SYN can be a new flow. */
			count(STEER_C_NOT_MATCHED);
			return STEER_PASS;
		}
		if (is_local_dst(skb, &p)) {
			count(STEER_C_LOCAL_DST);
			return STEER_PASS;
		}
		sk = skc_lookup(skb, &p);
		if (sk) {
			__u32 state = sk->state;

			if (state == BPF_TCP_LISTEN) {
				bpf_sk_release(sk);
			} else if (state == BPF_TCP_TIME_WAIT && syn) {
				tw_sk = sk; /* new_flow releases it */
			} else if (mode == STEER_MODE_PROBE) {
				/* a SYN of a flow that has a socket: not new, and not ours */
				bpf_sk_release(sk);
				count(STEER_C_NOT_MATCHED);
				return STEER_PASS;
			} else if (p.frag) {
				/* IP-fragmented segment of a flow the proxy holds: marked only */
				bpf_sk_release(sk);
				frag_held(skb, &p);
				return STEER_PASS;
			} else {
				if (deliver_held(skb, sk, *(volatile __u32 *)&steer_assign_via_lookup)) {
					count(STEER_C_ASSIGN_FAILED);
					return fail_verdict();
				}
				count(STEER_C_STEERED_ESTABLISHED);
				return STEER_PASS;
			}
		}
		if (!syn) {
			__u32 cc;
			int rv;

			/* A SYN cookie's ACK, of a flow the rules steer? (tw_sk: SYNs only) */
			if (is_plain_ack(&p) && rules_verdict(&p) == 1 && cookie_ack(skb, &p, &cc, &rv)) {
				count(cc);
				return rv;
			}
			count(STEER_C_NOT_MATCHED);
			return STEER_PASS;
		}
		return new_flow(skb, &p, tw_sk, mode);
	}

	v = rules_verdict(&p);
	if (v != 1) {
		count(v ? STEER_C_BYPASSED : STEER_C_NOT_MATCHED);
		return STEER_PASS;
	}
	if (is_local_dst(skb, &p)) {
		count(STEER_C_LOCAL_DST);
		return STEER_PASS;
	}
	return new_flow(skb, &p, NULL, mode);
}

SEC("tc")
int steer_return(struct __sk_buff *skb)
{
	struct pkt p = {};
	struct bpf_sock *sk;
	int c, v;

	c = parse(skb, &p);
	if (c == PARSE_FRAG_REST) /* a later fragment of a reply steered below? */
		return frag_rest(skb, &p, *(volatile __u32 *)&steer_mode);
	if (c == PARSE_ICMP_ERR) /* about a packet an upstream socket sent? */
		return icmp_err(skb, &p, *(volatile __u32 *)&steer_mode);
	if (c >= 0) {
		count(c);
		return STEER_PASS;
	}
	if (steer_offload_on && offloaded(skb, &p, &v))
		return v;
	/* PROBE: nft does all the work, replies included. */
	if (*(volatile __u32 *)&steer_mode == STEER_MODE_PROBE || is_local_dst(skb, &p)) {
		count(STEER_C_RETURN_PASSED);
		return STEER_PASS;
	}

	if (p.proto == IPPROTO_TCP) {
		sk = skc_lookup(skb, &p);
		if (!sk)
			goto pass;
		if (sk->state == BPF_TCP_LISTEN || sk->state == BPF_TCP_TIME_WAIT) {
			bpf_sk_release(sk);
			goto pass;
		}
	} else {
		sk = udp_lookup(skb, &p);
		if (!sk)
			goto pass;
		if (sk->dst_port == 0) { /* unconnected: not an upstream socket */
			bpf_sk_release(sk);
			goto pass;
		}
	}
	if (p.frag) {
		/*
		 * A fragmented reply (UDP or TCP): reassembly orphans the skb, so
		 * all its fragments are only marked; the reassembled datagram or
		 * segment finds the upstream socket by the normal lookup.
		 */
		bpf_sk_release(sk);
		frag_held(skb, &p);
		return STEER_PASS;
	}
	/* Upstream sockets are in no reuseport group: an assign is always tried. */
	if (deliver_held(skb, sk, 0)) {
		count(STEER_C_ASSIGN_FAILED);
		return STEER_PASS;
	}
	count(STEER_C_RETURN_ASSIGNED);
	return STEER_PASS;
pass:
	count(STEER_C_RETURN_PASSED);
	return STEER_PASS;
}

/*
 * steer_lookup: the network namespace's sk_lookup program. It runs before
 * every listener lookup (TCP) and unconnected-socket lookup (UDP) in the
 * namespace, local services included, so it costs one hash lookup and
 * returns SK_PASS without selecting anything unless the tuple is in
 * steer_redirect (recorded by the classifier: a TIME_WAIT SYN, a fragmented
 * UDP datagram of a steered flow, or any new steered flow when the kernel
 * refuses to assign a reuseport listener). Then it selects the proxy's
 * listener of the recorded slot (steer_listen, or steer_ext_listen with an
 * external proxy); a TCP entry is used once. Entries older than their limit
 * (STEER_TW_REDIRECT_NS, UDP: udp-idle-timeout) are dropped.
 */
#define STEER_AF_INET 2
#define STEER_AF_INET6 10

SEC("sk_lookup")
int steer_lookup(struct bpf_sk_lookup *ctx)
{
	struct steer_flow_key k = {};
	struct steer_redirect_val *v;
	struct bpf_sock *sk;
	__u32 proto = ctx->protocol, slot, why;
	__u64 limit;
	long err;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return SK_PASS;
	k.proto = proto;
	k.sport = bpf_ntohs(ctx->remote_port);
	k.dport = ctx->local_port;
	if (ctx->family == STEER_AF_INET) {
		__u32 a = ctx->remote_ip4, b = ctx->local_ip4;

		k.family = 4;
		__builtin_memcpy(k.saddr, &a, 4);
		__builtin_memcpy(k.daddr, &b, 4);
	} else if (ctx->family == STEER_AF_INET6) {
		__u32 a[4], b[4];

		a[0] = ctx->remote_ip6[0];
		a[1] = ctx->remote_ip6[1];
		a[2] = ctx->remote_ip6[2];
		a[3] = ctx->remote_ip6[3];
		b[0] = ctx->local_ip6[0];
		b[1] = ctx->local_ip6[1];
		b[2] = ctx->local_ip6[2];
		b[3] = ctx->local_ip6[3];
		k.family = 6;
		__builtin_memcpy(k.saddr, a, 16);
		__builtin_memcpy(k.daddr, b, 16);
	} else {
		return SK_PASS;
	}

	v = bpf_map_lookup_elem(&steer_redirect, &k);
	if (!v)
		return SK_PASS;
	limit = proto == IPPROTO_TCP ? STEER_TW_REDIRECT_NS : steer_udp_idle_ns;
	slot = v->slot;
	why = v->why; /* read before a TCP entry is deleted below */
	if ((__s64)(bpf_ktime_get_ns() - v->ts) > (__s64)limit || slot >= STEER_LISTEN_MAX) {
		bpf_map_delete_elem(&steer_redirect, &k);
		return SK_PASS;
	}
	if (steer_external_proxy)
		sk = bpf_map_lookup_elem(&steer_ext_listen, &slot);
	else
		sk = bpf_map_lookup_elem(&steer_listen, &slot);
	if (!sk) {
		count(STEER_C_LOOKUP_FAILED);
		return SK_PASS;
	}
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	if (err) {
		count(STEER_C_LOOKUP_FAILED);
		return SK_PASS;
	}
	if (proto == IPPROTO_TCP)
		bpf_map_delete_elem(&steer_redirect, &k);
	if (why == STEER_REDIRECT_NEW)
		count(STEER_C_NEW_REDIRECTED);
	else if (why == STEER_REDIRECT_FRAG)
		count(STEER_C_FRAG_REDIRECTED);
	else
		count(STEER_C_TW_REDIRECTED);
	return SK_PASS;
}

/*
 * steer_probe: the loader's start probe (bpf/probe.c), attached only to the
 * loopback of a throwaway network namespace, never to a real interface. Its
 * first IPv4 packet, the SYN of the probe's one connection, is assigned to
 * the SO_REUSEPORT listener in steer_probe_listen, and bpf_sk_assign's
 * answer is kept in steer_probe_rc (0, or -ESOCKTNOSUPPORT before 6.6).
 */
__s32 steer_probe_rc = 1; /* 1: no packet seen yet */

SEC("tc")
int steer_probe(struct __sk_buff *skb)
{
	struct bpf_sock *sk;
	__u32 k = 0;

	if (steer_probe_rc != 1 || skb->protocol != bpf_htons(0x0800 /* ETH_P_IP */))
		return TC_ACT_OK;
	sk = bpf_map_lookup_elem(&steer_probe_listen, &k);
	if (!sk)
		return TC_ACT_OK;
	steer_probe_rc = bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
