/* SPDX-License-Identifier: GPL-2.0-only */
/* The per-backend flow events and the setup-latency histogram (steer/flow_stats.c). */
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "steer/flow_stats.h"

static void assert_near(double got, double want)
{
	if (fabs(got - want) > 1e-12)
		fail_msg("got %.12g, want %.12g", got, want);
}

/* A value equal to a bound is in that bound's bucket (le = less or equal), one above it in the next. */
static void test_buckets(void **state)
{
	struct flow_stats *fs = flow_stats_new();
	struct flow_stats_snap s;

	(void)state;
	flow_stats_open(fs, "ebpf", IPPROTO_TCP, 0);
	flow_stats_open(fs, "ebpf", IPPROTO_TCP, 5);
	flow_stats_open(fs, "ebpf", IPPROTO_TCP, 6);
	flow_stats_open(fs, "ebpf", IPPROTO_TCP, 100000);
	flow_stats_open(fs, "ebpf", IPPROTO_TCP, 100001);
	flow_stats_open(fs, "nft", IPPROTO_UDP, 42);
	flow_stats_open(fs, "nft", IPPROTO_TCP, -1); /* no steer_us: a flow, no sample */
	flow_stats_open(fs, "other", IPPROTO_TCP, 7);
	flow_stats_read(fs, &s);
	assert_int_equal(s.b[FS_EBPF].hist[FS_TCP][0], 2);
	assert_int_equal(s.b[FS_EBPF].hist[FS_TCP][1], 1);
	assert_int_equal(s.b[FS_EBPF].hist[FS_TCP][FLOW_SETUP_NBOUNDS - 1], 1);
	assert_int_equal(s.b[FS_EBPF].hist[FS_TCP][FLOW_SETUP_NBOUNDS], 1);
	assert_int_equal(s.b[FS_EBPF].sum_us[FS_TCP], 0 + 5 + 6 + 100000 + 100001);
	assert_int_equal(flow_stats_count(&s.b[FS_EBPF]), 5);
	assert_int_equal(flow_stats_flows(&s.b[FS_EBPF]), 5);
	assert_int_equal(s.b[FS_NFT].flows[FS_UDP], 1);
	assert_int_equal(s.b[FS_NFT].flows[FS_TCP], 1);
	assert_int_equal(s.b[FS_NFT].hist[FS_UDP][3], 1); /* 25 < 42 <= 50 */
	assert_int_equal(flow_stats_count(&s.b[FS_NFT]), 1);
	assert_int_equal(flow_stats_flows(&s.b[FS_UNKNOWN]), 1);
	flow_stats_free(fs);
}

/* The bounds rise, and the header's count matches the table. */
static void test_bounds(void **state)
{
	(void)state;
	for (int i = 1; i < FLOW_SETUP_NBOUNDS; i++)
		assert_true(flow_setup_bounds_us[i] > flow_setup_bounds_us[i - 1]);
	assert_int_equal(flow_setup_bounds_us[0], 5);
	assert_int_equal(flow_setup_bounds_us[FLOW_SETUP_NBOUNDS - 1], 100000);
}

/* Prometheus' histogram_quantile(): linear inside the bucket, 0 below the first, the last bound in +Inf. */
static void test_quantile(void **state)
{
	uint64_t h[FLOW_SETUP_NBOUNDS + 1] = { 0 };

	(void)state;
	assert_true(flow_setup_quantile(h, 0.5) < 0);
	h[0] = 10; /* ten samples in (0, 5 µs] */
	assert_near(flow_setup_quantile(h, 0.5), 2.5e-6);
	assert_near(flow_setup_quantile(h, 1.0), 5e-6);
	h[4] = 10; /* ten more in (50, 100 µs] */
	assert_near(flow_setup_quantile(h, 0.5), 5e-6);   /* rank 10: the top of the first bucket */
	assert_near(flow_setup_quantile(h, 0.75), 75e-6); /* rank 15: half-way through (50, 100] */
	assert_near(flow_setup_quantile(h, 0.99), (50 + 50 * 9.8 / 10) * 1e-6);
	memset(h, 0, sizeof(h));
	h[FLOW_SETUP_NBOUNDS] = 3; /* all beyond 100 ms */
	assert_near(flow_setup_quantile(h, 0.5), 0.1);
}

/* Failures and drops by backend; a ninth distinct drop reason is counted as "other". */
static void test_failures_drops(void **state)
{
	static const char *const reasons[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j" };
	struct flow_stats *fs = flow_stats_new();
	struct flow_stats_snap s;

	(void)state;
	flow_stats_failure(fs, "nft", FLOW_FAIL_setup_failed);
	flow_stats_failure(fs, "nft", FLOW_FAIL_setup_failed);
	flow_stats_failure(fs, "unknown", FLOW_FAIL_unjoined);
	flow_stats_drop(fs, "ebpf", "no_listener_drop");
	flow_stats_drop(fs, "ebpf", "no_listener_drop");
	flow_stats_drop(fs, "ebpf", "assign_failed");
	for (size_t i = 0; i < 10; i++)
		flow_stats_drop(fs, "nft", reasons[i]);
	flow_stats_read(fs, &s);
	assert_int_equal(s.b[FS_NFT].failures[FLOW_FAIL_setup_failed], 2);
	assert_int_equal(s.b[FS_UNKNOWN].failures[FLOW_FAIL_unjoined], 1);
	assert_int_equal(flow_stats_failures(&s.b[FS_EBPF]), 0);
	assert_int_equal(s.b[FS_EBPF].ndrops, 2);
	assert_string_equal(s.b[FS_EBPF].drops[0].reason, "no_listener_drop");
	assert_int_equal(s.b[FS_EBPF].drops[0].n, 2);
	assert_int_equal(s.b[FS_EBPF].drops[1].n, 1);
	assert_int_equal(s.b[FS_NFT].ndrops, FLOW_DROP_REASONS + 1);
	assert_string_equal(s.b[FS_NFT].drops[FLOW_DROP_REASONS].reason, "other");
	assert_int_equal(s.b[FS_NFT].drops[FLOW_DROP_REASONS].n, 10 - FLOW_DROP_REASONS);
	assert_int_equal(flow_stats_drops(&s.b[FS_NFT]), 10);
	assert_string_equal(flow_failure_names[FLOW_FAIL_unjoined], "unjoined");
	flow_stats_free(fs);
	flow_stats_read(NULL, &s);
	assert_int_equal(flow_stats_flows(&s.b[FS_EBPF]), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_quantile),
		cmocka_unit_test(test_failures_drops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
