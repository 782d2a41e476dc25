/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Builders of nftables rule expressions (libnftnl), each appended to a rule:
 * true, or false when out of memory (the rule is then dropped whole).
 * Chained with && they read like the rule `nft list` prints.
 */
#ifndef STEER_NFT_EXPR_H
#define STEER_NFT_EXPR_H

#include <libnftnl/rule.h>
#include <linux/netfilter/nf_tables.h>
#include <stdbool.h>
#include <stdint.h>

#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

bool e_add(struct nftnl_rule *r, struct nftnl_expr *e);
bool e_meta_load(struct nftnl_rule *r, uint32_t key);
bool e_cmp(struct nftnl_rule *r, enum nft_cmp_ops op, const void *data, uint32_t len);
bool e_cmp_u8(struct nftnl_rule *r, enum nft_cmp_ops op, uint8_t v);
bool e_bitwise(struct nftnl_rule *r, uint32_t len, const void *mask, const void *xor);
bool e_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len);
bool e_lookup(struct nftnl_rule *r, const char *set, uint32_t set_id, bool invert);
bool e_counter(struct nftnl_rule *r);
bool e_verdict(struct nftnl_rule *r, int verdict);
bool e_mark_or(struct nftnl_rule *r, uint32_t mark);
/* ct mark set ct mark | mark; ct mark & mark == mark (conntrack, enabled by the rule). */
bool e_ct_mark_or(struct nftnl_rule *r, uint32_t mark);
bool e_ct_mark_has(struct nftnl_rule *r, uint32_t mark);
bool e_socket(struct nftnl_rule *r, uint32_t key, uint8_t want);
/* tcp flags & (syn|rst|ack) OP flags; e_tcp_syn: OP syn */
bool e_tcp_flags(struct nftnl_rule *r, enum nft_cmp_ops op, uint8_t flags);
bool e_tcp_syn(struct nftnl_rule *r, enum nft_cmp_ops op);
bool e_tproxy(struct nftnl_rule *r, uint8_t nfproto, uint16_t port);

#endif
