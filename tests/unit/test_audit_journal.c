// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for steer/audit_journal.c: an audit line's members as journal fields. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "steer/audit.h"
#include "steer/audit_journal.h"

/* The fields of line, each as "NAME=VALUE", joined by '|' into out. */
static size_t fields(const char *line, size_t buflen, size_t max_iov, char *out, size_t outlen)
{
	char buf[2048];
	struct iovec iov[40];
	size_t n, used = 0;

	assert_true(buflen <= sizeof(buf) && max_iov <= 40);
	n = audit_journal_fields(line, strlen(line), buf, buflen, iov, max_iov);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, outlen - used, "%s%.*s", i ? "|" : "", (int)iov[i].iov_len,
					 (const char *)iov[i].iov_base);
	return n;
}

/* A close record as audit_format writes it: every member, in order, with its value. */
static void test_close_record(void **state)
{
	struct audit_record r = { .kind = AUDIT_CONN, .ts = { .tv_sec = 1795417150 } };
	struct sockaddr_in6 *c = (struct sockaddr_in6 *)&r.ev.client, *d = (struct sockaddr_in6 *)&r.ev.dst;
	char line[1024], out[2048];

	(void)state;
	r.ev.flow = 9;
	r.ev.proto = IPPROTO_UDP;
	r.ev.bytes_up = 10;
	r.ev.bytes_down = 20;
	r.ev.close_ns = 1500000;
	r.ev.reason = CLOSE_IDLE_TIMEOUT;
	strcpy(r.backend, "nft");
	c->sin6_family = d->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "fd00:1::2", &c->sin6_addr);
	inet_pton(AF_INET6, "fd00:2::2", &d->sin6_addr);
	c->sin6_port = htons(5353);
	d->sin6_port = htons(53);
	audit_format(&r, line, sizeof(line));
	assert_int_equal(fields(line, 2048, 40, out, sizeof(out)), 11);
	assert_string_equal(out, "STEER_TS=2026-11-23T06:59:10.000000Z|STEER_EVENT=close|STEER_FLOW=9|STEER_PROTO=udp|"
				 "STEER_BACKEND=nft|STEER_CLIENT=[fd00:1::2]:5353|STEER_DST=[fd00:2::2]:53|"
				 "STEER_BYTES_UP=10|STEER_BYTES_DOWN=20|STEER_DURATION_MS=1.500|"
				 "STEER_REASON=idle_timeout");
}

/* Members the formatter may add later (header, mac) come through by their own names; strings are unescaped. */
static void test_any_member_and_escapes(void **state)
{
	char out[2048];

	(void)state;
	assert_int_equal(fields("{\"event\":\"header\",\"schema\":2,\"host\":\"a\\\"b\\\\c\\u0041\\u00e9\\n\","
				"\"prev_mac\":\"00\",\"ok\":true}",
				2048, 40, out, sizeof(out)),
			 5);
	assert_string_equal(out, "STEER_EVENT=header|STEER_SCHEMA=2|STEER_HOST=a\"b\\cA\xc3\xa9\n|STEER_PREV_MAC=00|"
				 "STEER_OK=true");
}

/* Not a flat object of [a-z0-9_] keys, or cut short: the members before the fault, nothing invented. */
static void test_bad_lines(void **state)
{
	static const struct {
		const char *line;
		size_t n;
		const char *want;
	} cases[] = {
		{ "", 0, "" },
		{ "[1]", 0, "" },
		{ "{}", 0, "" },
		{ "{\"a\":1,\"b\":\"x", 1, "STEER_A=1" },                   /* string cut short */
		{ "{\"a\":1,\"b\":2", 1, "STEER_A=1" },                     /* no closing brace */
		{ "{\"a\":1,\"B\":2}", 1, "STEER_A=1" },                    /* a key journald cannot take */
		{ "{\"a\":1,\"x-y\":2}", 1, "STEER_A=1" },
		{ "{\"a\":1,\"\":2}", 1, "STEER_A=1" },                     /* empty key */
		{ "{\"a\":1,\"b\"2}", 1, "STEER_A=1" },                     /* no colon */
		{ "{\"a\":\"x\"y,\"b\":2}", 0, "" },                        /* junk after a string */
		{ "{\"a\":\"\\u00zz\"}", 0, "" },                           /* bad \u escape */
		{ "{\"a\":\"\\u00", 0, "" },
		{ "{\"a\":\"\\", 0, "" },
	};
	char out[2048];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = fields(cases[i].line, 2048, 40, out, sizeof(out));

		if (n != cases[i].n || strcmp(out, cases[i].want))
			print_error("line: %s\n", cases[i].line);
		assert_int_equal(n, cases[i].n);
		assert_string_equal(out, cases[i].want);
	}
}

/* Bounded by the buffer and the iovec count: a field that does not fit is not sent cut. */
static void test_bounds(void **state)
{
	const char *line = "{\"event\":\"open\",\"client\":\"198.18.1.2:40112\",\"dst\":\"198.18.2.2:80\"}";
	char out[2048];

	(void)state;
	assert_int_equal(fields(line, 2048, 2, out, sizeof(out)), 2);
	assert_string_equal(out, "STEER_EVENT=open|STEER_CLIENT=198.18.1.2:40112");
	/* "STEER_EVENT=open" is 16 bytes, the client field 29 more: 44 holds only the first. */
	assert_int_equal(fields(line, 44, 40, out, sizeof(out)), 1);
	assert_string_equal(out, "STEER_EVENT=open");
	assert_int_equal(fields(line, 45, 40, out, sizeof(out)), 2);
	assert_int_equal(fields(line, 3, 40, out, sizeof(out)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_close_record),
		cmocka_unit_test(test_any_member_and_escapes),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
