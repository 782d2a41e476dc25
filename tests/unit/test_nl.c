// SPDX-License-Identifier: GPL-2.0-only
/*
 * steer/nl.c against a real kernel (rtnetlink), inside a private network
 * namespace (needs root): dumps, ACKs, the kernel's extended-ACK text, the
 * first failure of a batch, and notifications.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "steer/nl.h"
#include "tests/lib/netns.h"

#define TABLE 100u
#define REFUSED true /* a gateway on a host-scope route: the kernel says why in words */
#define REFUSAL "Route with host scope can not have a gateway"

/* ---------------------------------------------------------------- helpers */

static void open_route(struct nl_sock *s)
{
	assert_int_equal(nl_open(s, NETLINK_ROUTE, 0, 0), 0);
	assert_non_null(s->mnl);
	assert_int_not_equal(s->portid, 0);
}

/* `ip route add local default dev lo table TABLE [via 10.9.9.9]` (a new one: NLM_F_EXCL). */
static struct nlmsghdr *put_local_route(char *buf, uint32_t seq, bool refused)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_table = TABLE;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_HOST;
	rtm->rtm_type = RTN_LOCAL;
	mnl_attr_put_u32(nlh, RTA_TABLE, TABLE);
	mnl_attr_put_u32(nlh, RTA_OIF, 1);
	if (refused)
		mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(0x0a090909));
	return nlh;
}

/* Each test starts with an empty table, whatever the one before left. */
static int flush_table(void **state)
{
	return system("ip route flush table 100 2>/dev/null; true") == 0 ? 0 : -1;
}

struct links {
	int n;
	bool lo;
	int restarts;
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct links *l = data;
	const struct nlattr *a;

	assert_int_equal(nlh->nlmsg_type, RTM_NEWLINK);
	l->n++;
	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg))
		if (mnl_attr_get_type(a) == IFLA_IFNAME && strcmp(mnl_attr_get_str(a), "lo") == 0)
			l->lo = true;
	return MNL_CB_OK;
}

static void links_restart(void *data)
{
	((struct links *)data)->restarts++;
}

static struct nlmsghdr *put_dump(char *buf, uint16_t type, size_t hdrlen, uint8_t family)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	uint8_t *fam;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	fam = mnl_nlmsg_put_extra_header(nlh, hdrlen);
	*fam = family; /* the family is the first byte of ifinfomsg, rtmsg, fib_rule_hdr */
	return nlh;
}

/* ------------------------------------------------------------------ tests */

static void test_dump(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct links l = { 0 };
	struct nl_sock s;

	open_route(&s);
	assert_int_equal(nl_dump(&s, put_dump(buf, RTM_GETLINK, sizeof(struct ifinfomsg), AF_UNSPEC),
				 link_cb, &l, links_restart),
			 0);
	assert_true(l.n >= 1);
	assert_true(l.lo);
	assert_int_equal(l.restarts, 0);
	assert_string_equal(s.msg, "");

	/* the socket stays usable: the same dump again, with the next sequence number */
	l = (struct links){ 0 };
	assert_int_equal(nl_dump(&s, put_dump(buf, RTM_GETLINK, sizeof(struct ifinfomsg), AF_UNSPEC),
				 link_cb, &l, NULL),
			 0);
	assert_true(l.lo);
	nl_close(&s);
	assert_null(s.mnl);
}

/* A dump the kernel refuses at once: its error comes back as -errno. */
static void test_dump_error(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct links l = { 0 };
	struct nl_sock s;

	open_route(&s);
	assert_int_equal(nl_dump(&s, put_dump(buf, RTM_GETRULE, sizeof(struct fib_rule_hdr), 99),
				 link_cb, &l, links_restart),
			 -EAFNOSUPPORT);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.restarts, 0);
	nl_close(&s);
}

static void test_request(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nl_sock s;
	char *routes;

	open_route(&s);
	assert_int_equal(nl_request(&s, put_local_route(buf, 0, false)), 0);
	assert_string_equal(s.msg, "");
	routes = cmd_output("ip route show table 100", NULL);
	assert_non_null(routes);
	assert_string_equal(routes, "local default dev lo scope host \n");
	free(routes);

	/* the same again: the kernel's errno */
	assert_int_equal(nl_request(&s, put_local_route(buf, 0, false)), -EEXIST);
	assert_int_equal(s.err_seq, s.seq);
	nl_close(&s);
}

/* The kernel's reason in words (NLMSGERR_ATTR_MSG) is kept for the caller. */
static void test_request_extack(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nl_sock s;

	open_route(&s);
	assert_int_equal(nl_request(&s, put_local_route(buf, 0, REFUSED)), -EINVAL);
	assert_string_equal(s.msg, REFUSAL);
	assert_true(s.msg_from_kernel);

	/* a later success clears it */
	assert_int_equal(nl_request(&s, put_local_route(buf, 0, false)), 0);
	assert_string_equal(s.msg, "");
	nl_close(&s);
}

/* Two messages in one send: the first failure is the one reported. */
static void check_batch(bool refused1, bool refused2, int fails)
{
	char buf[2 * MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *first;
	struct nl_sock s;
	uint32_t seq;
	size_t len;

	open_route(&s);
	seq = nl_next_seq(&s);
	first = put_local_route(buf, seq, refused1);
	len = first->nlmsg_len;
	len += put_local_route(buf + len, seq + 1, refused2)->nlmsg_len;
	assert_int_equal(nl_send(&s, buf, len), 0);
	assert_int_equal(s.seq, seq + 1);
	assert_int_equal(nl_next_seq(&s), seq + 2);
	assert_int_equal(nl_acks(&s, 2), -EINVAL);
	assert_int_equal(s.err_seq, seq + fails);
	assert_string_equal(s.msg, REFUSAL);
	nl_close(&s);
	assert_int_equal(flush_table(NULL), 0);
}

static void test_batch_first_failure(void **state)
{
	check_batch(REFUSED, false, 0);
	check_batch(false, REFUSED, 1);
	check_batch(REFUSED, REFUSED, 0);
}

/* Fewer answers than promised: the wait ends, and says so. */
static void test_acks_missing(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nl_sock s;
	struct nlmsghdr *nlh;

	open_route(&s);
	nlh = put_local_route(buf, nl_next_seq(&s), false);
	assert_int_equal(nl_send(&s, nlh, nlh->nlmsg_len), 0);
	assert_int_equal(nl_acks(&s, 2), -ETIMEDOUT);
	assert_string_equal(s.msg, "1 of 2 acknowledgements");
	assert_false(s.msg_from_kernel);
	nl_close(&s);
}

static int count_newlink(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWLINK)
		(*(int *)data)++;
	return MNL_CB_OK;
}

static void test_notifications(void **state)
{
	struct nl_sock s;
	int n = 0;

	assert_int_equal(nl_open(&s, NETLINK_ROUTE, RTMGRP_LINK, SOCK_NONBLOCK), 0);
	/* nothing pending: returns at once */
	assert_int_equal(nl_read_notifications(&s, count_newlink, &n), 0);
	assert_int_equal(n, 0);
	/* rtnetlink notifies before `ip` returns */
	assert_int_equal(system("ip link add nltest0 type veth peer name nltest1"), 0);
	assert_int_equal(nl_read_notifications(&s, count_newlink, &n), 0);
	assert_true(n >= 1);
	nl_close(&s);
	assert_int_equal(system("ip link del nltest0"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_dump_error),
		cmocka_unit_test_setup(test_request, flush_table),
		cmocka_unit_test_setup(test_request_extack, flush_table),
		cmocka_unit_test_setup(test_batch_first_failure, flush_table),
		cmocka_unit_test_setup(test_acks_missing, flush_table),
		cmocka_unit_test(test_notifications),
	};

	if (netns_enter("test_nl") != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
