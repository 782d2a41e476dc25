/* SPDX-License-Identifier: GPL-2.0-only */
/* `steer audit verify`: check the audit log's chain (steer/audit_chain.h) over its files, oldest first. */
#ifndef STEER_AUDIT_VERIFY_H
#define STEER_AUDIT_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "steer/audit_chain.h"

struct audit_verify_opts {
	const unsigned char *key; /* NULL: structure only (headers and their positions) */
	size_t key_len;
	const struct audit_chain_pos *anchor; /* NULL: none; else the chain must reach it */
	bool allow_new_chain;                 /* a new chain after the first record: a note, not a break */
};

/*
 * Check files[0..n) as one chain. 0: "ok: N records in M files" on out;
 * 1: the first break as "FILE:LINE: reason" on err (notes, such as a new
 * chain starting mid-log with allow_new_chain, also go to err). With
 * allow_new_chain the ok line ends in "(K chains)".
 */
int audit_verify(const char *const *files, int n, const struct audit_verify_opts *o, FILE *out, FILE *err);

/* The command: `steer audit verify [--key FILE] [--anchor SEQ:MAC] [--allow-new-chain] FILE...`; 0, 1, or 2 on a usage error. */
int audit_verify_main(int argc, char **argv);

#endif
