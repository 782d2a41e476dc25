/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The messages of an nfnetlink batch (struct nft_batch, nft.h): the table,
 * the chain, sets and their elements. Each returns 0, or -1 when out of
 * memory (nothing half-written stays in the batch that the kernel would see).
 */
#ifndef STEER_NFT_BATCH_H
#define STEER_NFT_BATCH_H

#include <libnftnl/set.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft/nft.h"

/* nft's datatype numbers (src/datatype.h), so that `nft list` names the set types. */
enum {
	NFT_TYPE_IPADDR = 7,
	NFT_TYPE_IP6ADDR = 8,
	NFT_TYPE_INET_PROTOCOL = 12,
	NFT_TYPE_INET_SERVICE = 13,
	NFT_TYPE_IFNAME = 41,
};
/* nft's enum byteorder, in a set's NFTNL_UDATA_SET_KEYBYTEORDER. */
enum { NFT_BYTEORDER_HOST = 1, NFT_BYTEORDER_BIG = 2 };

#define NF_IP_PRI_MANGLE_ (-150)
/*
 * Set elements per NEWSETELEM message. The elements are one nested attribute,
 * whose length is 16 bits: at most ~40 bytes an element (IPv6 interval end),
 * 1024 of them stay well under 64 KiB. A batch holds as many messages as needed.
 */
#define ELEMS_PER_MSG 1024
#define ELEM_ROOM 64
#define MSG_ROOM 8192

/* Room for a message, its header and its ACK flag; fmt says what it does (nft_batch_what). */
__attribute__((format(printf, 5, 6))) struct nlmsghdr *nft_msg_begin(struct nft_batch *b, size_t room, uint16_t type,
								      uint16_t flags, const char *fmt, ...);
void nft_msg_end(struct nft_batch *b, struct nlmsghdr *nlh);

int nft_send_table(struct nft_batch *b, uint16_t type, uint16_t flags, const char *what);
int nft_add_chain(struct nft_batch *b);
int nft_flush_chain(struct nft_batch *b);
int nft_del_set(struct nft_batch *b, const char *name);

/* A set being built: its name and id, and the elements not yet sent. */
struct set_build {
	struct nftnl_set *s;
	char name[64];
	uint32_t id;
	uint32_t keylen;
	size_t pending;
};

/* NEWSET; flags NFT_SET_INTERVAL etc.; name may be "__set%d" (anonymous). */
int nft_set_begin(struct nft_batch *b, struct set_build *sb, const char *name, uint32_t type, uint32_t keylen,
		     uint32_t flags);
int nft_set_flush(struct nft_batch *b, struct set_build *sb);
int nft_set_elem(struct nft_batch *b, struct set_build *sb, const void *key, bool interval_end);

#endif
