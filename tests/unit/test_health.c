/* SPDX-License-Identifier: GPL-2.0-only */
/* Never silent: the failure counters' log lines (rate-limited) and status warnings, on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "steer/health.h"
#include "steer/kernel_report.h"

struct fixture {
	struct health *h;
	struct counter_group g[2];
	struct proxy_stats ps;
	char *log;
	size_t len;
	FILE *f;
};

static int setup(void **state)
{
	struct fixture *x = calloc(1, sizeof(*x));

	x->h = health_new();
	x->g[0] = (struct counter_group){ .backend = "ebpf", .n = 3 };
	x->g[0].c[0] = (struct backend_counter){ "steered_new", 0 };
	x->g[0].c[1] = (struct backend_counter){ "no_listener_pass", 0 };
	x->g[0].c[2] = (struct backend_counter){ "assign_failed", 0 };
	x->g[1] = (struct counter_group){ .backend = "nft", .n = 1 };
	x->g[1].c[0] = (struct backend_counter){ "no_listener_drop", 0 };
	x->f = open_memstream(&x->log, &x->len);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *x = *state;

	fclose(x->f);
	free(x->log);
	health_free(x->h);
	free(x);
	return 0;
}

static void observe(struct fixture *x, time_t now)
{
	health_observe(x->h, x->g, 2, &x->ps, now, x->f);
	fflush(x->f);
}

static int lines(const struct fixture *x, const char *needle)
{
	int n = 0;

	for (const char *p = x->log; p && (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_quiet_when_fine(void **state)
{
	struct fixture *x = *state;
	struct health_warning w[8];

	observe(x, 100);
	x->g[0].c[0].value = 50; /* steered: not a failure */
	observe(x, 101);
	assert_int_equal(x->len, 0);
	assert_int_equal(health_warnings(x->h, 101, w, 8), 0);
}

/* The first growth is logged at once; more within the minute waits, then comes with its count. */
static void test_rate_limited(void **state)
{
	struct fixture *x = *state;

	observe(x, 100);
	x->g[0].c[1].value = 2;
	observe(x, 101);
	assert_int_equal(lines(x, "not proxied: ebpf no_listener_pass +2 (2 in all): no proxy listener"), 1);
	x->g[0].c[1].value = 5;
	observe(x, 102);
	observe(x, 160);
	assert_int_equal(lines(x, "no_listener_pass"), 1);
	observe(x, 161);
	assert_int_equal(lines(x, "no_listener_pass"), 2);
	assert_int_equal(lines(x, "ebpf no_listener_pass +3 (5 in all)"), 1);
	observe(x, 400); /* no growth: no line */
	assert_int_equal(lines(x, "no_listener_pass"), 2);
	/* Each counter has its own minute. */
	x->g[1].c[0].value = 1;
	x->g[0].c[2].value = 1;
	observe(x, 401);
	assert_int_equal(lines(x, "nft no_listener_drop +1"), 1);
	assert_int_equal(lines(x, "ebpf assign_failed +1"), 1);
}

/* A warning while the counter grew in the last HEALTH_RECENT_S, with how much. */
static void test_warnings_recent(void **state)
{
	struct fixture *x = *state;
	struct health_warning w[8];

	observe(x, 1000);
	x->ps.loop_rejected = 4;
	observe(x, 1001);
	for (time_t t = 1002; t < 1200; t += 10)
		observe(x, t);
	assert_int_equal(health_warnings(x->h, 1200, w, 8), 1);
	assert_string_equal(w[0].source, "proxy");
	assert_string_equal(w[0].counter, "loop_rejected");
	assert_int_equal(w[0].recent, 4);
	assert_int_equal(w[0].last_s, 199);
	assert_non_null(strstr(w[0].cause, "loop"));
	x->ps.loop_rejected = 6;
	observe(x, 1250);
	for (time_t t = 1260; t <= 1350; t += 10)
		observe(x, t);
	/* 1001's growth is out of the window now; 1250's is in. */
	assert_int_equal(health_warnings(x->h, 1350, w, 8), 1);
	assert_int_equal(w[0].recent, 2);
	assert_int_equal(health_warnings(x->h, 1250 + HEALTH_RECENT_S + 1, w, 8), 0);
}

/* Counts made before the first look are news too; a counter that restarts (backend reinstalled) is a new baseline. */
static void test_baselines(void **state)
{
	struct fixture *x = *state;
	struct health_warning w[8];

	x->g[1].c[0].value = 3;
	observe(x, 10);
	assert_int_equal(lines(x, "nft no_listener_drop +3 (3 in all)"), 1);
	x->g[1].c[0].value = 0;
	observe(x, 100);
	x->g[1].c[0].value = 1;
	observe(x, 101);
	assert_int_equal(lines(x, "nft no_listener_drop +1 (1 in all)"), 1);
	assert_int_equal(health_warnings(x->h, 101, w, 8), 1);
	/* Without the proxy (external), its counters are not read. */
	health_observe(x->h, x->g, 2, NULL, 102, x->f);
}

static void test_learnt_at_runtime(void **state)
{
	struct fixture *x = *state;
	struct classifier_features f = { .sk_lookup = true };

	health_features(x->h, &f, x->f);
	health_features(x->h, &f, x->f);
	fflush(x->f);
	assert_int_equal(x->len, 0);
	f.listener_via_lookup = true;
	health_features(x->h, &f, x->f);
	health_features(x->h, &f, x->f);
	fflush(x->f);
	assert_int_equal(lines(x, "new flows reach the proxy through sk_lookup from now on\n"), 1);
}

/* A start that already chose sk_lookup is the start line's to say, not a runtime change. */
static void test_chosen_at_start(void **state)
{
	struct fixture *x = *state;
	struct classifier_features f = { .sk_lookup = true, .listener_via_lookup = true };

	health_features(x->h, &f, x->f);
	fflush(x->f);
	assert_int_equal(x->len, 0);
}

static void test_report_words(void **state)
{
	struct kernel_report r = { .release = "6.1.0-57-amd64", .classifier = true };
	struct strbuf b = { 0 };

	(void)state;
	r.f.kernel_tcx = FEATURE_NO;
	r.f.reuseport_assign = FEATURE_NO;
	r.f.listener_via_lookup = true;
	r.f.sk_lookup = true;
	kernel_report_line(&r, "ebpf", &b);
	assert_string_equal(b.s, "kernel 6.1.0-57-amd64: clsact filters (no TCX), new flows through sk_lookup "
				 "(bpf_sk_assign refuses SO_REUSEPORT listeners), sk_lookup attached");
	sb_free(&b);
	kernel_report_line(&r, "nft", &b);
	assert_string_equal(b.s, "kernel 6.1.0-57-amd64: nft tproxy steers new flows; the eBPF classifier records "
				 "them: clsact filters (no TCX), sk_lookup attached");
	sb_free(&b);
	kernel_report_json(&r, &b);
	assert_string_equal(b.s, "{\"release\":\"6.1.0-57-amd64\",\"classifier\":true,\"attach\":\"clsact\","
				 "\"kernel_tcx\":\"no\",\"reuseport_assign\":\"no\",\"new_flow_path\":\"sk_lookup\","
				 "\"sk_lookup_attached\":\"yes\",\"reuseport_note\":\"\"}");
	sb_free(&b);
	r.f.reuseport_assign = FEATURE_UNKNOWN;
	kernel_report_metrics(&r, &b);
	assert_non_null(strstr(b.s, "steer_kernel_feature{feature=\"reuseport_assign\"} -1\n"));
	assert_non_null(strstr(b.s, "steer_kernel_feature{feature=\"tcx\"} 0\n"));
	assert_non_null(strstr(b.s, "steer_kernel_feature{feature=\"new_flows_via_sk_lookup\"} 1\n"));
	sb_free(&b);
	r.classifier = false;
	kernel_report_line(&r, "nft", &b);
	assert_string_equal(b.s, "kernel 6.1.0-57-amd64: nft tproxy steers new flows; the eBPF classifier is not loaded");
	sb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_quiet_when_fine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warnings_recent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_baselines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_learnt_at_runtime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chosen_at_start, setup, teardown),
		cmocka_unit_test(test_report_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
