// SPDX-License-Identifier: GPL-2.0-only
/* Rule expressions (see expr.h). */
#include <netinet/in.h> /* before linux/netfilter.h, which would define in_addr again */

#include "nft/expr.h"

#include <libnftnl/expr.h>
#include <linux/netfilter.h>

bool e_add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return false;
	nftnl_rule_add_expr(r, e);
	return true;
}

bool e_meta_load(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	return e_add(r, e);
}

bool e_cmp(struct nftnl_rule *r, enum nft_cmp_ops op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	return e_add(r, e);
}

bool e_cmp_u8(struct nftnl_rule *r, enum nft_cmp_ops op, uint8_t v)
{
	return e_cmp(r, op, &v, sizeof(v));
}

bool e_bitwise(struct nftnl_rule *r, uint32_t len, const void *mask, const void *xor)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, len);
	return e_add(r, e);
}

bool e_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	return e_add(r, e);
}

bool e_lookup(struct nftnl_rule *r, const char *set, uint32_t set_id, bool invert)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
	if (invert)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	return e_add(r, e);
}

bool e_counter(struct nftnl_rule *r)
{
	return e_add(r, nftnl_expr_alloc("counter"));
}

bool e_verdict(struct nftnl_rule *r, int verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	return e_add(r, e);
}

/* meta mark set meta mark | MARK: steer owns only its bit. */
bool e_mark_or(struct nftnl_rule *r, uint32_t mark)
{
	uint32_t mask = ~mark, xor = mark;
	struct nftnl_expr *e;

	if (!e_meta_load(r, NFT_META_MARK) || !e_bitwise(r, sizeof(mask), &mask, &xor))
		return false;
	e = nftnl_expr_alloc("meta");
	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
	return e_add(r, e);
}

/* The connection's conntrack mark into register 1. */
static bool e_ct_mark_load(struct nftnl_rule *r)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");

	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_MARK);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	return e_add(r, e);
}

bool e_ct_mark_or(struct nftnl_rule *r, uint32_t mark)
{
	uint32_t mask = ~mark, xor = mark;
	struct nftnl_expr *e;

	if (!e_ct_mark_load(r) || !e_bitwise(r, sizeof(mask), &mask, &xor))
		return false;
	e = nftnl_expr_alloc("ct");
	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_MARK);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, NFT_REG_1);
	return e_add(r, e);
}

bool e_ct_mark_has(struct nftnl_rule *r, uint32_t mark)
{
	return e_ct_mark_load(r) && e_bitwise(r, 4, &mark, &(uint32_t){ 0 }) && e_cmp(r, NFT_CMP_EQ, &mark, 4);
}

bool e_socket(struct nftnl_rule *r, uint32_t key, uint8_t want)
{
	struct nftnl_expr *e = nftnl_expr_alloc("socket");

	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_DREG, NFT_REG_1);
	return e_add(r, e) && e_cmp_u8(r, NFT_CMP_EQ, want);
}

/* tcp flags & (syn | rst | ack) OP syn: the classifier's "new flow" test. */
bool e_tcp_flags(struct nftnl_rule *r, enum nft_cmp_ops op, uint8_t flags)
{
	uint8_t mask = TCP_FLAG_SYN | TCP_FLAG_RST | TCP_FLAG_ACK, xor = 0;

	return e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1) && e_bitwise(r, 1, &mask, &xor) &&
	       e_cmp_u8(r, op, flags);
}

bool e_tcp_syn(struct nftnl_rule *r, enum nft_cmp_ops op)
{
	return e_tcp_flags(r, op, TCP_FLAG_SYN);
}

bool e_tproxy(struct nftnl_rule *r, uint8_t nfproto, uint16_t port)
{
	struct nftnl_expr *imm = nftnl_expr_alloc("immediate"), *e;
	uint16_t be = htons(port);

	if (!imm)
		return false;
	nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
	nftnl_expr_set(imm, NFTNL_EXPR_IMM_DATA, &be, sizeof(be));
	if (!e_add(r, imm))
		return false;
	e = nftnl_expr_alloc("tproxy");
	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_TPROXY_FAMILY, nfproto);
	nftnl_expr_set_u32(e, NFTNL_EXPR_TPROXY_REG_PORT, NFT_REG_1);
	return e_add(r, e);
}
