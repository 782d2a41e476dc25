/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The offload's data path (docs/offload.md): one TCP segment of an offloaded
 * flow rewritten from its sender's sequence, timestamp and window spaces
 * into those its receiver knows, by the direction's struct steer_offload_dir.
 *
 * The whole TCP header (at most 60 bytes) is copied twice into a scratch
 * buffer the caller owns (a per-CPU map value: variable offsets into a map
 * value verify on every kernel we support, into the stack they do not):
 * the copy is rewritten, and one bpf_csum_diff over old and new header
 * gives the checksum's change. The header starts at an even offset of the
 * segment, so fields at odd offsets (a timestamp after one NOP) need no
 * byte-swapping, and the pseudo header does not change.
 */
#ifndef STEER_BPF_OFFLOAD_H
#define STEER_BPF_OFFLOAD_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "bpf/parse.h"
#include "bpf/steer_abi.h"

#define OFL_HDR_MAX 60
#define OFL_OPT_KIND_EOL 0
#define OFL_OPT_KIND_NOP 1
#define OFL_OPT_KIND_SACK 5
#define OFL_OPT_KIND_TS 8
#define OFL_SACK_MAX_BLOCKS 4

/*
 * Room for 20 + 4 * 15 bytes: the length the verifier can prove from the
 * arithmetic alone (ofl_rewrite); a header is never longer than OFL_HDR_MAX.
 */
#define OFL_HDR_ROOM 80
struct ofl_scratch {
	__u8 old[OFL_HDR_ROOM];
	__u8 hdr[OFL_HDR_ROOM];
};

static __always_inline __u32 ofl_get32(const __u8 *b, __u64 i)
{
	return (__u32)b[i] << 24 | (__u32)b[i + 1] << 16 | (__u32)b[i + 2] << 8 | b[i + 3];
}

static __always_inline void ofl_add32(__u8 *b, __u64 i, __u32 delta)
{
	__u32 v;

	/*
	 * i < 57 already (the callers' checks). The AND, in asm so that clang
	 * keeps it, gives the verifier a fresh scalar: Linux 6.12 turned
	 * "scratch pointer + i" into an unknown scalar when i was still linked
	 * to the register it was derived from (pos + 2 + 8 * b). The check
	 * after it bounds the fresh scalar again.
	 */
	asm volatile("%[i] &= 63" : [i] "+r"(i));
	if (i > OFL_HDR_MAX - 4) /* never at run time; the verifier's bound after the AND */
		return;
	v = ofl_get32(b, i) + delta;

	b[i] = v >> 24;
	b[i + 1] = v >> 16;
	b[i + 2] = v >> 8;
	b[i + 3] = v;
}

/*
 * The window field rescaled: the bytes the sender offers, in the receiver's
 * unit. Rounded down and clamped to the field, so the receiver is never
 * offered a byte the sender does not have room for (a Linux receiver rounds
 * its own window down the same way).
 */
static __always_inline __u16 ofl_window(__u16 win, __u8 in, __u8 out)
{
	__u32 w = ((__u32)win << (in & 15)) >> (out & 15);

	return w > 0xffff ? 0xffff : w;
}

struct ofl_walk {
	__u8 *h; /* the header copy (a map value) */
	struct steer_offload_dir *d;
	__u64 hl;  /* its length */
	__u64 pos; /* the next option's offset (64 bits: a 32-bit one is zero-extended into a copy the checks do not narrow) */
	int ack;
	int bad;
	int learnt; /* this segment learnt d->tsval_delta */
};

/*
 * The direction's TSval delta, learnt from its first timestamped segment (the
 * peer's clock is read by no socket option, so the proxy cannot give it):
 * the clock of the socket these segments stand in for, now, minus the TSval.
 * Once: the fetch-or of the learnt bit picks one segment even when two CPUs
 * race, and the winner publishes the delta with the ready bit. A segment that
 * finds it learnt but not yet ready uses the delta it computed itself, from
 * the same clock a moment apart: never the unlearnt 0, which would carry the
 * peer's raw TSval, possibly far ahead of the clock the receiver knows, into
 * its PAWS state (every later segment would then look old and be dropped).
 */
static __always_inline __u32 ofl_ts_delta(struct ofl_walk *w, __u32 tsval)
{
	struct steer_offload_dir *d = w->d;
	__u32 delta;

	if (!(d->flags & STEER_OFL_F_TS) || (*(volatile __u64 *)&d->state & STEER_OFL_S_TS_READY))
		return d->tsval_delta;
	delta = (__u32)(bpf_ktime_get_ns() / 1000000 + d->ts_clock_offset) - tsval;
	if (__sync_fetch_and_or(&d->state, STEER_OFL_S_TS_LEARNT) & STEER_OFL_S_TS_LEARNT)
		return delta;
	d->tsval_delta = delta;
	__sync_fetch_and_or(&d->state, STEER_OFL_S_TS_READY);
	w->learnt = 1;
	return delta;
}

/* One option at w->pos (bpf_loop's callback: verified once, not once per iteration). 1 ends the walk. */
static long ofl_option(__u32 n, void *ctx)
{
	struct ofl_walk *w = ctx;
	__u8 *h = w->h, kind, len;
	__u64 pos = w->pos;

	(void)n;
	/* pos > 58 only says to the verifier what pos >= hl says to us. */
	if (pos >= w->hl || pos > OFL_HDR_MAX - 2)
		return 1;
	kind = h[pos];
	if (kind == OFL_OPT_KIND_EOL)
		return 1;
	if (kind == OFL_OPT_KIND_NOP) {
		w->pos = pos + 1;
		return 0;
	}
	len = h[pos + 1];
	if (len < 2 || pos + len > w->hl)
		goto bad;
	if (kind == OFL_OPT_KIND_TS) {
		if (len != 10 || pos > OFL_HDR_MAX - 10)
			goto bad;
		ofl_add32(h, pos + 2, ofl_ts_delta(w, ofl_get32(h, pos + 2)));
		if (w->ack)
			ofl_add32(h, pos + 6, w->d->tsecr_delta);
	} else if (kind == OFL_OPT_KIND_SACK) {
		__u64 body = (__u64)len - 2, blocks = body >> 3, b;

		if (body & 7 || blocks == 0 || blocks > OFL_SACK_MAX_BLOCKS || pos > OFL_HDR_MAX - 10)
			goto bad;
		for (b = 0; b < OFL_SACK_MAX_BLOCKS; b++) {
			__u64 e = pos + 2 + b * 8;

			if (b >= blocks || e > OFL_HDR_MAX - 8)
				break;
			ofl_add32(h, e, w->d->ack_delta);
			ofl_add32(h, e + 4, w->d->ack_delta);
		}
	}
	w->pos = pos + len;
	return 0;
bad:
	w->bad = 1;
	return 1;
}

/*
 * Timestamps and SACK blocks in h[20..hl), walked as the kernel does; the
 * lengths are checked before anything is changed. *learnt: the walk learnt
 * d's TSval delta (ofl_learn). 0, or -1 for an options
 * area that does not add up (a length under 2 or past the header, a
 * timestamp not 10 bytes, a SACK option not 2 + 8n bytes, n 1..4). The
 * header has at most 40 option bytes, so 40 steps cover it.
 */
static __always_inline int ofl_options(__u8 *h, __u64 hl, struct steer_offload_dir *d, int ack, int *learnt)
{
	struct ofl_walk w = { .h = h, .d = d, .hl = hl, .pos = 20, .ack = ack };
	long n = bpf_loop(OFL_HDR_MAX - 20, ofl_option, &w, 0);

	*learnt = w.learnt;
	if (n < 0)
		return -1;
	return w.bad ? -1 : 0;
}

/* Whether the TCP segment p carries data (FIN and SYN flags aside): 1, 0, or < 0 unreadable. */
static __always_inline int ofl_carries_data(struct __sk_buff *skb, const struct pkt *p)
{
	__u8 doff;

	if (bpf_skb_load_bytes(skb, p->l4_off + 12, &doff, 1))
		return -1;
	return p->l4_end > p->l4_off + (__u32)(doff >> 4) * 4;
}

/*
 * The TCP header at off into s->old and s->hdr, its length into *hl:
 * STEER_OFL_REWRITTEN (loaded), MALFORMED (a data offset under 5) or ERROR.
 */
static __always_inline enum steer_ofl_result ofl_load_hdr(struct __sk_buff *skb, __u32 off,
							struct ofl_scratch *s, __u64 *hl)
{
	__u64 n;

	if (bpf_skb_load_bytes(skb, off, s->old, 20))
		return STEER_OFL_ERROR;
	if ((s->old[12] >> 4) < 5)
		return STEER_OFL_MALFORMED;
	/*
	 * (data offset - 5) * 4 + 20, the same for 5..15, but its bounds (20..80)
	 * come from the arithmetic, which a spill keeps: a compare does not on
	 * every verifier (Linux 6.1 lost "hl >= 20" when hl was spilled first,
	 * and refused the zero-length load it then saw as possible).
	 */
	n = 20 + ((__u64)(((s->old[12] >> 4) - 5) & 0xf) << 2);
	if (bpf_skb_load_bytes(skb, off, s->old, n) || bpf_skb_load_bytes(skb, off, s->hdr, n))
		return STEER_OFL_ERROR;
	*hl = n;
	return STEER_OFL_REWRITTEN;
}

/*
 * Rewrite the TCP segment p (parsed by parse(), p->proto TCP) in place by d:
 * sequence number, ack number (ACK set), TSval and TSecr (ACK set), SACK
 * edges, the window, then the checksum. FIN and RST are noted in d->state,
 * with d->end_seq the untranslated sequence number after the segment's
 * payload (a FIN's own), for user space to retire the entry and count the
 * bytes; d->bytes adds the payload. s is the caller's scratch. *learnt: this segment learnt d's TSval
 * delta (STEER_OFL_F_TS), for the caller to set the reverse's TSecr delta.
 */
static __always_inline enum steer_ofl_result ofl_rewrite(struct __sk_buff *skb, const struct pkt *p,
						   struct steer_offload_dir *d, struct ofl_scratch *s,
						   int *learnt)
{
	__u32 off = p->l4_off, seq, payload;
	__u64 hl;
	int ack = p->tcp_flags & TCPF_ACK;
	enum steer_ofl_result r;
	__s64 diff;
	__u16 win;

	*learnt = 0;
	if (p->tcp_flags & TCPF_SYN)
		return STEER_OFL_SYN;
	r = ofl_load_hdr(skb, off, s, &hl);
	if (r != STEER_OFL_REWRITTEN)
		return r;
	if (ofl_options(s->hdr, hl, d, ack, learnt))
		return STEER_OFL_MALFORMED;
	seq = ofl_get32(s->hdr, 4);
	ofl_add32(s->hdr, 4, d->seq_delta);
	if (ack)
		ofl_add32(s->hdr, 8, d->ack_delta);
	win = ofl_window((__u16)(s->hdr[14] << 8 | s->hdr[15]), d->wscale_in, d->wscale_out);
	s->hdr[14] = win >> 8;
	s->hdr[15] = win;
	diff = bpf_csum_diff((__be32 *)s->old, hl, (__be32 *)s->hdr, hl, 0);
	if (diff < 0 || bpf_skb_store_bytes(skb, off, s->hdr, hl, 0) ||
	    bpf_l4_csum_replace(skb, off + 16, 0, diff, 0))
		return STEER_OFL_ERROR;
	payload = p->l4_end - off - (__u32)hl;
	if (payload)
		__sync_fetch_and_add(&d->bytes, payload);
	if (p->tcp_flags & (TCPF_FIN | TCPF_RST)) {
		/* an RST after the FIN (a peer that closed, then reset) carries the FIN's number + 1 */
		if (!(p->tcp_flags & TCPF_RST) || !(d->state & STEER_OFL_S_FIN))
			d->end_seq = seq + payload;
		__sync_fetch_and_or(&d->state, p->tcp_flags & TCPF_RST ? STEER_OFL_S_RST : STEER_OFL_S_FIN);
	}
	return STEER_OFL_REWRITTEN;
}

#endif
