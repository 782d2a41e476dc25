/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Sockets: the lookups the TC programs make (a flow's own socket, the
 * proxy's listener), the assign of a new flow to the listener, the cases an
 * assign cannot settle (a SYN that meets a TIME_WAIT socket, a fragmented
 * first datagram, any new flow on a kernel that refuses to assign a
 * reuseport listener), which are recorded in steer_redirect for the
 * sk_lookup program, a SYN cookie's ACK, and a proxy at its connection limit.
 */
#ifndef STEER_BPF_SOCKETS_H
#define STEER_BPF_SOCKETS_H

#include "bpf/frags.h"
#include "bpf/keys.h"
#include "bpf/verdict.h"

/* The TCP socket of the packet's tuple, any state (a reference). */
static __always_inline struct bpf_sock *skc_lookup(struct __sk_buff *skb, struct pkt *p)
{
	if (p->family == 4)
		return bpf_skc_lookup_tcp(skb, &p->t, sizeof(p->t.ipv4), BPF_F_CURRENT_NETNS, 0);
	return bpf_skc_lookup_tcp(skb, &p->t, sizeof(p->t.ipv6), BPF_F_CURRENT_NETNS, 0);
}

/* The UDP socket the packet's tuple would be delivered to (a reference). */
static __always_inline struct bpf_sock *udp_lookup(struct __sk_buff *skb, struct pkt *p)
{
	if (p->family == 4)
		return bpf_sk_lookup_udp(skb, &p->t, sizeof(p->t.ipv4), BPF_F_CURRENT_NETNS, 0);
	return bpf_sk_lookup_udp(skb, &p->t, sizeof(p->t.ipv6), BPF_F_CURRENT_NETNS, 0);
}

static __always_inline __u32 listen_slot(const struct pkt *p)
{
	if (p->proto == IPPROTO_TCP)
		return p->family == 4 ? STEER_LISTEN_TCP4 : STEER_LISTEN_TCP6;
	return p->family == 4 ? STEER_LISTEN_UDP4 : STEER_LISTEN_UDP6;
}

/* Find the proxy's listener for this packet's family/protocol (a reference). */
static __always_inline struct bpf_sock *find_listener(struct __sk_buff *skb, struct pkt *p)
{
	if (steer_external_proxy) {
		struct bpf_sock_tuple t = {};

		if (p->family == 4) {
			t.ipv4.saddr = p->t.ipv4.saddr;
			t.ipv4.sport = p->t.ipv4.sport;
			t.ipv4.daddr = bpf_htonl(0x7f000001);
			t.ipv4.dport = bpf_htons(steer_proxy_port);
			if (p->proto == IPPROTO_TCP)
				return bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
			return bpf_sk_lookup_udp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
		}
		__builtin_memcpy(t.ipv6.saddr, p->t.ipv6.saddr, 16);
		t.ipv6.sport = p->t.ipv6.sport;
		t.ipv6.daddr[3] = bpf_htonl(1);
		t.ipv6.dport = bpf_htons(steer_proxy_port);
		if (p->proto == IPPROTO_TCP)
			return bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv6), BPF_F_CURRENT_NETNS, 0);
		return bpf_sk_lookup_udp(skb, &t, sizeof(t.ipv6), BPF_F_CURRENT_NETNS, 0);
	}

	__u32 slot = listen_slot(p);

	return bpf_map_lookup_elem(&steer_listen, &slot);
}

/* bpf_sk_assign's answer for a socket of a SO_REUSEPORT group before Linux 6.6. */
#define STEER_ESOCKTNOSUPPORT 94

/* A UDP flow's redirect is rewritten at most this often while its datagrams come. */
#define STEER_REDIRECT_REFRESH_NS (1000ull * 1000 * 1000)

/*
 * The flow's next socket lookup gets the listener of this slot (steer_lookup).
 * A UDP entry serves every datagram until the flow's reply socket exists, so
 * a fresh one is left alone: a map update per datagram would tax the flow.
 */
static __always_inline void redirect_record(const struct pkt *p, __u32 slot, __u32 why)
{
	struct steer_redirect_val v = { .ts = bpf_ktime_get_ns(), .slot = slot, .why = why };
	struct steer_redirect_val *cur;
	struct steer_flow_key k;

	flow_key_make(&k, p);
	if (p->proto == IPPROTO_UDP) {
		cur = bpf_map_lookup_elem(&steer_redirect, &k);
		if (cur && cur->slot == slot && cur->why == why && v.ts - cur->ts < STEER_REDIRECT_REFRESH_NS)
			return;
	}
	bpf_map_update_elem(&steer_redirect, &k, &v, BPF_ANY);
}

/*
 * A packet of a flow one of the proxy's sockets holds goes to that socket
 * (sk, released here). Before Linux 6.6 the kernel refuses to assign a socket
 * of a SO_REUSEPORT group, which the proxy's accepted sockets inherit from
 * their listener: then the mark alone does it, since after local delivery
 * the kernel's established lookup finds the socket by the tuple. skip: the
 * refusal is already known (steer_assign_via_lookup), do not try.
 * Returns 0 (delivered, marked) or bpf_sk_assign's error.
 */
static __always_inline long deliver_held(struct __sk_buff *skb, struct bpf_sock *sk, int skip)
{
	long err = skip ? -STEER_ESOCKTNOSUPPORT : bpf_sk_assign(skb, sk, 0);

	bpf_sk_release(sk);
	if (err == -STEER_ESOCKTNOSUPPORT) {
		steer_assign_via_lookup = 1; /* learnt here too, when the probe could not tell */
		err = 0;
	}
	if (!err)
		skb->mark |= steer_mark;
	return err;
}

/*
 * A SYN of a steered flow that met a TIME_WAIT socket. Assigning it to the
 * listener does not work: the listener's request would be dropped as a
 * duplicate of the TIME_WAIT socket's tuple. So the SYN goes to the TIME_WAIT
 * socket, the kernel's TW_SYN path (tcp_timewait_state_process: when the SYN's
 * sequence or timestamp is newer, as for any SYN) looks up a listener for the
 * original destination, steer_lookup answers with ours from steer_redirect,
 * and the kernel deschedules the TIME_WAIT socket and hands the SYN to the
 * listener, as nft's TPROXY does. The mark alone already makes the kernel find
 * the TIME_WAIT socket (or, if it just went away, the listener through
 * steer_lookup), so a refused assign changes nothing. tw_sk is the socket
 * steer_ingress found (its reference stays with the caller).
 */
static __always_inline int steer_tw(struct __sk_buff *skb, struct pkt *p, struct bpf_sock *tw_sk, __u32 slot,
				    __u32 *c)
{
	redirect_record(p, slot, STEER_REDIRECT_TW);
	bpf_sk_assign(skb, tw_sk, 0);
	skb->mark |= steer_mark;
	*c = STEER_C_TIME_WAIT_SYN;
	return STEER_PASS;
}

/*
 * The first fragment of a steered UDP datagram or TCP SYN: reassembly orphans
 * the skb (an assigned socket would be dropped), so every fragment is only
 * marked for local delivery (the later ones through steer_frags) and the
 * reassembled datagram's socket lookup (TCP: the SYN's listener lookup, also
 * the one a TIME_WAIT socket's TW_SYN path makes) finds the proxy's listener
 * through steer_lookup.
 */
static __always_inline int steer_frag_first(struct __sk_buff *skb, struct pkt *p, __u32 slot, __u32 *c)
{
	frag_record(p);
	redirect_record(p, slot, p->proto == IPPROTO_UDP ? STEER_REDIRECT_FRAG : STEER_REDIRECT_TW);
	skb->mark |= steer_mark;
	*c = STEER_C_FRAGMENT_STEERED;
	return STEER_PASS;
}

/*
 * A new flow the kernel will not let us assign to the listener (see
 * steer_assign_via_lookup): only marked; its socket lookup finds the
 * listener through steer_lookup.
 */
static __always_inline int steer_by_lookup(struct __sk_buff *skb, struct pkt *p, __u32 slot, __u32 *c)
{
	redirect_record(p, slot, STEER_REDIRECT_NEW);
	skb->mark |= steer_mark;
	*c = STEER_C_STEERED_NEW;
	return STEER_PASS;
}

/*
 * Hand a new flow's packet to the proxy's listener sk (released here): an
 * assign, or where that cannot work (a TIME_WAIT SYN, a fragment, a kernel
 * that refuses reuseport assigns) a mark and a record for steer_lookup.
 */
static __always_inline int to_listener(struct __sk_buff *skb, struct pkt *p, struct bpf_sock *sk,
				       struct bpf_sock *tw_sk, __u32 *c)
{
	__u32 slot = listen_slot(p);
	long err;

	if (!tw_sk && !p->frag && !*(volatile __u32 *)&steer_assign_via_lookup) {
		err = bpf_sk_assign(skb, sk, 0);
		if (!err) {
			bpf_sk_release(sk);
			skb->mark |= steer_mark;
			*c = STEER_C_STEERED_NEW;
			return STEER_PASS;
		}
		if (err != -STEER_ESOCKTNOSUPPORT) {
			bpf_sk_release(sk);
			*c = STEER_C_ASSIGN_FAILED;
			return fail_verdict();
		}
		/* The probe at start could not tell: learnt here, for every flow after this one. */
		steer_assign_via_lookup = 1;
	}
	/*
	 * steer_lookup cannot look sockets up: it finds an external proxy's
	 * here. Written only while the slot is empty (the kernel empties it
	 * when that listener closes): any listener of the proxy's reuseport
	 * group will do, since the kernel balances the group after the
	 * assign, and each rewrite tore down and rebuilt a listener's psock;
	 * alternating between two listeners, a rebuild could meet the
	 * previous teardown and fail (-EBUSY), a dropped SYN and a 1 s stall.
	 */
	err = 0;
	if (steer_external_proxy) {
		struct bpf_sock *cur = bpf_map_lookup_elem(&steer_ext_listen, &slot);

		if (cur)
			bpf_sk_release(cur);
		else
			err = bpf_map_update_elem(&steer_ext_listen, &slot, sk, BPF_ANY);
	}
	bpf_sk_release(sk);
	if (err) {
		*c = STEER_C_ASSIGN_FAILED;
		return fail_verdict();
	}
	/* fragmented (even a TIME_WAIT SYN: the reassembled one meets it) */
	if (p->frag)
		return steer_frag_first(skb, p, slot, c);
	if (tw_sk)
		return steer_tw(skb, p, tw_sk, slot, c);
	return steer_by_lookup(skb, p, slot, c);
}

/* The proxy's listener for p, if it has one that listens (a reference). */
static __always_inline struct bpf_sock *listening(struct __sk_buff *skb, struct pkt *p)
{
	struct bpf_sock *sk = find_listener(skb, p);

	if (sk && p->proto == IPPROTO_TCP && sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		sk = NULL;
	}
	return sk;
}

/* Steer a new flow to the proxy's listener; *c is the counter to move. */
static __always_inline int steer_new(struct __sk_buff *skb, struct pkt *p, struct bpf_sock *tw_sk, __u32 *c)
{
	struct bpf_sock *sk = listening(skb, p);

	if (!sk) {
		if (steer_fail_closed) {
			*c = STEER_C_NO_LISTENER_DROP;
			return TC_ACT_SHOT;
		}
		*c = STEER_C_NO_LISTENER_PASS;
		return STEER_PASS;
	}
	if (*(volatile __u32 *)&steer_proxy_full) {
		bpf_sk_release(sk);
		if (steer_fail_closed) {
			*c = STEER_C_PROXY_FULL_DROP;
			return TC_ACT_SHOT;
		}
		*c = STEER_C_PROXY_FULL_PASS;
		return STEER_PASS;
	}
	return to_listener(skb, p, sk, tw_sk, c);
}

/*
 * A plain ACK that no socket claims, of a flow the rules steer: it may
 * complete a handshake the proxy's listener answered with a SYN cookie (a
 * SYN flood, or tcp_syncookies=2), which left no state behind. If the
 * kernel recognises its cookie (bpf_tcp_check_syncookie: its secret is the
 * namespace's, its flood window the reuseport group's), the ACK goes to the
 * listener, which makes the connection from it. Any other socketless ACK (a
 * flow older than steer, or forwarded while the proxy was down) is left to
 * be forwarded, as before. Returns 1 with *c and *rv set when delivered.
 */
static __always_inline int cookie_ack(struct __sk_buff *skb, struct pkt *p, __u32 *c, int *rv)
{
	union {
		struct iphdr v4;
		struct ipv6hdr v6;
	} ip = {};
	struct tcphdr th;
	struct bpf_sock *sk;
	__u32 iplen;

	/* A full proxy would leave the connection in a queue nobody reads: the server resets it instead. */
	if (!is_plain_ack(p) || *(volatile __u32 *)&steer_proxy_full ||
	    bpf_skb_load_bytes(skb, p->l4_off, &th, sizeof(th)))
		return 0;
	sk = listening(skb, p);
	if (!sk)
		return 0;
	/* The helper reads the addresses (and the version) only: rebuilt from the tuple. */
	if (p->family == 4) {
		ip.v4.version = 4;
		ip.v4.ihl = 5;
		ip.v4.saddr = p->t.ipv4.saddr;
		ip.v4.daddr = p->t.ipv4.daddr;
		iplen = sizeof(ip.v4);
	} else {
		ip.v6.version = 6;
		__builtin_memcpy(&ip.v6.saddr, p->t.ipv6.saddr, 16);
		__builtin_memcpy(&ip.v6.daddr, p->t.ipv6.daddr, 16);
		iplen = sizeof(ip.v6);
	}
	if (bpf_tcp_check_syncookie(sk, &ip, iplen, &th, sizeof(th))) {
		bpf_sk_release(sk);
		return 0;
	}
	*rv = to_listener(skb, p, sk, NULL, c);
	if (*c == STEER_C_STEERED_NEW)
		*c = STEER_C_COOKIE_ACK;
	return 1;
}

#endif
