// SPDX-License-Identifier: GPL-2.0-only
/*
 * The offload wired into the daemon's classifier: entries installed by
 * steer_bpf_splice_add (bpf/offload_ctl.c, the classifier's splice_add) from
 * a struct proxy_splice, segments run through the real steer_ingress and
 * steer_return with BPF_PROG_TEST_RUN. A client->server segment comes out
 * translated, its TSval delta learnt from it (within the run's clock) and
 * the reverse entry's TSecr delta set; the next segment uses the learnt
 * delta; the server's reply, through the return program, gets the client's
 * own TSval back as its TSecr. Every output frame is compared byte for byte
 * with one built from the expected values (tests/lib/tcp_segments), its TCP
 * checksum verified here. A SYN on the tuple takes the normal path
 * untouched; a FIN shows through splice_end; splice_end with remove deletes
 * both entries; a second splice_add is -EEXIST and leaves the first. A
 * freeze cuts the payload off data segments both ways (their ACK goes on,
 * compared byte for byte with a pure ACK built here) and touches nothing
 * else, and the handoff replaces it in place. PROBE
 * mode translates too. Forwarding: with no route (the case's fresh network
 * namespace) the stack gets the translated segment (offload_passed); with
 * a route and a permanent neighbour, bpf_redirect with the neighbour's MAC,
 * the TTL decremented and the IP checksum right; a route without a
 * neighbour, bpf_redirect_neigh; a GSO aggregate longer than the MTU is
 * redirected, the same length not GSO is the stack's. Every run moves exactly the counters
 * named, by one.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pkt_cls.h>

#include "bpf/offload_ctl.h"
#include "tests/lib/classifier_harness.h"
#include "tests/lib/tcp_segments.h"

#define TS_OFFSET 987654321ll /* the replaced sockets' TSval clocks, ms after CLOCK_MONOTONIC */
#define PASS TC_ACT_UNSPEC /* the classifier's STEER_PASS: the chain and the stack go on */

static struct proxy_splice splice_of(int family)
{
	struct proxy_splice sp;

	memset(&sp, 0, sizeof(sp));
	sp.flow = 7;
	ct_sa(&sp.client, family == 4 ? CLI4 : CLI6, 40112);
	ct_sa(&sp.dst, family == 4 ? SRV4 : SRV6, 80);
	sp.timestamps = true;
	sp.dir[SPLICE_UP] = (struct proxy_splice_dir){ .seq_delta = 0x10000, .ack_delta = 0xfff00000,
						       .wscale_in = 7, .wscale_out = 9,
						       .ts_clock_offset = TS_OFFSET };
	sp.dir[SPLICE_DOWN] = (struct proxy_splice_dir){ .seq_delta = 0x100000, .ack_delta = (uint32_t)-0x10000,
							 .wscale_in = 9, .wscale_out = 7,
							 .ts_clock_offset = TS_OFFSET + 5000 };
	return sp;
}

static struct steer_offload_dir entry(struct inst *in, const struct seg *s)
{
	struct steer_offload_dir d;
	struct steer_flow_key k = seg_key(s);

	memset(&d, 0xee, sizeof(d));
	if (bpf_map_lookup_elem(steer_bpf_map_fd(in->b, "steer_offload"), &k, &d))
		memset(&d, 0, sizeof(d));
	return d;
}

static bool has_entry(struct inst *in, const struct seg *s)
{
	struct steer_offload_dir d;
	struct steer_flow_key k = seg_key(s);

	return bpf_map_lookup_elem(steer_bpf_map_fd(in->b, "steer_offload"), &k, &d) == 0;
}

static int ifindex_of(const char *name)
{
	return (int)if_nametoindex(name);
}

static uint64_t t0_ms, t1_ms; /* CLOCK_MONOTONIC around the last run */
static uint32_t gso_size; /* the next run's skb is a GSO aggregate of segments this large (0: not) */
static size_t out_len;    /* the next run's frame out is this long (0: as long as its frame in) */
static int also_counter = -1; /* the next run moves this counter too, by one */

/*
 * Frame f through a program (ret: steer_return), arriving on ifindex; out
 * gets the frame it made. Checks the verdict, the length, the mark left
 * alone, and that exactly counter c and, with learnt,
 * offload_ts_learnt moved, by one each, and nothing else.
 */
static void run(struct inst *in, bool ret, const char *name, const uint8_t *f, size_t len, uint8_t *out,
		int ifindex, int want_rv, int c, bool learnt)
{
	uint64_t a[STEER_C_MAX], b[STEER_C_MAX];
	struct __sk_buff ctx, cout;
	char what[256];
	int bad = 0;

	memset(&ctx, 0, sizeof(ctx));
	memset(&cout, 0, sizeof(cout));
	ctx.ingress_ifindex = ifindex;
	ctx.gso_size = gso_size;
	ctx.gso_segs = gso_size ? (len + gso_size - 1) / gso_size : 0;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = len, .data_out = out,
		    .data_size_out = SEG_FRAME_MAX, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .ctx_out = &cout,
		    .ctx_size_out = sizeof(cout), .repeat = 1);
	if (!ct_counters(in, a))
		ct_abort("counters unreadable");
	t0_ms = ct_mono_ns() / 1000000;
	if (bpf_prog_test_run_opts(in->fd[ret], &o)) {
		ct_fail(name, "test run: %s", strerror(errno));
		return;
	}
	t1_ms = ct_mono_ns() / 1000000;
	if (!ct_counters(in, b))
		ct_abort("counters unreadable");
	snprintf(what, sizeof(what), "verdict %d (want %d), length %u of %zu, mark %#x; counters moved:",
		 (int)o.retval, want_rv, o.data_size_out, len, cout.mark);
	for (int i = 0; i < STEER_C_MAX; i++) {
		uint64_t want = (i == c) + (learnt && i == STEER_C_OFFLOAD_TS_LEARNT) + (i == also_counter);

		if (b[i] - a[i] != want)
			bad = 1;
		if (b[i] != a[i])
			snprintf(what + strlen(what), sizeof(what) - strlen(what), " %s+%llu", ct_counter_names[i],
				 (unsigned long long)(b[i] - a[i]));
	}
	ct_check(name, !bad && (int)o.retval == want_rv && o.data_size_out == (out_len ? out_len : len) &&
			       cout.mark == 0, what);
	out_len = 0;
	also_counter = -1;
}

/* out equals s translated by d, and its TCP checksum is right. */
static void expect_frame(const char *name, const struct seg *s, const struct steer_offload_dir *d,
			 const uint8_t *out)
{
	uint8_t want[SEG_FRAME_MAX];
	struct seg w = seg_translated(s, d);
	size_t len = seg_build(&w, want);
	char n[160];

	snprintf(n, sizeof(n), "%s: checksum valid", name);
	ct_check(n, seg_csum_ok(s, out), "the TCP checksum is wrong");
	snprintf(n, sizeof(n), "%s: frame equals the expected translation", name);
	ct_check(n, !memcmp(out, want, len), "bytes differ from the independently built frame");
}

static struct steer_offload_dir dir_of(const struct proxy_splice_dir *p, uint32_t tsval, uint32_t tsecr)
{
	return (struct steer_offload_dir){ .seq_delta = p->seq_delta, .ack_delta = p->ack_delta, .tsval_delta = tsval,
					   .tsecr_delta = tsecr, .wscale_in = p->wscale_in,
					   .wscale_out = p->wscale_out };
}

static struct seg segment(int family, int reverse, uint32_t seq, uint32_t ack, uint32_t tsval, uint32_t tsecr)
{
	struct seg s = { .family = family, .reverse = reverse, .seq = seq, .ack = ack, .flags = 0x10,
			 .win = 1000, .payload = 10 };

	seg_ts(&s, tsval, tsecr);
	return s;
}

/* The whole life of one offloaded flow, in mode (EBPF or PROBE). */
static void flow(int family, enum steer_mode mode)
{
	struct inst in = ct_load(false, false);
	struct proxy_splice sp = splice_of(family);
	struct classifier_splice_end end;
	struct steer_offload_dir up, down, d;
	uint8_t f[SEG_FRAME_MAX], out[SEG_FRAME_MAX];
	struct seg s = segment(family, 0, 5000, 9000, 1000, 0), r;
	uint32_t learnt, lo, hi, learnt_down;
	size_t len;

	ct_check("set mode", steer_bpf_set_mode(in.b, mode, 0) == 0, "refused");
	ct_check("splice_add installs both directions", steer_bpf_splice_add(in.b, &sp) == 0, "failed");
	r = s;
	r.reverse = 1;
	up = entry(&in, &s);
	down = entry(&in, &r);
	ct_check("the entries carry the handoff's values",
		 up.seq_delta == 0x10000 && up.ack_delta == 0xfff00000 && up.wscale_in == 7 && up.wscale_out == 9 &&
			 up.flags == STEER_OFL_F_TS && up.ts_clock_offset == TS_OFFSET && up.state == 0 &&
			 down.seq_delta == 0x100000 && down.ts_clock_offset == TS_OFFSET + 5000 &&
			 down.wscale_in == 9 && down.packets == 0,
		 "an entry differs from the proxy_splice");

	len = seg_build(&s, f);
	run(&in, false, "first client segment: translated, passed to the stack (no route), TS learnt", f, len, out, 0,
	    PASS, STEER_C_OFFLOAD_PASSED, true);
	up = entry(&in, &s);
	learnt = up.tsval_delta;
	lo = (uint32_t)(t0_ms + TS_OFFSET) - 1000;
	hi = (uint32_t)(t1_ms + TS_OFFSET) - 1000;
	ct_check("the TSval delta learnt is now_ms + ts_clock_offset - TSval", learnt - lo <= hi - lo,
		 "outside the run's clock");
	ct_check("learnt and ready bits set",
		 (up.state & (STEER_OFL_S_TS_LEARNT | STEER_OFL_S_TS_READY)) ==
			 (STEER_OFL_S_TS_LEARNT | STEER_OFL_S_TS_READY), "not set");
	ct_check("the reverse entry's TSecr delta is its negation", entry(&in, &r).tsecr_delta == (uint32_t)-learnt,
		 "not set");
	d = dir_of(&sp.dir[SPLICE_UP], learnt, 0);
	expect_frame("first client segment", &s, &d, out);

	s = segment(family, 0, 5010, 9000, 1010, 0);
	len = seg_build(&s, f);
	run(&in, false, "second client segment: the learnt delta, not learnt again", f, len, out, 0, PASS,
	    STEER_C_OFFLOAD_PASSED, false);
	expect_frame("second client segment", &s, &d, out);

	/* The server echoes the translated TSval: the client must see its own 1010. */
	r = segment(family, 1, 70000, 5020 + 0x10000, 400, 1010 + learnt);
	len = seg_build(&r, f);
	run(&in, true, "server reply on the return program: translated, TS learnt", f, len, out, 0, PASS,
	    STEER_C_OFFLOAD_PASSED, true);
	learnt_down = entry(&in, &r).tsval_delta;
	d = dir_of(&sp.dir[SPLICE_DOWN], learnt_down, (uint32_t)-learnt);
	expect_frame("server reply", &r, &d, out);
	ct_check("server reply: TSecr is the client's own TSval", seg_get32(seg_tcp(&r, out) + 20 + 2 + 6) == 1010,
		 "TSecr not translated back");
	ct_check("server reply: the client entry's TSecr delta is the negated reply delta",
		 entry(&in, &s).tsecr_delta == (uint32_t)-learnt_down, "not set");

	s = segment(family, 0, 5020, 9000, 1020, 0);
	s.flags = 0x11; /* FIN ACK */
	s.payload = 5;
	len = seg_build(&s, f);
	run(&in, false, "client FIN: translated", f, len, out, 0, PASS, STEER_C_OFFLOAD_PASSED, false);
	ct_check("splice_end reads the flow", steer_bpf_splice_end(in.b, &sp, false, &end) == 0, "failed");
	ct_check("splice_end: FIN and end_seq after its payload", end.dir[SPLICE_UP].fin && !end.dir[SPLICE_UP].rst &&
		 end.dir[SPLICE_UP].end_seq == 5025 && !end.dir[SPLICE_DOWN].fin, "wrong");
	ct_check("splice_end: packets per direction", end.dir[SPLICE_UP].packets == 3 &&
		 end.dir[SPLICE_DOWN].packets == 1, "wrong counts");
	ct_check("splice_end: payload bytes per direction (the 4 GiB multiples of the close record)",
		 end.dir[SPLICE_UP].bytes == 10 + 10 + 5 && end.dir[SPLICE_DOWN].bytes == 10, "wrong counts");
	ct_check("splice_end: last_ns of the last translated segment",
		 end.dir[SPLICE_UP].last_ns / 1000000 >= t0_ms && end.dir[SPLICE_UP].last_ns / 1000000 <= t1_ms,
		 "outside the FIN's run");
	/* A peer that closed, then resets (data it did not read): the FIN's end stays the count's. */
	s = segment(family, 0, 5026, 9000, 1030, 0);
	s.flags = 0x14; /* RST ACK */
	s.payload = 0;
	len = seg_build(&s, f);
	run(&in, false, "client RST after its FIN: translated", f, len, out, 0, PASS, STEER_C_OFFLOAD_PASSED, false);
	ct_check("splice_end: the RST noted, the FIN's end_seq kept",
		 steer_bpf_splice_end(in.b, &sp, false, &end) == 0 && end.dir[SPLICE_UP].rst &&
			 end.dir[SPLICE_UP].end_seq == 5025, "overwritten");

	/* The client reuses its port: a new connection, whose segments the old entries must not touch. */
	s = segment(family, 0, 1, 0, 1, 0);
	s.flags = 0x02; /* SYN */
	len = seg_build(&s, f);
	run(&in, false, "SYN on the tuple: the normal path, untouched", f, len, out, 0, PASS,
	    STEER_C_NOT_MATCHED, false);
	ct_check("SYN on the tuple: frame unchanged", !memcmp(f, out, len), "the SYN was rewritten");
	ct_check("SYN on the tuple: both entries marked over", (entry(&in, &s).state & STEER_OFL_S_SYN) &&
		 (entry(&in, &r).state & STEER_OFL_S_SYN), "not marked");
	s = segment(family, 0, 2, 0, 2, 0);
	len = seg_build(&s, f);
	run(&in, false, "after the SYN: the new connection's segment takes the normal path", f, len, out, 0, PASS,
	    STEER_C_NOT_MATCHED, false);
	ct_check("after the SYN: frame unchanged", !memcmp(f, out, len), "translated by the old entry");
	r = segment(family, 1, 3, 2, 3, 2);
	len = seg_build(&r, f);
	run(&in, true, "after the SYN: the reply takes the normal path too", f, len, out, 0, PASS,
	    STEER_C_RETURN_PASSED, false);
	ct_check("after the SYN: the reply unchanged", !memcmp(f, out, len), "translated by the old entry");
	ct_check("splice_end: the SYN seen", steer_bpf_splice_end(in.b, &sp, false, &end) == 0 &&
		 end.dir[SPLICE_UP].syn && end.dir[SPLICE_DOWN].syn && end.dir[SPLICE_UP].packets == 4,
		 "not reported");

	ct_check("splice_add twice: -EEXIST", steer_bpf_splice_add(in.b, &sp) == -EEXIST, "not refused");
	ct_check("splice_add twice leaves the first", entry(&in, &s).packets == 4 && entry(&in, &r).packets == 1,
		 "an entry was replaced");

	ct_check("splice_end with remove", steer_bpf_splice_end(in.b, &sp, true, &end) == 0 &&
		 end.dir[SPLICE_UP].packets == 4, "failed");
	ct_check("both entries deleted", !has_entry(&in, &s) && !has_entry(&in, &r), "an entry is left");
	ct_check("splice_end after remove: -ENOENT", steer_bpf_splice_end(in.b, &sp, false, &end) == -ENOENT,
		 "not ENOENT");
	s = segment(family, 0, 5026, 9000, 1030, 0);
	len = seg_build(&s, f);
	run(&in, false, "after removal: the normal path, untouched", f, len, out, 0, PASS, STEER_C_NOT_MATCHED,
	    false);
	ct_check("after removal: frame unchanged", !memcmp(f, out, len), "rewritten");
	ct_destroy(&in);
}

static void flow_v4(void)
{
	flow(4, STEER_MODE_EBPF);
}

static void flow_v6(void)
{
	flow(6, STEER_MODE_EBPF);
}

static void flow_v4_probe(void)
{
	flow(4, STEER_MODE_PROBE);
}

/*
 * Options that do not add up: untouched, counted; the entry's packets count it
 * (taken for translation: an undo must not think the entries were idle).
 */
static void malformed(void)
{
	struct inst in = ct_load(false, false);
	struct proxy_splice sp = splice_of(4);
	uint8_t f[SEG_FRAME_MAX], out[SEG_FRAME_MAX];
	struct seg s = { .family = 4, .seq = 1, .ack = 2, .flags = 0x10, .win = 100, .optlen = 4 };
	size_t len;

	s.opt[0] = 8; /* a timestamp of length 3 */
	s.opt[1] = 3;
	ct_check("splice_add", steer_bpf_splice_add(in.b, &sp) == 0, "failed");
	len = seg_build(&s, f);
	run(&in, false, "malformed options: untouched, counted", f, len, out, 0, PASS,
	    STEER_C_OFFLOAD_MALFORMED, false);
	ct_check("malformed options: frame unchanged", !memcmp(f, out, len), "rewritten");
	ct_check("malformed options: counted as taken by the entries", entry(&in, &s).packets == 1, "not counted");
	ct_destroy(&in);
}

/*
 * A frozen flow's data segment, s (f, len), as it must come out: its payload
 * cut off, a pure ACK at the same sequence number (FIN and PSH cleared) for the
 * normal path; its lengths and checksums made anew.
 */
static size_t build_valid(const struct seg *s, uint8_t *f);

static void held_back(struct inst *in, const char *name, struct seg s, const uint8_t *f, size_t len)
{
	uint8_t out[SEG_FRAME_MAX], want[SEG_FRAME_MAX];
	char n[160];

	s.flags &= ~0x09; /* FIN, PSH */
	s.payload = 0;
	s.trailer = 0;
	out_len = build_valid(&s, want);
	also_counter = STEER_C_OFFLOAD_FROZEN;
	run(in, s.reverse, name, f, len, out, 0, PASS, s.reverse ? STEER_C_RETURN_PASSED : STEER_C_NOT_MATCHED,
	    false);
	snprintf(n, sizeof(n), "%s: checksum valid", name);
	ct_check(n, seg_csum_ok(&s, out), "the TCP checksum is wrong");
	snprintf(n, sizeof(n), "%s: the pure ACK, byte for byte", name);
	ct_check(n, !memcmp(out, want, build_valid(&s, want)), "bytes differ from the independently built frame");
}

/* A FIN without data in s's direction (s a copy): the normal path's, byte for byte unchanged. */
static void fin_passes(struct inst *in, struct seg s, const char *name)
{
	uint8_t f[SEG_FRAME_MAX], out[SEG_FRAME_MAX];
	char n[160];
	size_t len;

	s.flags = 0x11; /* FIN ACK */
	s.payload = 0;
	len = seg_build(&s, f);
	run(in, s.reverse, name, f, len, out, 0, PASS, s.reverse ? STEER_C_RETURN_PASSED : STEER_C_NOT_MATCHED,
	    false);
	snprintf(n, sizeof(n), "%s: unchanged", name);
	ct_check(n, !memcmp(f, out, len), "rewritten");
}

/*
 * A freeze: segments that carry data go on as their ACK alone (the payload
 * counted as held back) both ways, the rest takes the normal path untouched;
 * the handoff's splice_add then replaces the freeze in place, and the flow is
 * translated.
 */
static void freeze(int family)
{
	struct inst in = ct_load(false, false);
	struct proxy_splice sp = splice_of(family), fz = sp;
	uint8_t f[SEG_FRAME_MAX], out[SEG_FRAME_MAX];
	struct seg s = segment(family, 0, 5000, 9000, 1000, 0), r = segment(family, 1, 70000, 5000, 400, 0);
	size_t len;

	fz.freeze = true;
	ct_check("freeze: splice_add installs it", steer_bpf_splice_add(in.b, &fz) == 0, "failed");
	ct_check("freeze: both entries frozen, nothing else",
		 entry(&in, &s).flags == STEER_OFL_F_FREEZE && entry(&in, &r).flags == STEER_OFL_F_FREEZE &&
			 entry(&in, &s).seq_delta == 0, "not a freeze");
	/* Nothing cut yet: a FIN without data is the proxy's socket's, in order, and ends the flow proxied. */
	fin_passes(&in, r, "freeze: a FIN without data, nothing cut before it, takes the normal path");
	ct_check("freeze: nothing cut, nothing marked",
		 !(entry(&in, &s).state & STEER_OFL_S_CUT) && !(entry(&in, &r).state & STEER_OFL_S_CUT), "marked");
	len = build_valid(&s, f);
	held_back(&in, "freeze: the client's data held back, its ACK on", s, f, len);
	ct_check("freeze: the cut marked, in its direction only",
		 (entry(&in, &s).state & STEER_OFL_S_CUT) && !(entry(&in, &r).state & STEER_OFL_S_CUT), "not so");
	/* the other direction lost nothing: its FIN is still in order */
	fin_passes(&in, r, "freeze: a FIN the other way, after a cut this way, takes the normal path");
	len = build_valid(&r, f);
	held_back(&in, "freeze: the server's data held back, its ACK on", r, f, len);
	s.flags = 0x19; /* FIN PSH ACK with data, and Ethernet padding: the FIN comes again after the data */
	s.trailer = 6;
	len = build_valid(&s, f);
	held_back(&in, "freeze: data with a FIN held back, the FIN too", s, f, len);
	s.flags = 0x10;
	s.trailer = 0;
	s.payload = 0;
	len = seg_build(&s, f);
	run(&in, false, "freeze: a pure ACK takes the normal path", f, len, out, 0, PASS, STEER_C_NOT_MATCHED, false);
	ct_check("freeze: the ACK unchanged", !memcmp(f, out, len), "rewritten");
	/* After a cut it would land out of order in the proxy's socket: its sender sends it again, after the data. */
	s.flags = 0x11; /* FIN ACK */
	len = build_valid(&s, f);
	held_back(&in, "freeze: a FIN without data after a cut is cut too, its ACK on", s, f, len);
	s.flags = 0x14; /* RST ACK, with data: the proxy's socket must see the reset */
	s.payload = 10;
	len = seg_build(&s, f);
	run(&in, false, "freeze: an RST with data takes the normal path", f, len, out, 0, PASS, STEER_C_NOT_MATCHED,
	    false);
	ct_check("freeze: a second freeze is -EEXIST", steer_bpf_splice_add(in.b, &fz) == -EEXIST, "not refused");
	ct_check("freeze: the handoff replaces it", steer_bpf_splice_add(in.b, &sp) == 0, "failed");
	ct_check("freeze: replaced by the handoff's values",
		 entry(&in, &s).flags == STEER_OFL_F_TS && entry(&in, &s).seq_delta == 0x10000 &&
			 entry(&in, &r).flags == STEER_OFL_F_TS && entry(&in, &r).seq_delta == 0x100000,
		 "still frozen");
	s = segment(family, 0, 5000, 9000, 1000, 0);
	len = seg_build(&s, f);
	run(&in, false, "freeze replaced: the client's data translated", f, len, out, 0, PASS,
	    STEER_C_OFFLOAD_PASSED, true);
	ct_check("freeze replaced: splice_end removes both", steer_bpf_splice_end(in.b, &sp, true, &(struct classifier_splice_end){0}) == 0 &&
		 !has_entry(&in, &s) && !has_entry(&in, &r), "an entry is left");
	ct_destroy(&in);
}

static void freeze_v4(void)
{
	freeze(4);
}

static void freeze_v6(void)
{
	freeze(6);
}

/*
 * Another CPU is learning the delta (learnt bit set) but has not stored it:
 * this segment must carry the clock it computes itself, never the peer's raw
 * TSval (delta 0), which could move the receiver's PAWS state far ahead.
 */
static void learning_race(void)
{
	struct inst in = ct_load(false, false);
	struct proxy_splice sp = splice_of(4);
	uint8_t f[SEG_FRAME_MAX], out[SEG_FRAME_MAX];
	struct seg s = segment(4, 0, 5000, 9000, 1000, 0);
	struct steer_flow_key k = seg_key(&s);
	struct steer_offload_dir up;
	uint32_t tsval, lo, hi;
	size_t len;

	ct_check("splice_add", steer_bpf_splice_add(in.b, &sp) == 0, "failed");
	up = entry(&in, &s);
	up.state = STEER_OFL_S_TS_LEARNT;
	ct_check("learning in progress elsewhere",
		 bpf_map_update_elem(steer_bpf_map_fd(in.b, "steer_offload"), &k, &up, BPF_EXIST) == 0, "update failed");
	len = seg_build(&s, f);
	run(&in, false, "segment during another CPU's learning: translated, not learnt here", f, len, out, 0, PASS,
	    STEER_C_OFFLOAD_PASSED, false);
	tsval = seg_get32(seg_tcp(&s, out) + 20 + 2 + 2); /* after NOP NOP, kind and length */
	lo = (uint32_t)(t0_ms + TS_OFFSET);
	hi = (uint32_t)(t1_ms + TS_OFFSET);
	ct_check("its TSval is the stood-in socket's clock now", tsval - lo <= hi - lo, "the raw or a stale TSval");
	up = entry(&in, &s);
	ct_check("the delta is left to the learning segment", up.tsval_delta == 0 && !(up.state & STEER_OFL_S_TS_READY),
		 "stored by the loser");
	ct_destroy(&in);
}

static void sh(const char *cmd)
{
	if (system(cmd) != 0)
		ct_abort(cmd);
}

/* RFC 1071 over the IPv4 header: 0xffff when its checksum is right. */
static uint16_t ip_sum(const uint8_t *ip)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static int ip_csum_ok(const uint8_t *ip)
{
	return ip_sum(ip) == 0xffff;
}

/* seg_build leaves the IPv4 checksum 0: an incremental update needs a right one to start from. */
static size_t build_ip(const struct seg *s, uint8_t *f, uint8_t ttl)
{
	size_t len = seg_build(s, f);

	f[14 + 8] = ttl;
	seg_put16(f + 14 + 10, ~ip_sum(f + 14));
	return len;
}

/* A frame whose IPv4 checksum is right too (the trim's IP length update is incremental). */
static size_t build_valid(const struct seg *s, uint8_t *f)
{
	return s->family == 4 ? build_ip(s, f, 64) : seg_build(s, f);
}

/*
 * A route to the server through o0 (a veth) and a permanent
 * neighbour: the segment is redirected out of o0 with the neighbour's MAC.
 * The same with no neighbour: bpf_redirect_neigh, the MACs left to it.
 */
static void redirect(void)
{
	struct inst in = ct_load(false, false);
	struct proxy_splice sp = splice_of(4);
	uint8_t f[SEG_FRAME_MAX], out[SEG_FRAME_MAX], mac[6];
	struct seg s = segment(4, 0, 5000, 9000, 1000, 0);
	size_t len;
	int i0;

	sh("ip link add i0 type veth peer name i1 && "
	   "ip link add o0 address 02:00:00:00:00:0a type veth peer name o1 && ip link set i1 up && ip link set o1 up && "
	   "sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv4.conf.i0.forwarding=1 && "
	   "ip link set i0 up && ip link set o0 up && ip addr add 198.18.1.1/24 dev i0 && "
	   "ip addr add 198.18.9.1/24 dev o0 && ip route add 198.18.2.0/24 via 198.18.9.2 dev o0 && "
	   "ip neigh replace 198.18.9.2 lladdr 02:00:00:00:00:99 dev o0 nud permanent");
	i0 = ifindex_of("i0");
	ct_check("splice_add", steer_bpf_splice_add(in.b, &sp) == 0, "failed");
	len = build_ip(&s, f, 64);
	run(&in, false, "routed: redirected", f, len, out, i0, TC_ACT_REDIRECT, STEER_C_OFFLOAD_REDIRECTED, true);
	memcpy(mac, "\x02\x00\x00\x00\x00\x99", 6);
	ct_check("routed: destination MAC is the neighbour's", !memcmp(out, mac, 6), "wrong");
	memcpy(mac, "\x02\x00\x00\x00\x00\x0a", 6);
	ct_check("routed: source MAC is the outgoing device's", !memcmp(out + 6, mac, 6), "wrong");
	ct_check("routed: TTL decremented", out[14 + 8] == f[14 + 8] - 1, "not decremented");
	ct_check("routed: IP checksum valid", ip_csum_ok(out + 14), "wrong");
	ct_check("routed: TCP checksum valid", seg_csum_ok(&s, out), "wrong");

	sh("ip neigh del 198.18.9.2 dev o0");
	s = segment(4, 0, 5010, 9000, 1010, 0);
	len = build_ip(&s, f, 64);
	run(&in, false, "routed, no neighbour: redirected through bpf_redirect_neigh", f, len, out, i0,
	    TC_ACT_REDIRECT, STEER_C_OFFLOAD_REDIRECTED, false);
	ct_check("no neighbour: TTL decremented, IP checksum valid", out[14 + 8] == f[14 + 8] - 1 &&
		 ip_csum_ok(out + 14), "wrong");

	/* GRO's aggregates are far above the MTU: the FIB must check the skb, not the IP length. */
	sh("ip neigh replace 198.18.9.2 lladdr 02:00:00:00:00:99 dev o0 nud permanent");
	s = segment(4, 0, 5010, 9000, 1010, 0);
	s.payload = 3000;
	len = build_ip(&s, f, 64);
	gso_size = 1448;
	run(&in, false, "GSO aggregate above the MTU: redirected", f, len, out, i0, TC_ACT_REDIRECT,
	    STEER_C_OFFLOAD_REDIRECTED, false);
	gso_size = 0;
	run(&in, false, "the same length, not GSO: too big, left to the stack (its ICMP)", f, len, out, i0, PASS,
	    STEER_C_OFFLOAD_PASSED, false);

	s = segment(4, 0, 5020, 9000, 1020, 0);
	len = build_ip(&s, f, 1); /* TTL 1: the stack's, for its ICMP time exceeded */
	run(&in, false, "TTL 1: translated, left to the stack", f, len, out, i0, PASS, STEER_C_OFFLOAD_PASSED,
	    false);
	ct_destroy(&in);
}

CT_CASES({ "flow_v4", flow_v4 }, { "flow_v6", flow_v6 }, { "flow_v4_probe", flow_v4_probe },
	 { "malformed", malformed }, { "freeze_v4", freeze_v4 }, { "freeze_v6", freeze_v6 }, { "learning_race", learning_race },
	 { "redirect", redirect })
