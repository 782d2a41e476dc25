/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int reserve(struct strbuf *b, size_t extra)
{
	size_t cap = b->cap ? b->cap : 256;
	char *s;

	if (b->oom)
		return -1;
	while (cap < b->len + extra + 1)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	s = realloc(b->s, cap);
	if (!s) {
		b->oom = 1;
		return -1;
	}
	b->s = s;
	b->cap = cap;
	return 0;
}

void sb_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || reserve(b, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong form, no surrogate), or 0. */
static size_t utf8_valid(const unsigned char *s)
{
	size_t len = s[0] < 0x80 ? 1 : s[0] < 0xc2 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : s[0] < 0xf5 ? 4 : 0;
	uint32_t cp = s[0] & (0x7f >> len);

	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void sb_json_str(struct strbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	sb_printf(b, "\"");
	while (*p) {
		size_t len = utf8_valid(p);

		if (*p == '"' || *p == '\\')
			sb_printf(b, "\\%c", *p);
		else if (*p < 0x20)
			sb_printf(b, "\\u%04x", *p);
		else if (len == 0)
			sb_printf(b, "\\ufffd"); /* JSON text is UTF-8: a byte that is not becomes U+FFFD */
		else
			sb_printf(b, "%.*s", (int)len, (const char *)p);
		p += len ? len : 1;
	}
	sb_printf(b, "\"");
}

void sb_free(struct strbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}
