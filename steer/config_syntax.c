// SPDX-License-Identifier: GPL-2.0-only
/* Diagnostics and values of the steer.conf parser (see config_syntax.h). */
#include "steer/config_syntax.h"

#include <stdarg.h>
#include <string.h>

void cfg_report(struct diag *d, int col, const char *fmt, ...)
{
	va_list ap;

	d->nerr++;
	if (!d->errs)
		return;
	if (d->flag)
		fprintf(d->errs, "--%s: ", d->flag);
	else if (d->line > 0)
		fprintf(d->errs, "%s:%d:%d: ", d->file, d->line, col);
	else if (d->file && d->file[0])
		/* A setting nobody wrote (a default, a missing directive): the top of the file. */
		fprintf(d->errs, "%s:1:1: ", d->file);
	else
		fprintf(d->errs, "config: ");
	va_start(ap, fmt);
	vfprintf(d->errs, fmt, ap);
	va_end(ap);
	fputc('\n', d->errs);
}

bool cfg_is_flag(const struct diag *d)
{
	return d->flag != NULL;
}

struct config_pos cfg_origin(const struct diag *d, int col)
{
	if (cfg_is_flag(d))
		return (struct config_pos){ .line = -1, .col = 0 };
	return (struct config_pos){ .line = d->line, .col = col };
}

/* Strict unsigned number: no sign, no spaces; saturates so huge values still read as "too big". */
int cfg_number(const char *s, bool allow_hex, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (allow_hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -1;
	for (; *s; s++) {
		unsigned digit;

		if (*s >= '0' && *s <= '9')
			digit = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			digit = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			digit = (unsigned)(*s - 'A' + 10);
		else
			return -1;
		v = v > (UINT64_MAX >> 8) ? UINT64_MAX : v * base + digit;
	}
	*out = v;
	return 0;
}

int cfg_ranged(struct diag *d, const struct token *t, const char *what, uint64_t lo, uint64_t hi,
			uint64_t *out)
{
	if (cfg_number(t->s, false, out) < 0 || *out < lo || *out > hi) {
		cfg_report(d, t->col, "bad %s '%s' (expected %llu..%llu)", what, t->s, (unsigned long long)lo,
		       (unsigned long long)hi);
		return -1;
	}
	return 0;
}

/* Look t up in names[]; the error lists the accepted words. */
int cfg_word(struct diag *d, const struct token *t, const char *what, const char *const *names, int n)
{
	char expected[128] = "";
	size_t off = 0;

	for (int i = 0; i < n; i++)
		if (strcmp(t->s, names[i]) == 0)
			return i;
	for (int i = 0; i < n && off < sizeof(expected); i++)
		off += (size_t)snprintf(expected + off, sizeof(expected) - off, "%s%s",
					i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
	cfg_report(d, t->col, "unknown %s '%s' (expected %s)", what, t->s, expected);
	return -1;
}

int cfg_path(struct diag *d, const struct token *t, char *dst, size_t max)
{
	if (strlen(t->s) >= max) {
		cfg_report(d, t->col, "path too long (at most %zu bytes)", max - 1);
		return -1;
	}
	strcpy(dst, t->s);
	return 0;
}
