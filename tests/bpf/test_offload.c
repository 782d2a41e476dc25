// SPDX-License-Identifier: GPL-2.0-only
/*
 * Offload data path (bpf/offload.h) through BPF_PROG_TEST_RUN on the
 * test-only object offload_test.bpf.c: TCP segments of a flow in the map are
 * translated (sequence and ack numbers, TSval/TSecr, SACK edges, the window
 * between two scales), IPv4 and IPv6. Every rewritten frame is compared byte
 * for byte with a frame this file builds from the expected values, and its
 * TCP checksum is verified here, independently of the kernel's helpers.
 * Frames of other flows, SYNs and malformed option areas leave untouched,
 * each counted. Every run moves exactly one counter, by one.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "tests/bpf/offload_test.h"
#include "tests/lib/tcp_segments.h"
#include "tests/bpf/offload_test.skel.h"
#include "tests/lib/classifier_runner.h"


static const char *const result_names[OFL_T_MAX] = { "rewritten", "syn", "malformed", "error", "miss", "not_tcp" };

/* One TCP segment of the test flow, client 40112 -> server 80 (or back, with reverse). */
struct ofl {
	struct offload_test *skel;
	int prog, flows, counts;
};

static struct ofl load(void)
{
	struct ofl o = { .skel = offload_test__open_and_load() };

	if (!o.skel)
		ct_abort("offload_test.bpf.o did not load (the verifier's log is above)");
	o.prog = bpf_program__fd(o.skel->progs.offload_test);
	o.flows = bpf_map__fd(o.skel->maps.ofl_flows);
	o.counts = bpf_map__fd(o.skel->maps.ofl_counts);
	return o;
}

static void install(struct ofl *o, const char *name, const struct seg *s, const struct steer_offload_dir *d)
{
	struct steer_flow_key k = seg_key(s);

	ct_check(name, bpf_map_update_elem(o->flows, &k, d, BPF_ANY) == 0, "map update failed");
}

static struct steer_offload_dir entry(struct ofl *o, const struct seg *s)
{
	struct steer_offload_dir d;
	struct steer_flow_key k = seg_key(s);

	memset(&d, 0xee, sizeof(d));
	bpf_map_lookup_elem(o->flows, &k, &d);
	return d;
}

/*
 * Frame in through the program; out gets what it made. Checks the verdict,
 * that the length is kept and that exactly counter `want` moved, by one.
 */
static void run(struct ofl *o, const char *name, const uint8_t *in, size_t len, uint8_t *out, int want)
{
	uint64_t before[OFL_T_MAX], after[OFL_T_MAX];
	char what[160];
	int moved = -1, extra = 0;
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = in, .data_size_in = len, .data_out = out,
		    .data_size_out = SEG_FRAME_MAX, .repeat = 1);

	for (uint32_t i = 0; i < OFL_T_MAX; i++)
		bpf_map_lookup_elem(o->counts, &i, &before[i]);
	if (bpf_prog_test_run_opts(o->prog, &t)) {
		ct_fail(name, "test run failed");
		return;
	}
	for (uint32_t i = 0; i < OFL_T_MAX; i++) {
		bpf_map_lookup_elem(o->counts, &i, &after[i]);
		if (after[i] != before[i]) {
			extra += moved >= 0 || after[i] - before[i] != 1;
			moved = i;
		}
	}
	snprintf(what, sizeof(what), "verdict %u, length %u of %zu, counter %s%s (want %s)", t.retval,
		 t.data_size_out, len, moved < 0 ? "none" : result_names[moved], extra ? " and more" : "",
		 result_names[want]);
	ct_check(name, t.retval == 0 && t.data_size_out == len && moved == want && !extra, what);
}


/*
 * s through the program with d installed: counted rewritten, the frame equal
 * to the one built from the translated values, its checksum right; returns
 * the output's TCP header for field checks.
 */
static const uint8_t *expect_rewrite(struct ofl *o, const char *name, const struct seg *s,
				     const struct steer_offload_dir *d, uint8_t *out)
{
	uint8_t in[SEG_FRAME_MAX], want[SEG_FRAME_MAX];
	struct seg w = seg_translated(s, d);
	size_t len = seg_build(s, in), wlen = seg_build(&w, want);
	char n[160];

	install(o, name, s, d);
	run(o, name, in, len, out, STEER_OFL_REWRITTEN);
	snprintf(n, sizeof(n), "%s: checksum valid", name);
	ct_check(n, seg_csum_ok(s, out), "the rewritten segment's TCP checksum is wrong");
	snprintf(n, sizeof(n), "%s: frame equals the expected translation", name);
	ct_check(n, wlen == len && !memcmp(out, want, len), "bytes differ from the independently built frame");
	return seg_tcp(s, out);
}

static void check32(const char *name, const char *field, uint32_t got, uint32_t want)
{
	char n[160], what[96];

	snprintf(n, sizeof(n), "%s: %s", name, field);
	snprintf(what, sizeof(what), "%#x, want %#x", got, want);
	ct_check(n, got == want, what);
}

static const struct steer_offload_dir D1 = { .seq_delta = 0x11111111, .ack_delta = 0x22222222,
					     .tsval_delta = 0x33333333, .tsecr_delta = 0x44444444,
					     .wscale_in = 7, .wscale_out = 7 };

static void plain(int family)
{
	struct ofl o = load();
	struct seg s = { .family = family, .seq = 1000, .ack = 2000, .flags = 0x18, .win = 501, .payload = 100 };
	uint8_t out[SEG_FRAME_MAX];
	const uint8_t *th = expect_rewrite(&o, family == 4 ? "v4 data segment" : "v6 data segment", &s, &D1, out);

	check32("plain", "seq", seg_get32(th + 4), 1000 + 0x11111111);
	check32("plain", "ack", seg_get32(th + 8), 2000 + 0x22222222);
	check32("plain", "window (same scale)", th[14] << 8 | th[15], 501);
	offload_test__destroy(o.skel);
}

static void plain_v4(void)
{
	plain(4);
}

static void plain_v6(void)
{
	plain(6);
}

/* Timestamps and three SACK blocks: a full 40-byte options area. */
static void ts_sack(int family)
{
	struct ofl o = load();
	struct seg s = { .family = family, .seq = 5, .ack = 70000, .flags = 0x10, .win = 1024 };
	const uint32_t edges[] = { 80000, 81000, 90000, 91448, 100000, 100001 };
	uint8_t out[SEG_FRAME_MAX];
	const uint8_t *th;
	const char *name = family == 4 ? "v4 timestamps and SACK" : "v6 timestamps and SACK";

	seg_ts(&s, 123456, 654321);
	seg_sack(&s, edges, 3);
	th = expect_rewrite(&o, name, &s, &D1, out);
	check32(name, "TSval", seg_get32(th + 24), 123456 + 0x33333333);
	check32(name, "TSecr", seg_get32(th + 28), 654321 + 0x44444444);
	for (int i = 0; i < 6; i++)
		check32(name, "SACK edge", seg_get32(th + 36 + 4 * i), edges[i] + 0x22222222);
	offload_test__destroy(o.skel);
}

static void ts_sack_v4(void)
{
	ts_sack(4);
}

static void ts_sack_v6(void)
{
	ts_sack(6);
}

/* Sequence, ack, timestamps and SACK edges across 2^32, with deltas that are negative mod 2^32. */
static void wrap(void)
{
	struct ofl o = load();
	struct steer_offload_dir d = { .seq_delta = 0x20, .ack_delta = (uint32_t)-0x20, .tsval_delta = 0x100,
				       .tsecr_delta = (uint32_t)-0x100, .wscale_in = 2, .wscale_out = 2 };
	struct seg s = { .family = 6, .seq = 0xfffffff0, .ack = 0x10, .flags = 0x10, .win = 7, .payload = 3 };
	const uint32_t edges[] = { 0xfffffff8, 0x8, 0x18, 0x28 };
	uint8_t out[SEG_FRAME_MAX];
	const uint8_t *th;

	seg_ts(&s, 0xffffff80, 0x80);
	seg_sack(&s, edges, 2);
	th = expect_rewrite(&o, "wrap around 2^32", &s, &d, out);
	check32("wrap", "seq", seg_get32(th + 4), 0x10);
	check32("wrap", "ack", seg_get32(th + 8), 0xfffffff0);
	check32("wrap", "TSval", seg_get32(th + 24), 0x80);
	check32("wrap", "TSecr", seg_get32(th + 28), 0xffffff80);
	check32("wrap", "SACK left edge", seg_get32(th + 36), 0xffffffd8);
	check32("wrap", "SACK right edge", seg_get32(th + 40), 0xffffffe8);
	check32("wrap", "SACK 2nd left edge", seg_get32(th + 44), 0xfffffff8);
	check32("wrap", "SACK 2nd right edge", seg_get32(th + 48), 0x8);
	offload_test__destroy(o.skel);
}

/* A timestamp after one NOP: TSval and TSecr at odd offsets of the segment. */
static void odd_offset(void)
{
	struct ofl o = load();
	struct seg s = { .family = 4, .seq = 77, .ack = 99, .flags = 0x10, .win = 300, .payload = 1 };
	uint8_t out[SEG_FRAME_MAX];
	const uint8_t *th;

	s.opt[0] = 1;
	seg_opt_ts(s.opt + 1, 0x01020304, 0xa0b0c0d0);
	s.opt[11] = 0; /* EOL, then padding */
	s.optlen = 12;
	th = expect_rewrite(&o, "timestamp at an odd offset", &s, &D1, out);
	check32("odd offset", "TSval", seg_get32(th + 23), 0x01020304 + 0x33333333);
	check32("odd offset", "TSecr", seg_get32(th + 27), 0xa0b0c0d0 + 0x44444444);
	offload_test__destroy(o.skel);
}

/* After an EOL nothing is an option; an unknown option is stepped over by its length. */
static void eol_unknown(void)
{
	struct ofl o = load();
	struct seg s = { .family = 4, .seq = 1, .ack = 2, .flags = 0x10, .win = 3 };
	uint8_t out[SEG_FRAME_MAX];
	const uint8_t *th;

	s.opt[0] = 30; /* unknown kind, 4 bytes */
	s.opt[1] = 4;
	s.opt[2] = 0xaa;
	s.opt[3] = 0xbb;
	seg_opt_ts(s.opt + 4, 500, 600);
	s.opt[14] = 0; /* EOL: what follows looks like a timestamp but is padding */
	seg_opt_ts(s.opt + 15, 700, 800);
	s.optlen = 28; /* 15 + 10 = 25, padded */
	th = expect_rewrite(&o, "unknown option, EOL", &s, &D1, out);
	check32("eol", "TSval after an unknown option", seg_get32(th + 26), 500 + 0x33333333);
	check32("eol", "bytes after EOL untouched", seg_get32(th + 37), 700);
	offload_test__destroy(o.skel);
}

static void window_scales(void)
{
	static const struct {
		uint8_t in, out;
		uint16_t win, want;
	} t[] = {
		{ 7, 2, 1000, 32000 }, /* scale down */
		{ 7, 0, 1000, 65535 }, /* clamped to the field */
		{ 3, 0, 0xffff, 0xffff },
		{ 2, 7, 1000, 31 },   /* scale up: rounded down */
		{ 0, 14, 100, 0 },    /* less than one unit of the receiver's: 0, as Linux rounds */
		{ 14, 0, 1, 16384 },
		{ 14, 14, 5, 5 },
		{ 0, 0, 65535, 65535 },
	};
	struct ofl o = load();

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct steer_offload_dir d = D1;
		struct seg s = { .family = i & 1 ? 6 : 4, .seq = 10, .ack = 20, .flags = 0x10, .win = t[i].win };
		uint8_t out[SEG_FRAME_MAX];
		char name[96];
		const uint8_t *th;

		d.wscale_in = t[i].in;
		d.wscale_out = t[i].out;
		snprintf(name, sizeof(name), "window %u << %u >> %u", t[i].win, t[i].in, t[i].out);
		th = expect_rewrite(&o, name, &s, &d, out);
		check32(name, "window", th[14] << 8 | th[15], t[i].want);
	}
	offload_test__destroy(o.skel);
}

/* FIN and RST mark the entry with the sequence number after their payload; an RST without ACK keeps its ack and TSecr. */
static void fin_rst(void)
{
	struct ofl o = load();
	struct seg fin = { .family = 4, .seq = 4242, .ack = 17, .flags = 0x11, .win = 9, .payload = 5, .trailer = 1 };
	struct seg rst = { .family = 4, .reverse = 1, .seq = 0xfffffffe, .ack = 0x5555, .flags = 0x04 };
	struct steer_offload_dir back = { .seq_delta = 3, .ack_delta = 0x1000, .tsval_delta = 7, .tsecr_delta = 9 };
	struct steer_offload_dir e;
	uint8_t out[SEG_FRAME_MAX];
	const uint8_t *th;

	expect_rewrite(&o, "FIN", &fin, &D1, out);
	e = entry(&o, &fin);
	/* Ethernet pads this 59-byte frame to 60: the payload must come from the IP length. */
	ct_check("FIN marks its direction, end_seq after its 5 bytes", e.state == STEER_OFL_S_FIN && e.end_seq == 4247,
		 "state or end_seq wrong");
	e = entry(&o, &rst); /* not installed yet */
	ct_check("FIN leaves the other direction alone", e.state == 0xeeeeeeeeeeeeeeeeull, "the reverse entry exists");
	seg_ts(&rst, 1000, 2000);
	th = expect_rewrite(&o, "RST without ACK", &rst, &back, out);
	check32("RST", "seq", seg_get32(th + 4), 1);
	check32("RST", "ack (no ACK flag: untouched)", seg_get32(th + 8), 0x5555);
	check32("RST", "TSval", seg_get32(th + 24), 1007);
	check32("RST", "TSecr (no ACK flag: untouched)", seg_get32(th + 28), 2000);
	e = entry(&o, &rst);
	ct_check("RST marks its direction", e.state == STEER_OFL_S_RST && e.end_seq == 0xfffffffe,
		 "state or end_seq wrong");
	e = entry(&o, &fin);
	ct_check("RST leaves the other direction's state", e.state == STEER_OFL_S_FIN, "state changed");
	offload_test__destroy(o.skel);
}

/* A frame must come out as it went in, with this counter moved. */
static void expect_untouched(struct ofl *o, const char *name, const struct seg *s, int want)
{
	uint8_t in[SEG_FRAME_MAX], out[SEG_FRAME_MAX];
	size_t len = seg_build(s, in);
	char n[160];

	run(o, name, in, len, out, want);
	snprintf(n, sizeof(n), "%s: untouched", name);
	ct_check(n, !memcmp(in, out, len), "the frame was changed");
}

/* Other flows, the flow's other direction (not installed) and a SYN on the tuple pass untouched. */
static void not_ours(void)
{
	struct ofl o = load();
	struct seg s = { .family = 4, .seq = 1, .ack = 2, .flags = 0x10, .win = 3, .payload = 10 };
	struct steer_offload_dir e;

	install(&o, "install client->server v4", &s, &D1);
	s.reverse = 1;
	expect_untouched(&o, "reverse direction not in the map", &s, OFL_T_MISS);
	s.reverse = 0;
	s.family = 6;
	expect_untouched(&o, "v6 flow not in the map", &s, OFL_T_MISS);
	s.family = 4;
	s.flags = 0x02;
	expect_untouched(&o, "SYN on an offloaded tuple", &s, STEER_OFL_SYN);
	s.flags = 0x12;
	expect_untouched(&o, "SYN-ACK on an offloaded tuple", &s, STEER_OFL_SYN);
	e = entry(&o, &s);
	ct_check("misses and SYNs leave the entry", !memcmp(&e, &D1, sizeof(e)), "entry changed");
	offload_test__destroy(o.skel);
}

/* Options areas whose lengths do not add up: untouched, counted, the entry unchanged. */
static void malformed(void)
{
	static const struct {
		const char *name;
		uint8_t opt[12];
		size_t len;
	} t[] = {
		{ "option length 0", { 30, 0, 1, 1 }, 4 },
		{ "option length 1", { 1, 1, 30, 1 }, 4 },
		{ "option past the header", { 2, 12, 5, 180 }, 4 },
		{ "kind in the last byte, no length", { 1, 1, 1, 30 }, 4 },
		{ "timestamp of 8 bytes", { 8, 8, 0, 0, 0, 1, 0, 0 }, 8 },
		{ "SACK of 12 bytes", { 5, 12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0 }, 12 },
		{ "SACK without a block", { 5, 2, 1, 1 }, 4 },
		{ "timestamp cut by the header's end", { 1, 1, 8, 10, 0, 0, 0, 1 }, 8 },
	};
	struct ofl o = load();

	for (int fam = 4; fam <= 6; fam += 2) {
		for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			struct seg s = { .family = fam, .seq = 1, .ack = 2, .flags = 0x10, .win = 3, .payload = 5 };
			char name[96];

			memcpy(s.opt, t[i].opt, t[i].len);
			s.optlen = t[i].len;
			snprintf(name, sizeof(name), "v%d malformed: %s", fam, t[i].name);
			install(&o, name, &s, &D1);
			expect_untouched(&o, name, &s, STEER_OFL_MALFORMED);
			ct_check(name, entry(&o, &s).state == 0, "the entry's state changed");
		}
	}
	offload_test__destroy(o.skel);
}

CT_CASES({ "plain_v4", plain_v4 }, { "plain_v6", plain_v6 }, { "ts_sack_v4", ts_sack_v4 },
	 { "ts_sack_v6", ts_sack_v6 }, { "wrap", wrap }, { "odd_offset", odd_offset }, { "eol_unknown", eol_unknown },
	 { "window_scales", window_scales }, { "fin_rst", fin_rst }, { "not_ours", not_ours },
	 { "malformed", malformed })
