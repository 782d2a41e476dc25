/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The state the BPF programs share with user space: settings (.rodata, fixed
 * before load), the run mode and the rules generations (.bss, written through
 * mmap), and the maps. The keys and values of the maps are the ABI
 * (steer_abi.h); user space and the tests find maps by these names.
 */
#ifndef STEER_BPF_MAPS_H
#define STEER_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "bpf/offload.h"
#include "bpf/steer_abi.h"

/* ---- settings (rodata, fixed before load) ---- */
const volatile __u32 steer_mark = 0;
const volatile __u8 steer_fail_closed = 0;
const volatile __u8 steer_external_proxy = 0;
const volatile __u16 steer_proxy_port = 0; /* host byte order */
/*
 * offload after BYTES is set: without it the verifier drops the offloaded
 * flows' path from both programs (Linux 6.1 under qemu locked up with it in,
 * idle: tests/net/test_switch.sh), so a gateway that does not offload runs
 * the programs it ran before offload existed.
 */
const volatile __u8 steer_offload_on = 0;
/* A UDP flow not seen for this long is new again (udp-idle-timeout). */
const volatile __u64 steer_udp_idle_ns = 60ull * 1000 * 1000 * 1000;
/* Wake the consumer when more than this many bytes wait (a quarter of the ring). */
const volatile __u32 steer_events_wake = STEER_EVENTS_BYTES / 4;

/* ---- run mode (bss, written by user space through mmap at any time) ---- */
__u32 steer_mode = STEER_MODE_EBPF;    /* enum steer_mode */
__u32 steer_split_percent = 0;         /* SPLIT: buckets 0..percent-1 are eBPF's */
/*
 * 1: the kernel refuses bpf_sk_assign on a SO_REUSEPORT socket (-ESOCKTNOSUPPORT,
 * Linux before 6.6), so new flows reach the proxy's listener through
 * steer_lookup and established ones through the kernel's own lookup (mark
 * only). Set by user space from its start probe, and by the classifier at
 * the first refusal, so that no flow is lost when the probe could not run.
 */
__u32 steer_assign_via_lookup = 0;
/*
 * 1: the built-in proxy is at its connection limit (a worker stopped
 * accepting): new flows meet on-proxy-down instead of waiting in a listen
 * queue nobody reads. Written by user space from the proxy's worker threads.
 */
__u32 steer_proxy_full = 0;

/*
 * Offloaded flows in steer_offload, kept by user space (splice add/end): at 0
 * no packet pays for the offload's lookup, which a gateway that offloads
 * nothing would otherwise pay on every TCP segment it forwards.
 */
__u32 steer_offload_live = 0;

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

struct udp_seen {
	__u64 ts;   /* bpf_ktime_get_ns() of the flow's last datagram */
	__u32 kind; /* enum steer_event_kind of the last event reported */
	__u32 pad;
};

/* UDP flows seen, for first-datagram events (LRU: a flood only evicts). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, STEER_UDP_FLOWS);
	__type(key, struct steer_flow_key);
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

/* The probe's reuseport listener (bpf/probe.c, steer_probe): slot 0 only. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} steer_probe_listen SEC(".maps");

/* External proxy: its listeners, put here by the classifier for steer_lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, STEER_LISTEN_MAX);
	__type(key, __u32);
	__type(value, __u64);
} steer_ext_listen SEC(".maps");

/*
 * Offloaded flows, one entry per direction (steer_abi.h, docs/offload.md).
 * Not preallocated: a gateway that offloads little should not hold 65536
 * entries' memory.
 */
#define STEER_OFFLOAD_ENTRIES 65536
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_OFFLOAD_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct steer_flow_key);
	__type(value, struct steer_offload_dir);
} steer_offload SEC(".maps");

/* ofl_rewrite's header copies (bpf/offload.h: variable offsets verify into a map value, not the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ofl_scratch);
} steer_offload_scratch SEC(".maps");

#endif
