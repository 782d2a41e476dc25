// SPDX-License-Identifier: GPL-2.0-only
/*
 * The config compiled into one nftables transaction: table `inet steer`, its
 * named sets and the `prerouting` chain. What it builds, read back with
 * `nft list table inet steer` (mark 0x1000000, proxy-port 15001):
 *
 *   table inet steer {
 *     set client_ifaces { type ifname; ... }      interface lines
 *     set return_ifaces { type ifname; ... }      return-interface lines
 *     set steer1_ports  { type inet_service; flags interval; ... }
 *     set steer1_dst4   { type ipv4_addr; flags interval; ... }   one set per
 *     ...                                          rule and field and family
 *     chain prerouting {
 *       type filter hook prerouting priority mangle; policy accept;
 *  (1)  meta mark & 0x01000000 == 0x01000000 counter accept
 *  (2)  iifname @return_ifaces socket transparent 1 socket wildcard 0 counter
 *           meta mark set meta mark | 0x01000000 accept
 *  (3)  iifname != @client_ifaces return
 *  (4)  fib daddr type local counter return
 *  (4b) meta pkttype != host counter return
 *  (5)  tcp flags != syn / syn,rst,ack socket transparent 1 counter
 *           meta mark set meta mark | 0x01000000 accept
 *  (5c) tcp flags ack / syn,rst,ack ct mark & 0x01000000 == 0x01000000
 *           tproxy to :15001 meta mark set meta mark | 0x01000000 counter accept
 *  (5b) meta l4proto icmp socket transparent 1 counter
 *           meta mark set meta mark | 0x01000000 accept   (and icmpv6)
 *  (6)  <bypass match> counter accept                       per bypass line
 *  (7)  <steer match> tcp flags syn / syn,rst,ack tproxy ip to :15001
 *           meta mark set meta mark | 0x01000000
 *           ct mark set ct mark | 0x01000000 counter accept      per steer line
 *  (8)  <steer match> tcp flags syn / syn,rst,ack counter drop    fail-closed only
 *     }
 *   }
 *
 * Why this order, rule by rule:
 *  (1) The eBPF classifier runs at TC ingress, before netfilter: in split mode
 *      and while the backend is switched live (make before break), a packet
 *      carrying the mark bit has already been given its socket. Leave it.
 *  (2) Return path (only with return-interface). With upstream-source client
 *      the proxy's upstream socket is bound to the client's (non-local)
 *      address, so the server's replies would be forwarded to the client. A
 *      transparent socket found for the packet claims it: the mark routes it
 *      locally (policy routing: fwmark -> table with `local default dev lo`)
 *      and the stack's own lookup delivers it. `wildcard 0` keeps out
 *      listeners bound to 0.0.0.0/:: and TIME_WAIT sockets, as the eBPF
 *      return program does.
 *  (3) Everything below concerns client-facing interfaces only.
 *  (4) Traffic to the gateway's own addresses is never steered (fib knows
 *      them all, no address list to keep in sync). (4b) Nor broadcast and
 *      multicast, which are delivered locally too (DHCP, mDNS, SSDP).
 *  (5) Packets of flows the proxy already holds, whatever the rules say now:
 *      a reload that drops a rule must not cut the flows it steered, and this
 *      is what the eBPF classifier does too (socket lookup before the rules).
 *      Not for SYNs: a SYN that meets a TIME_WAIT socket of the proxy must
 *      reach tproxy (7), which hands it to the listener; delivered to the
 *      TIME_WAIT socket it would only be answered with a stale ACK (the
 *      well-known stall of a `socket` rule placed before tproxy).
 *      (5c) A SYN cookie's ACK: a listener under a SYN flood (or with
 *      tcp_syncookies=2) answers the SYN with a cookie and keeps nothing, so
 *      the ACK that completes the handshake finds no socket in (5). The SYN
 *      went through (7), which set the mark bit in the connection's
 *      conntrack mark, so tproxy hands the ACK to the listener, which makes
 *      the connection from the cookie. A connection older than steer, or
 *      forwarded while the proxy was down, never had the bit: its packets
 *      are forwarded as before. (The ct expressions turn conntrack on in the
 *      gateway's namespace while the table exists.)
 *      (5b) ICMP errors about packets the proxy's sockets sent (frag needed,
 *      unreachable): the socket expression finds the quoted flow's socket,
 *      so path MTU discovery works for the proxy's connections.
 *  (6) Bypass wins over steer, so every bypass rule comes before any steer
 *      rule. Bypass without a protocol means TCP and UDP.
 *  (7) New flows: TCP SYNs (as the classifier: SYN without ACK/RST) and every
 *      UDP datagram. tproxy finds the flow's own socket first (a SYN meeting
 *      TIME_WAIT, a retransmitted SYN), else the listener on :PORT of the
 *      incoming interface's address. tproxy is not terminal: when it finds no
 *      socket the rule stops there (no mark, no accept, not counted) and the
 *      packet goes on. A non-SYN TCP packet that no socket claimed in (5) is
 *      forwarded untouched, as the classifier does: a flow forwarded while the
 *      proxy was down, or older than steer, is not reset by the listener.
 *  (8) on-proxy-down fail-closed: what (7) could not deliver is dropped and
 *      counted. With fail-open there is no rule: the chain's policy accepts
 *      and the flow is forwarded.
 * A rule's dst/src lists may mix families; the rule gets an IPv4 and/or an
 * IPv6 variant exactly where steer/rules.c rules_match() can match: a family
 * is possible when each non-empty list has a prefix of it. A rule without
 * addresses is one rule for both families (`tproxy to :PORT`).
 */
#include <netinet/in.h> /* before linux/netfilter.h, which would define in_addr again */

#include "nft/nft.h"

#include <libgen.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/if_packet.h>
#include <linux/netfilter.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nft/batch.h"
#include "nft/expr.h"

/* ---- sets from the config ---- */

static int ifname_set(struct nft_batch *b, const char *name, const char (*ifs)[IF_NAMESIZE], int n)
{
	struct set_build sb;

	if (nft_set_begin(b, &sb, name, NFT_TYPE_IFNAME, IFNAMSIZ, 0) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char key[IFNAMSIZ] = { 0 };

		strncpy(key, ifs[i], sizeof(key) - 1);
		if (nft_set_elem(b, &sb, key, false) < 0)
			goto fail;
	}
	return nft_set_flush(b, &sb);
fail:
	nftnl_set_free(sb.s);
	return -1;
}

static int cmp_port(const void *a, const void *b)
{
	const struct port_range *x = a, *y = b;

	return (int)x->lo - (int)y->lo;
}

/* Intervals [lo, hi+1): the end element is omitted when hi is the largest key. */
static int ports_set(struct nft_batch *b, const char *name, const struct port_range *ports, size_t n)
{
	struct port_range *sorted = malloc(n * sizeof(*sorted));
	struct set_build sb;
	int ret = -1;

	if (!sorted)
		return -1;
	memcpy(sorted, ports, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_port);
	if (nft_set_begin(b, &sb, name, NFT_TYPE_INET_SERVICE, 2, NFT_SET_INTERVAL) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		uint16_t lo = htons(sorted[i].lo), end = htons((uint16_t)(sorted[i].hi + 1));

		if (nft_set_elem(b, &sb, &lo, false) < 0 || (sorted[i].hi < 65535 && nft_set_elem(b, &sb, &end, true) < 0))
			goto fail;
	}
	ret = nft_set_flush(b, &sb);
	goto out;
fail:
	nftnl_set_free(sb.s);
out:
	free(sorted);
	return ret;
}

static size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

static int cmp_prefix(const void *a, const void *b)
{
	const struct prefix *x = a, *y = b;

	return memcmp(x->addr, y->addr, 16);
}

/* The first address after the prefix; false if it wraps past the last address. */
static bool prefix_end(const struct prefix *p, uint8_t *end)
{
	size_t n = addr_len(p->family);

	memcpy(end, p->addr, n);
	for (size_t bit = p->len; bit < n * 8; bit++)
		end[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	for (size_t i = n; i-- > 0;)
		if (++end[i] != 0)
			return true;
	return false;
}

static int prefix_set(struct nft_batch *b, const char *name, const struct prefix *p, size_t n, uint8_t family)
{
	struct prefix *sorted = malloc((n ? n : 1) * sizeof(*sorted));
	size_t k = 0, len = addr_len(family);
	struct set_build sb;
	int ret = -1;

	if (!sorted)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (p[i].family == family)
			sorted[k++] = p[i];
	qsort(sorted, k, sizeof(*sorted), cmp_prefix);
	if (nft_set_begin(b, &sb, name, family == AF_INET ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR, (uint32_t)len,
		      NFT_SET_INTERVAL) < 0)
		goto out;
	for (size_t i = 0; i < k; i++) {
		uint8_t end[16];

		if (nft_set_elem(b, &sb, sorted[i].addr, false) < 0 ||
		    (prefix_end(&sorted[i], end) && nft_set_elem(b, &sb, end, true) < 0))
			goto fail;
	}
	ret = nft_set_flush(b, &sb);
	goto out;
fail:
	nftnl_set_free(sb.s);
out:
	free(sorted);
	return ret;
}

/* ---- rules ---- */

static bool has_family(const struct prefix *p, size_t n, uint8_t family)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].family == family)
			return true;
	return false;
}

/* Can a flow of this family match r? Exactly rules_match()'s prefix test. */
static bool family_possible(const struct rule *r, uint8_t family)
{
	return (r->ndst == 0 || has_family(r->dst, r->ndst, family)) &&
	       (r->nsrc == 0 || has_family(r->src, r->nsrc, family));
}

/* The sets of one config rule (names empty where the field is omitted). */
struct rule_sets {
	char ports[48], dst4[48], dst6[48], src4[48], src6[48];
	uint32_t ports_id, dst4_id, dst6_id, src4_id, src6_id;
};

enum match_action { ACT_BYPASS, ACT_STEER, ACT_DROP };

struct ctx {
	struct nft_batch *b;
	const struct steer_config *cfg;
	char file[64]; /* for the comments: the config file's base name */
};

static int send_rule(struct ctx *c, struct nftnl_rule *r, const char *comment)
{
	struct nftnl_udata_buf *u = NULL;
	struct nlmsghdr *nlh;

	if (comment) {
		u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
		if (!u || !nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, comment)) {
			if (u)
				nftnl_udata_buf_free(u);
			return -1;
		}
		nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
	}
	nlh = nft_msg_begin(c->b, MSG_ROOM, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, "add rule \"%s\"",
			comment ? comment : "(no comment)");
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nft_msg_end(c->b, nlh);
	}
	if (u)
		nftnl_udata_buf_free(u);
	return nlh ? 0 : -1;
}

static struct nftnl_rule *new_rule(void)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return NULL;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_STEER_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, NFT_STEER_CHAIN);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	return r;
}

/* Build with ok = ok && ...; send if everything could be allocated. */
static int finish_rule(struct ctx *c, struct nftnl_rule *r, bool ok, const char *comment)
{
	int ret = -1;

	if (r && ok)
		ret = send_rule(c, r, comment);
	if (r)
		nftnl_rule_free(r);
	return ret;
}

static void rule_comment(const struct ctx *c, const struct rule *r, const char *suffix, char *buf, size_t len)
{
	if (r->line > 0 && r->file) {
		const char *slash = strrchr(r->file, '/');

		/* An included file's rule names that file. */
		snprintf(buf, len, "%s:%d%s", slash ? slash + 1 : r->file, r->line, suffix);
	} else if (r->line > 0)
		snprintf(buf, len, "%s:%d%s", c->file, r->line, suffix);
	else
		snprintf(buf, len, "--%s flag%s", r->bypass ? "bypass" : "steer", suffix);
}

/*
 * One config rule for one family (0: both, no address match). The protocol
 * test comes first so that nft prints `tcp dport @set`; the family test
 * right before the address lookups, where nft folds it into `ip daddr`.
 */
static int match_rule(struct ctx *c, const struct rule *cr, const struct rule_sets *rs, uint8_t family,
		      enum match_action act)
{
	struct nftnl_rule *r = new_rule();
	bool ok = r != NULL;
	char comment[128];

	if (ok && cr->proto) {
		ok = e_meta_load(r, NFT_META_L4PROTO) && e_cmp_u8(r, NFT_CMP_EQ, cr->proto);
	} else if (ok) {
		/* Bypass without protocol: TCP and UDP, the protocols steer handles. */
		static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
		struct set_build sb;

		if (nft_set_begin(c->b, &sb, "__set%d", NFT_TYPE_INET_PROTOCOL, 1, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT) < 0)
			ok = false;
		for (size_t i = 0; ok && i < sizeof(protos); i++)
			ok = nft_set_elem(c->b, &sb, &protos[i], false) == 0;
		ok = ok && nft_set_flush(c->b, &sb) == 0;
		if (!ok)
			nftnl_set_free(sb.s);
		ok = ok && e_meta_load(r, NFT_META_L4PROTO) && e_lookup(r, sb.name, sb.id, false);
	}
	if (ok && cr->nports)
		ok = e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2) && e_lookup(r, rs->ports, rs->ports_id, false);
	if (ok && family) {
		bool v4 = family == AF_INET;

		ok = e_meta_load(r, NFT_META_NFPROTO) && e_cmp_u8(r, NFT_CMP_EQ, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
		if (ok && cr->ndst)
			ok = e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, v4 ? 16 : 24, v4 ? 4 : 16) &&
			     e_lookup(r, v4 ? rs->dst4 : rs->dst6, v4 ? rs->dst4_id : rs->dst6_id, false);
		if (ok && cr->nsrc)
			ok = e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, v4 ? 12 : 8, v4 ? 4 : 16) &&
			     e_lookup(r, v4 ? rs->src4 : rs->src6, v4 ? rs->src4_id : rs->src6_id, false);
	}
	if (ok && act != ACT_BYPASS && cr->proto == IPPROTO_TCP)
		ok = e_tcp_syn(r, NFT_CMP_EQ);
	switch (act) {
	case ACT_BYPASS:
		ok = ok && e_counter(r) && e_verdict(r, NF_ACCEPT);
		rule_comment(c, cr, "", comment, sizeof(comment));
		break;
	case ACT_STEER: {
		uint8_t nfproto = family == AF_INET ? NFPROTO_IPV4 : family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_UNSPEC;

		/* After tproxy: counted (and the connection marked) only when a socket took the packet. */
		ok = ok && e_tproxy(r, nfproto, c->cfg->proxy_port) && e_mark_or(r, c->cfg->mark);
		if (ok && cr->proto == IPPROTO_TCP)
			ok = e_ct_mark_or(r, c->cfg->mark);
		ok = ok && e_counter(r) && e_verdict(r, NF_ACCEPT);
		rule_comment(c, cr, "", comment, sizeof(comment));
		break;
	}
	case ACT_DROP:
		ok = ok && e_counter(r) && e_verdict(r, NF_DROP);
		rule_comment(c, cr, ": no listener, fail-closed", comment, sizeof(comment));
		break;
	}
	return finish_rule(c, r, ok, comment);
}

static int rule_sets(struct ctx *c, const struct rule *cr, size_t n, struct rule_sets *rs)
{
	const char *kind = cr->bypass ? "bypass" : "steer";
	bool v4 = family_possible(cr, AF_INET), v6 = family_possible(cr, AF_INET6);
	struct nft_batch *b = c->b;

	memset(rs, 0, sizeof(*rs));
	if (!v4 && !v6)
		return 0; /* can match nothing: no sets, no rules */
	if (cr->nports) {
		snprintf(rs->ports, sizeof(rs->ports), "%s%zu_ports", kind, n);
		if (ports_set(b, rs->ports, cr->ports, cr->nports) < 0)
			return -1;
		rs->ports_id = b->set_id;
	}
#define PREFIX_SET(field, list, nlist, fam, suffix)                                               \
	do {                                                                                      \
		if (nlist && has_family(list, nlist, fam) && family_possible(cr, fam)) {          \
			snprintf(rs->field, sizeof(rs->field), "%s%zu_%s", kind, n, suffix);      \
			if (prefix_set(b, rs->field, list, nlist, fam) < 0)                        \
				return -1;                                                        \
			rs->field##_id = b->set_id;                                               \
		}                                                                                 \
	} while (0)
	PREFIX_SET(dst4, cr->dst, cr->ndst, AF_INET, "dst4");
	PREFIX_SET(dst6, cr->dst, cr->ndst, AF_INET6, "dst6");
	PREFIX_SET(src4, cr->src, cr->nsrc, AF_INET, "src4");
	PREFIX_SET(src6, cr->src, cr->nsrc, AF_INET6, "src6");
#undef PREFIX_SET
	return 0;
}

static int config_rule(struct ctx *c, const struct rule *cr, const struct rule_sets *rs, enum match_action act)
{
	if (cr->ndst == 0 && cr->nsrc == 0)
		return match_rule(c, cr, rs, 0, act);
	if (family_possible(cr, AF_INET) && match_rule(c, cr, rs, AF_INET, act) < 0)
		return -1;
	if (family_possible(cr, AF_INET6) && match_rule(c, cr, rs, AF_INET6, act) < 0)
		return -1;
	return 0;
}

/* (4): packets to the gateway's own addresses are never steered. */
static int local_rule(struct ctx *c)
{
	struct nftnl_rule *r = new_rule();
	bool ok = false;

	if (r) {
		struct nftnl_expr *e = nftnl_expr_alloc("fib");
		uint32_t local = RTN_LOCAL;

		ok = e != NULL;
		if (e) {
			nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
			nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
			nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
			ok = e_add(r, e) && e_cmp(r, NFT_CMP_EQ, &local, sizeof(local)) && e_counter(r) &&
			     e_verdict(r, NFT_RETURN);
		}
	}
	return finish_rule(c, r, r && ok, "to the gateway itself: never steered");
}

/* (1)-(5b): what every ruleset has, before the operator's rules. */
static int fixed_rules(struct ctx *c, uint32_t client_id, uint32_t return_id)
{
	struct nftnl_rule *r;
	bool ok;

	/* (1) already steered by eBPF */
	r = new_rule();
	ok = r && e_meta_load(r, NFT_META_MARK) && e_bitwise(r, 4, &c->cfg->mark, &(uint32_t){ 0 }) &&
	     e_cmp(r, NFT_CMP_EQ, &c->cfg->mark, 4) && e_counter(r) && e_verdict(r, NF_ACCEPT);
	if (finish_rule(c, r, ok, "steered by eBPF at TC ingress (runs before netfilter)") < 0)
		return -1;

	/* (2) return path */
	if (c->cfg->n_return_ifaces > 0) {
		r = new_rule();
		ok = r && e_meta_load(r, NFT_META_IIFNAME) && e_lookup(r, "return_ifaces", return_id, false) &&
		     e_socket(r, NFT_SOCKET_TRANSPARENT, 1) && e_socket(r, NFT_SOCKET_WILDCARD, 0) && e_counter(r) &&
		     e_mark_or(r, c->cfg->mark) && e_verdict(r, NF_ACCEPT);
		if (finish_rule(c, r, ok, "replies to the proxy's upstream sockets") < 0)
			return -1;
	}

	/* (3) client-facing interfaces only from here */
	r = new_rule();
	ok = r && e_meta_load(r, NFT_META_IIFNAME) && e_lookup(r, "client_ifaces", client_id, true) &&
	     e_verdict(r, NFT_RETURN);
	if (finish_rule(c, r, ok, NULL) < 0)
		return -1;

	/* (4) the gateway's own addresses */
	if (local_rule(c) < 0)
		return -1;

	/* (4b) broadcast and multicast are delivered locally too (DHCP, mDNS, SSDP) */
	r = new_rule();
	ok = r && e_meta_load(r, NFT_META_PKTTYPE) && e_cmp_u8(r, NFT_CMP_NEQ, PACKET_HOST) && e_counter(r) &&
	     e_verdict(r, NFT_RETURN);
	if (finish_rule(c, r, ok, "broadcast and multicast: never steered") < 0)
		return -1;

	/* (5) flows the proxy holds */
	r = new_rule();
	ok = r && e_meta_load(r, NFT_META_L4PROTO) && e_cmp_u8(r, NFT_CMP_EQ, IPPROTO_TCP) &&
	     e_tcp_syn(r, NFT_CMP_NEQ) && e_socket(r, NFT_SOCKET_TRANSPARENT, 1) && e_counter(r) &&
	     e_mark_or(r, c->cfg->mark) && e_verdict(r, NF_ACCEPT);
	if (finish_rule(c, r, ok, "flows the proxy holds (SYNs go to tproxy: TIME_WAIT)") < 0)
		return -1;

	/* (5c) SYN-cookie ACKs of connections whose SYN (7) gave to the listener */
	r = new_rule();
	ok = r && e_meta_load(r, NFT_META_L4PROTO) && e_cmp_u8(r, NFT_CMP_EQ, IPPROTO_TCP) &&
	     e_tcp_flags(r, NFT_CMP_EQ, TCP_FLAG_ACK) && e_ct_mark_has(r, c->cfg->mark) &&
	     e_tproxy(r, NFPROTO_UNSPEC, c->cfg->proxy_port) && e_mark_or(r, c->cfg->mark) && e_counter(r) &&
	     e_verdict(r, NF_ACCEPT);
	if (finish_rule(c, r, ok, "SYN-cookie ACKs of steered connections (ct mark)") < 0)
		return -1;

	/*
	 * (5b) ICMP errors about packets the proxy's sockets sent (frag needed,
	 * unreachable): the socket expression looks up the quoted tuple.
	 */
	for (int icmp = 0; icmp < 2; icmp++) {
		r = new_rule();
		ok = r && e_meta_load(r, NFT_META_L4PROTO) &&
		     e_cmp_u8(r, NFT_CMP_EQ, icmp ? IPPROTO_ICMPV6 : IPPROTO_ICMP) &&
		     e_socket(r, NFT_SOCKET_TRANSPARENT, 1) && e_counter(r) && e_mark_or(r, c->cfg->mark) &&
		     e_verdict(r, NF_ACCEPT);
		if (finish_rule(c, r, ok, "ICMP errors for the proxy's sockets (path MTU)") < 0)
			return -1;
	}
	return 0;
}

/* (6) bypass, (7) steer, each followed by (8) its fail-closed drop */
static int operator_rules(struct ctx *c, const struct rule_sets *rs)
{
	const struct steer_config *cfg = c->cfg;

	for (size_t i = 0; i < cfg->nrules; i++)
		if (cfg->rules[i].bypass && config_rule(c, &cfg->rules[i], &rs[i], ACT_BYPASS) < 0)
			return -1;
	for (size_t i = 0; i < cfg->nrules; i++) {
		if (cfg->rules[i].bypass)
			continue;
		if (config_rule(c, &cfg->rules[i], &rs[i], ACT_STEER) < 0)
			return -1;
		if (cfg->on_proxy_down == PROXY_DOWN_FAIL_CLOSED &&
		    config_rule(c, &cfg->rules[i], &rs[i], ACT_DROP) < 0)
			return -1;
	}
	return 0;
}

/* Sets and rules, in the order of the comment at the top of this file. */
static int body(struct nft_batch *b, const struct steer_config *cfg, bool with_chain)
{
	struct ctx c = { .b = b, .cfg = cfg };
	struct rule_sets *rs = calloc(cfg->nrules ? cfg->nrules : 1, sizeof(*rs));
	uint32_t client_id, return_id = 0;
	int ret = -1;

	if (!rs)
		return -1;
	if (cfg->path[0]) {
		char tmp[STEER_PATH_MAX];

		snprintf(tmp, sizeof(tmp), "%s", cfg->path);
		snprintf(c.file, sizeof(c.file), "%s", basename(tmp));
	} else {
		snprintf(c.file, sizeof(c.file), "steer.conf");
	}

	if (ifname_set(b, "client_ifaces", cfg->ifaces, cfg->n_ifaces) < 0)
		goto out;
	client_id = b->set_id;
	if (cfg->n_return_ifaces > 0) {
		if (ifname_set(b, "return_ifaces", cfg->return_ifaces, cfg->n_return_ifaces) < 0)
			goto out;
		return_id = b->set_id;
	}
	for (size_t i = 0; i < cfg->nrules; i++)
		if (rule_sets(&c, &cfg->rules[i], i + 1, &rs[i]) < 0)
			goto out;
	if (with_chain && nft_add_chain(b) < 0)
		goto out;
	if (fixed_rules(&c, client_id, return_id) < 0 || operator_rules(&c, rs) < 0)
		goto out;
	ret = 0;
out:
	free(rs);
	return ret;
}

int nft_ruleset_install(struct nft_batch *b, const struct steer_config *cfg)
{
	if (nft_send_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, "add table inet " NFT_STEER_TABLE) < 0 ||
	    body(b, cfg, true) < 0)
		return -1;
	return nft_batch_end(b);
}

int nft_ruleset_replace(struct nft_batch *b, const struct steer_config *cfg, const struct nft_names *old_sets)
{
	if (nft_flush_chain(b) < 0)
		return -1;
	for (size_t i = 0; i < old_sets->n; i++)
		if (nft_del_set(b, old_sets->name[i]) < 0)
			return -1;
	if (body(b, cfg, false) < 0)
		return -1;
	return nft_batch_end(b);
}

int nft_ruleset_delete(struct nft_batch *b)
{
	if (nft_send_table(b, NFT_MSG_DELTABLE, 0, "delete table inet " NFT_STEER_TABLE) < 0)
		return -1;
	return nft_batch_end(b);
}
