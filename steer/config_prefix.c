// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prefix lists of the rule grammar (`dst`, `src`): literal prefixes and
 * `@PATH` set files, one prefix per line, mixed in one comma list. Every
 * entry keeps where it was written (a column of the rule's line, or a set
 * file's line and column), so that a bad entry and both ends of an overlap
 * are reported where the operator can find them, in any of the files.
 */
#include <stdlib.h>
#include <string.h>

#include "steer/config_syntax.h"

struct prefix_item {
	struct prefix p;
	struct origin at;
	size_t idx; /* the operator's order: set files' entries in the set's place */
};

struct items {
	struct prefix_item *v;
	size_t n, cap;
};

static struct prefix_item *items_push(struct items *it)
{
	if (it->n == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 16;
		struct prefix_item *v = realloc(it->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		it->v = v;
		it->cap = cap;
	}
	it->v[it->n].idx = it->n;
	return &it->v[it->n++];
}

/* The operator most likely meant the network the address is in. */
static void report_bad_prefix(struct diag *d, const struct origin *at, const char *s, const char *err, size_t pos)
{
	const char *slash = strchr(s, '/');
	struct origin o = *at;
	struct prefix p;
	char addr[64], fixed[64];

	if (pos == 0 && slash && strstr(err, "host bits") && (size_t)(slash - s) < sizeof(addr)) {
		unsigned long len = strtoul(slash + 1, NULL, 10);
		const char *perr;
		size_t ppos;

		snprintf(addr, sizeof(addr), "%.*s", (int)(slash - s), s);
		if (prefix_parse(addr, &p, &perr, &ppos) == 0) {
			for (unsigned i = (unsigned)len; i < 128; i++)
				p.addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
			p.len = (uint8_t)len;
			cfg_report_at(d, at, "bad prefix '%s': %s (did you mean %s?)", CFG_Q(s), err,
				      prefix_format(&p, fixed, sizeof(fixed)));
			return;
		}
	}
	o.col += (int)pos;
	cfg_report_at(d, &o, "bad prefix '%s': %s", CFG_Q(s), err);
}

static void add_prefix(struct diag *d, struct items *it, const char *s, const struct origin *at)
{
	struct prefix p;
	const char *err;
	size_t pos;
	struct prefix_item *item;

	if (prefix_parse(s, &p, &err, &pos) < 0) {
		report_bad_prefix(d, at, s, err, pos);
		return;
	}
	if (!(item = items_push(it))) {
		cfg_report_at(d, at, "out of memory");
		return;
	}
	item->p = p;
	item->at = *at;
}

/* One line of a set file: blanks, a comment, or one prefix. */
static void set_line(struct diag *d, struct items *it, char *line, const struct origin *at)
{
	char *hash = strchr(line, '#'), *p = line, *end;
	struct origin o = *at;

	if (hash)
		*hash = '\0';
	p += strspn(p, " \t\r");
	if (!*p)
		return;
	end = p + strcspn(p, " \t\r");
	if (*end) {
		char *extra = end + strspn(end, " \t\r");

		*end = '\0';
		if (*extra) {
			o.col = (int)(extra - line) + 1;
			extra[strcspn(extra, " \t\r")] = '\0';
			cfg_report_at(d, &o, "one prefix per line: unexpected '%s'", CFG_Q(extra));
			return;
		}
	}
	o.col = (int)(p - line) + 1;
	add_prefix(d, it, p, &o);
}

/* `@PATH`: the set file's prefixes, read now (at start, at every reload). */
static void read_set(struct steer_config *cfg, struct diag *d, const struct elem *e, struct items *it)
{
	struct origin at = { .col = e->col };
	char path[STEER_PATH_MAX];
	const char *name;
	size_t len, before = it->n;
	char *text, *line;
	int err, nerr0 = d->nerr;

	if (!e->s[1]) {
		cfg_report(d, e->col, "'@' needs a set file's path");
		return;
	}
	if (cfg_resolve(d, e->col + 1, e->s + 1, path, sizeof(path)) < 0)
		return;
	err = cfg_read_file(path, &text, &len);
	if (err) {
		cfg_report(d, e->col, "cannot read set file %s: %s", CFG_Q(path), strerror(-err));
		return;
	}
	if (!(name = cfg_intern(cfg, path))) {
		cfg_report(d, e->col, "out of memory");
		free(text);
		return;
	}
	at = (struct origin){ .file = name };
	for (line = text; line;) {
		char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		if (nl)
			*nl = '\0';
		at.line++;
		/* The text ends at a NUL: it is on the last line read, where that line stops. */
		if (!nl && (size_t)(line - text) + n != len) {
			struct origin nul = { .file = name, .line = at.line, .col = (int)n + 1 };

			cfg_report_at(d, &nul, "NUL byte in file");
		}
		set_line(d, it, line, &at);
		line = nl ? nl + 1 : NULL;
	}
	free(text);
	/* An omitted field means "every address": an empty set must not silently become that. */
	if (it->n == before && d->nerr == nerr0)
		cfg_report(d, e->col, "set file %s holds no prefix", CFG_Q(path));
}

static int cmp_addr(const void *a, const void *b)
{
	const struct prefix_item *x = a, *y = b;
	int c;

	if (x->p.family != y->p.family)
		return x->p.family < y->p.family ? -1 : 1;
	c = memcmp(x->p.addr, y->p.addr, 16);
	if (c)
		return c;
	if (x->p.len != y->p.len)
		return x->p.len < y->p.len ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_idx(const void *a, const void *b)
{
	const struct prefix_item *x = a, *y = b;

	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Prefixes either nest or are disjoint. Sorted by (family, address, length),
 * every prefix that a list member contains follows it directly, so comparing
 * against the last outermost prefix finds every duplicate and every nested
 * entry in O(n log n), which a 100k-line set file needs.
 */
static void check_overlaps(struct diag *d, struct items *it)
{
	const struct prefix_item *outer = NULL;

	qsort(it->v, it->n, sizeof(*it->v), cmp_addr);
	for (size_t i = 0; i < it->n; i++) {
		const struct prefix_item *cur = &it->v[i];
		char a[64], b[64], at[STEER_PATH_MAX + 32];

		if (!outer || outer->p.family != cur->p.family || !prefix_contains(&outer->p, cur->p.addr)) {
			outer = cur;
			continue;
		}
		prefix_format(&cur->p, a, sizeof(a));
		prefix_format(&outer->p, b, sizeof(b));
		cfg_where(d, &cur->at, &outer->at, at, sizeof(at));
		if (outer->p.len == cur->p.len)
			cfg_report_at(d, &cur->at, "duplicate prefix %s (also at %s)", a, at);
		else
			cfg_report_at(d, &cur->at, "prefix %s overlaps %s at %s", a, b, at);
	}
}

int cfg_prefix_list(struct steer_config *cfg, const struct token *t, struct prefix **out, size_t *nout,
		    struct diag *d)
{
	struct items it = { 0 };
	int nerr0 = d->nerr;
	struct elem *e;
	int n = cfg_split_list(t, &e, d);

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		struct origin at = { .col = e[i].col };

		if (e[i].s[0] == '@')
			read_set(cfg, d, &e[i], &it);
		else
			add_prefix(d, &it, e[i].s, &at);
	}
	free(e);
	if (d->nerr == nerr0)
		check_overlaps(d, &it);
	if (d->nerr == nerr0) {
		qsort(it.v, it.n, sizeof(*it.v), cmp_idx);
		*out = malloc(it.n * sizeof(**out));
		if (!*out)
			cfg_report(d, t->col, "out of memory");
	}
	if (d->nerr != nerr0) {
		free(it.v);
		return -1;
	}
	for (size_t i = 0; i < it.n; i++)
		(*out)[i] = it.v[i].p;
	*nout = it.n;
	free(it.v);
	return 0;
}
