// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prefixes, port ranges and socket addresses: whatever a parser accepts
 * formats to text that parses back to the same value and formats the same.
 * The first byte picks the parser, the rest is its text.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "steer/addr.h"
#include "tests/fuzz/fuzz.h"

static void prefix_round_trip(const char *s)
{
	struct prefix a, b;
	const char *err;
	size_t pos;
	char t1[ADDR_STR_MAX], t2[ADDR_STR_MAX];

	if (prefix_parse(s, &a, &err, &pos) < 0) {
		FUZZ_ASSERT(err && pos <= strlen(s));
		return;
	}
	prefix_format(&a, t1, sizeof(t1));
	FUZZ_ASSERT(prefix_parse(t1, &b, &err, &pos) == 0);
	FUZZ_ASSERT(a.family == b.family && a.len == b.len && !memcmp(a.addr, b.addr, sizeof(a.addr)));
	prefix_format(&b, t2, sizeof(t2));
	FUZZ_ASSERT(!strcmp(t1, t2));
	FUZZ_ASSERT(prefix_contains(&a, a.addr));
}

static void ports_round_trip(const char *s)
{
	struct port_range a, b;
	const char *err;
	size_t pos;
	char t[16];

	if (port_range_parse(s, &a, &err, &pos) < 0) {
		FUZZ_ASSERT(err && pos <= strlen(s));
		return;
	}
	FUZZ_ASSERT(a.lo >= 1 && a.lo <= a.hi);
	if (a.lo == a.hi)
		snprintf(t, sizeof(t), "%u", a.lo);
	else
		snprintf(t, sizeof(t), "%u-%u", a.lo, a.hi);
	FUZZ_ASSERT(port_range_parse(t, &b, &err, &pos) == 0);
	FUZZ_ASSERT(a.lo == b.lo && a.hi == b.hi);
}

static void sockaddr_round_trip(const char *s)
{
	struct sockaddr_storage a, b;
	const char *err;
	char t1[ADDR_STR_MAX], t2[ADDR_STR_MAX];

	if (sockaddr_parse(s, &a, &err) < 0) {
		FUZZ_ASSERT(err);
		return;
	}
	FUZZ_ASSERT(a.ss_family == AF_INET || a.ss_family == AF_INET6);
	sockaddr_format((const struct sockaddr *)&a, t1, sizeof(t1));
	FUZZ_ASSERT(sockaddr_parse(t1, &b, &err) == 0);
	FUZZ_ASSERT(a.ss_family == b.ss_family);
	if (a.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a, *y = (const void *)&b;

		FUZZ_ASSERT(x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr);
	} else {
		const struct sockaddr_in6 *x = (const void *)&a, *y = (const void *)&b;

		FUZZ_ASSERT(x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16));
	}
	sockaddr_format((const struct sockaddr *)&b, t2, sizeof(t2));
	FUZZ_ASSERT(!strcmp(t1, t2));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	s = fuzz_cstr(data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		prefix_round_trip(s);
		break;
	case 1:
		ports_round_trip(s);
		break;
	default:
		sockaddr_round_trip(s);
		break;
	}
	free(s);
	return 0;
}
