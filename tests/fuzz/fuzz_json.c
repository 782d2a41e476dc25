// SPDX-License-Identifier: GPL-2.0-only
/*
 * sb_json_str: the output is one JSON string literal (RFC 8259: quoted, no
 * raw control character, valid UTF-8) that decodes back to the input when
 * the input is valid UTF-8; each byte of an invalid sequence decodes to
 * U+FFFD. The decoder and the UTF-8 check here are written from the RFCs,
 * not from strbuf.c.
 */
#include <stdbool.h>

#include "steer/strbuf.h"
#include "tests/fuzz/fuzz.h"

/* Length of the valid UTF-8 sequence at s (RFC 3629), 0 if there is none. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static size_t put_utf8(uint32_t cp, unsigned char *o)
{
	if (cp < 0x80)
		return o[0] = (unsigned char)cp, 1;
	if (cp < 0x800)
		return o[0] = (unsigned char)(0xc0 | cp >> 6), o[1] = (unsigned char)(0x80 | (cp & 0x3f)), 2;
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

static int hex4(const unsigned char *s, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (d < 0)
			return -1;
		*v = *v << 4 | (uint32_t)d;
	}
	return 0;
}

/* Decode the JSON string literal j[0..n) into out; its length, or -1 if it is not one. */
static long json_decode(const unsigned char *j, size_t n, unsigned char *out)
{
	size_t i = 1, o = 0;

	if (n < 2 || j[0] != '"' || j[n - 1] != '"')
		return -1;
	while (i < n - 1) {
		size_t l;

		if (j[i] == '"' || j[i] < 0x20)
			return -1;
		if (j[i] != '\\') {
			l = utf8_seq(j + i, n - 1 - i);
			if (!l)
				return -1;
			memcpy(out + o, j + i, l);
			o += l, i += l;
			continue;
		}
		if (++i >= n - 1)
			return -1;
		switch (j[i]) {
		case '"': case '\\': case '/': out[o++] = j[i]; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u': {
			uint32_t cp, lo;

			if (i + 4 >= n - 1 || hex4(j + i + 1, &cp) < 0)
				return -1;
			i += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (i + 6 >= n - 1 || j[i + 1] != '\\' || j[i + 2] != 'u' || hex4(j + i + 3, &lo) < 0 ||
				    lo < 0xdc00 || lo > 0xdfff)
					return -1;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				return -1;
			}
			o += put_utf8(cp, out + o);
			break;
		}
		default:
			return -1;
		}
		i++;
	}
	return (long)o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	size_t n = strlen(s), w = 0;
	struct strbuf b = { 0 };
	unsigned char *want = malloc(3 * n + 1), *got;
	long glen;

	if (!want)
		abort();
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq((const unsigned char *)s + i, n - i);

		if (l) {
			memcpy(want + w, s + i, l);
			w += l, i += l;
		} else {
			w += put_utf8(0xfffd, want + w);
			i++;
		}
	}
	sb_json_str(&b, s);
	FUZZ_ASSERT(!b.oom && b.s);
	got = malloc(b.len + 1);
	if (!got)
		abort();
	glen = json_decode((const unsigned char *)b.s, b.len, got);
	FUZZ_ASSERT(glen >= 0);
	FUZZ_ASSERT((size_t)glen == w && !memcmp(got, want, w));
	sb_free(&b);
	free(got);
	free(want);
	free(s);
	return 0;
}
