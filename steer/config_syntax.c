// SPDX-License-Identifier: GPL-2.0-only
/* Diagnostics and values of the steer.conf parser (see config_syntax.h). */
#include "steer/config_syntax.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A column of the joined line as the line and column of the file it was written on. */
static void locate(const struct diag *d, int col, int *line, int *pcol)
{
	const struct line_piece *p = NULL;

	*line = d->line;
	*pcol = col;
	if (!d->map || col <= 0)
		return;
	for (size_t i = 0; i < d->map->n && d->map->piece[i].start < col; i++)
		p = &d->map->piece[i];
	if (p) {
		*line = p->line;
		*pcol = p->col + (col - 1 - p->start);
	}
}

static void vreport(struct diag *d, int col, const char *fmt, va_list ap)
{
	int line, pcol;

	d->nerr++;
	if (!d->errs || d->nerr > CFG_MAX_SHOWN)
		return;
	locate(d, col, &line, &pcol);
	if (d->flag)
		fprintf(d->errs, "--%s: ", d->flag);
	else if (line > 0)
		fprintf(d->errs, "%s:%d:%d: ", d->file, line, pcol);
	else if (d->file && d->file[0])
		/* A setting nobody wrote (a default, a missing directive): the top of the file. */
		fprintf(d->errs, "%s:1:1: ", d->file);
	else
		fprintf(d->errs, "config: ");
	vfprintf(d->errs, fmt, ap);
	fputc('\n', d->errs);
}

void cfg_report(struct diag *d, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(d, col, fmt, ap);
	va_end(ap);
}

void cfg_report_at(struct diag *d, const struct origin *o, const char *fmt, ...)
{
	struct diag at = *d;
	va_list ap;

	if (o->file) {
		at.file = o->file;
		at.line = o->line;
		at.map = NULL;
	}
	va_start(ap, fmt);
	vreport(&at, o->col, fmt, ap);
	va_end(ap);
	d->nerr = at.nerr;
}

void cfg_report_hidden(const struct diag *d, const char *file)
{
	if (d->errs && d->nerr > CFG_MAX_SHOWN)
		fprintf(d->errs, "%s: %d more errors (only the first %d are shown)\n", file && file[0] ? file : "config",
			d->nerr - CFG_MAX_SHOWN, CFG_MAX_SHOWN);
}

const char *cfg_where(const struct diag *d, const struct origin *here, const struct origin *o, char *buf,
		      size_t len)
{
	int hline = here->line, hcol = here->col, line = o->line, col = o->col;
	/* d->file is NULL for a flag (--steer 'tcp dport 80 dport 81'): both are then the flag's text */
	const char *dfile = d->file ? d->file : "";
	const char *hfile = here->file ? here->file : dfile, *file = o->file ? o->file : dfile;

	if (!here->file)
		locate(d, here->col, &hline, &hcol);
	if (!o->file)
		locate(d, o->col, &line, &col);
	if (strcmp(hfile, file) != 0)
		snprintf(buf, len, "%s:%d:%d", file, line, col);
	else if (hline != line)
		snprintf(buf, len, "line %d, column %d", line, col);
	else
		snprintf(buf, len, "column %d", col);
	return buf;
}

const char *cfg_quote(const char *s, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	char *o = buf;
	size_t i;

	for (i = 0; s[i] && i < CFG_QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		*o++ = 'x';
		*o++ = hex[c >> 4];
		*o++ = hex[c & 15];
	}
	if (s[i])
		o += sprintf(o, "\xe2\x80\xa6"); /* U+2026 HORIZONTAL ELLIPSIS */
	*o = '\0';
	return buf;
}

int cfg_read_file(const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "r");
	size_t cap = 4096, n = 0;
	char *buf;
	int err = 0;

	if (!f)
		return -errno;
	buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		char *bigger = realloc(buf, cap * 2);
		if (!bigger) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = bigger;
		cap *= 2;
	}
	if (!buf)
		err = -ENOMEM;
	else if (ferror(f))
		err = errno ? -errno : -EIO;
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

int cfg_resolve(struct diag *d, int col, const char *path, char *out, size_t max)
{
	const char *slash = d->file && !d->flag ? strrchr(d->file, '/') : NULL;
	int n;

	if (path[0] == '/' || !slash)
		n = snprintf(out, max, "%s", path);
	else
		n = snprintf(out, max, "%.*s/%s", (int)(slash - d->file), d->file, path);
	if (n < 0 || (size_t)n >= max) {
		cfg_report(d, col, "path too long (at most %zu bytes)", max - 1);
		return -1;
	}
	return 0;
}

const char *cfg_intern(struct steer_config *cfg, const char *s)
{
	char **files;

	for (size_t i = 0; i < cfg->nfiles; i++)
		if (strcmp(cfg->files[i], s) == 0)
			return cfg->files[i];
	files = realloc(cfg->files, (cfg->nfiles + 1) * sizeof(*files));
	if (!files)
		return NULL;
	cfg->files = files;
	if (!(files[cfg->nfiles] = strdup(s)))
		return NULL;
	return files[cfg->nfiles++];
}

bool cfg_is_flag(const struct diag *d)
{
	return d->flag != NULL;
}

struct config_pos cfg_origin(const struct diag *d, int col)
{
	int line, pcol;

	if (cfg_is_flag(d))
		return (struct config_pos){ .line = -1, .col = 0 };
	locate(d, col, &line, &pcol);
	return (struct config_pos){ .line = line, .col = pcol, .file = d->nested ? d->file : NULL };
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
		cfg_report(d, t->col, "bad %s '%s' (expected %llu..%llu)", what, CFG_Q(t->s), (unsigned long long)lo,
		       (unsigned long long)hi);
		return -1;
	}
	return 0;
}

/* Look t up in names[]; the error lists the accepted words. */
int cfg_word(struct diag *d, const struct token *t, const char *what, const char *const *names, int n)
{
	char expected[192] = "";
	size_t off = 0;

	for (int i = 0; i < n; i++)
		if (strcmp(t->s, names[i]) == 0)
			return i;
	for (int i = 0; i < n && off < sizeof(expected); i++)
		off += (size_t)snprintf(expected + off, sizeof(expected) - off, "%s%s",
					i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
	cfg_report(d, t->col, "unknown %s '%s' (expected %s)", what, CFG_Q(t->s), expected);
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
