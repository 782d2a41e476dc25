/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What a program answers for a packet: its TC verdict, and the one
 * steer_counter the packet moves.
 */
#ifndef STEER_BPF_VERDICT_H
#define STEER_BPF_VERDICT_H

#include <linux/pkt_cls.h>

#include "bpf/maps.h"

/*
 * Every verdict but a fail-closed drop: TC_ACT_UNSPEC is TCX_NEXT, so the
 * programs and clsact filters after ours still see the packet (TC_ACT_OK
 * would end the chain). A socket assigned and a mark set survive them.
 */
#define STEER_PASS TC_ACT_UNSPEC

static __always_inline void count(__u32 c)
{
	__u64 *v = bpf_map_lookup_elem(&steer_counters, &c);

	if (v)
		*v += 1;
}

/* No listener, or an assign refused: on-proxy-down decides. */
static __always_inline int fail_verdict(void)
{
	return steer_fail_closed ? TC_ACT_SHOT : STEER_PASS;
}

#endif
