/* SPDX-License-Identifier: GPL-2.0-only */
/* See conntrack.h. */
#include "steer/conntrack.h"

#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <string.h>

#include "proxy/sock.h"

/* One address as ctnetlink's tuple has it (IPv4-mapped made IPv4 first, in place): 4 or 16 bytes; 0 if not IP. */
static size_t addr_of(struct sockaddr_storage *ss, const void **a, uint16_t *port)
{
	unmap_v4(ss);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		*a = &in->sin_addr;
		*port = in->sin_port;
		return 4;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		*a = &in6->sin6_addr;
		*port = in6->sin6_port;
		return 16;
	}
	return 0;
}

int ct_forget_tcp(struct nl_sock *s, const struct sockaddr_storage *src, const struct sockaddr_storage *dst)
{
	char buf[512];
	struct sockaddr_storage from = *src, to = *dst;
	const void *sa, *da;
	uint16_t sp, dp;
	size_t n = addr_of(&from, &sa, &sp);
	struct nlmsghdr *nlh;
	struct nfgenmsg *g;
	struct nlattr *tuple, *nest;

	if (!n || addr_of(&to, &da, &dp) != n)
		return -EAFNOSUPPORT;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_DELETE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = n == 4 ? AF_INET : AF_INET6;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put(nlh, n == 4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, n, sa);
	mnl_attr_put(nlh, n == 4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, n, da);
	mnl_attr_nest_end(nlh, nest);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_TCP);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, sp); /* network order, as the tuple's */
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, dp);
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_nest_end(nlh, tuple);
	return nl_request(s, nlh);
}
