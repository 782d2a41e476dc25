/* SPDX-License-Identifier: GPL-2.0-only */
/* A growable string for replies built piece by piece. */
#ifndef STEER_STRBUF_H
#define STEER_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *s;
	size_t len, cap;
	int oom; /* set once an append failed: the contents are truncated */
};

void sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Append a JSON string literal: quoted, control characters escaped, and
 * each byte that is not part of valid UTF-8 replaced by \ufffd, so that the
 * output is valid JSON whatever the input (a path, an interface name).
 */
void sb_json_str(struct strbuf *b, const char *s);
void sb_free(struct strbuf *b);

#endif
