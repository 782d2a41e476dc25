/* SPDX-License-Identifier: GPL-2.0-only */
/* The audit log's record format and the kernel/proxy flow join. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "steer/audit.h"
#include "steer/flow_join.h"

static void v4(struct sockaddr_storage *ss, const char *ip, int port)
{
	struct sockaddr_in *s = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	inet_pton(AF_INET, ip, &s->sin_addr);
}

static void v6(struct sockaddr_storage *ss, const char *ip, int port)
{
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin6_family = AF_INET6;
	s->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &s->sin6_addr);
}

static struct audit_record conn(bool open)
{
	struct audit_record r = { .kind = AUDIT_CONN, .steer_us = -1 };

	r.ts.tv_sec = 1795330750; /* 2026-11-22T06:59:10Z */
	r.ts.tv_nsec = 123456789;
	r.ev.open = open;
	r.ev.flow = 17;
	r.ev.proto = IPPROTO_TCP;
	strcpy(r.backend, "ebpf");
	v4(&r.ev.client, "198.18.1.2", 40112);
	v4(&r.ev.dst, "198.18.2.2", 80);
	return r;
}

static void test_open_record(void **state)
{
	struct audit_record r = conn(true);
	char buf[1024];

	(void)state;
	r.ev.upstream_src = r.ev.client;
	r.steer_us = 41;
	audit_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ts\":\"2026-11-22T06:59:10.123456Z\",\"event\":\"open\",\"flow\":17,\"proto\":\"tcp\","
				 "\"backend\":\"ebpf\",\"client\":\"198.18.1.2:40112\",\"dst\":\"198.18.2.2:80\","
				 "\"upstream_src\":\"198.18.1.2:40112\",\"steer_us\":41}");
}

static void test_open_without_kernel_record(void **state)
{
	struct audit_record r = conn(true);
	char buf[1024];

	(void)state;
	audit_format(&r, buf, sizeof(buf)); /* no upstream_src, steer_us unknown: both omitted */
	assert_null(strstr(buf, "steer_us"));
	assert_null(strstr(buf, "upstream_src"));
	assert_int_equal(buf[strlen(buf) - 1], '}');
}

static void test_close_record_v6(void **state)
{
	struct audit_record r = conn(false);
	char buf[1024];

	(void)state;
	r.ev.proto = IPPROTO_UDP;
	v6(&r.ev.client, "fd00:1::2", 53000);
	v6(&r.ev.dst, "fd00:2::2", 53);
	r.ev.bytes_up = 78;
	r.ev.bytes_down = 612;
	r.ev.accept_ns = 1000000;
	r.ev.close_ns = 4200000;
	r.ev.reason = CLOSE_IDLE_TIMEOUT;
	audit_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ts\":\"2026-11-22T06:59:10.123456Z\",\"event\":\"close\",\"flow\":17,\"proto\":\"udp\","
				 "\"backend\":\"ebpf\",\"client\":\"[fd00:1::2]:53000\",\"dst\":\"[fd00:2::2]:53\","
				 "\"bytes_up\":78,\"bytes_down\":612,\"duration_ms\":3.200,\"reason\":\"idle_timeout\"}");
}

static void test_other_records(void **state)
{
	struct audit_record r = { .kind = AUDIT_BACKEND };
	char buf[1024];

	(void)state;
	strcpy(r.from, "ebpf");
	strcpy(r.to, "nft");
	audit_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ts\":\"1970-01-01T00:00:00.000000Z\",\"event\":\"backend\",\"from\":\"ebpf\",\"to\":\"nft\"}");
	/* audit_backend_change() copies steering_describe()'s words whole: "split 100" once became "split 1". */
	assert_true(sizeof(r.to) > strlen("split 100"));
	strcpy(r.to, "split 100");
	audit_format(&r, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"to\":\"split 100\"}"));
	r = (struct audit_record){ .kind = AUDIT_LOST, .count = 12 };
	audit_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ts\":\"1970-01-01T00:00:00.000000Z\",\"event\":\"lost\",\"count\":12}");
	r = conn(false);
	r.kind = AUDIT_DROP;
	strcpy(r.reason, "proxy_down");
	audit_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ts\":\"2026-11-22T06:59:10.123456Z\",\"event\":\"drop\",\"flow\":17,\"proto\":\"tcp\","
				 "\"backend\":\"ebpf\",\"client\":\"198.18.1.2:40112\",\"dst\":\"198.18.2.2:80\","
				 "\"reason\":\"proxy_down\"}");
}

/* Schema 2: community_id right after dst in every flow record (open: before upstream_src). */
static void test_community_id_after_dst(void **state)
{
	static const char cid[] = "1:wCb3OG7yAFWelaUydu0D+125CLM=";
	struct audit_record r = conn(true);
	char buf[1024];

	(void)state;
	strcpy(r.community_id, cid);
	r.ev.upstream_src = r.ev.client;
	r.steer_us = 41;
	audit_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ts\":\"2026-11-22T06:59:10.123456Z\",\"event\":\"open\",\"flow\":17,\"proto\":\"tcp\","
				 "\"backend\":\"ebpf\",\"client\":\"198.18.1.2:40112\",\"dst\":\"198.18.2.2:80\","
				 "\"community_id\":\"1:wCb3OG7yAFWelaUydu0D+125CLM=\","
				 "\"upstream_src\":\"198.18.1.2:40112\",\"steer_us\":41}");
	r = conn(false);
	strcpy(r.community_id, cid);
	audit_format(&r, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"dst\":\"198.18.2.2:80\",\"community_id\":\"1:wCb3OG7yAFWelaUydu0D+125CLM=\","
				    "\"bytes_up\":0,"));
	r.kind = AUDIT_DROP;
	r.ev.flow = 18;
	strcpy(r.reason, "proxy_down");
	audit_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ts\":\"2026-11-22T06:59:10.123456Z\",\"event\":\"drop\",\"flow\":18,\"proto\":\"tcp\","
				 "\"backend\":\"ebpf\",\"client\":\"198.18.1.2:40112\",\"dst\":\"198.18.2.2:80\","
				 "\"community_id\":\"1:wCb3OG7yAFWelaUydu0D+125CLM=\",\"reason\":\"proxy_down\"}");
}

static void test_truncation_is_safe(void **state)
{
	struct audit_record r = conn(true);
	char buf[40];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	assert_true(audit_format(&r, buf, sizeof(buf)) < sizeof(buf));
	assert_int_equal(buf[sizeof(buf) - 1], '\0');
}

/*
 * Cut in the middle of a later field: every size from there to the full
 * length. The bytes past len stay untouched (a wrapped len - n once wrote
 * past the end), the result is a prefix of the full record, NUL-terminated.
 */
static void test_truncation_in_later_fields(void **state)
{
	struct audit_record recs[2] = { conn(true), conn(false) };

	(void)state;
	recs[0].ev.upstream_src = recs[0].ev.client;
	recs[0].steer_us = 41;
	strcpy(recs[0].community_id, "1:wCb3OG7yAFWelaUydu0D+125CLM=");
	recs[1].ev.bytes_up = 1234567;
	for (size_t k = 0; k < 2; k++) {
		char full[1024], buf[1024];
		size_t flen = audit_format(&recs[k], full, sizeof(full));

		for (size_t len = 1; len <= flen + 1; len++) {
			size_t n;

			memset(buf, 'x', sizeof(buf));
			n = audit_format(&recs[k], buf, len);
			assert_true(n < len);
			assert_int_equal(buf[n], '\0');
			assert_memory_equal(buf, full, n);
			for (size_t i = len; i < sizeof(buf); i++)
				if (buf[i] != 'x')
					fail_msg("len %zu: byte %zu past the end written", len, i);
		}
	}
}

static struct flow_record kev(int family, const char *src, int sport, const char *dst, int dport, uint64_t ts)
{
	struct flow_record r = { .kind = FLOW_RECORD_FLOW, .ts_ns = ts, .backend = "nft" };
	uint8_t s[16] = { 0 }, d[16] = { 0 };
	int af = family == 4 ? AF_INET : AF_INET6;

	inet_pton(af, src, s);
	inet_pton(af, dst, d);
	flow_tuple_from_bytes(&r.tuple, af, IPPROTO_TCP, s, sport, d, dport);
	return r;
}

/* The tuple the audit joins a proxy connection on. */
static const struct flow_tuple *tup(uint8_t proto, const struct sockaddr_storage *c, const struct sockaddr_storage *d)
{
	static struct flow_tuple t;

	assert_true(flow_tuple_from_sockaddrs(&t, proto, (const void *)c, (const void *)d));
	return &t;
}

static void test_join_takes_once(void **state)
{
	struct flow_join *j = join_new(16);
	struct flow_record e = kev(6, "fd00:1::2", 40000, "fd00:2::2", 80, 5), got;
	struct sockaddr_storage c, d;

	(void)state;
	join_add(j, &e);
	v6(&c, "fd00:1::2", 40000);
	v6(&d, "fd00:2::2", 80);
	assert_false(join_take(j, tup(IPPROTO_UDP, &c, &d), 100, &got)); /* other protocol */
	assert_false(join_take(j, tup(IPPROTO_TCP, &c, &d), 4, &got)); /* a newer flow's record */
	assert_true(join_take(j, tup(IPPROTO_TCP, &c, &d), 5, &got));
	assert_int_equal(got.ts_ns, 5);
	assert_string_equal(got.backend, "nft");
	assert_false(join_take(j, tup(IPPROTO_TCP, &c, &d), 100, &got)); /* taken */
	join_free(j);
}

static void test_join_newer_record_replaces(void **state)
{
	struct flow_join *j = join_new(16);
	struct flow_record a = kev(4, "198.18.1.2", 1000, "198.18.2.2", 80, 1);
	struct flow_record b = kev(4, "198.18.1.2", 1000, "198.18.2.2", 80, 2), got;
	struct sockaddr_storage c, d;

	(void)state;
	join_add(j, &a);
	join_add(j, &b);
	v4(&c, "198.18.1.2", 1000);
	v4(&d, "198.18.2.2", 80);
	assert_true(join_take(j, tup(IPPROTO_TCP, &c, &d), 100, &got));
	assert_int_equal(got.ts_ns, 2);
	assert_false(join_take(j, tup(IPPROTO_TCP, &c, &d), 100, &got));
	assert_int_equal(join_evicted(j), 0);
	join_free(j);
}

static void test_join_evicts_oldest(void **state)
{
	struct flow_join *j = join_new(8);
	struct sockaddr_storage c, d;
	struct flow_record got;

	(void)state;
	for (int i = 0; i < 20; i++) {
		struct flow_record e = kev(4, "198.18.1.2", 1000 + i, "198.18.2.2", 80, i);

		join_add(j, &e);
	}
	assert_int_equal(join_evicted(j), 12);
	v4(&d, "198.18.2.2", 80);
	for (int i = 0; i < 20; i++) {
		v4(&c, "198.18.1.2", 1000 + i);
		/* Only the 8 newest are still there, and each exactly as recorded. */
		assert_int_equal(join_take(j, tup(IPPROTO_TCP, &c, &d), 100, &got), i >= 12);
		if (i >= 12)
			assert_int_equal(got.ts_ns, i);
	}
	join_free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_record),
		cmocka_unit_test(test_open_without_kernel_record),
		cmocka_unit_test(test_close_record_v6),
		cmocka_unit_test(test_other_records),
		cmocka_unit_test(test_community_id_after_dst),
		cmocka_unit_test(test_truncation_is_safe),
		cmocka_unit_test(test_truncation_in_later_fields),
		cmocka_unit_test(test_join_takes_once),
		cmocka_unit_test(test_join_newer_record_replaces),
		cmocka_unit_test(test_join_evicts_oldest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
