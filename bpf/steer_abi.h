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

#define STEER_LPM_DEFAULT_ENTRIES 65536

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
 * Per-CPU counters (steer_counters, PERCPU_ARRAY indexed by this enum).
 * Every packet the classifier sees moves exactly one of them.
 */
enum steer_counter {
	STEER_C_STEERED_NEW = 0,     /* new flow assigned to the proxy listener */
	STEER_C_STEERED_ESTABLISHED, /* packet of a flow the proxy holds */
	STEER_C_RETURN_ASSIGNED,     /* return-interface reply assigned to upstream socket */
	STEER_C_RETURN_PASSED,       /* return-interface packet not for the proxy */
	STEER_C_BYPASSED,            /* matched a bypass rule */
	STEER_C_NOT_MATCHED,         /* no rule matched, or not a new flow */
	STEER_C_LOCAL_DST,           /* addressed to the gateway itself */
	STEER_C_TIME_WAIT_SYN,       /* new SYN hit a TIME_WAIT socket: sent to listener */
	STEER_C_NO_LISTENER_PASS,    /* no listener, on-proxy-down fail-open */
	STEER_C_NO_LISTENER_DROP,    /* no listener, on-proxy-down fail-closed */
	STEER_C_ASSIGN_FAILED,       /* bpf_sk_assign refused the socket */
	STEER_C_MALFORMED,           /* truncated or invalid header: passed untouched */
	STEER_C_FRAGMENT,            /* non-first fragment: never steered */
	STEER_C_NOT_IP,              /* not IPv4/IPv6, or not TCP/UDP */
	STEER_C_MAX,
};

#define STEER_COUNTER_NAMES                                                  \
	{                                                                    \
		"steered_new", "steered_established", "return_assigned",    \
		"return_passed", "bypassed", "not_matched", "local_dst",    \
		"time_wait_syn", "no_listener_pass", "no_listener_drop",    \
		"assign_failed", "malformed", "fragment", "not_ip",         \
	}

#endif
