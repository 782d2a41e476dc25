// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for steer/addr.c: prefixes, port ranges, socket addresses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "steer/addr.h"

/* Parse then format must give back the canonical text. */
static void assert_prefix_roundtrip(const char *in, const char *want)
{
	struct prefix p;
	const char *err = NULL;
	size_t pos = 99;
	char buf[64];

	assert_int_equal(prefix_parse(in, &p, &err, &pos), 0);
	assert_string_equal(prefix_format(&p, buf, sizeof(buf)), want);
}

static void assert_prefix_bad(const char *in, const char *want_err, size_t want_pos)
{
	struct prefix p;
	const char *err = NULL;
	size_t pos = 99;

	assert_int_equal(prefix_parse(in, &p, &err, &pos), -1);
	assert_non_null(err);
	assert_string_equal(err, want_err);
	assert_int_equal(pos, want_pos);
}

static void test_prefix_parse_v4(void **state)
{
	struct prefix p;
	const char *err;
	size_t pos;

	(void)state;
	assert_int_equal(prefix_parse("10.0.0.0/8", &p, &err, &pos), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.len, 8);
	assert_int_equal(p.addr[0], 10);
	assert_int_equal(p.addr[1], 0);
	assert_prefix_roundtrip("10.0.0.0/8", "10.0.0.0/8");
	assert_prefix_roundtrip("192.168.1.1", "192.168.1.1/32");
	assert_prefix_roundtrip("0.0.0.0/0", "0.0.0.0/0");
	assert_prefix_roundtrip("255.255.255.255/32", "255.255.255.255/32");
	assert_prefix_roundtrip("172.16.0.0/12", "172.16.0.0/12");
}

static void test_prefix_parse_v6(void **state)
{
	struct prefix p;
	const char *err;
	size_t pos;

	(void)state;
	assert_int_equal(prefix_parse("2001:db8::/32", &p, &err, &pos), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.len, 32);
	assert_int_equal(p.addr[0], 0x20);
	assert_int_equal(p.addr[3], 0xb8);
	assert_prefix_roundtrip("2001:db8::/32", "2001:db8::/32");
	assert_prefix_roundtrip("2001:0db8:0000::1", "2001:db8::1/128");
	assert_prefix_roundtrip("::/0", "::/0");
	assert_prefix_roundtrip("::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104");
	assert_prefix_roundtrip("fe80::/10", "fe80::/10");
}

static void test_prefix_parse_bad(void **state)
{
	(void)state;
	assert_prefix_bad("10.0.0.1/8", "host bits set beyond the prefix length", 0);
	assert_prefix_bad("2001:db8::1/32", "host bits set beyond the prefix length", 0);
	assert_prefix_bad("10.0.0.0/33", "prefix length out of range (0..32)", 9);
	assert_prefix_bad("::/129", "prefix length out of range (0..128)", 3);
	assert_prefix_bad("10.0.0.0/", "invalid prefix length", 9);
	assert_prefix_bad("10.0.0.0/x", "invalid prefix length", 9);
	assert_prefix_bad("10.0.0.0/-1", "invalid prefix length", 9);
	assert_prefix_bad("10.0.0.0/8/8", "invalid prefix length", 9);
	assert_prefix_bad("10.0.0.0/1234", "invalid prefix length", 9);
	assert_prefix_bad("10.0.0/8", "invalid IP address", 0);
	assert_prefix_bad("256.0.0.0/8", "invalid IP address", 0);
	assert_prefix_bad("", "invalid IP address", 0);
	assert_prefix_bad("/8", "invalid IP address", 0);
	assert_prefix_bad("foo", "invalid IP address", 0);
	assert_prefix_bad("fe80::1%eth0", "invalid IP address", 0);
	assert_prefix_bad("2001:db8:::/32", "invalid IP address", 0);
	assert_prefix_bad(" 10.0.0.0/8", "invalid IP address", 0);
	assert_prefix_bad("1111:2222:3333:4444:5555:6666:7777:8888:9999/128", "invalid IP address", 0);
}

/* NULL err/errpos are allowed: callers that only want yes/no need not pass them. */
static void test_prefix_parse_null_err(void **state)
{
	struct prefix p;

	(void)state;
	assert_int_equal(prefix_parse("nope", &p, NULL, NULL), -1);
	assert_int_equal(prefix_parse("1.2.3.4", &p, NULL, NULL), 0);
}

static void test_prefix_contains(void **state)
{
	struct prefix p;
	uint8_t a[16] = { 0 };

	(void)state;
	assert_int_equal(prefix_parse("10.128.0.0/9", &p, NULL, NULL), 0);
	inet_pton(AF_INET, "10.200.1.2", a);
	assert_true(prefix_contains(&p, a));
	inet_pton(AF_INET, "10.127.255.255", a);
	assert_false(prefix_contains(&p, a));
	inet_pton(AF_INET, "11.200.1.2", a);
	assert_false(prefix_contains(&p, a));

	assert_int_equal(prefix_parse("0.0.0.0/0", &p, NULL, NULL), 0);
	assert_true(prefix_contains(&p, a));

	assert_int_equal(prefix_parse("1.2.3.4", &p, NULL, NULL), 0);
	inet_pton(AF_INET, "1.2.3.4", a);
	assert_true(prefix_contains(&p, a));
	inet_pton(AF_INET, "1.2.3.5", a);
	assert_false(prefix_contains(&p, a));

	assert_int_equal(prefix_parse("2001:db8::/33", &p, NULL, NULL), 0);
	inet_pton(AF_INET6, "2001:db8:7fff::1", a);
	assert_true(prefix_contains(&p, a));
	inet_pton(AF_INET6, "2001:db8:8000::1", a);
	assert_false(prefix_contains(&p, a));
}

static void assert_ports(const char *in, uint16_t lo, uint16_t hi)
{
	struct port_range r;
	const char *err = NULL;
	size_t pos;

	assert_int_equal(port_range_parse(in, &r, &err, &pos), 0);
	assert_int_equal(r.lo, lo);
	assert_int_equal(r.hi, hi);
}

static void assert_ports_bad(const char *in, const char *want_err, size_t want_pos)
{
	struct port_range r;
	const char *err = NULL;
	size_t pos = 99;

	assert_int_equal(port_range_parse(in, &r, &err, &pos), -1);
	assert_string_equal(err, want_err);
	assert_int_equal(pos, want_pos);
}

static void test_port_range_parse(void **state)
{
	(void)state;
	assert_ports("80", 80, 80);
	assert_ports("1", 1, 1);
	assert_ports("65535", 65535, 65535);
	assert_ports("8000-8999", 8000, 8999);
	assert_ports("1-65535", 1, 65535);
	assert_ports("443-443", 443, 443);
	assert_ports("0080", 80, 80);
}

static void test_port_range_parse_bad(void **state)
{
	(void)state;
	assert_ports_bad("0", "port out of range (1..65535)", 0);
	assert_ports_bad("65536", "port out of range (1..65535)", 0);
	assert_ports_bad("99999999", "invalid port", 0);
	assert_ports_bad("", "invalid port", 0);
	assert_ports_bad("http", "invalid port", 0);
	assert_ports_bad("+80", "invalid port", 0);
	assert_ports_bad("80-", "invalid port", 3);
	assert_ports_bad("-80", "invalid port", 0);
	assert_ports_bad("80-70000", "port out of range (1..65535)", 3);
	assert_ports_bad("90-80", "reversed range (LO > HI)", 0);
	assert_ports_bad("1-2-3", "invalid port", 2);
	assert_ports_bad("0x50", "invalid port", 0);
}

static void test_sockaddr_format(void **state)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(40112) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	char buf[ADDR_STR_MAX];

	(void)state;
	inet_pton(AF_INET, "198.18.1.2", &in.sin_addr);
	assert_string_equal(sockaddr_format((struct sockaddr *)&in, buf, sizeof(buf)), "198.18.1.2:40112");

	inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
	assert_string_equal(sockaddr_format((struct sockaddr *)&in6, buf, sizeof(buf)), "[2001:db8::1]:443");

	/* What a dual-stack listener reports for an IPv4 client. */
	inet_pton(AF_INET6, "::ffff:198.18.1.2", &in6.sin6_addr);
	in6.sin6_port = htons(80);
	assert_string_equal(sockaddr_format((struct sockaddr *)&in6, buf, sizeof(buf)), "198.18.1.2:80");

	/* ::1.2.3.4 (v4-compatible, deprecated) is not mapped: it stays IPv6. */
	inet_pton(AF_INET6, "::102:304", &in6.sin6_addr);
	assert_string_equal(sockaddr_format((struct sockaddr *)&in6, buf, sizeof(buf)), "[::1.2.3.4]:80");

	struct sockaddr_storage ss = { .ss_family = AF_UNIX };
	assert_string_equal(sockaddr_format((struct sockaddr *)&ss, buf, sizeof(buf)), "?");
}

/* The longest IPv6 text must fit ADDR_STR_MAX. */
static void test_sockaddr_format_longest(void **state)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(65535) };
	char buf[ADDR_STR_MAX];

	(void)state;
	inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", &in6.sin6_addr);
	assert_string_equal(sockaddr_format((struct sockaddr *)&in6, buf, sizeof(buf)),
			    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535");
	/* A short buffer truncates instead of overflowing. */
	char small[8];
	assert_string_equal(sockaddr_format((struct sockaddr *)&in6, small, sizeof(small)), "[ffff:f");
}

static void assert_sockaddr_roundtrip(const char *in, const char *want)
{
	struct sockaddr_storage ss;
	const char *err = NULL;
	char buf[ADDR_STR_MAX];

	assert_int_equal(sockaddr_parse(in, &ss, &err), 0);
	assert_string_equal(sockaddr_format((struct sockaddr *)&ss, buf, sizeof(buf)), want);
}

static void assert_sockaddr_bad(const char *in, const char *want_err)
{
	struct sockaddr_storage ss;
	const char *err = NULL;

	assert_int_equal(sockaddr_parse(in, &ss, &err), -1);
	assert_string_equal(err, want_err);
}

static void test_sockaddr_parse(void **state)
{
	struct sockaddr_storage ss;
	const char *err;

	(void)state;
	assert_int_equal(sockaddr_parse("127.0.0.1:9464", &ss, &err), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9464);
	assert_int_equal(ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr), 0x7f000001);

	assert_int_equal(sockaddr_parse("[::1]:9464", &ss, &err), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 9464);
	assert_true(IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr));

	assert_sockaddr_roundtrip("0.0.0.0:1", "0.0.0.0:1");
	assert_sockaddr_roundtrip("[2001:db8::5]:65535", "[2001:db8::5]:65535");
	assert_sockaddr_roundtrip("[::]:80", "[::]:80");
	assert_sockaddr_roundtrip("[::ffff:10.1.2.3]:80", "10.1.2.3:80");
}

static void test_sockaddr_parse_bad(void **state)
{
	(void)state;
	assert_sockaddr_bad("127.0.0.1", "missing :PORT");
	assert_sockaddr_bad("", "missing :PORT");
	assert_sockaddr_bad("::1:9464", "IPv6 addresses need brackets: [IPv6]:PORT");
	assert_sockaddr_bad("[::1]", "expected [IPv6]:PORT");
	assert_sockaddr_bad("[::1]9464", "expected [IPv6]:PORT");
	assert_sockaddr_bad("[::1:9464", "expected [IPv6]:PORT");
	assert_sockaddr_bad("[127.0.0.1]:80", "invalid IP address");
	assert_sockaddr_bad("localhost:80", "invalid IP address");
	assert_sockaddr_bad(":80", "invalid IP address");
	assert_sockaddr_bad("127.0.0.1:0", "port out of range (1..65535)");
	assert_sockaddr_bad("127.0.0.1:65536", "port out of range (1..65535)");
	assert_sockaddr_bad("127.0.0.1:", "invalid port");
	assert_sockaddr_bad("127.0.0.1:http", "invalid port");
	assert_sockaddr_bad("[::1]:", "invalid port");

	struct sockaddr_storage ss;
	assert_int_equal(sockaddr_parse("bad", &ss, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_parse_v4),
		cmocka_unit_test(test_prefix_parse_v6),
		cmocka_unit_test(test_prefix_parse_bad),
		cmocka_unit_test(test_prefix_parse_null_err),
		cmocka_unit_test(test_prefix_contains),
		cmocka_unit_test(test_port_range_parse),
		cmocka_unit_test(test_port_range_parse_bad),
		cmocka_unit_test(test_sockaddr_format),
		cmocka_unit_test(test_sockaddr_format_longest),
		cmocka_unit_test(test_sockaddr_parse),
		cmocka_unit_test(test_sockaddr_parse_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
