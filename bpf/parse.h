/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing for the TC programs: parse() walks one inline helper per
 * layer (Ethernet and a VLAN tag, IPv4, IPv6 and its extension headers,
 * TCP/UDP, the headers an ICMP error quotes) into a struct pkt. Headers are
 * read with bpf_skb_load_bytes, so non-linear skbs work and every read is
 * bounds-checked by the kernel. A layer returns PARSE_OK to go on, else what
 * parse() returns: a PARSE_* kind or the steer_counter of a packet that is
 * passed untouched (malformed packets are never dropped).
 */
#ifndef STEER_BPF_PARSE_H
#define STEER_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/steer_abi.h"

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

#define STEER_MAX_EXT_HDRS 6

#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_ACK 0x10

enum { FRAG_NONE = 0, FRAG_FIRST = 1, FRAG_REST = 2 };

struct pkt {
	__u8 family; /* 4 or 6 */
	__u8 proto;  /* IPPROTO_TCP / IPPROTO_UDP (FRAG_REST: the IPv4 protocol / IPv6 next header) */
	__u8 tcp_flags;
	__u8 frag;   /* FRAG_*: a fragment with offset 0 and more to come, or a later one */
	__u16 l4_off; /* TCP: where its header starts (for a SYN cookie's check) */
	__u16 l3_off; /* where the IP header starts (after Ethernet and a VLAN tag) */
	__u32 frag_id; /* FRAG_*: IPv4 identification / IPv6 fragment id, as on the wire */
	__u32 l4_end;  /* TCP: where its segment ends (the offload's payload length) */
	struct bpf_sock_tuple t; /* packet's own tuple, network byte order (FRAG_REST: addresses only) */
};

/* parse(): a TCP/UDP packet (p->frag FRAG_FIRST: the first fragment of one). */
#define PARSE_OK (-1)
/* parse(): a non-first fragment; family, addresses, proto and frag_id are set. */
#define PARSE_FRAG_REST (-2)
/*
 * parse(): an ICMP/ICMPv6 error quoting a TCP/UDP packet; p->proto is the
 * quoted protocol and p->t the quoted tuple reversed, i.e. as an incoming
 * packet for the socket that sent the quoted one would carry it (saddr = the
 * quoted daddr, sport = the quoted dport, ...), ready for a socket lookup.
 */
#define PARSE_ICMP_ERR (-3)

/* Ports (network order) into the packet's tuple. */
static __always_inline void pkt_set_ports(struct pkt *p, __be16 sport, __be16 dport)
{
	if (p->family == 4) {
		p->t.ipv4.sport = sport;
		p->t.ipv4.dport = dport;
	} else {
		p->t.ipv6.sport = sport;
		p->t.ipv6.dport = dport;
	}
}

/*
 * The ICMP (family 4) or ICMPv6 (family 6) message at off..end. Errors that
 * quote a packet (v4: destination unreachable, all codes, fragmentation
 * needed included; time exceeded; parameter problem. v6: destination
 * unreachable, packet too big, time exceeded, parameter problem) are parsed
 * down to the quoted IPv4/IPv6 header (v6: and one fragment header) and the
 * first 8 bytes of its TCP/UDP header, which RFC 792/4443 guarantee and the
 * kernel's error handlers need. Returns PARSE_ICMP_ERR with p->proto and the
 * reversed tuple in p->t (see PARSE_ICMP_ERR); STEER_C_NOT_IP for any other
 * ICMP (not an error, a fragmented ICMP message, a quoted packet that is no
 * TCP/UDP or a later fragment); STEER_C_MALFORMED when the ICMP header, the
 * quoted IP header or the 8 quoted L4 bytes are cut.
 */
static __always_inline int parse_icmp(struct __sk_buff *skb, struct pkt *p, __u32 off, __u32 end)
{
	__u8 ih[2]; /* type, code */
	__be16 ports[2];
	__u8 nh;

	if (p->frag)
		return STEER_C_NOT_IP; /* a fragmented ICMP message: ignored */
	if (off + 8 > end || bpf_skb_load_bytes(skb, off, ih, sizeof(ih)))
		return STEER_C_MALFORMED;
	if (p->family == 4 ? ih[0] != 3 && ih[0] != 11 && ih[0] != 12 : ih[0] < 1 || ih[0] > 4)
		return STEER_C_NOT_IP;
	off += 8;
	if (p->family == 4) {
		struct iphdr ip;

		if (off + sizeof(ip) > end || bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)))
			return STEER_C_MALFORMED;
		if (ip.version != 4 || ip.ihl < 5)
			return STEER_C_MALFORMED;
		if (ip.frag_off & bpf_htons(0x1fff))
			return STEER_C_NOT_IP; /* quotes a later fragment: no ports */
		nh = ip.protocol;
		p->t.ipv4.saddr = ip.daddr;
		p->t.ipv4.daddr = ip.saddr;
		off += ip.ihl * 4;
	} else {
		struct ipv6hdr ip6;

		if (off + sizeof(ip6) > end || bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)))
			return STEER_C_MALFORMED;
		if (ip6.version != 6)
			return STEER_C_MALFORMED;
		nh = ip6.nexthdr;
		__builtin_memcpy(p->t.ipv6.saddr, &ip6.daddr, 16);
		__builtin_memcpy(p->t.ipv6.daddr, &ip6.saddr, 16);
		off += sizeof(ip6);
		if (nh == IPPROTO_FRAGMENT) { /* the first fragment of a datagram the socket sent */
			__u8 fh[4]; /* next header, reserved, offset and flags */

			if (off + 8 > end || bpf_skb_load_bytes(skb, off, fh, sizeof(fh)))
				return STEER_C_MALFORMED;
			if ((fh[2] << 8 | fh[3]) & 0xfff8)
				return STEER_C_NOT_IP;
			nh = fh[0];
			off += 8;
		}
	}
	if (nh != IPPROTO_TCP && nh != IPPROTO_UDP)
		return STEER_C_NOT_IP;
	if (off + 8 > end || bpf_skb_load_bytes(skb, off, ports, sizeof(ports)))
		return STEER_C_MALFORMED;
	pkt_set_ports(p, ports[1], ports[0]);
	p->proto = nh;
	return PARSE_ICMP_ERR;
}

/* Ethernet and one 802.1Q/802.1ad tag: the L3 protocol and where it starts. */
static __always_inline int parse_eth(struct __sk_buff *skb, __u32 *off, __u16 *proto)
{
	struct ethhdr eth;

	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)))
		return STEER_C_MALFORMED;
	*proto = eth.h_proto;
	*off = ETH_HLEN;
	if (*proto == bpf_htons(ETH_P_8021Q) || *proto == bpf_htons(ETH_P_8021AD)) {
		__be16 vlan[2]; /* TCI, encapsulated protocol */

		if (bpf_skb_load_bytes(skb, *off, vlan, sizeof(vlan)))
			return STEER_C_MALFORMED;
		*proto = vlan[1];
		*off += 4;
	}
	return PARSE_OK;
}

/*
 * The IPv4 header at *off of an skb of len bytes: addresses and fragment
 * state into p, *off moved to the L4 header, *end the end of the datagram,
 * *nh its protocol.
 */
static __always_inline int parse_ipv4(struct __sk_buff *skb, struct pkt *p, __u32 len, __u32 *off, __u32 *end,
				      __u8 *nh)
{
	struct iphdr ip;
	__u32 hl, tot;

	if (bpf_skb_load_bytes(skb, *off, &ip, sizeof(ip)))
		return STEER_C_MALFORMED;
	if (ip.version != 4 || ip.ihl < 5)
		return STEER_C_MALFORMED;
	hl = ip.ihl * 4;
	tot = bpf_ntohs(ip.tot_len);
	if (tot == 0 && len - *off > 0xffff) {
		*end = len; /* BIG TCP aggregate */
	} else {
		if (tot < hl || tot > len - *off)
			return STEER_C_MALFORMED;
		*end = *off + tot;
	}
	p->family = 4;
	p->t.ipv4.saddr = ip.saddr;
	p->t.ipv4.daddr = ip.daddr;
	if (ip.frag_off & bpf_htons(0x3fff)) { /* MF or an offset: a fragment */
		p->frag_id = ip.id;
		if (ip.frag_off & bpf_htons(0x1fff)) {
			p->frag = FRAG_REST;
			p->proto = ip.protocol;
			return PARSE_FRAG_REST;
		}
		p->frag = FRAG_FIRST;
	}
	*nh = ip.protocol;
	*off += hl;
	return PARSE_OK;
}

/*
 * The IPv6 header at *off and up to STEER_MAX_EXT_HDRS extension headers
 * (hop-by-hop, routing, destination options, AH, fragment): as parse_ipv4,
 * *nh the first header that is TCP, UDP or ICMPv6.
 */
static __always_inline int parse_ipv6(struct __sk_buff *skb, struct pkt *p, __u32 len, __u32 *off, __u32 *end,
				      __u8 *nh)
{
	struct ipv6hdr ip6;
	__u32 plen;
	int i;

	if (bpf_skb_load_bytes(skb, *off, &ip6, sizeof(ip6)))
		return STEER_C_MALFORMED;
	if (ip6.version != 6)
		return STEER_C_MALFORMED;
	plen = bpf_ntohs(ip6.payload_len);
	if (plen == 0 && len - *off > 0xffff + sizeof(ip6)) {
		*end = len; /* jumbogram / BIG TCP aggregate */
	} else {
		if (plen > len - *off - sizeof(ip6))
			return STEER_C_MALFORMED;
		*end = *off + sizeof(ip6) + plen;
	}
	*nh = ip6.nexthdr;
	*off += sizeof(ip6);
	__builtin_memcpy(p->t.ipv6.saddr, &ip6.saddr, 16);
	__builtin_memcpy(p->t.ipv6.daddr, &ip6.daddr, 16);
	p->family = 6;

	for (i = 0; i < STEER_MAX_EXT_HDRS; i++) {
		__u8 h[2]; /* next header, length */

		if (*nh == IPPROTO_TCP || *nh == IPPROTO_UDP || *nh == IPPROTO_ICMPV6)
			break;
		if (*nh == IPPROTO_FRAGMENT) {
			struct frag_hdr {
				__u8 nexthdr, reserved;
				__be16 frag_off;
				__be32 id;
			} fh;

			if (bpf_skb_load_bytes(skb, *off, &fh, sizeof(fh)))
				return STEER_C_MALFORMED;
			if (fh.frag_off & bpf_htons(0xfff8)) {
				p->frag = FRAG_REST;
				p->frag_id = fh.id;
				p->proto = fh.nexthdr;
				return PARSE_FRAG_REST;
			}
			if (fh.frag_off & bpf_htons(1)) { /* M: the first of several */
				p->frag = FRAG_FIRST;
				p->frag_id = fh.id;
			}
			*nh = fh.nexthdr;
			*off += sizeof(fh);
		} else if (*nh == IPPROTO_HOPOPTS || *nh == IPPROTO_ROUTING || *nh == IPPROTO_DSTOPTS) {
			if (bpf_skb_load_bytes(skb, *off, h, sizeof(h)))
				return STEER_C_MALFORMED;
			*nh = h[0];
			*off += (h[1] + 1) * 8;
		} else if (*nh == IPPROTO_AH) {
			if (bpf_skb_load_bytes(skb, *off, h, sizeof(h)))
				return STEER_C_MALFORMED;
			*nh = h[0];
			*off += (h[1] + 2) * 4;
		} else {
			return STEER_C_NOT_IP;
		}
		if (*off > *end)
			return STEER_C_MALFORMED;
	}
	return PARSE_OK;
}

/*
 * The L4 header nh at off..end: TCP or UDP ports and flags into p (and
 * p->proto), or an ICMP/ICMPv6 message of the packet's family (parse_icmp).
 */
static __always_inline int parse_l4(struct __sk_buff *skb, struct pkt *p, __u32 off, __u32 end, __u8 nh)
{
	if (nh == IPPROTO_TCP) {
		struct tcphdr th;

		if (off + sizeof(th) > end || bpf_skb_load_bytes(skb, off, &th, sizeof(th)))
			return STEER_C_MALFORMED;
		if (th.doff < 5 || off + th.doff * 4 > end)
			return STEER_C_MALFORMED;
		p->tcp_flags = ((__u8 *)&th)[13];
		p->l4_off = (__u16)off;
		p->l4_end = end;
		pkt_set_ports(p, th.source, th.dest);
	} else if (nh == IPPROTO_UDP) {
		struct udphdr uh;
		__u16 ulen;

		if (off + sizeof(uh) > end || bpf_skb_load_bytes(skb, off, &uh, sizeof(uh)))
			return STEER_C_MALFORMED;
		ulen = bpf_ntohs(uh.len);
		/* A first fragment holds only the start of the datagram uh.len describes. */
		if (ulen != 0 && (ulen < sizeof(uh) || (!p->frag && off + ulen > end)))
			return STEER_C_MALFORMED;
		pkt_set_ports(p, uh.source, uh.dest);
	} else if (nh == (p->family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6)) {
		return parse_icmp(skb, p, off, end);
	} else {
		return STEER_C_NOT_IP;
	}
	p->proto = nh;
	return PARSE_OK;
}

/*
 * Returns PARSE_OK for a parsed TCP/UDP packet, PARSE_FRAG_REST for a later
 * fragment, PARSE_ICMP_ERR for an ICMP error about a TCP/UDP packet (see
 * parse_icmp), else the counter.
 */
static __always_inline int parse(struct __sk_buff *skb, struct pkt *p)
{
	__u32 len = skb->len;
	/*
	 * Zeroed although a layer that returns PARSE_OK sets them: where paths
	 * merge, clang may copy an unset one, and the verifier refuses to read
	 * an uninitialized register.
	 */
	__u32 off = 0, end = 0;
	__u8 nh = 0;
	__u16 proto;
	int c;

	c = parse_eth(skb, &off, &proto);
	if (c != PARSE_OK)
		return c;
	p->l3_off = (__u16)off;
	if (proto == bpf_htons(ETH_P_IP))
		c = parse_ipv4(skb, p, len, &off, &end, &nh);
	else if (proto == bpf_htons(ETH_P_IPV6))
		c = parse_ipv6(skb, p, len, &off, &end, &nh);
	else
		return STEER_C_NOT_IP;
	if (c != PARSE_OK)
		return c;
	return parse_l4(skb, p, off, end, nh);
}

static __always_inline __u16 pkt_dport(const struct pkt *p)
{
	return bpf_ntohs(p->family == 4 ? p->t.ipv4.dport : p->t.ipv6.dport);
}

static __always_inline int is_syn(const struct pkt *p)
{
	return (p->tcp_flags & (TCPF_SYN | TCPF_ACK | TCPF_RST)) == TCPF_SYN;
}

/* An ACK without SYN or RST: what completes a handshake, a SYN cookie's among them. */
static __always_inline int is_plain_ack(const struct pkt *p)
{
	return (p->tcp_flags & (TCPF_SYN | TCPF_ACK | TCPF_RST)) == TCPF_ACK;
}

#endif
