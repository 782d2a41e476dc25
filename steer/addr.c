// SPDX-License-Identifier: GPL-2.0-only
/* Addresses, prefixes and port ranges: parsing and formatting (see addr.h). */
#include "steer/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/*
 * Strict unsigned decimal of at most `maxdigits` digits: strtoul would
 * accept signs, spaces and hex, none of which belong in a port or a length.
 */
static int parse_decimal(const char *s, size_t n, unsigned maxdigits, unsigned long *out)
{
	unsigned long v = 0;

	if (n == 0 || n > maxdigits)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static void set_err(const char **err, size_t *errpos, const char *msg, size_t pos)
{
	if (err)
		*err = msg;
	if (errpos)
		*errpos = pos;
}

/* The address part must be copied out: inet_pton wants a NUL-terminated string. */
static int parse_ip(const char *s, size_t n, uint8_t *family, uint8_t addr[16])
{
	char buf[INET6_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

static bool host_bits_set(const uint8_t *addr, unsigned len, unsigned bits)
{
	for (unsigned i = len; i < bits; i++)
		if (addr[i / 8] & (0x80 >> (i % 8)))
			return true;
	return false;
}

int prefix_parse(const char *s, struct prefix *out, const char **err, size_t *errpos)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	struct prefix p = { 0 };
	unsigned bits;

	if (parse_ip(s, alen, &p.family, p.addr) < 0) {
		set_err(err, errpos, "invalid IP address", 0);
		return -1;
	}
	bits = p.family == AF_INET ? 32 : 128;
	p.len = (uint8_t)bits;
	if (slash) {
		unsigned long len;

		if (parse_decimal(slash + 1, strlen(slash + 1), 3, &len) < 0) {
			set_err(err, errpos, "invalid prefix length", alen + 1);
			return -1;
		}
		if (len > bits) {
			set_err(err, errpos,
				p.family == AF_INET ? "prefix length out of range (0..32)"
						    : "prefix length out of range (0..128)",
				alen + 1);
			return -1;
		}
		p.len = (uint8_t)len;
	}
	if (host_bits_set(p.addr, p.len, bits)) {
		set_err(err, errpos, "host bits set beyond the prefix length", 0);
		return -1;
	}
	*out = p;
	return 0;
}

static int parse_port(const char *s, size_t n, uint16_t *out, const char **msg)
{
	unsigned long v;

	/* Six digits so that "070000" says "out of range", not "invalid". */
	if (parse_decimal(s, n, 6, &v) < 0) {
		*msg = "invalid port";
		return -1;
	}
	if (v < 1 || v > 65535) {
		*msg = "port out of range (1..65535)";
		return -1;
	}
	*out = (uint16_t)v;
	return 0;
}

int port_range_parse(const char *s, struct port_range *out, const char **err, size_t *errpos)
{
	const char *dash = strchr(s, '-');
	size_t lolen = dash ? (size_t)(dash - s) : strlen(s);
	struct port_range r;
	const char *msg;

	if (parse_port(s, lolen, &r.lo, &msg) < 0) {
		set_err(err, errpos, msg, 0);
		return -1;
	}
	r.hi = r.lo;
	if (dash) {
		if (parse_port(dash + 1, strlen(dash + 1), &r.hi, &msg) < 0) {
			set_err(err, errpos, msg, lolen + 1);
			return -1;
		}
		if (r.hi < r.lo) {
			set_err(err, errpos, "reversed range (LO > HI)", 0);
			return -1;
		}
	}
	*out = r;
	return 0;
}

bool prefix_contains(const struct prefix *p, const uint8_t *addr)
{
	unsigned full = p->len / 8, rest = p->len % 8;

	if (memcmp(p->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t m = (uint8_t)(0xff << (8 - rest));
	return (p->addr[full] & m) == (addr[full] & m);
}

char *sockaddr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		/* A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; show them as the IPv4 they are. */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip, sizeof(ip));
			snprintf(buf, len, "%s:%u", ip, ntohs(in6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
			snprintf(buf, len, "[%s]:%u", ip, ntohs(in6->sin6_port));
		}
	} else {
		snprintf(buf, len, "?");
	}
	return buf;
}

char *prefix_format(const struct prefix *p, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (p->family != AF_INET && p->family != AF_INET6) {
		snprintf(buf, len, "?");
		return buf;
	}
	inet_ntop(p->family, p->addr, ip, sizeof(ip));
	snprintf(buf, len, "%s/%u", ip, p->len);
	return buf;
}

/* Split "[IP6]:PORT" / "IP4:PORT" into the address and the port text. */
static int split_host_port(const char *s, const char **host, size_t *hlen, const char **port,
			   const char **err)
{
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':') {
			*err = "expected [IPv6]:PORT";
			return -1;
		}
		*host = s + 1;
		*hlen = (size_t)(close - s - 1);
		*port = close + 2;
		return 0;
	}
	const char *colon = strrchr(s, ':');

	if (!colon) {
		*err = "missing :PORT";
		return -1;
	}
	if (memchr(s, ':', (size_t)(colon - s))) {
		*err = "IPv6 addresses need brackets: [IPv6]:PORT";
		return -1;
	}
	*host = s;
	*hlen = (size_t)(colon - s);
	*port = colon + 1;
	return 0;
}

int sockaddr_parse(const char *s, struct sockaddr_storage *out, const char **err)
{
	const char *host, *port_s, *msg = NULL;
	uint8_t family, addr[16];
	uint16_t port;
	size_t hlen;

	if (split_host_port(s, &host, &hlen, &port_s, err ? err : &msg) < 0)
		return -1;
	if (parse_ip(host, hlen, &family, addr) < 0 || (s[0] == '[') != (family == AF_INET6)) {
		if (err)
			*err = "invalid IP address";
		return -1;
	}
	if (parse_port(port_s, strlen(port_s), &port, err ? err : &msg) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)out;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, addr, 4);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		memcpy(&in6->sin6_addr, addr, 16);
	}
	return 0;
}
