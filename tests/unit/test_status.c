/* SPDX-License-Identifier: GPL-2.0-only */
/* The stats tables behind `steer status` and the metrics page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "steer/status.h"

static const struct stat_table *const tables[] = { &proxy_stat_table, &audit_stat_table };

static const struct stat_row *find(const struct stat_table *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->rows[i].key, key))
			return &t->rows[i];
	return NULL;
}

/* Every uint64_t of the structs is a row (closed[] aside), each at its own offset. */
static void test_rows_cover_structs(void **state)
{
	(void)state;
	assert_int_equal(proxy_stat_table.n,
			 (sizeof(struct proxy_stats) - sizeof(((struct proxy_stats *)0)->closed)) / sizeof(uint64_t));
	assert_int_equal(audit_stat_table.n, sizeof(struct audit_stats) / sizeof(uint64_t));
	assert_int_equal(offsetof(struct proxy_stats, closed), proxy_stat_table.n * sizeof(uint64_t));
	for (size_t t = 0; t < 2; t++)
		for (size_t i = 0; i < tables[t]->n; i++)
			assert_int_equal(tables[t]->rows[i].offset, i * sizeof(uint64_t));
}

static void test_rows_complete(void **state)
{
	(void)state;
	for (size_t t = 0; t < 2; t++)
		for (size_t i = 0; i < tables[t]->n; i++) {
			const struct stat_row *r = &tables[t]->rows[i];

			assert_true(!strcmp(r->type, "counter") || !strcmp(r->type, "gauge"));
			assert_true(r->text && r->text[0]);
			assert_ptr_equal(find(tables[t], r->key), r);
		}
}

/* A family's first row carries its HELP; its rows share the type and differ in labels. */
static void test_families(void **state)
{
	(void)state;
	for (size_t t = 0; t < 2; t++)
		for (size_t i = 0; i < tables[t]->n; i++) {
			const struct stat_row *r = &tables[t]->rows[i];
			const struct stat_row *first = r;

			if (!r->metric)
				continue;
			for (size_t j = 0; j < i; j++)
				if (tables[t]->rows[j].metric && !strcmp(tables[t]->rows[j].metric, r->metric)) {
					const struct stat_row *o = &tables[t]->rows[j];

					if (first == r)
						first = o;
					assert_string_equal(o->type, r->type);
					assert_true(o->labels && r->labels && strcmp(o->labels, r->labels));
				}
			if (first == r)
				assert_true(r->help && r->help[0]);
			else
				assert_null(r->help);
		}
}

/* The names scripts and dashboards rely on: the JSON key, the metric and its labels. */
static void test_names_kept(void **state)
{
	static const struct {
		const struct stat_table *t;
		const char *key, *metric, *labels;
	} kept[] = {
		{ &proxy_stat_table, "accepted", "steer_proxy_connections_accepted_total", NULL },
		{ &proxy_stat_table, "open", "steer_proxy_connections_open", NULL },
		{ &proxy_stat_table, "upstream_connected", "steer_proxy_upstream_connected_total", NULL },
		{ &proxy_stat_table, "bytes_up", "steer_proxy_bytes_total", "proto=\"tcp\",direction=\"up\"" },
		{ &proxy_stat_table, "bytes_down", "steer_proxy_bytes_total", "proto=\"tcp\",direction=\"down\"" },
		{ &proxy_stat_table, "udp_bytes_up", "steer_proxy_bytes_total", "proto=\"udp\",direction=\"up\"" },
		{ &proxy_stat_table, "udp_bytes_down", "steer_proxy_bytes_total", "proto=\"udp\",direction=\"down\"" },
		{ &proxy_stat_table, "accept_errors", "steer_proxy_errors_total", "kind=\"accept\"" },
		{ &proxy_stat_table, "emfile", "steer_proxy_errors_total", "kind=\"emfile\"" },
		{ &proxy_stat_table, "conn_limit_hits", "steer_proxy_errors_total", "kind=\"conn_limit\"" },
		{ &proxy_stat_table, "connect_refused", "steer_proxy_errors_total", "kind=\"connect_refused\"" },
		{ &proxy_stat_table, "connect_unreachable", "steer_proxy_errors_total", "kind=\"connect_unreachable\"" },
		{ &proxy_stat_table, "connect_timeout", "steer_proxy_errors_total", "kind=\"connect_timeout\"" },
		{ &proxy_stat_table, "connect_other", "steer_proxy_errors_total", "kind=\"connect_other\"" },
		{ &proxy_stat_table, "upstream_errors", "steer_proxy_errors_total", "kind=\"upstream_socket\"" },
		{ &proxy_stat_table, "loop_rejected", "steer_proxy_errors_total", "kind=\"loop_rejected\"" },
		{ &proxy_stat_table, "pipe_errors", "steer_proxy_errors_total", "kind=\"pipe\"" },
		{ &proxy_stat_table, "splice_errors", "steer_proxy_errors_total", "kind=\"splice\"" },
		{ &proxy_stat_table, "udp_sessions_open", "steer_proxy_udp_sessions_open", NULL },
		{ &proxy_stat_table, "udp_sessions_total", "steer_proxy_udp_sessions_total", NULL },
		{ &proxy_stat_table, "udp_expired", "steer_proxy_udp_sessions_ended_total", "reason=\"idle_timeout\"" },
		{ &proxy_stat_table, "udp_icmp_errors", "steer_proxy_udp_sessions_ended_total", "reason=\"icmp_error\"" },
		{ &proxy_stat_table, "udp_datagrams_up", "steer_proxy_udp_datagrams_total", "direction=\"up\"" },
		{ &proxy_stat_table, "udp_datagrams_down", "steer_proxy_udp_datagrams_total", "direction=\"down\"" },
		{ &proxy_stat_table, "udp_session_limit", "steer_proxy_udp_drops_total", "reason=\"session_limit\"" },
		{ &proxy_stat_table, "udp_oversize", "steer_proxy_udp_drops_total", "reason=\"oversize\"" },
		{ &proxy_stat_table, "udp_send_errors", "steer_proxy_udp_drops_total", "reason=\"send_error\"" },
		{ &proxy_stat_table, "udp_session_errors", "steer_proxy_udp_drops_total", "reason=\"session_error\"" },
		{ &proxy_stat_table, "udp_recv_errors", "steer_proxy_udp_drops_total", "reason=\"recv_error\"" },
		{ &audit_stat_table, "written", "steer_audit_records_total", "result=\"written\"" },
		{ &audit_stat_table, "lost", "steer_audit_records_total", "result=\"lost\"" },
		{ &audit_stat_table, "queued", "steer_audit_queue_length", NULL },
		{ &audit_stat_table, "joined", "steer_audit_flows_total", "join=\"joined\"" },
		{ &audit_stat_table, "unjoined", "steer_audit_flows_total", "join=\"unjoined\"" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		const struct stat_row *r = find(kept[i].t, kept[i].key);

		assert_non_null(r);
		assert_string_equal(r->metric, kept[i].metric);
		if (kept[i].labels)
			assert_string_equal(r->labels, kept[i].labels);
		else
			assert_null(r->labels);
	}
}

static void test_value(void **state)
{
	struct proxy_stats ps = { .splice_errors = 7, .udp_recv_errors = 9 };
	struct audit_stats as = { .unjoined = 3 };

	(void)state;
	assert_int_equal(stat_value(find(&proxy_stat_table, "splice_errors"), &ps), 7);
	assert_int_equal(stat_value(find(&proxy_stat_table, "udp_recv_errors"), &ps), 9);
	assert_int_equal(stat_value(find(&proxy_stat_table, "accepted"), &ps), 0);
	assert_int_equal(stat_value(find(&audit_stat_table, "unjoined"), &as), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_cover_structs),
		cmocka_unit_test(test_rows_complete),
		cmocka_unit_test(test_families),
		cmocka_unit_test(test_names_kept),
		cmocka_unit_test(test_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
