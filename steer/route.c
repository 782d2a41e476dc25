// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy routing for local delivery (rtnetlink through libmnl) and the
 * address dump/monitor. Every operation opens its own netlink socket and
 * closes it before returning; every request asks for an ACK and checks it.
 */
#include "steer/route.h"

#include <errno.h>
#include <fcntl.h>
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
#include <time.h>
#include <unistd.h>

#define NL_BUFSZ 32768 /* large enough for one dump datagram */
#define EXISTS_HINT "(another steer running? run `steer cleanup`)"

/* ---------------------------------------------------------------------------
 * Netlink plumbing
 */

struct nl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
	char extack[160]; /* the kernel's extended-ACK message of the last error */
};

static int nl_open(struct nl *n)
{
	int one = 1;

	memset(n, 0, sizeof(*n));
	n->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!n->sock)
		return -errno;
	if (mnl_socket_bind(n->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		mnl_socket_close(n->sock);
		n->sock = NULL;
		return err;
	}
	/* Best effort: older kernels lack them, the ACK is still checked. */
	mnl_socket_setsockopt(n->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(n->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	n->portid = mnl_socket_get_portid(n->sock);
	n->seq = (unsigned int)time(NULL);
	return 0;
}

static void nl_close(struct nl *n)
{
	if (n->sock)
		mnl_socket_close(n->sock);
	n->sock = NULL;
}

/* What the callbacks of one request/reply exchange see. */
struct talk {
	struct nl *n;
	mnl_cb_t data_cb;
	void *data_ctx;
};

static int extack_attr_cb(const struct nlattr *attr, void *data)
{
	struct nl *n = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
		snprintf(n->extack, sizeof(n->extack), "%s", mnl_attr_get_str(attr));
		/* drop a trailing newline some messages carry */
		n->extack[strcspn(n->extack, "\n")] = '\0';
	}
	return MNL_CB_OK;
}

/* NLMSG_ERROR: like libmnl's default, but keeps the extended-ACK text. */
static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t plen = mnl_nlmsg_get_payload_len(nlh);

	if (plen < sizeof(*err)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		size_t off = sizeof(*err);

		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += err->msg.nlmsg_len > sizeof(struct nlmsghdr) ?
				       err->msg.nlmsg_len - sizeof(struct nlmsghdr) : 0;
		off = MNL_ALIGN(off);
		if (off < plen)
			mnl_attr_parse_payload((const char *)err + off, plen - off,
					       extack_attr_cb, t->n);
	}
	if (err->error == 0)
		return MNL_CB_STOP;
	errno = err->error < 0 ? -err->error : err->error;
	return MNL_CB_ERROR;
}

/* NLMSG_DONE ends a dump; it may carry the dump's error. */
static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)data;
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
		int e = *(const int *)mnl_nlmsg_get_payload(nlh);

		if (e < 0) {
			errno = -e;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

static int noop_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static int data_shim(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;

	return t->data_cb ? t->data_cb(nlh, t->data_ctx) : MNL_CB_OK;
}

static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
	[NLMSG_NOOP] = noop_cb,
	[NLMSG_ERROR] = error_cb,
	[NLMSG_DONE] = done_cb,
	[NLMSG_OVERRUN] = noop_cb,
};

/* NLM_F_DUMP shares bits with NLM_F_EXCL/NLM_F_REPLACE: only a GET is a dump. */
static bool is_dump(const struct nlmsghdr *nlh)
{
	return nlh->nlmsg_type % 4 == RTM_GETLINK % 4 &&
	       (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
}

static bool has_dump_end(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int rem = (int)len;

	for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem))
		if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR)
			return true;
	return false;
}

/* Discard the remainder of a dump whose datagram is in buf. Returns 0 or -errno. */
static int drain_dump(struct nl *n, char *buf, size_t len)
{
	while (!has_dump_end(buf, len)) {
		ssize_t r = mnl_socket_recvfrom(n->sock, buf, NL_BUFSZ);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		len = (size_t)r;
	}
	return 0;
}

/*
 * Send nlh and process replies until the ACK (or NLMSG_DONE for a dump).
 * data_cb sees every data message. Returns 0 or -errno (-EINTR: an
 * interrupted dump, to be repeated).
 */
static int nl_talk(struct nl *n, struct nlmsghdr *nlh, mnl_cb_t data_cb, void *data_ctx)
{
	struct talk t = { n, data_cb, data_ctx };
	unsigned int seq = ++n->seq;
	char *buf;
	int ret;

	nlh->nlmsg_seq = seq;
	if (!is_dump(nlh))
		nlh->nlmsg_flags |= NLM_F_ACK; /* dumps end with NLMSG_DONE instead */
	n->extack[0] = '\0';
	if (mnl_socket_sendto(n->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	buf = malloc(NL_BUFSZ);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(n->sock, buf, NL_BUFSZ);

		if (len < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		ret = mnl_cb_run2(buf, (size_t)len, seq, n->portid, data_shim, &t,
				  ctl_cbs, NLMSG_MIN_TYPE);
		if (ret == MNL_CB_ERROR && errno == EINTR && is_dump(nlh)) {
			/* NLM_F_DUMP_INTR: read the rest so the socket stays usable */
			ret = drain_dump(n, buf, (size_t)len);
			if (ret == 0)
				ret = -EINTR;
			break;
		}
		if (ret == MNL_CB_ERROR) {
			ret = -errno;
			break;
		}
		if (ret == MNL_CB_STOP) {
			ret = 0;
			break;
		}
	}
	free(buf);
	return ret;
}

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

static void print_nl_error(const struct nl *n, const char *what, const char *obj, int err)
{
	if (n->extack[0])
		fprintf(stderr, "steer: %s %s: %s (kernel: %s)\n", what, obj, strerror(-err),
			n->extack);
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
static int del_obj(struct nl *n, const struct obj *o, uint32_t mark, uint32_t table, uint32_t lo)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	char desc[128];
	int err = nl_talk(n, build_obj(buf, o, false, mark, table, lo), NULL, NULL);

	if (err == 0)
		return 1;
	if (gone_ok(err))
		return 0;
	describe_obj(desc, sizeof(desc), o, mark, table);
	print_nl_error(n, "cannot delete", desc, err);
	return err;
}

/* What install and remove both need: valid arguments, lo's index, a socket. */
static int route_begin(uint32_t mark, uint32_t table, struct nl *n, uint32_t *lo)
{
	int err = check_args(mark, table);

	if (err)
		return err;
	err = lo_index(lo);
	if (err)
		return err;
	err = nl_open(n);
	if (err)
		fprintf(stderr, "steer: cannot open rtnetlink socket: %s\n", strerror(-err));
	return err;
}

int route_install(uint32_t mark, uint32_t table)
{
	struct nl n;
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
		err = nl_talk(&n, build_obj(buf, o, true, mark, table, lo), NULL, NULL);
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
	struct nl n;
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

static int dump_rules(struct nl *n, int family, struct stale_list *l)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		char buf[MNL_SOCKET_BUFFER_SIZE];
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct fib_rule_hdr *frh;
		size_t start = l->n;
		int err;

		nlh->nlmsg_type = RTM_GETRULE;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
		frh->family = (uint8_t)family;
		err = nl_talk(n, nlh, rule_dump_cb, l);
		if (err == -EINTR) { /* NLM_F_DUMP_INTR: the list changed, dump again */
			while (l->n > start)
				free(l->v[--l->n].msg);
			continue;
		}
		if (err == 0 && l->err)
			err = l->err;
		return err;
	}
	return -EINTR;
}

int route_cleanup_stale(void)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct stale_list l = { 0 };
	struct nl n;
	uint32_t lo;
	int err, ret = 0, count = 0;

	err = lo_index(&lo);
	if (err)
		return err;
	err = nl_open(&n);
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
		err = nl_talk(&n, nlh, NULL, NULL);
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
	struct nl n;
	int err;

	err = nl_open(&n);
	if (err) {
		fprintf(stderr, "steer: cannot open rtnetlink socket: %s\n", strerror(-err));
		return err;
	}
	for (size_t f = 0; f < 2; f++) {
		int attempt = 0;

		do {
			char buf[MNL_SOCKET_BUFFER_SIZE];
			struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
			struct ifaddrmsg *ifa;

			nlh->nlmsg_type = RTM_GETADDR;
			nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
			ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
			ifa->ifa_family = (uint8_t)families[f];
			/* an interrupted dump is repeated; adds are idempotent for the caller */
			err = nl_talk(&n, nlh, addr_msg_cb, &a);
		} while (err == -EINTR && ++attempt < 5);
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
	struct mnl_socket *sock;
};

struct addr_monitor *addr_monitor_open(void)
{
	struct addr_monitor *m = calloc(1, sizeof(*m));
	int rcvbuf = 4 << 20;

	if (!m)
		return NULL;
	m->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!m->sock)
		goto fail;
	if (mnl_socket_bind(m->sock, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
			    MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	/* a bigger queue makes overruns (ENOBUFS) unlikely; best effort */
	if (setsockopt(mnl_socket_get_fd(m->sock), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		setsockopt(mnl_socket_get_fd(m->sock), SOL_SOCKET, SO_RCVBUF, &rcvbuf,
			   sizeof(rcvbuf));
	return m;
fail:
	fprintf(stderr, "steer: cannot open address monitor: %s\n", strerror(errno));
	{
		int e = errno;

		if (m->sock)
			mnl_socket_close(m->sock);
		free(m);
		errno = e;
	}
	return NULL;
}

int addr_monitor_fd(struct addr_monitor *m)
{
	return mnl_socket_get_fd(m->sock);
}

int addr_monitor_read(struct addr_monitor *m, addr_cb cb, void *ctx)
{
	struct addr_ctx a = { cb, ctx, 0 };
	bool overrun = false;
	char *buf = malloc(NL_BUFSZ);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(m->sock, buf, NL_BUFSZ);

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) { /* the kernel dropped notifications */
				overrun = true;
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			{
				int err = -errno;

				free(buf);
				return err;
			}
		}
		if (len == 0)
			break;
		/* notifications: no sequence number or port to check */
		mnl_cb_run(buf, (size_t)len, 0, 0, addr_msg_cb, &a);
	}
	free(buf);
	return overrun ? -ENOBUFS : a.count;
}

void addr_monitor_close(struct addr_monitor *m)
{
	if (!m)
		return;
	if (m->sock)
		mnl_socket_close(m->sock);
	free(m);
}
