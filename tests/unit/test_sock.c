// SPDX-License-Identifier: GPL-2.0-only
/*
 * proxy/sock.c's control-message lookup: what the UDP relay reads the
 * original destination and ICMP errors through. The messages are built by
 * hand, with lengths the kernel would never send: a cmsg_len past
 * msg_controllen, or one too short for the data asked for.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy/sock.h"

union ctrl {
	unsigned char buf[256];
	struct cmsghdr align;
};

/* A cmsg at offset off of c with header values level/type/len, data filled with fill. */
static struct cmsghdr *put(union ctrl *c, size_t off, int level, int type, size_t len, unsigned char fill)
{
	struct cmsghdr *h = (struct cmsghdr *)(c->buf + off);

	h->cmsg_level = level;
	h->cmsg_type = type;
	h->cmsg_len = len;
	if (len > CMSG_LEN(0) && off + len <= sizeof(c->buf))
		memset(CMSG_DATA(h), fill, len - CMSG_LEN(0));
	return h;
}

static struct msghdr msg(union ctrl *c, size_t controllen)
{
	struct msghdr m = { .msg_control = c->buf, .msg_controllen = controllen };

	return m;
}

static void test_found_and_second_found(void **state)
{
	union ctrl c = { { 0 } };
	size_t first = CMSG_SPACE(4), len6 = CMSG_LEN(sizeof(struct sockaddr_in6));
	struct msghdr m = msg(&c, first + CMSG_SPACE(sizeof(struct sockaddr_in6)));
	const unsigned char *d;

	(void)state;
	put(&c, 0, SOL_SOCKET, SO_MARK, CMSG_LEN(4), 1);
	put(&c, first, SOL_IPV6, IPV6_ORIGDSTADDR, len6, 7);
	d = cmsg_find(&m, SOL_SOCKET, SO_MARK, 4);
	assert_non_null(d);
	assert_int_equal(d[0], 1);
	d = cmsg_find(&m, SOL_IPV6, IPV6_ORIGDSTADDR, sizeof(struct sockaddr_in6));
	assert_non_null(d);
	assert_int_equal(d[sizeof(struct sockaddr_in6) - 1], 7);
	assert_null(cmsg_find(&m, SOL_IP, IP_ORIGDSTADDR, sizeof(struct sockaddr_in)));
}

/* The header claims more than the control buffer holds (a truncated message). */
static void test_len_past_controllen(void **state)
{
	union ctrl c = { { 0 } };
	struct msghdr m = msg(&c, CMSG_LEN(8));

	(void)state;
	put(&c, 0, SOL_IP, IP_RECVERR, CMSG_LEN(sizeof(struct sockaddr_in6)), 0);
	assert_null(cmsg_find(&m, SOL_IP, IP_RECVERR, 8));
	/* a huge length never moves the walk outside the buffer */
	put(&c, 0, SOL_SOCKET, SO_MARK, (size_t)-8, 0);
	assert_null(cmsg_find(&m, SOL_IP, IP_RECVERR, 8));
}

/* Right level and type, but less data than asked for: absent, never read past it. */
static void test_len_short_of_data(void **state)
{
	union ctrl c = { { 0 } };
	struct msghdr m = msg(&c, sizeof(c.buf));

	(void)state;
	put(&c, 0, SOL_IP, IP_ORIGDSTADDR, CMSG_LEN(4), 0);
	assert_null(cmsg_find(&m, SOL_IP, IP_ORIGDSTADDR, sizeof(struct sockaddr_in)));
	put(&c, 0, SOL_IP, IP_ORIGDSTADDR, CMSG_LEN(0) - 1, 0);
	assert_null(cmsg_find(&m, SOL_IP, IP_ORIGDSTADDR, 0));
}

/* Less room than a header, or no control buffer at all. */
static void test_no_room(void **state)
{
	union ctrl c = { { 0 } };
	struct msghdr m = msg(&c, sizeof(struct cmsghdr) - 1), none = { 0 };

	(void)state;
	put(&c, 0, SOL_IP, IP_ORIGDSTADDR, CMSG_LEN(sizeof(struct sockaddr_in)), 0);
	assert_null(cmsg_find(&m, SOL_IP, IP_ORIGDSTADDR, sizeof(struct sockaddr_in)));
	none.msg_controllen = 64;
	assert_null(cmsg_find(&none, SOL_IP, IP_ORIGDSTADDR, sizeof(struct sockaddr_in)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_found_and_second_found),
		cmocka_unit_test(test_len_past_controllen),
		cmocka_unit_test(test_len_short_of_data),
		cmocka_unit_test(test_no_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
