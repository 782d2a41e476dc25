// SPDX-License-Identifier: GPL-2.0-only
/* An operator's own tc filter, for the tests: counts what it sees, passes it on. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} chain_count SEC(".maps");

SEC("tc")
int chain_counter(struct __sk_buff *skb)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&chain_count, &zero);

	(void)skb;
	if (n)
		__sync_fetch_and_add(n, 1);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
