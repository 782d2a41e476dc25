// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy routing for local delivery (rtnetlink, through nl.h) and the
 * address dump/monitor. Every operation opens its own netlink socket and
 * closes it before returning; every request asks for an ACK and checks it.
 */
#include "steer/route.h"

#include "steer/nl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define EXISTS_HINT "(another steer running? run `steer cleanup`)"

/* ---------------------------------------------------------------------------
 * Message builders and descriptions
 */

static int fam_num(int family)
{
	return family == AF_INET6 ? 6 : 4;
}

static const char *ip_cmd(int family)
{
	return family == AF_INET6 ? "ip -6" : "ip";
}

static void describe_rule(char *buf, size_t len, int family, uint32_t mark, uint32_t mask,
			  uint32_t table)
{
	snprintf(buf, len, "%s rule fwmark 0x%x/0x%x lookup %u pref %u", ip_cmd(family), mark,
		 mask, table, STEER_RULE_PRIORITY);
}

static void describe_route(char *buf, size_t len, int family, uint32_t table)
{
	snprintf(buf, len, "%s route local default dev lo table %u", ip_cmd(family), table);
}

static uint8_t rtm_table_field(uint32_t table)
{
	return table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
}

static struct nlmsghdr *build_rule(char *buf, uint16_t type, uint16_t flags, int family,
				   uint32_t mark, uint32_t mask, uint32_t table)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *frh;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = (uint8_t)family;
	frh->table = rtm_table_field(table);
	frh->action = FR_ACT_TO_TBL;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, STEER_RULE_PRIORITY);
	mnl_attr_put_u32(nlh, FRA_FWMARK, mark);
	mnl_attr_put_u32(nlh, FRA_FWMASK, mask);
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	return nlh;
}

static struct nlmsghdr *build_route(char *buf, uint16_t type, uint16_t flags, int family,
				    uint32_t table, uint32_t lo_ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = 0; /* default */
	rtm->rtm_table = rtm_table_field(table);
	rtm->rtm_type = RTN_LOCAL;
	if (type == RTM_NEWROUTE) {
		rtm->rtm_protocol = RTPROT_BOOT; /* what `ip route add` uses */
		rtm->rtm_scope = RT_SCOPE_HOST;
	} else {
		rtm->rtm_protocol = RTPROT_UNSPEC; /* match any */
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	}
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	mnl_attr_put_u32(nlh, RTA_OIF, lo_ifindex);
	return nlh;
}

static void print_nl_error(const struct nl_sock *n, const char *what, const char *obj, int err)
{
	if (n->msg[0])
		fprintf(stderr, "steer: %s %s: %s (%s%s)\n", what, obj, strerror(-err),
			n->msg_from_kernel ? "kernel: " : "", n->msg);
	else
		fprintf(stderr, "steer: %s %s: %s\n", what, obj, strerror(-err));
}

static int check_args(uint32_t mark, uint32_t table)
{
	if (mark == 0) {
		fprintf(stderr, "steer: invalid fwmark 0 (it would match every packet)\n");
		return -EINVAL;
	}
	if (table == RT_TABLE_UNSPEC || table == RT_TABLE_DEFAULT || table == RT_TABLE_MAIN ||
	    table == RT_TABLE_LOCAL) {
		fprintf(stderr, "steer: route table %u is reserved; choose another route-table\n",
			table);
		return -EINVAL;
	}
	return 0;
}

static int lo_index(uint32_t *out)
{
	unsigned int i = if_nametoindex("lo");

	if (!i) {
		int err = -errno;

		fprintf(stderr, "steer: cannot find the loopback interface lo: %s\n",
			strerror(errno));
		return err ? err : -ENODEV;
	}
	*out = i;
	return 0;
}

/* ---------------------------------------------------------------------------
 * install / remove
 */

enum obj_kind { OBJ_RULE, OBJ_ROUTE };

struct obj {
	enum obj_kind kind;
	int family;
};

static const struct obj steer_objs[] = {
	/* rules first: a crash in between leaves something `cleanup` can find */
	{ OBJ_RULE, AF_INET },
	{ OBJ_RULE, AF_INET6 },
	{ OBJ_ROUTE, AF_INET },
	{ OBJ_ROUTE, AF_INET6 },
};
#define N_OBJS (sizeof(steer_objs) / sizeof(steer_objs[0]))

static void describe_obj(char *buf, size_t len, const struct obj *o, uint32_t mark,
			 uint32_t table)
{
	if (o->kind == OBJ_RULE)
		describe_rule(buf, len, o->family, mark, mark, table);
	else
		describe_route(buf, len, o->family, table);
}

static struct nlmsghdr *build_obj(char *buf, const struct obj *o, bool add, uint32_t mark,
				  uint32_t table, uint32_t lo)
{
	uint16_t flags = add ? NLM_F_CREATE | NLM_F_EXCL : 0;

	if (o->kind == OBJ_RULE)
		return build_rule(buf, add ? RTM_NEWRULE : RTM_DELRULE, flags, o->family, mark,
				  mark, table);
	return build_route(buf, add ? RTM_NEWROUTE : RTM_DELROUTE, flags, o->family, table, lo);
}

static bool gone_ok(int err)
{
	return err == -ENOENT || err == -ESRCH || err == -EAFNOSUPPORT;
}

/* Delete one object; missing is fine. Returns 1 if deleted, 0 if absent, -errno. */
static int del_obj(struct nl_sock *n, const struct obj *o, uint32_t mark, uint32_t table, uint32_t lo)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	char desc[128];
	int err = nl_request(n, build_obj(buf, o, false, mark, table, lo));

	if (err == 0)
		return 1;
	if (gone_ok(err))
		return 0;
	describe_obj(desc, sizeof(desc), o, mark, table);
	print_nl_error(n, "cannot delete", desc, err);
	return err;
}

/* What install and remove both need: valid arguments, lo's index, a socket. */
static int route_begin(uint32_t mark, uint32_t table, struct nl_sock *n, uint32_t *lo)
{
	int err = check_args(mark, table);

	if (err)
		return err;
	err = lo_index(lo);
	if (err)
		return err;
	err = nl_open(n, NETLINK_ROUTE, 0, 0);
	if (err)
		fprintf(stderr, "steer: cannot open rtnetlink socket: %s\n", strerror(-err));
	return err;
}

int route_install(uint32_t mark, uint32_t table)
{
	struct nl_sock n;
	uint32_t lo;
	bool added[N_OBJS] = { false };
	bool skip_v6 = false;
	int err;
	size_t i;

	err = route_begin(mark, table, &n, &lo);
	if (err)
		return err;
	for (i = 0; i < N_OBJS; i++) {
		const struct obj *o = &steer_objs[i];
		char buf[MNL_SOCKET_BUFFER_SIZE];
		char desc[128];

		if (o->family == AF_INET6 && skip_v6)
			continue;
		err = nl_request(&n, build_obj(buf, o, true, mark, table, lo));
		if (err == 0) {
			added[i] = true;
			continue;
		}
		if (err == -EAFNOSUPPORT && o->family == AF_INET6 && o->kind == OBJ_RULE) {
			fprintf(stderr,
				"steer: warning: IPv6 is not available; IPv6 flows will not be steered\n");
			skip_v6 = true;
			err = 0;
			continue;
		}
		describe_obj(desc, sizeof(desc), o, mark, table);
		if (err == -EEXIST)
			fprintf(stderr, "steer: %s already exists " EXISTS_HINT "\n", desc);
		else
			print_nl_error(&n, "cannot add", desc, err);
		break;
	}
	if (err) {
		while (i-- > 0)
			if (added[i])
				del_obj(&n, &steer_objs[i], mark, table, lo);
	}
	nl_close(&n);
	return err;
}

int route_remove(uint32_t mark, uint32_t table)
{
	struct nl_sock n;
	uint32_t lo;
	int err, ret = 0;
	size_t i;

	err = route_begin(mark, table, &n, &lo);
	if (err)
		return err;
	for (i = 0; i < N_OBJS; i++) {
		err = del_obj(&n, &steer_objs[i], mark, table, lo);
		if (err < 0 && !ret)
			ret = err;
	}
	nl_close(&n);
	return ret;
}

/* ---------------------------------------------------------------------------
 * cleanup of stale objects
 */

struct stale_rule {
	struct nlmsghdr *msg; /* the dumped message, replayed as RTM_DELRULE */
	uint32_t table;
};

struct stale_list {
	struct stale_rule *v;
	size_t n, cap;
	size_t start; /* where the current dump's rules begin */
	int err;
};

struct rule_attrs {
	const struct nlattr *tb[FRA_MAX + 1];
};

static int rule_attr_cb(const struct nlattr *attr, void *data)
{
	struct rule_attrs *ra = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, FRA_MAX) < 0)
		return MNL_CB_OK;
	if ((type == FRA_PRIORITY || type == FRA_FWMARK || type == FRA_FWMASK ||
	     type == FRA_TABLE) &&
	    mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return MNL_CB_OK;
	ra->tb[type] = attr;
	return MNL_CB_OK;
}

static int rule_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct stale_list *l = data;
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	struct rule_attrs ra;
	struct stale_rule *r;

	if (nlh->nlmsg_type != RTM_NEWRULE ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*frh))
		return MNL_CB_OK;
	memset(&ra, 0, sizeof(ra));
	mnl_attr_parse(nlh, sizeof(*frh), rule_attr_cb, &ra);
	if (!ra.tb[FRA_PRIORITY] || mnl_attr_get_u32(ra.tb[FRA_PRIORITY]) != STEER_RULE_PRIORITY ||
	    !ra.tb[FRA_FWMARK])
		return MNL_CB_OK;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct stale_rule *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->err = -ENOMEM;
			return MNL_CB_OK;
		}
		l->v = v;
		l->cap = cap;
	}
	r = &l->v[l->n];
	r->msg = malloc(nlh->nlmsg_len);
	if (!r->msg) {
		l->err = -ENOMEM;
		return MNL_CB_OK;
	}
	memcpy(r->msg, nlh, nlh->nlmsg_len);
	r->table = ra.tb[FRA_TABLE] ? mnl_attr_get_u32(ra.tb[FRA_TABLE]) : frh->table;
	l->n++;
	return MNL_CB_OK;
}

static void stale_list_free(struct stale_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].msg);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* An interrupted dump is repeated: forget what its first part collected. */
static void stale_list_restart(void *data)
{
	struct stale_list *l = data;

	while (l->n > l->start)
		free(l->v[--l->n].msg);
}

static int dump_rules(struct nl_sock *n, int family, struct stale_list *l)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *frh;
	int err;

	nlh->nlmsg_type = RTM_GETRULE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = (uint8_t)family;
	l->start = l->n;
	err = nl_dump(n, nlh, rule_dump_cb, l, stale_list_restart);
	if (err == 0 && l->err)
		err = l->err;
	return err;
}

int route_cleanup_stale(void)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct stale_list l = { 0 };
	struct nl_sock n;
	uint32_t lo;
	int err, ret = 0, count = 0;

	err = lo_index(&lo);
	if (err)
		return err;
	err = nl_open(&n, NETLINK_ROUTE, 0, 0);
	if (err) {
		fprintf(stderr, "steer: cannot open rtnetlink socket: %s\n", strerror(-err));
		return err;
	}
	for (size_t f = 0; f < 2; f++) {
		err = dump_rules(&n, families[f], &l);
		if (err == -EAFNOSUPPORT)
			continue;
		if (err) {
			fprintf(stderr, "steer: cannot list %s rules: %s\n", ip_cmd(families[f]),
				strerror(-err));
			ret = err;
			goto out;
		}
	}
	/* Replay each dumped rule as a delete, like `ip rule flush` does: exact match. */
	for (size_t i = 0; i < l.n; i++) {
		struct nlmsghdr *nlh = l.v[i].msg;
		const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
		int family = frh->family;
		uint32_t mark = 0, mask = 0;
		struct rule_attrs ra;
		char desc[128];

		memset(&ra, 0, sizeof(ra));
		mnl_attr_parse(nlh, sizeof(*frh), rule_attr_cb, &ra);
		mark = mnl_attr_get_u32(ra.tb[FRA_FWMARK]);
		mask = ra.tb[FRA_FWMASK] ? mnl_attr_get_u32(ra.tb[FRA_FWMASK]) : 0xffffffffu;
		nlh->nlmsg_type = RTM_DELRULE;
		nlh->nlmsg_flags = NLM_F_REQUEST;
		err = nl_request(&n, nlh);
		if (err == 0) {
			count++;
		} else if (!gone_ok(err)) {
			describe_rule(desc, sizeof(desc), family, mark, mask, l.v[i].table);
			print_nl_error(&n, "cannot delete", desc, err);
			if (!ret)
				ret = err;
		}
	}
	/* Then the `local default dev lo` routes of those tables, both families. */
	for (size_t i = 0; i < l.n; i++) {
		uint32_t table = l.v[i].table;
		bool seen = false;

		for (size_t j = 0; j < i; j++)
			seen = seen || l.v[j].table == table;
		if (seen || table == RT_TABLE_UNSPEC || table == RT_TABLE_DEFAULT ||
		    table == RT_TABLE_MAIN || table == RT_TABLE_LOCAL)
			continue;
		for (size_t f = 0; f < 2; f++) {
			struct obj o = { OBJ_ROUTE, families[f] };

			err = del_obj(&n, &o, 0, table, lo);
			if (err > 0)
				count++;
			else if (err < 0 && !ret)
				ret = err;
		}
	}
out:
	stale_list_free(&l);
	nl_close(&n);
	return ret ? ret : count;
}

/* ---------------------------------------------------------------------------
 * addresses
 */

struct addr_ctx {
	addr_cb cb;
	void *ctx;
	int count;
};

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, IFA_MAX) < 0)
		return MNL_CB_OK;
	if (type == IFA_LOCAL || type == IFA_ADDRESS)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int addr_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_ctx *a = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1] = { NULL };
	const struct nlattr *at;
	size_t alen;

	if ((nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return MNL_CB_OK;
	if (ifa->ifa_family == AF_INET)
		alen = 4;
	else if (ifa->ifa_family == AF_INET6)
		alen = 16;
	else
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, tb);
	at = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!at || mnl_attr_get_payload_len(at) != alen)
		return MNL_CB_OK;
	a->cb(a->ctx, ifa->ifa_family == AF_INET ? 4 : 6, mnl_attr_get_payload(at),
	      nlh->nlmsg_type == RTM_NEWADDR);
	a->count++;
	return MNL_CB_OK;
}

int addr_dump(addr_cb cb, void *ctx)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct addr_ctx a = { cb, ctx, 0 };
	struct nl_sock n;
	int err;

	err = nl_open(&n, NETLINK_ROUTE, 0, 0);
	if (err) {
		fprintf(stderr, "steer: cannot open rtnetlink socket: %s\n", strerror(-err));
		return err;
	}
	for (size_t f = 0; f < 2; f++) {
		char buf[MNL_SOCKET_BUFFER_SIZE];
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct ifaddrmsg *ifa;

		nlh->nlmsg_type = RTM_GETADDR;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
		ifa->ifa_family = (uint8_t)families[f];
		/* an interrupted dump is repeated as it is: adds are idempotent for the caller */
		err = nl_dump(&n, nlh, addr_msg_cb, &a, NULL);
		if (err == -EAFNOSUPPORT && families[f] == AF_INET6) {
			err = 0;
			continue;
		}
		if (err) {
			fprintf(stderr, "steer: cannot list IPv%d addresses: %s\n",
				fam_num(families[f]), strerror(-err));
			break;
		}
	}
	nl_close(&n);
	return err ? err : a.count;
}

struct addr_monitor {
	struct nl_sock s;
};

struct addr_monitor *addr_monitor_open(void)
{
	struct addr_monitor *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return NULL;
	err = nl_open(&m->s, NETLINK_ROUTE, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, SOCK_NONBLOCK);
	if (err) {
		fprintf(stderr, "steer: cannot open address monitor: %s\n", strerror(-err));
		free(m);
		errno = -err;
		return NULL;
	}
	/* a bigger queue makes overruns (ENOBUFS) unlikely; best effort */
	nl_set_bufs(&m->s, 0, 4 << 20);
	return m;
}

int addr_monitor_fd(struct addr_monitor *m)
{
	return mnl_socket_get_fd(m->s.mnl);
}

int addr_monitor_read(struct addr_monitor *m, addr_cb cb, void *ctx)
{
	struct addr_ctx a = { cb, ctx, 0 };
	int err = nl_read_notifications(&m->s, addr_msg_cb, &a);

	return err ? err : a.count;
}

void addr_monitor_close(struct addr_monitor *m)
{
	if (!m)
		return;
	nl_close(&m->s);
	free(m);
}
