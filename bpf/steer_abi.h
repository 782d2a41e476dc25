/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The ABI between the classifier (steer.bpf.c) and user space: map keys and
 * values, counter indices, socket-map slots. Included by both sides, so it
 * uses only fixed-width kernel types.
 */
#ifndef STEER_ABI_H
#define STEER_ABI_H

#include <linux/types.h>

/*
 * Rules are numbered 0..STEER_MAX_RULES-1 in config order. Every rule map
 * returns a bitmap of the rules whose field matches; the packet matches the
 * rules set in all three bitmaps (ports, dst, src). Bypass rules win.
 */
#define STEER_RULE_WORDS 2
#define STEER_MAX_RULES (64 * STEER_RULE_WORDS)

struct steer_mask {
	__u64 w[STEER_RULE_WORDS];
};

/*
 * Two generations of rules live in the maps at once; user space fills the
 * idle one and then flips steer_gen, so a rule change is atomic for every
 * packet (a packet sees one generation, never a mix).
 */
#define STEER_GENERATIONS 2

/* Protocol slots of the port map. */
enum steer_proto_idx {
	STEER_PROTO_TCP = 0,
	STEER_PROTO_UDP = 1,
	STEER_PROTO_MAX,
};

/* steer_ports: ARRAY indexed by steer_port_index(gen, proto_idx, port). */
#define STEER_PORT_ENTRIES (STEER_GENERATIONS * STEER_PROTO_MAX * 65536)
static inline __u32 steer_port_index(__u32 gen, __u32 proto_idx, __u32 port)
{
	return (gen << 17) | (proto_idx << 16) | (port & 0xffff);
}

/*
 * LPM keys: the generation is the first byte of the key, so one trie holds
 * both generations and prefixlen = 8 + prefix length.
 */
struct steer_lpm4_key {
	__u32 prefixlen;
	__u8 gen;
	__u8 addr[4];
} __attribute__((packed));

struct steer_lpm6_key {
	__u32 prefixlen;
	__u8 gen;
	__u8 addr[16];
} __attribute__((packed));

/*
 * A ceiling, not an allocation: LPM tries are BPF_F_NO_PREALLOC, their nodes
 * allocated (and charged to the memory cgroup) as prefixes are inserted. It
 * holds both rule generations, so a reload may bring up to half of it per
 * trie: set files of a million prefixes reload without a restart.
 */
#define STEER_LPM_DEFAULT_ENTRIES (1u << 22)

/* Which rules of a generation are bypass rules (they win over steer rules). */
struct steer_ruleset {
	struct steer_mask bypass;
	struct steer_mask steer;
};

/* steer_local: HASH of the gateway's own addresses (never steered). */
struct steer_local_key {
	__u8 family; /* 4 or 6 */
	__u8 pad[3];
	__u8 addr[16]; /* IPv4 in the first 4 bytes, rest zero */
};
#define STEER_LOCAL_ENTRIES 4096

/* steer_listen: SOCKMAP slots holding the proxy's transparent listeners. */
enum steer_listen_slot {
	STEER_LISTEN_TCP4 = 0,
	STEER_LISTEN_TCP6 = 1,
	STEER_LISTEN_UDP4 = 2,
	STEER_LISTEN_UDP6 = 3,
	STEER_LISTEN_MAX,
};

/*
 * What the classifier does with a new matching flow (steer_mode in .bss,
 * written by user space at any time):
 *  EBPF:  steer it (bpf_sk_assign) and report it with backend EBPF;
 *  PROBE: nft steers: only report it (backend NFT); assign nothing, not even
 *         established packets or replies, so nft does all the work;
 *  SPLIT: steer_flow_bucket() < steer_split_percent → as EBPF, else as PROBE.
 * eBPF-steered packets carry the mark, and the nft rules skip marked packets.
 */
enum steer_mode {
	STEER_MODE_EBPF = 0,
	STEER_MODE_PROBE = 1,
	STEER_MODE_SPLIT = 2,
};

enum steer_backend_id {
	STEER_BACKEND_EBPF = 0,
	STEER_BACKEND_NFT = 1,
};

/*
 * The split hash: FNV-1a over the tuple, the same in the kernel and in user
 * space, so a test can predict which backend gets a flow. Addresses are in
 * network order (IPv4 in the first 4 bytes, rest zero), ports in host order.
 */
#ifdef __clang__
#define STEER_UNROLL _Pragma("unroll")
#else
#define STEER_UNROLL
#endif

static inline __u32 steer_flow_hash(__u8 family, __u8 proto, const __u8 *saddr, const __u8 *daddr,
				    __u16 sport, __u16 dport)
{
	__u32 h = 2166136261u;
	int n = family == 6 ? 16 : 4;

	STEER_UNROLL
	for (int i = 0; i < 16; i++)
		if (i < n)
			h = (h ^ saddr[i]) * 16777619u;
	STEER_UNROLL
	for (int i = 0; i < 16; i++)
		if (i < n)
			h = (h ^ daddr[i]) * 16777619u;
	h = (h ^ (sport >> 8)) * 16777619u;
	h = (h ^ (sport & 0xff)) * 16777619u;
	h = (h ^ (dport >> 8)) * 16777619u;
	h = (h ^ (dport & 0xff)) * 16777619u;
	h = (h ^ proto) * 16777619u;
	return h;
}

static inline __u32 steer_flow_bucket(__u8 family, __u8 proto, const __u8 *saddr, const __u8 *daddr,
				      __u16 sport, __u16 dport)
{
	return steer_flow_hash(family, proto, saddr, daddr, sport, dport) % 100;
}

/*
 * steer_events: RINGBUF of struct steer_event, one per new matching flow
 * (TCP SYN that goes to the listener, TIME_WAIT included; UDP first datagram
 * of a flow not seen for udp-idle-timeout, or whose outcome changed between
 * dropped and steered) that is steered (FLOW, EBPF), left to nft (FLOW, NFT)
 * or dropped fail-closed (DROP, EBPF). Fail-open passes and packets of
 * established flows are not reported. Wakeups are batched: BPF_RB_NO_WAKEUP
 * unless a quarter of the ring is full; user space also consumes on a short
 * timer. A record that cannot be reserved moves STEER_C_EVENTS_LOST.
 */
enum steer_event_kind {
	STEER_EV_FLOW = 1, /* a new flow steered (or, backend NFT, left to nft) */
	STEER_EV_DROP = 2, /* dropped: reason is the steer_counter that moved */
};

struct steer_event {
	__u64 ts_ns;   /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) when the classifier
			  recognized the new flow, before either backend steered it */
	__u32 ifindex; /* ingress interface */
	__u8 kind;     /* enum steer_event_kind */
	__u8 backend;  /* enum steer_backend_id */
	__u8 family;   /* 4 or 6 */
	__u8 proto;    /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 reason;   /* STEER_EV_DROP: enum steer_counter */
	__u8 pad[1];
	__u16 sport, dport; /* host byte order */
	__u8 saddr[16], daddr[16];
};

#define STEER_EVENTS_BYTES (4 << 20)
#define STEER_UDP_FLOWS 65536 /* LRU of UDP flows seen, for first-datagram events */

/*
 * steer_redirect: LRU_HASH from a flow's tuple (struct steer_flow_key) to the
 * listener slot the netns sk_lookup program (steer_lookup) must give the
 * flow's next socket lookup. The classifier records:
 *  - a SYN of a steered flow that meets a TIME_WAIT socket: the SYN goes to
 *    the TIME_WAIT socket and the kernel's TW_SYN path (which deschedules it)
 *    looks up a listener for the original destination: steer_lookup answers
 *    with the proxy's and deletes the entry;
 *  - a steered UDP datagram that arrives fragmented: all fragments are marked
 *    (local delivery), reassembled locally, and the reassembled datagram's
 *    socket lookup (original destination, no socket there) is answered with
 *    the proxy's UDP listener; the entry stays (refreshed by every first
 *    fragment) until it is older than udp-idle-timeout;
 *  - a steered TCP SYN that arrives IP-fragmented: the same (all fragments
 *    marked, no assign); the reassembled SYN's listener lookup is answered
 *    with the proxy's TCP listener, once, as for a TIME_WAIT SYN;
 *  - any new steered flow when the kernel refuses bpf_sk_assign on a
 *    SO_REUSEPORT listener (Linux before 6.6; steer_assign_via_lookup): the
 *    packet is only marked, and its socket lookup (TCP: once; UDP: until the
 *    flow's reply socket exists, refreshed while datagrams come) is answered
 *    with the listener, which the kernel then balances over the reuseport
 *    group, as it does for TPROXY.
 * An entry older than its age limit is ignored (and deleted).
 */
struct steer_flow_key {
	__u8 family; /* 4 or 6 */
	__u8 proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	__u16 sport, dport; /* host byte order */
	__u8 pad[2];
	__u8 saddr[16], daddr[16]; /* network order, IPv4 in the first 4 bytes */
};

/* Why a flow's lookup is redirected: which counter steer_lookup moves. */
enum steer_redirect_why {
	STEER_REDIRECT_TW = 0,   /* a TIME_WAIT SYN (or a reassembled fragmented SYN) */
	STEER_REDIRECT_FRAG = 1, /* a reassembled fragmented UDP datagram */
	STEER_REDIRECT_NEW = 2,  /* a new flow the kernel would not let us assign */
};

struct steer_redirect_val {
	__u64 ts;   /* bpf_ktime_get_ns() when recorded */
	__u32 slot; /* enum steer_listen_slot */
	__u32 why;  /* enum steer_redirect_why */
};

#define STEER_REDIRECT_ENTRIES 65536
#define STEER_TW_REDIRECT_NS (5ull * 1000 * 1000 * 1000) /* a TCP entry is good for 5 s */

/*
 * steer_frags: LRU_HASH of the fragmented datagrams being steered (client
 * datagrams of steered UDP flows, IP-fragmented TCP segments of steered new
 * flows or of flows the proxy holds; on the return interfaces, replies to the
 * proxy's connected upstream UDP sockets and established upstream TCP
 * sockets), keyed by the reassembly identity;
 * the value is the time of the first fragment.
 * Non-first fragments found here (within STEER_FRAG_NS) are marked too.
 */
struct steer_frag_key {
	__u8 family; /* 4 or 6 */
	__u8 proto;  /* IPv4: the protocol; IPv6: 0 (not part of its reassembly key) */
	__u8 pad[2];
	__u32 id;    /* IPv4: 16-bit identification; IPv6: fragment header id (network order) */
	__u8 saddr[16], daddr[16];
};

#define STEER_FRAG_ENTRIES 16384
#define STEER_FRAG_NS (2ull * 1000 * 1000 * 1000) /* fragments of one datagram come within 2 s */

/*
 * steer_ext_listen: with an external proxy (listener found by socket lookup
 * on proxy-port), the classifier puts the listener it found into this
 * SOCKMAP (same slots as steer_listen) when it records a redirect, because
 * an sk_lookup program cannot look sockets up; steer_lookup assigns from it.
 */

/*
 * Per-CPU counters (steer_counters, PERCPU_ARRAY indexed by enum
 * steer_counter). Every packet the classifier sees moves exactly one of them,
 * besides EVENTS_LOST (records) and the steer_lookup counters (socket
 * lookups).
 *
 * One table, X(ID, name, help): ID makes STEER_C_<ID>, name is the counter's
 * name in user space (STEER_COUNTER_NAMES: status, metrics, audit), help says
 * what moves it. The order is the index, and the index is ABI: append only.
 */
#define STEER_COUNTERS(X)                                                                               \
	X(STEERED_NEW, steered_new, "new flow assigned to the proxy listener")                          \
	X(STEERED_ESTABLISHED, steered_established, "packet of a flow the proxy holds")                 \
	X(RETURN_ASSIGNED, return_assigned, "return-interface reply assigned to upstream socket")       \
	X(RETURN_PASSED, return_passed, "return-interface packet not for the proxy (PROBE: every one)") \
	X(BYPASSED, bypassed, "matched a bypass rule")                                                  \
	X(NOT_MATCHED, not_matched,                                                                     \
	  "no rule matched, or not a new flow (PROBE: any TCP packet but a new SYN)")                   \
	X(LOCAL_DST, local_dst, "addressed to the gateway itself")                                      \
	X(TIME_WAIT_SYN, time_wait_syn, "new SYN hit a TIME_WAIT socket: sent to listener")             \
	X(NO_LISTENER_PASS, no_listener_pass, "no listener, on-proxy-down fail-open")                   \
	X(NO_LISTENER_DROP, no_listener_drop, "no listener, on-proxy-down fail-closed")                 \
	X(ASSIGN_FAILED, assign_failed, "bpf_sk_assign refused the socket")                             \
	X(MALFORMED, malformed, "truncated or invalid header: passed untouched")                        \
	X(FRAGMENT, fragment,                                                                           \
	  "non-first fragment of no steered datagram (or before its first): passed")                    \
	X(NOT_IP, not_ip, "not IPv4/IPv6, or not TCP/UDP")                                              \
	X(PROBED, probed, "new matching flow left to nft (probe/split)")                                \
	X(EVENTS_LOST, events_lost, "ring buffer full: an event not written (not per packet)")          \
	X(FRAGMENT_STEERED, fragment_steered,                                                           \
	  "fragment of a steered UDP datagram or TCP segment (new flow, or one the proxy holds; "       \
	  "or of a reply to an upstream socket, return program): marked for local delivery")            \
	/* steer_lookup (the netns sk_lookup program), not per classifier packet: */                    \
	X(TW_REDIRECTED, tw_redirected,                                                                 \
	  "TIME_WAIT SYN's (or reassembled fragmented SYN's) listener lookup given the proxy "          \
	  "listener")                                                                                   \
	X(FRAG_REDIRECTED, frag_redirected,                                                             \
	  "reassembled datagram's socket lookup given the UDP listener")                                \
	X(LOOKUP_FAILED, lookup_failed,                                                                 \
	  "recorded tuple, but no listener in the slot or assign refused")                              \
	/* classifier, per packet (appended: the indices above are stable): */                          \
	X(ICMP_DELIVERED, icmp_delivered,                                                               \
	  "ICMP/ICMPv6 error quoting a packet one of the proxy's sockets sent (a connected TCP "        \
	  "socket, not LISTEN/TIME_WAIT, or a connected UDP socket): marked for local delivery, "       \
	  "where icmp_rcv/icmpv6_rcv hand it to that socket. Other ICMP: not_ip; an error whose "       \
	  "quoted IP header or first 8 L4 bytes are cut: malformed")                                    \
	/* steer_lookup, per socket lookup: */                                                          \
	X(NEW_REDIRECTED, new_redirected,                                                               \
	  "new flow's socket lookup given the proxy listener (the kernel refuses bpf_sk_assign "        \
	  "on a SO_REUSEPORT listener: Linux before 6.6)")                                              \
	/* classifier, per packet: */                                                                   \
	X(COOKIE_ACK, cookie_ack,                                                                       \
	  "ACK completing a handshake the proxy's listener answered with a SYN cookie (no socket "      \
	  "yet): given to the listener")                                                                \
	X(PROXY_FULL_PASS, proxy_full_pass,                                                             \
	  "new flow while the built-in proxy is at its connection limit, on-proxy-down fail-open")      \
	X(PROXY_FULL_DROP, proxy_full_drop,                                                             \
	  "new flow while the built-in proxy is at its connection limit, on-proxy-down fail-closed")     \
	/* classifier, per packet of an offloaded flow (docs/offload.md): */                            \
	X(OFFLOAD_REDIRECTED, offload_redirected,                                                       \
	  "offloaded flow's segment translated and redirected to the next hop (FIB lookup resolved)")    \
	X(OFFLOAD_PASSED, offload_passed,                                                               \
	  "offloaded flow's segment translated and left to the stack to forward (FIB lookup not "       \
	  "resolved, TTL/hop limit expiring, or a VLAN-tagged frame)")                                  \
	X(OFFLOAD_MALFORMED, offload_malformed,                                                         \
	  "offloaded flow's segment whose TCP options do not add up: passed untouched")                 \
	X(OFFLOAD_ERROR, offload_error,                                                                 \
	  "offloaded flow's segment a helper could not read or rewrite: passed as it was left")              \
	/* not per packet: */                                                                           \
	X(OFFLOAD_TS_LEARNT, offload_ts_learnt,                                                         \
	  "an offloaded direction's TSval delta learnt from its first timestamped segment")             \
	/* classifier, per packet: */                                                                   \
	X(OFFLOAD_FROZEN, offload_frozen,                                                               \
	  "segment carrying data (or a FIN after such a cut) of a flow frozen for its handoff: its data " \
	  "cut off, its ACK passed on, or dropped whole if the trim failed (its sender sends it again, " \
	  "then translated)")

#define STEER_COUNTER_ENUM_(id, name, help) STEER_C_##id,
enum steer_counter {
	STEER_COUNTERS(STEER_COUNTER_ENUM_)
	STEER_C_MAX,
};
#undef STEER_COUNTER_ENUM_

/* Pins the ABI: a counter inserted above the last one would renumber the rest. */
_Static_assert(STEER_C_ICMP_DELIVERED == 20 && STEER_C_NEW_REDIRECTED == 21 &&
	       STEER_C_COOKIE_ACK == 22 && STEER_C_PROXY_FULL_DROP == 24 &&
	       STEER_C_OFFLOAD_REDIRECTED == 25 && STEER_C_OFFLOAD_TS_LEARNT == 29 && STEER_C_OFFLOAD_FROZEN == 30,
	       "steer counters are append-only");

/* The counters' names, indexed by enum steer_counter: an array initializer. */
#define STEER_COUNTER_NAME_(id, name, help) #name,
#define STEER_COUNTER_NAMES { STEER_COUNTERS(STEER_COUNTER_NAME_) }

/*
 * Offload (docs/offload.md): one entry per direction of an offloaded TCP flow,
 * keyed by the packet's own tuple (struct steer_flow_key as the packet
 * carries it: client->server and server->client are two entries). User space
 * writes the translation at handoff; the classifier sets state, end_seq,
 * last_ns, packets, bytes and, with STEER_OFL_F_TS, the learnt timestamp deltas.
 * All arithmetic is mod 2^32 on host-order values.
 */
/* end_seq: the segment's sequence number plus its payload (a FIN's own number), untranslated. */
#define STEER_OFL_S_FIN 1        /* a FIN went this way */
#define STEER_OFL_S_RST 2        /* an RST went this way */
#define STEER_OFL_S_TS_LEARNT 4  /* a segment is learning tsval_delta (and the reverse entry's tsecr_delta) */
#define STEER_OFL_S_TS_READY 8   /* ... and has stored it */
/*
 * A SYN came on the tuple: its client opened a new connection, so the
 * offloaded one is over; its entries take no more packets (the new
 * connection's are the normal path's) until user space removes them.
 */
#define STEER_OFL_S_SYN 16
/*
 * A freeze entry cut a data segment's payload off: a FIN after it in the
 * same direction is cut off too (its ACK goes on), or it would land in the
 * proxy's socket out of order, acknowledged there by SACK, never delivered.
 * The classifier does not know the socket's next sequence number: a FIN
 * after a cut duplicate (data the socket had already) is cut too, and its
 * sender sends it again after a timeout.
 */
#define STEER_OFL_S_CUT 32

/*
 * flags, written by user space: with STEER_OFL_F_TS the TSval delta is not
 * known at handoff (the peer's clock is not exposed) and is learnt from the
 * first timestamped segment: tsval_delta = (now_ms + ts_clock_offset) - TSval,
 * and the reverse direction's tsecr_delta = -tsval_delta.
 */
#define STEER_OFL_F_TS 1
/*
 * A freeze, not a translation yet: the flow is still the proxy's, which
 * drains its queues for the handoff while the classifier cuts the data off
 * the flow's segments (counted), so that its peers stop adding to them; their
 * ACKs and the rest (window updates, RST, a FIN unless data was cut before it
 * in its direction: STEER_OFL_S_CUT) reach the proxy's sockets as before. The
 * senders send the held-back data again, then translated.
 */
#define STEER_OFL_F_FREEZE 2

struct steer_offload_dir {
	__u32 seq_delta;   /* added to the sequence number */
	__u32 ack_delta;   /* added to the ack number (ACK set) and to every SACK block edge */
	__u32 tsval_delta; /* added to the timestamp option's TSval */
	__u32 tsecr_delta; /* added to its TSecr (ACK set) */
	__u8 wscale_in;    /* the shift the sender's window field is in */
	__u8 wscale_out;   /* the shift the receiver applies to it */
	__u8 flags;        /* STEER_OFL_F_* */
	__u8 pad;
	__u32 end_seq;
	__u64 state; /* STEER_OFL_S_*, or'ed in by the classifier (64 bits: an atomic or of any BPF ISA) */
	/*
	 * The TSval clock of the socket this direction's packets stand in for,
	 * minus CLOCK_MONOTONIC, in ms (the proxy reads both at handoff).
	 */
	__s64 ts_clock_offset;
	__u64 last_ns; /* bpf_ktime_get_ns() of the last segment translated: idleness */
	__u64 packets; /* segments taken for translation (counted first: a failed one too) */
	/*
	 * Payload bytes translated, retransmissions included: what end_seq
	 * cannot say past 4 GiB. User space takes end_seq's count modulo 2^32
	 * and this for the multiples of 2^32 (exact while fewer than 4 GiB
	 * were sent twice).
	 */
	__u64 bytes;
};
_Static_assert(sizeof(struct steer_offload_dir) == 64, "the offload entry is ABI");

/* What the rewrite (bpf/offload.h, ofl_rewrite) did with a segment of an offloaded flow. */
enum steer_ofl_result {
	STEER_OFL_REWRITTEN = 0,
	STEER_OFL_SYN,       /* a SYN on the tuple: a new connection, not ours to translate: untouched */
	STEER_OFL_MALFORMED, /* the options area's lengths do not add up: untouched */
	STEER_OFL_ERROR,     /* a helper failed (the header could not be read or written back) */
	STEER_OFL_RESULTS,
};

#endif
