// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Test-only object for tests/bpf/test_offload.c: bpf/offload.h's rewrite
 * behind a lookup of the packet's tuple, with its own maps, so the daemon's
 * classifier (steer.bpf.c) loads nothing of the offload until it is wired.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "bpf/keys.h"
#include "bpf/offload.h"
#include "bpf/parse.h"
#include "tests/bpf/offload_test.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct steer_flow_key);
	__type(value, struct steer_offload_dir);
} ofl_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ofl_scratch);
} ofl_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, OFL_T_MAX);
	__type(key, __u32);
	__type(value, __u64);
} ofl_counts SEC(".maps");

static __always_inline void ofl_count(__u32 c)
{
	__u64 *v = bpf_map_lookup_elem(&ofl_counts, &c);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("tc")
int offload_test(struct __sk_buff *skb)
{
	struct steer_offload_dir *d;
	struct steer_flow_key k;
	struct ofl_scratch *s;
	struct pkt p = {};
	__u32 zero = 0;
	int learnt;

	if (parse(skb, &p) != PARSE_OK || p.proto != IPPROTO_TCP) {
		ofl_count(OFL_T_NOT_TCP);
		return TC_ACT_OK;
	}
	flow_key_make(&k, &p);
	d = bpf_map_lookup_elem(&ofl_flows, &k);
	s = bpf_map_lookup_elem(&ofl_scratch, &zero);
	if (!d || !s) {
		ofl_count(OFL_T_MISS);
		return TC_ACT_OK;
	}
	ofl_count(ofl_rewrite(skb, &p, d, s, &learnt));
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
