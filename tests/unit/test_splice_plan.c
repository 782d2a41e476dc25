/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The handoff's arithmetic (proxy/splice_plan.c): the deltas join the two
 * connections' sequence spaces exactly (checked by the identities a
 * translated segment must satisfy, across the 2^32 wrap), and every refusal
 * of docs/offload.md fires on its own condition and only on it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/tcp.h>

#include "proxy/splice.h"

/* A (accepted, client side) and B (upstream), quiet, both with timestamps and window scaling. */
static void legs(struct tcp_snapshot *a, struct tcp_snapshot *b)
{
	*a = (struct tcp_snapshot){
		.snd = 0xfffff000u, /* A's next byte to the client: wraps within the test */
		.rcv = 1000,        /* the client's next byte */
		.snd_wnd = 64240 << 2, .max_window = 64240 << 2,
		.rcv_wnd = 65535 << 1, .rcv_wup = 1000,
		.snd_wscale = 7, .rcv_wscale = 7,
		.options = TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE,
		.snd_mss = 1448, .advmss = 1448,
		.ts_clock_offset = 12345,
	};
	*b = (struct tcp_snapshot){
		.snd = 77777,       /* B's next byte to the server */
		.rcv = 0x80000010u, /* the server's next byte */
		.snd_wnd = 65535 << 1, .max_window = 65535 << 1,
		.rcv_wnd = 64240 << 2, .rcv_wup = 0x80000010u,
		.snd_wscale = 7, .rcv_wscale = 7,
		.options = TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE,
		.snd_mss = 1448, .advmss = 1448,
		.ts_clock_offset = -777,
	};
}

static void test_deltas(void **state)
{
	struct tcp_snapshot a, b;
	struct proxy_splice sp;
	const struct proxy_splice_dir *up = &sp.dir[SPLICE_UP], *down = &sp.dir[SPLICE_DOWN];

	(void)state;
	legs(&a, &b);
	b.snd_wscale = 9; /* the server's windows arrive in 2^9 units */
	a.snd_wscale = 2; /* the client's in 2^2 */
	memset(&sp, 0, sizeof(sp));
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_GO);
	assert_true(sp.timestamps);
	/* The client's next byte is the byte the server expects next, and the other way. */
	assert_int_equal((uint32_t)(a.rcv + up->seq_delta), b.snd);
	assert_int_equal((uint32_t)(b.rcv + down->seq_delta), a.snd);
	/* The client acknowledging all of A's bytes acknowledges all of the server's (wrapping). */
	assert_int_equal((uint32_t)(a.snd + up->ack_delta), b.rcv);
	assert_int_equal((uint32_t)(b.snd + down->ack_delta), a.rcv);
	/* An ack 100 bytes short stays 100 bytes short after translation. */
	assert_int_equal((uint32_t)(a.snd - 100 + up->ack_delta), (uint32_t)(b.rcv - 100));
	/* Windows: the sender's shift in, the receiver's (what the other socket announced) out. */
	assert_int_equal(up->wscale_in, 2);
	assert_int_equal(up->wscale_out, b.rcv_wscale);
	assert_int_equal(down->wscale_in, 9);
	assert_int_equal(down->wscale_out, a.rcv_wscale);
	/* Client->server packets stand in for B's, so they continue B's TSval clock. */
	assert_int_equal(up->ts_clock_offset, -777);
	assert_int_equal(down->ts_clock_offset, 12345);
	assert_int_equal(up->next_seq, a.rcv);
	assert_int_equal(down->next_seq, b.rcv);
}

static void test_no_timestamps(void **state)
{
	struct tcp_snapshot a, b;
	struct proxy_splice sp;

	(void)state;
	legs(&a, &b);
	a.options &= ~TCPI_OPT_TIMESTAMPS;
	b.options &= ~TCPI_OPT_TIMESTAMPS;
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_GO);
	assert_false(sp.timestamps);
	/* On one leg only: the other peer would see TSvals appear or vanish. */
	legs(&a, &b);
	a.options &= ~TCPI_OPT_TIMESTAMPS;
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_TIMESTAMPS);
	legs(&a, &b);
	b.options &= ~TCPI_OPT_TIMESTAMPS;
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_TIMESTAMPS);
	/* Microsecond TSvals (Linux 6.7+) on either leg: a clock of another rate. */
	legs(&a, &b);
	b.options |= 64;
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_TIMESTAMPS);
}

/* ECN on one leg only: the other peer would never see its congestion marks echoed. */
static void test_ecn(void **state)
{
	struct tcp_snapshot a, b;
	struct proxy_splice sp;

	(void)state;
	legs(&a, &b);
	a.options |= TCPI_OPT_ECN;
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_ECN);
	b.options |= TCPI_OPT_ECN;
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_GO);
	/* ECT seen on one leg only is traffic, not the negotiation. */
	a.options |= TCPI_OPT_ECN_SEEN;
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_GO);
}

static void test_window_cap(void **state)
{
	struct tcp_snapshot a, b;
	struct proxy_splice sp;

	(void)state;
	/* The client offered more than B's unit (2^0) can tell the server. */
	legs(&a, &b);
	b.rcv_wscale = 0;
	b.options &= ~TCPI_OPT_WSCALE;
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_WINDOW);
	/* Exactly 0xffff << shift fits. */
	legs(&a, &b);
	b.rcv_wscale = 2;
	a.max_window = 0xffff << 2;
	a.snd_wnd = b.rcv_wnd;
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_GO);
	a.max_window++;
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_WINDOW);
	/* The same for the server's windows through A's unit. */
	legs(&a, &b);
	a.rcv_wscale = 1; /* 0xffff << 1: the server's largest window (65535 << 1) just fits */
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_GO);
	a.rcv_wscale = 0;
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_WINDOW);
}

static void test_mss(void **state)
{
	struct tcp_snapshot a, b;
	struct proxy_splice sp;

	(void)state;
	legs(&a, &b);
	b.advmss = 8948; /* the server may send jumbo segments the client's path does not take */
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_MSS);
	legs(&a, &b);
	a.advmss = 1449;
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_MSS);
	legs(&a, &b);
	a.snd_mss = 1200; /* the client takes smaller segments than the server may send */
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_MSS);
}

static void test_edge(void **state)
{
	struct tcp_snapshot a, b;
	struct proxy_splice sp;

	(void)state;
	/* B let the server send 256960 bytes; the client takes 64 KiB less: the slack, accepted. */
	legs(&a, &b);
	a.snd_wnd = b.rcv_wnd - 65536;
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_GO);
	/* One byte more is not, now. */
	a.snd_wnd = b.rcv_wnd - 65537;
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_EDGE);
	/* Room already used (rcv advanced since the window was announced) is not counted. */
	legs(&a, &b);
	b.rcv += 100000;
	a.snd_wnd = b.rcv_wnd - 100000;
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_GO);
	/* The other way: the client may send up to A's edge; the server must take nearly that much. */
	legs(&a, &b);
	b.snd_wnd = a.rcv_wnd - 65537;
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_EDGE);
	/* Frozen, the peers' data is being dropped already: any overshoot is accepted, both ways. */
	assert_int_equal(splice_plan(&a, &b, true, &sp), SPLICE_GO);
	legs(&a, &b);
	a.snd_wnd = 0;
	assert_int_equal(splice_plan(&a, &b, false, &sp), SPLICE_EDGE);
	assert_int_equal(splice_plan(&a, &b, true, &sp), SPLICE_GO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deltas),
		cmocka_unit_test(test_no_timestamps),
		cmocka_unit_test(test_ecn),
		cmocka_unit_test(test_window_cap),
		cmocka_unit_test(test_mss),
		cmocka_unit_test(test_edge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
