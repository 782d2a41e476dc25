/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The arithmetic of the handoff (docs/offload.md, sections 2 and 3), apart
 * from any socket so that unit tests can drive every refusal.
 */
#include "proxy/splice.h"

#include <netinet/tcp.h>

#ifndef TCPI_OPT_USEC_TS
#define TCPI_OPT_USEC_TS 64 /* Linux 6.7+: TSvals in microseconds */
#endif

/* The largest window a field of 16 bits carries at this shift. */
static uint64_t window_cap(uint8_t shift)
{
	return (uint64_t)0xffff << shift;
}

/*
 * What x's peer may still send before x's announced right edge, in bytes: the
 * other leg's peer must accept at least that much, or the first segments
 * after the handoff would land past its window.
 */
static uint32_t announced_room(const struct tcp_snapshot *x)
{
	uint32_t edge = x->rcv_wup + x->rcv_wnd;

	return (int32_t)(edge - x->rcv) > 0 ? edge - x->rcv : 0;
}

/*
 * Whether x's peer may be sent further than it takes: y's peer was let send up
 * to y's announced edge, x's peer takes x->snd_wnd. Until the first translated
 * ACK tells y's peer the smaller window, what lands past it is dropped by the
 * receiver and sent again by its sender, as after any window that shrank (RFC
 * 9293 asks senders to be robust to it). Windows are exact only to their unit
 * (1 << shift, at most 16 KiB) and an idle flow's were announced by its last
 * ACK, so a little of that is the rule, not the exception: up to
 * SPLICE_EDGE_SLACK is accepted; more is not now, unless the flow is frozen
 * busy (splice.c): its peers' data is being held back already, and what lands past the edge is
 * more of that loss, which a busy stream's windows (as wide as its buffers,
 * and unrelated on the two legs) would otherwise never avoid.
 */
#define SPLICE_EDGE_SLACK 65536u

static bool overshoot(const struct tcp_snapshot *x, const struct tcp_snapshot *y)
{
	uint32_t room = announced_room(y);

	return room > x->snd_wnd && room - x->snd_wnd > SPLICE_EDGE_SLACK;
}

enum splice_refusal splice_options(const struct tcp_snapshot *a, const struct tcp_snapshot *b)
{
	bool ts_a = a->options & TCPI_OPT_TIMESTAMPS, ts_b = b->options & TCPI_OPT_TIMESTAMPS;

	if (ts_a != ts_b || ((a->options | b->options) & TCPI_OPT_USEC_TS))
		return SPLICE_TIMESTAMPS;
	/* A sender whose peer never echoes congestion marks (ECE) would never slow down for them. */
	if ((a->options ^ b->options) & TCPI_OPT_ECN)
		return SPLICE_ECN;
	/* Segments the server sends must fit what the client's path takes, and the other way. */
	if (b->advmss > a->snd_mss || a->advmss > b->snd_mss)
		return SPLICE_MSS;
	return SPLICE_GO;
}

enum splice_refusal splice_plan(const struct tcp_snapshot *a, const struct tcp_snapshot *b, bool frozen,
				struct proxy_splice *sp)
{
	struct proxy_splice_dir *up = &sp->dir[SPLICE_UP], *down = &sp->dir[SPLICE_DOWN];
	enum splice_refusal r = splice_options(a, b);

	if (r != SPLICE_GO)
		return r;
	/* The client's windows reach the server in B's unit, the server's the client in A's. */
	if (a->max_window > window_cap(b->rcv_wscale) || b->max_window > window_cap(a->rcv_wscale))
		return SPLICE_WINDOW;
	if (!frozen && (overshoot(a, b) || overshoot(b, a)))
		return SPLICE_EDGE;

	sp->timestamps = a->options & TCPI_OPT_TIMESTAMPS;
	/* client -> server: the client's next byte (A.rcv) is the byte the server expects (B.snd) */
	*up = (struct proxy_splice_dir){
		.seq_delta = b->snd - a->rcv,
		.ack_delta = b->rcv - a->snd,
		.wscale_in = a->snd_wscale,
		.wscale_out = b->rcv_wscale,
		.ts_clock_offset = b->ts_clock_offset,
		.next_seq = a->rcv,
	};
	*down = (struct proxy_splice_dir){
		.seq_delta = a->snd - b->rcv,
		.ack_delta = a->rcv - b->snd,
		.wscale_in = b->snd_wscale,
		.wscale_out = a->rcv_wscale,
		.ts_clock_offset = a->ts_clock_offset,
		.next_seq = b->rcv,
	};
	return SPLICE_GO;
}
