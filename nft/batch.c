// SPDX-License-Identifier: GPL-2.0-only
/* The nfnetlink batch buffer and the object messages in it (see nft.h, batch.h). */
#include "nft/batch.h"

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nft_batch_init(struct nft_batch *b, uint32_t seq)
{
	memset(b, 0, sizeof(*b));
	b->first_seq = b->seq = seq;
	b->cap = 1 << 16;
	/*
	 * Zeroed, and zeroed as it grows: libmnl does not clear the padding after
	 * an attribute, and the kernel would otherwise get uninitialised bytes.
	 * Messages are only ever appended, so each byte is written at most once.
	 */
	b->buf = calloc(1, b->cap);
	if (!b->buf)
		return -1;
	if (!nftnl_batch_begin(b->buf, b->seq))
		return -1;
	b->len = ((struct nlmsghdr *)b->buf)->nlmsg_len;
	b->seq++;
	return 0;
}

void nft_batch_free(struct nft_batch *b)
{
	free(b->buf);
	free(b->what);
	memset(b, 0, sizeof(*b));
}

static int reserve(struct nft_batch *b, size_t room)
{
	if (b->oom)
		return -1;
	if (b->len + room > b->cap) {
		size_t cap = b->cap;
		char *p;

		while (b->len + room > cap)
			cap *= 2;
		p = realloc(b->buf, cap);
		if (!p) {
			b->oom = 1;
			return -1;
		}
		memset(p + b->cap, 0, cap - b->cap);
		b->buf = p;
		b->cap = cap;
	}
	return 0;
}

static void set_what(struct nft_batch *b, const char *fmt, va_list ap)
{
	size_t i = b->seq - b->first_seq;

	if (i >= b->nwhat) {
		size_t n = b->nwhat ? b->nwhat * 2 : 64;
		void *p;

		while (n <= i)
			n *= 2;
		p = realloc(b->what, n * sizeof(*b->what));
		if (!p) {
			b->oom = 1;
			return;
		}
		memset((char (*)[80])p + b->nwhat, 0, (n - b->nwhat) * sizeof(*b->what));
		b->what = p;
		b->nwhat = n;
	}
	vsnprintf(b->what[i], sizeof(b->what[i]), fmt, ap);
}

const char *nft_batch_what(const struct nft_batch *b, uint32_t seq)
{
	size_t i = seq - b->first_seq;

	return i < b->nwhat ? b->what[i] : "";
}

struct nlmsghdr *nft_msg_begin(struct nft_batch *b, size_t room, uint16_t type, uint16_t flags, const char *fmt, ...)
{
	va_list ap;

	if (reserve(b, room) < 0)
		return NULL;
	va_start(ap, fmt);
	set_what(b, fmt, ap);
	va_end(ap);
	if (b->oom)
		return NULL;
	return nftnl_nlmsg_build_hdr(b->buf + b->len, type, NFPROTO_INET, flags | NLM_F_ACK, b->seq);
}

void nft_msg_end(struct nft_batch *b, struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	b->seq++;
	b->nacks++;
}

int nft_batch_end(struct nft_batch *b)
{
	struct nlmsghdr *nlh;

	if (reserve(b, 64) < 0)
		return -1;
	nlh = nftnl_batch_end(b->buf + b->len, b->seq++);
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	return 0;
}

int nft_send_table(struct nft_batch *b, uint16_t type, uint16_t flags, const char *what)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_udata_buf *u = NULL;
	struct nlmsghdr *nlh;

	if (!t)
		return -1;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_STEER_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	if (type == NFT_MSG_NEWTABLE) {
		u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
		if (!u || !nftnl_udata_put_strz(u, NFTNL_UDATA_TABLE_COMMENT,
						"steer: flows to the local transparent proxy (steer cleanup removes it)"))
			goto fail;
		nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
	}
	nlh = nft_msg_begin(b, MSG_ROOM, type, flags, "%s", what);
	if (!nlh)
		goto fail;
	nftnl_table_nlmsg_build_payload(nlh, t);
	nft_msg_end(b, nlh);
	nftnl_udata_buf_free(u);
	nftnl_table_free(t);
	return 0;
fail:
	if (u)
		nftnl_udata_buf_free(u);
	nftnl_table_free(t);
	return -1;
}

int nft_add_chain(struct nft_batch *b)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c)
		return -1;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFT_STEER_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, NFT_STEER_CHAIN);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_PRE_ROUTING);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, NF_IP_PRI_MANGLE_);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlh = nft_msg_begin(b, MSG_ROOM, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, "add chain " NFT_STEER_CHAIN);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, c);
		nft_msg_end(b, nlh);
	}
	nftnl_chain_free(c);
	return nlh ? 0 : -1;
}

/* DELRULE with only table and chain: every rule of the chain. */
int nft_flush_chain(struct nft_batch *b)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!r)
		return -1;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_STEER_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, NFT_STEER_CHAIN);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nlh = nft_msg_begin(b, MSG_ROOM, NFT_MSG_DELRULE, 0, "flush chain " NFT_STEER_CHAIN);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nft_msg_end(b, nlh);
	}
	nftnl_rule_free(r);
	return nlh ? 0 : -1;
}

int nft_del_set(struct nft_batch *b, const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	if (!s)
		return -1;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_STEER_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nlh = nft_msg_begin(b, MSG_ROOM, NFT_MSG_DELSET, 0, "delete set %s", name);
	if (nlh) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		nft_msg_end(b, nlh);
	}
	nftnl_set_free(s);
	return nlh ? 0 : -1;
}

static struct nftnl_set *set_object(const char *name, uint32_t id)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_STEER_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	return s;
}

int nft_set_begin(struct nft_batch *b, struct set_build *sb, const char *name, uint32_t type, uint32_t keylen,
		     uint32_t flags)
{
	struct nftnl_udata_buf *u;
	struct nftnl_set *s;
	struct nlmsghdr *nlh;

	memset(sb, 0, sizeof(*sb));
	snprintf(sb->name, sizeof(sb->name), "%s", name);
	sb->id = ++b->set_id;
	sb->keylen = keylen;
	s = set_object(name, sb->id);
	if (!s)
		return -1;
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, keylen);
	/* nft reads the key's byte order here: interface names are strings (host order). */
	u = nftnl_udata_buf_alloc(64);
	if (!u || !nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER,
				       type == NFT_TYPE_IFNAME ? NFT_BYTEORDER_HOST : NFT_BYTEORDER_BIG)) {
		if (u)
			nftnl_udata_buf_free(u);
		nftnl_set_free(s);
		return -1;
	}
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
	nlh = nft_msg_begin(b, MSG_ROOM, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL, "add set %s",
			flags & NFT_SET_ANONYMOUS ? "(anonymous)" : name);
	if (nlh) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		nft_msg_end(b, nlh);
	}
	nftnl_set_free(s);
	nftnl_udata_buf_free(u);
	return nlh ? 0 : -1;
}

int nft_set_flush(struct nft_batch *b, struct set_build *sb)
{
	struct nlmsghdr *nlh;

	if (!sb->s)
		return 0;
	nlh = nft_msg_begin(b, 256 + sb->pending * ELEM_ROOM, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL,
			"add %zu elements to set %s", sb->pending, sb->name);
	if (nlh) {
		nftnl_set_elems_nlmsg_build_payload(nlh, sb->s);
		nft_msg_end(b, nlh);
	}
	nftnl_set_free(sb->s);
	sb->s = NULL;
	sb->pending = 0;
	return nlh ? 0 : -1;
}

int nft_set_elem(struct nft_batch *b, struct set_build *sb, const void *key, bool interval_end)
{
	struct nftnl_set_elem *e;

	if (!sb->s && !(sb->s = set_object(sb->name, sb->id)))
		return -1;
	e = nftnl_set_elem_alloc();
	if (!e)
		return -1;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, sb->keylen);
	if (interval_end)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
	nftnl_set_elem_add(sb->s, e);
	if (++sb->pending >= ELEMS_PER_MSG)
		return nft_set_flush(b, sb);
	return 0;
}
