/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the parts of the steer.conf parser share (config.c: directives and
 * checks; config_rule.c: the rule grammar; config_syntax.c: diagnostics and
 * values). Internal to steer/config*.c.
 */
#ifndef STEER_CONFIG_SYNTAX_H
#define STEER_CONFIG_SYNTAX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "steer/config.h"

/* A valid rule line has at most 9 tokens; beyond this the line is refused whole. */
#define MAX_TOKENS 32

/* A word of a line, NUL-terminated in place, with its 1-based column. */
struct token {
	char *s;
	int col;
};

/*
 * Where errors go and how they are labelled: "FILE:LINE:COL: " for a file,
 * "--KEY: " for a flag.
 */
struct diag {
	FILE *errs;
	const char *file;
	const char *flag;
	int line;
	int nerr;
};

__attribute__((format(printf, 3, 4))) void cfg_report(struct diag *d, int col, const char *fmt, ...);
bool cfg_is_flag(const struct diag *d);
/* Where a value was given, for config_validate's messages. */
struct config_pos cfg_origin(const struct diag *d, int col);

/* Strict unsigned number: no sign, no spaces; saturates so huge values still read as "too big". */
int cfg_number(const char *s, bool allow_hex, uint64_t *out);
/* A number in lo..hi, or -1 with the error reported. */
int cfg_ranged(struct diag *d, const struct token *t, const char *what, uint64_t lo, uint64_t hi,
	       uint64_t *out);
/* The index of t in names[], or -1 with the accepted words reported. */
int cfg_word(struct diag *d, const struct token *t, const char *what, const char *const *names, int n);
int cfg_path(struct diag *d, const struct token *t, char *dst, size_t max);

/* A `steer` (bypass false) or `bypass` line's arguments: the rule is appended to cfg, or -1. */
int cfg_rule_directive(struct steer_config *cfg, const struct token *dir, const struct token *args, int nargs,
		       struct diag *d, bool bypass);
void cfg_rule_free(struct rule *r);

#endif
