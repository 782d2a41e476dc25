// SPDX-License-Identifier: GPL-2.0-only
/*
 * Configuration files and `include`: a file is read whole and parsed with
 * its includer's diag (its own name and lines on its errors), as if its
 * lines were written where the include is. The files being read form a
 * chain, so a file that includes itself, directly or not, is an error at the
 * include that closes the loop rather than a recursion.
 */
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "steer/config_syntax.h"

struct include_frame {
	dev_t dev;
	ino_t ino;
	const char *file; /* with line: the include that opened this frame (the main file's: unused) */
	int line;
	struct include_frame *next;
};

/* Where a NUL ends the text early (the parse cuts the text up: found before it). */
static struct origin find_nul(const char *text, size_t len)
{
	const char *bol = text;
	struct origin at = { .line = 1 };

	if (strlen(text) == len)
		return (struct origin){ 0 };
	for (const char *p = text; *p; p++)
		if (*p == '\n') {
			at.line++;
			bol = p + 1;
		}
	at.col = (int)(text + strlen(text) - bol) + 1;
	return at;
}

static const struct include_frame *find_open(const struct diag *d, const struct stat *st)
{
	for (const struct include_frame *f = d->open; f; f = f->next)
		if (f->dev == st->st_dev && f->ino == st->st_ino)
			return f;
	return NULL;
}

int cfg_parse_file_at(struct steer_config *cfg, const char *path, struct diag *d, int col)
{
	struct diag saved = *d;
	struct include_frame frame = { .file = d->file, .line = d->line, .next = d->open };
	const struct include_frame *loop;
	const char *name = path;
	struct origin nul;
	struct stat st;
	size_t len;
	char *text;
	int err;

	if (stat(path, &st) == 0 && (loop = find_open(d, &st))) {
		if (loop->next)
			cfg_report(d, col, "include loop: %s is already being read (included at %s:%d)", CFG_Q(path),
				   loop->file, loop->line);
		else
			cfg_report(d, col, "include loop: %s is the main file", CFG_Q(path));
		return -1;
	}
	err = cfg_read_file(path, &text, &len);
	if (err && d->depth == 0) {
		cfg_report(d, col, "cannot open: %s", strerror(-err));
		return -1;
	}
	if (err) {
		cfg_report(d, col, "cannot read %s: %s", CFG_Q(path), strerror(-err));
		return -1;
	}
	if (d->depth > 0 && !(name = cfg_intern(cfg, path))) {
		free(text);
		cfg_report(d, col, "out of memory");
		return -1;
	}
	frame.dev = st.st_dev;
	frame.ino = st.st_ino;
	d->open = &frame;
	d->file = name;
	d->flag = NULL; /* `--include FILE`: the file's lines are file lines */
	d->nested = d->depth > 0;
	d->line = 0;
	nul = find_nul(text, len);
	cfg_parse_text(cfg, text, len, d);
	if (nul.line) {
		/* A NUL would silently end the text early: say where it is instead. */
		d->line = nul.line;
		d->map = NULL;
		cfg_report(d, nul.col, "NUL byte in file");
	}
	free(text);
	saved.nerr = d->nerr;
	*d = saved;
	return 0;
}

static bool is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

int cfg_include(struct steer_config *cfg, const struct token *t, struct diag *d)
{
	char path[STEER_PATH_MAX];
	glob_t g;
	int ret = 0, r;

	if (cfg_resolve(d, t->col, t->s, path, sizeof(path)) < 0)
		return -1;
	if (d->depth >= CFG_MAX_INCLUDE_DEPTH) {
		cfg_report(d, t->col, "includes nested more than %d deep", CFG_MAX_INCLUDE_DEPTH);
		return -1;
	}
	d->depth++;
	if (!is_glob(path)) {
		ret = cfg_parse_file_at(cfg, path, d, t->col);
		d->depth--;
		return ret;
	}
	/* A pattern that matches nothing includes nothing: conf.d may be empty. */
	r = glob(path, GLOB_ERR, NULL, &g);
	if (r == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			ret |= cfg_parse_file_at(cfg, g.gl_pathv[i], d, t->col);
		globfree(&g);
	} else if (r != GLOB_NOMATCH) {
		cfg_report(d, t->col, "cannot expand %s: %s", CFG_Q(path),
			   r == GLOB_NOSPACE ? "out of memory" : "a directory cannot be read");
		ret = -1;
	}
	d->depth--;
	return ret;
}
