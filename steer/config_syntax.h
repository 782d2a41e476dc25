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
/* Errors printed before the rest are only counted: a broken 100k-line set file stays readable. */
#define CFG_MAX_SHOWN 20
/* include inside include: deep enough for conf.d layouts, shallow enough to stop a runaway. */
#define CFG_MAX_INCLUDE_DEPTH 16
/* An echoed token: at most this many bytes of it, each possibly \xNN, then an ellipsis. */
#define CFG_QUOTE_MAX 64
#define CFG_QUOTE_BUF (CFG_QUOTE_MAX * 4 + 4)

/* A word of a line, NUL-terminated in place, with its 1-based column. */
struct token {
	char *s;
	int col;
};

/*
 * A line continued over several (trailing backslash) is parsed as one: each
 * piece records where it starts in the joined line and in the file, so a
 * column of the joined line is reported at its own line and column.
 */
struct line_piece {
	int start; /* 0-based offset in the joined line */
	int line, col;
};

struct line_map {
	struct line_piece *piece;
	size_t n, cap;
};

struct include_frame;

/*
 * Where errors go and how they are labelled: "FILE:LINE:COL: " for a file,
 * "--KEY: " for a flag. Included and set files share their includer's diag
 * (file and line switched while they are read), so the error count and the
 * CFG_MAX_SHOWN cap cover a whole configuration.
 */
struct diag {
	FILE *errs;
	const char *file;
	const char *flag;
	int line;
	int nerr;
	const struct line_map *map; /* the current line's pieces, NULL for a line of one piece */
	bool nested;                /* file is an included one (interned in the config) */
	struct include_frame *open; /* the files being read, innermost first (cycle check) */
	int depth;
};

/* Where a token was written: file NULL is the line being parsed (col in its joined text). */
struct origin {
	const char *file;
	int line, col;
};

__attribute__((format(printf, 3, 4))) void cfg_report(struct diag *d, int col, const char *fmt, ...);
/* As cfg_report, at a position in another file or line (a set file's line). */
__attribute__((format(printf, 3, 4))) void cfg_report_at(struct diag *d, const struct origin *o,
							  const char *fmt, ...);
/* After a whole configuration: "FILE: N more errors" when the cap hid some. */
void cfg_report_hidden(const struct diag *d, const char *file);
/* An origin as the reader of an error at `here` wants it: "column C", "line L, column C" or "FILE:L:C". */
const char *cfg_where(const struct diag *d, const struct origin *here, const struct origin *o, char *buf,
		      size_t len);
bool cfg_is_flag(const struct diag *d);
/* Where a value was given, for config_validate's messages. */
struct config_pos cfg_origin(const struct diag *d, int col);

/*
 * s as an error message may echo it: non-printable bytes as \xNN, cut after
 * CFG_QUOTE_MAX bytes with an ellipsis. CFG_Q gives it a buffer that lives
 * to the end of the enclosing block.
 */
const char *cfg_quote(const char *s, char *buf);
#define CFG_Q(s) cfg_quote((s), (char[CFG_QUOTE_BUF]){ 0 })

/* A file's bytes, NUL-terminated; *len excludes the terminator. Returns 0 or -errno. */
int cfg_read_file(const char *path, char **text, size_t *len);
/*
 * path as the directive at d names it: relative paths from the directory of
 * the file being parsed (the working directory for a flag). Returns 0, or
 * -1 with the error reported at col.
 */
int cfg_resolve(struct diag *d, int col, const char *path, char *out, size_t max);
/* A copy of s that lives as long as cfg (file names that positions point at). */
const char *cfg_intern(struct steer_config *cfg, const char *s);

/* `include PATH`: each file the path or glob names, parsed as if written in place. */
int cfg_include(struct steer_config *cfg, const struct token *t, struct diag *d);
/*
 * Read and parse the file at path with d, its errors labelled with its own
 * name and lines (d->depth > 0: an included file). A file that cannot be
 * read, or that is already being read (an include loop), is an error at
 * column col of d's current line. Returns 0 or -1.
 */
int cfg_parse_file_at(struct steer_config *cfg, const char *path, struct diag *d, int col);
/* Parse a file's text as configuration lines (text is modified). */
void cfg_parse_text(struct steer_config *cfg, char *text, size_t len, struct diag *d);

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

/* One element of a comma list, NUL-terminated in place, with its column. */
struct elem {
	char *s;
	int col;
};

/* Split a comma list in place; empty elements are reported. Returns the count, or -1. */
int cfg_split_list(const struct token *t, struct elem **out, struct diag *d);
/*
 * A `dst`/`src` value: prefixes and @set files, every entry checked, the
 * list checked for duplicates and overlaps. Returns 0 with *out and *n set
 * (the operator's order; set files' prefixes in their place), or -1.
 */
int cfg_prefix_list(struct steer_config *cfg, const struct token *t, struct prefix **out, size_t *n,
		    struct diag *d);

#endif
