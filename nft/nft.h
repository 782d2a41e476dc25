/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The nftables backend's internals: one nfnetlink batch (batch.c) holding the
 * ruleset compiled from the config (ruleset.c, with expr.c's expressions),
 * sent and its answers checked by nft_backend.c through steer/nl.h.
 */
#ifndef STEER_NFT_H
#define STEER_NFT_H

#include <stddef.h>
#include <stdint.h>

#include "steer/backend.h"
#include "steer/config.h"

#define NFT_STEER_TABLE "steer"
#define NFT_STEER_CHAIN "prerouting"

/*
 * One nfnetlink batch (BATCH_BEGIN ... BATCH_END) in a growing buffer: the
 * kernel applies a batch only if it arrives in one sendmsg(), so it cannot be
 * flushed in pieces. Every message but the delimiters asks for an ACK; what[]
 * says what each message did, for the error message of the one that failed.
 */
struct nft_batch {
	char *buf;
	size_t len, cap;
	uint32_t first_seq, seq; /* seq: the next sequence number */
	uint32_t set_id;         /* the last NFTA_SET_ID handed out */
	size_t nacks;            /* messages that will be acknowledged */
	char (*what)[80];        /* indexed by seq - first_seq */
	size_t nwhat;
	int oom;
};

int nft_batch_init(struct nft_batch *b, uint32_t seq);
void nft_batch_free(struct nft_batch *b);
/* Close the batch (BATCH_END); returns 0 or -1 when out of memory. */
int nft_batch_end(struct nft_batch *b);
/* What message seq did ("" if not ours). */
const char *nft_batch_what(const struct nft_batch *b, uint32_t seq);

/* Names of a set list, from a dump of the table (replace deletes them). */
struct nft_names {
	char (*name)[64];
	size_t n;
};

/* install: the table and everything in it (fails with EEXIST if the table exists). */
int nft_ruleset_install(struct nft_batch *b, const struct steer_config *cfg);
/* replace: flush the chain, delete old_sets, re-add the sets and rules for cfg. */
int nft_ruleset_replace(struct nft_batch *b, const struct steer_config *cfg, const struct nft_names *old_sets);
/* delete the table. */
int nft_ruleset_delete(struct nft_batch *b);

/*
 * What a rule of the chain counts, read off its expressions (see
 * nft_backend.c): the counters() names, in the order counters() returns them.
 */
enum nft_counter {
	NFT_C_STEERED = 0,   /* new flows' packets delivered by a tproxy rule */
	NFT_C_ESTABLISHED,   /* packets of flows the proxy holds (socket match) */
	NFT_C_BYPASSED,      /* matched a bypass rule */
	NFT_C_RETURN_MARKED, /* return-interface replies to upstream sockets */
	NFT_C_LOCAL_DST,     /* addressed to the gateway itself */
	NFT_C_NO_LISTENER_DROP, /* matched, no listener, fail-closed */
	NFT_C_EBPF_MARKED,   /* already steered by the eBPF classifier */
	NFT_C_COOKIE_ACK,    /* SYN-cookie ACKs given to the listener (ct mark) */
	NFT_C_MAX,
};

#define NFT_COUNTER_NAMES                                                                 \
	{                                                                                 \
		"steered", "established", "bypassed", "return_marked", "local_dst",       \
		"no_listener_drop", "ebpf_marked", "cookie_ack",                          \
	}

#endif
