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
 *   Both TC programs mark ICMP/ICMPv6 errors about packets the proxy's
 *   sockets sent for local delivery (icmp_err), and only mark, never assign,
 *   IP-fragmented TCP/UDP of steered flows (reassembly drops an assigned
 *   socket).
 *   steer_lookup   sk_lookup, attached to the network namespace: gives the
 *                  proxy's listener to the socket lookups the classifier
 *                  cannot settle with an assign (a SYN that meets a
 *                  TIME_WAIT socket; a reassembled fragmented datagram).
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
 * and the counters of steer_lookup (TW_REDIRECTED, FRAG_REDIRECTED,
 * LOOKUP_FAILED), which count socket lookups, not packets. Malformed
 * packets are never dropped: they are passed untouched and counted.
 * Headers are read with bpf_skb_load_bytes, so non-linear skbs work and
 * every read is bounds-checked by the kernel.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
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

/*
 * Every verdict but a fail-closed drop: TC_ACT_UNSPEC is TCX_NEXT, so the
 * programs and clsact filters after ours still see the packet (TC_ACT_OK
 * would end the chain). A socket assigned and a mark set survive them.
 */
#define STEER_PASS TC_ACT_UNSPEC

/* ---- settings (rodata, fixed before load) ---- */
const volatile __u32 steer_mark = 0;
const volatile __u8 steer_fail_closed = 0;
const volatile __u8 steer_external_proxy = 0;
const volatile __u16 steer_proxy_port = 0; /* host byte order */
/* A UDP flow not seen for this long is new again (udp-idle-timeout). */
const volatile __u64 steer_udp_idle_ns = 60ull * 1000 * 1000 * 1000;
/* Wake the consumer when more than this many bytes wait (a quarter of the ring). */
const volatile __u32 steer_events_wake = STEER_EVENTS_BYTES / 4;

/* ---- run mode (bss, written by user space through mmap at any time) ---- */
__u32 steer_mode = STEER_MODE_EBPF;    /* enum steer_mode */
__u32 steer_split_percent = 0;         /* SPLIT: buckets 0..percent-1 are eBPF's */

/* ---- rules generations (bss, written by user space through mmap) ---- */
__u32 steer_gen = 0;
struct steer_ruleset steer_rulesets[STEER_GENERATIONS] = {};
/*
 * Bit p: some rule of some generation since start steered TCP port p (bits
 * are only ever set). A non-SYN to any other port cannot belong to a flow
 * the proxy holds, so it skips the socket lookup, the classifier's dearest
 * step, which would otherwise tax every packet the gateway forwards.
 */
__u64 steer_tcp_ports_seen[65536 / 64] = {};

/* ---- maps ---- */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_PORT_ENTRIES);
	__type(key, __u32);
	__type(value, struct steer_mask);
} steer_ports SEC(".maps");

#define STEER_LPM_MAP(NAME, KEY)                                  \
	struct {                                                  \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);              \
		__uint(max_entries, STEER_LPM_DEFAULT_ENTRIES);   \
		__uint(map_flags, BPF_F_NO_PREALLOC);             \
		__type(key, KEY);                                 \
		__type(value, struct steer_mask);                 \
	} NAME SEC(".maps")

STEER_LPM_MAP(steer_dst4, struct steer_lpm4_key);
STEER_LPM_MAP(steer_src4, struct steer_lpm4_key);
STEER_LPM_MAP(steer_dst6, struct steer_lpm6_key);
STEER_LPM_MAP(steer_src6, struct steer_lpm6_key);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_LOCAL_ENTRIES);
	__type(key, struct steer_local_key);
	__type(value, __u8);
} steer_local SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, STEER_LISTEN_MAX);
	__type(key, __u32);
	__type(value, __u64);
} steer_listen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STEER_C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} steer_counters SEC(".maps");

/* One struct steer_event per new matching flow steered, probed or dropped. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, STEER_EVENTS_BYTES); /* the loader may resize it */
} steer_events SEC(".maps");

/* A flow's tuple (struct steer_flow_key, steer_abi.h): the UDP flow key, the
 * steer_redirect key, and what the split hash and events use. */
#define flow_key steer_flow_key

struct udp_seen {
	__u64 ts;   /* bpf_ktime_get_ns() of the flow's last datagram */
	__u32 kind; /* enum steer_event_kind of the last event reported */
	__u32 pad;
};

/* UDP flows seen, for first-datagram events (LRU: a flood only evicts). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, STEER_UDP_FLOWS);
	__type(key, struct flow_key);
	__type(value, struct udp_seen);
} steer_udp_seen SEC(".maps");

/* Flows whose next socket lookup steer_lookup answers (see steer_abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, STEER_REDIRECT_ENTRIES);
	__type(key, struct steer_flow_key);
	__type(value, struct steer_redirect_val);
} steer_redirect SEC(".maps");

/* Fragmented datagrams being steered: value = time of the first fragment. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, STEER_FRAG_ENTRIES);
	__type(key, struct steer_frag_key);
	__type(value, __u64);
} steer_frags SEC(".maps");

/* External proxy: its listeners, put here by the classifier for steer_lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, STEER_LISTEN_MAX);
	__type(key, __u32);
	__type(value, __u64);
} steer_ext_listen SEC(".maps");

/* ---- parsing ---- */

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
	__u32 frag_id; /* FRAG_*: IPv4 identification / IPv6 fragment id, as on the wire */
	struct bpf_sock_tuple t; /* packet's own tuple, network byte order (FRAG_REST: addresses only) */
};

/* parse(): a non-first fragment; family, addresses, proto and frag_id are set. */
#define PARSE_FRAG_REST (-2)
/*
 * parse(): an ICMP/ICMPv6 error quoting a TCP/UDP packet; p->proto is the
 * quoted protocol and p->t the quoted tuple reversed, i.e. as an incoming
 * packet for the socket that sent the quoted one would carry it (saddr = the
 * quoted daddr, sport = the quoted dport, ...), ready for a socket lookup.
 */
#define PARSE_ICMP_ERR (-3)

static __always_inline void count(__u32 c)
{
	__u64 *v = bpf_map_lookup_elem(&steer_counters, &c);

	if (v)
		*v += 1;
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
	if (p->family == 4) {
		p->t.ipv4.sport = ports[1];
		p->t.ipv4.dport = ports[0];
	} else {
		p->t.ipv6.sport = ports[1];
		p->t.ipv6.dport = ports[0];
	}
	p->proto = nh;
	return PARSE_ICMP_ERR;
}

/*
 * Returns -1 when the packet is a parsed TCP/UDP packet (p->frag FRAG_FIRST
 * for the first fragment of a fragmented one), PARSE_FRAG_REST for a later
 * fragment, PARSE_ICMP_ERR for an ICMP error about a TCP/UDP packet (see
 * parse_icmp), else the counter.
 */
static __always_inline int parse(struct __sk_buff *skb, struct pkt *p)
{
	__u32 len = skb->len;
	__u32 off = ETH_HLEN, end;
	__u16 proto;
	__u8 nh;
	struct ethhdr eth;

	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)))
		return STEER_C_MALFORMED;
	proto = eth.h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		__be16 vlan[2]; /* TCI, encapsulated protocol */

		if (bpf_skb_load_bytes(skb, off, vlan, sizeof(vlan)))
			return STEER_C_MALFORMED;
		proto = vlan[1];
		off += 4;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;
		__u32 hl, tot;

		if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)))
			return STEER_C_MALFORMED;
		if (ip.version != 4 || ip.ihl < 5)
			return STEER_C_MALFORMED;
		hl = ip.ihl * 4;
		tot = bpf_ntohs(ip.tot_len);
		if (tot == 0 && len - off > 0xffff) {
			end = len; /* BIG TCP aggregate */
		} else {
			if (tot < hl || tot > len - off)
				return STEER_C_MALFORMED;
			end = off + tot;
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
		nh = ip.protocol;
		off += hl;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		__u32 plen;
		int i;

		if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)))
			return STEER_C_MALFORMED;
		if (ip6.version != 6)
			return STEER_C_MALFORMED;
		plen = bpf_ntohs(ip6.payload_len);
		if (plen == 0 && len - off > 0xffff + sizeof(ip6)) {
			end = len; /* jumbogram / BIG TCP aggregate */
		} else {
			if (plen > len - off - sizeof(ip6))
				return STEER_C_MALFORMED;
			end = off + sizeof(ip6) + plen;
		}
		nh = ip6.nexthdr;
		off += sizeof(ip6);
		__builtin_memcpy(p->t.ipv6.saddr, &ip6.saddr, 16);
		__builtin_memcpy(p->t.ipv6.daddr, &ip6.daddr, 16);
		p->family = 6;

		for (i = 0; i < STEER_MAX_EXT_HDRS; i++) {
			__u8 h[2]; /* next header, length */

			if (nh == IPPROTO_TCP || nh == IPPROTO_UDP || nh == IPPROTO_ICMPV6)
				break;
			if (nh == IPPROTO_FRAGMENT) {
				struct frag_hdr {
					__u8 nexthdr, reserved;
					__be16 frag_off;
					__be32 id;
				} fh;

				if (bpf_skb_load_bytes(skb, off, &fh, sizeof(fh)))
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
				nh = fh.nexthdr;
				off += sizeof(fh);
			} else if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
				   nh == IPPROTO_DSTOPTS) {
				if (bpf_skb_load_bytes(skb, off, h, sizeof(h)))
					return STEER_C_MALFORMED;
				nh = h[0];
				off += (h[1] + 1) * 8;
			} else if (nh == IPPROTO_AH) {
				if (bpf_skb_load_bytes(skb, off, h, sizeof(h)))
					return STEER_C_MALFORMED;
				nh = h[0];
				off += (h[1] + 2) * 4;
			} else {
				return STEER_C_NOT_IP;
			}
			if (off > end)
				return STEER_C_MALFORMED;
		}
	} else {
		return STEER_C_NOT_IP;
	}

	if (nh == IPPROTO_TCP) {
		struct tcphdr th;

		if (off + sizeof(th) > end || bpf_skb_load_bytes(skb, off, &th, sizeof(th)))
			return STEER_C_MALFORMED;
		if (th.doff < 5 || off + th.doff * 4 > end)
			return STEER_C_MALFORMED;
		p->tcp_flags = ((__u8 *)&th)[13];
		if (p->family == 4) {
			p->t.ipv4.sport = th.source;
			p->t.ipv4.dport = th.dest;
		} else {
			p->t.ipv6.sport = th.source;
			p->t.ipv6.dport = th.dest;
		}
	} else if (nh == IPPROTO_UDP) {
		struct udphdr uh;
		__u16 ulen;

		if (off + sizeof(uh) > end || bpf_skb_load_bytes(skb, off, &uh, sizeof(uh)))
			return STEER_C_MALFORMED;
		ulen = bpf_ntohs(uh.len);
		/* A first fragment holds only the start of the datagram uh.len describes. */
		if (ulen != 0 && (ulen < sizeof(uh) || (!p->frag && off + ulen > end)))
			return STEER_C_MALFORMED;
		if (p->family == 4) {
			p->t.ipv4.sport = uh.source;
			p->t.ipv4.dport = uh.dest;
		} else {
			p->t.ipv6.sport = uh.source;
			p->t.ipv6.dport = uh.dest;
		}
	} else if (nh == (p->family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6)) {
		return parse_icmp(skb, p, off, end);
	} else {
		return STEER_C_NOT_IP;
	}
	p->proto = nh;
	return -1;
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

static __always_inline __u16 pkt_dport(const struct pkt *p)
{
	return bpf_ntohs(p->family == 4 ? p->t.ipv4.dport : p->t.ipv6.dport);
}

static __always_inline struct bpf_sock *skc_lookup(struct __sk_buff *skb, struct pkt *p)
{
	if (p->family == 4)
		return bpf_skc_lookup_tcp(skb, &p->t, sizeof(p->t.ipv4), BPF_F_CURRENT_NETNS, 0);
	return bpf_skc_lookup_tcp(skb, &p->t, sizeof(p->t.ipv6), BPF_F_CURRENT_NETNS, 0);
}

static __always_inline int tcp_port_seen(const struct pkt *p)
{
	__u16 port = pkt_dport(p);

	return (steer_tcp_ports_seen[(port >> 6) & 1023] >> (port & 63)) & 1;
}

static __always_inline int is_syn(const struct pkt *p)
{
	return (p->tcp_flags & (TCPF_SYN | TCPF_ACK | TCPF_RST)) == TCPF_SYN;
}

static __always_inline int fail_verdict(void)
{
	return steer_fail_closed ? TC_ACT_SHOT : STEER_PASS;
}

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

	__u32 slot = p->proto == IPPROTO_TCP ? (p->family == 4 ? STEER_LISTEN_TCP4 : STEER_LISTEN_TCP6)
					     : (p->family == 4 ? STEER_LISTEN_UDP4 : STEER_LISTEN_UDP6);

	return bpf_map_lookup_elem(&steer_listen, &slot);
}

static __always_inline __u32 listen_slot(const struct pkt *p)
{
	if (p->proto == IPPROTO_TCP)
		return p->family == 4 ? STEER_LISTEN_TCP4 : STEER_LISTEN_TCP6;
	return p->family == 4 ? STEER_LISTEN_UDP4 : STEER_LISTEN_UDP6;
}

static __always_inline void flow_key_make(struct flow_key *k, const struct pkt *p);

/* The flow's next socket lookup gets the listener of this slot (steer_lookup). */
static __always_inline void redirect_record(const struct pkt *p, __u32 slot)
{
	struct steer_redirect_val v = { .ts = bpf_ktime_get_ns(), .slot = slot };
	struct flow_key k;

	flow_key_make(&k, p);
	bpf_map_update_elem(&steer_redirect, &k, &v, BPF_ANY);
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
	redirect_record(p, slot);
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
	struct steer_frag_key fk;
	__u64 now = bpf_ktime_get_ns();

	frag_key_make(&fk, p);
	bpf_map_update_elem(&steer_frags, &fk, &now, BPF_ANY);
	redirect_record(p, slot);
	skb->mark |= steer_mark;
	*c = STEER_C_FRAGMENT_STEERED;
	return STEER_PASS;
}

/* Steer a new flow to the proxy's listener; *c is the counter to move. */
static __always_inline int steer_new(struct __sk_buff *skb, struct pkt *p, struct bpf_sock *tw_sk, __u32 *c)
{
	struct bpf_sock *sk = find_listener(skb, p);
	long err;

	if (sk && p->proto == IPPROTO_TCP && sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		sk = NULL;
	}
	if (!sk) {
		if (steer_fail_closed) {
			*c = STEER_C_NO_LISTENER_DROP;
			return TC_ACT_SHOT;
		}
		*c = STEER_C_NO_LISTENER_PASS;
		return STEER_PASS;
	}
	if (tw_sk || p->frag) {
		__u32 slot = listen_slot(p);

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
		if (p->frag || !tw_sk)
			return steer_frag_first(skb, p, slot, c);
		return steer_tw(skb, p, tw_sk, slot, c);
	}
	err = bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	if (err) {
		*c = STEER_C_ASSIGN_FAILED;
		return fail_verdict();
	}
	skb->mark |= steer_mark;
	*c = STEER_C_STEERED_NEW;
	return STEER_PASS;
}

static __always_inline void flow_key_make(struct flow_key *k, const struct pkt *p)
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

/*
 * UDP: is this datagram the first of its flow for reporting purposes? Yes
 * when the flow is unknown, idle for longer than steer_udp_idle_ns, or its
 * last event was of another kind (a dropped flow that is now steered, or the
 * reverse). Records the datagram's time either way.
 */
static __always_inline int udp_first(const struct flow_key *k, __u64 now, __u32 kind)
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

static __always_inline void emit(struct __sk_buff *skb, const struct flow_key *k, __u64 now, __u8 kind,
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
	struct flow_key k;
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
			if (p->family == 4)
				sk = bpf_sk_lookup_udp(skb, &p->t, sizeof(p->t.ipv4), BPF_F_CURRENT_NETNS, 0);
			else
				sk = bpf_sk_lookup_udp(skb, &p->t, sizeof(p->t.ipv6), BPF_F_CURRENT_NETNS, 0);
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

/*
 * The first fragment of a TCP segment for a socket the proxy holds (client
 * side: an established flow; return side: a reply to an upstream socket):
 * reassembly orphans the skb, so an assigned socket would be dropped. All
 * fragments are only marked (the later ones through steer_frags); the
 * reassembled segment finds the socket by the kernel's own lookup.
 */
static __always_inline void frag_held(struct __sk_buff *skb, const struct pkt *p)
{
	struct steer_frag_key fk;
	__u64 now = bpf_ktime_get_ns();

	frag_key_make(&fk, p);
	bpf_map_update_elem(&steer_frags, &fk, &now, BPF_ANY);
	skb->mark |= steer_mark;
	count(STEER_C_FRAGMENT_STEERED);
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
				long err = bpf_sk_assign(skb, sk, 0);

				bpf_sk_release(sk);
				if (err) {
					count(STEER_C_ASSIGN_FAILED);
					return fail_verdict();
				}
				skb->mark |= steer_mark;
				count(STEER_C_STEERED_ESTABLISHED);
				return STEER_PASS;
			}
		}
		if (!syn) {
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
	long err;
	int c;

	c = parse(skb, &p);
	if (c == PARSE_FRAG_REST) /* a later fragment of a reply steered below? */
		return frag_rest(skb, &p, *(volatile __u32 *)&steer_mode);
	if (c == PARSE_ICMP_ERR) /* about a packet an upstream socket sent? */
		return icmp_err(skb, &p, *(volatile __u32 *)&steer_mode);
	if (c >= 0) {
		count(c);
		return STEER_PASS;
	}
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
		if (p.family == 4)
			sk = bpf_sk_lookup_udp(skb, &p.t, sizeof(p.t.ipv4), BPF_F_CURRENT_NETNS, 0);
		else
			sk = bpf_sk_lookup_udp(skb, &p.t, sizeof(p.t.ipv6), BPF_F_CURRENT_NETNS, 0);
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
	err = bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	if (err) {
		count(STEER_C_ASSIGN_FAILED);
		return STEER_PASS;
	}
	skb->mark |= steer_mark;
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
 * steer_redirect (recorded by the classifier: a TIME_WAIT SYN, or a
 * fragmented UDP datagram of a steered flow). Then it selects the proxy's
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
	__u32 proto = ctx->protocol, slot;
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
	if (proto == IPPROTO_TCP) {
		bpf_map_delete_elem(&steer_redirect, &k);
		count(STEER_C_TW_REDIRECTED);
	} else {
		count(STEER_C_FRAG_REDIRECTED);
	}
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
