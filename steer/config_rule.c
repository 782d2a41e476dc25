// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rule grammar of steer.conf: `steer PROTO [dport PORTS] [dst PREFIXES]
 * [src PREFIXES]` and `bypass [PROTO] ...`, with overlap checks that point at
 * both columns.
 */
#include "steer/config_syntax.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/*
 * Split a comma list in place. Empty elements are reported (they are always
 * a typo: "80,,443" or a trailing comma). Returns the count, or -1.
 */
int cfg_split_list(const struct token *t, struct elem **out, struct diag *d)
{
	size_t n = 1;
	int bad = 0;

	for (const char *p = t->s; *p; p++)
		n += *p == ',';
	struct elem *e = calloc(n, sizeof(*e));
	if (!e) {
		cfg_report(d, t->col, "out of memory");
		return -1;
	}
	char *p = t->s;
	for (size_t i = 0; i < n; i++) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		e[i].s = p;
		e[i].col = t->col + (int)(p - t->s);
		if (!*p) {
			cfg_report(d, e[i].col, "empty element in list");
			bad = 1;
		}
		p = comma ? comma + 1 : p + strlen(p);
	}
	if (bad) {
		free(e);
		return -1;
	}
	*out = e;
	return (int)n;
}

/*
 * A comma list of one kind of value: every element is parsed (all errors
 * reported), then checked as a whole (overlaps), then emitted into a new
 * array. Returns 0 with *out and *nout set, or -1 with nothing allocated.
 */
struct list_kind {
	size_t item_size, out_size;
	void (*parse)(void *item, const struct elem *e, int idx, struct diag *d);
	void (*check)(void *items, int n, struct diag *d);
	void (*emit)(void *items, int n, void *out);
};

static int parse_list(const struct token *t, const struct list_kind *k, void **out, size_t *nout, struct diag *d)
{
	int nerr0 = d->nerr;
	struct elem *e;
	int n = cfg_split_list(t, &e, d);

	if (n < 0)
		return -1;
	char *items = calloc((size_t)n, k->item_size);
	if (!items) {
		free(e);
		cfg_report(d, t->col, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++)
		k->parse(items + (size_t)i * k->item_size, &e[i], i, d);
	free(e);
	if (d->nerr == nerr0)
		k->check(items, n, d);
	if (d->nerr == nerr0) {
		*out = malloc((size_t)n * k->out_size);
		if (!*out)
			cfg_report(d, t->col, "out of memory");
	}
	if (d->nerr != nerr0) {
		free(items);
		return -1;
	}
	k->emit(items, n, *out);
	*nout = (size_t)n;
	free(items);
	return 0;
}

struct port_item {
	struct port_range r;
	int col;
};

static int cmp_port_item(const void *a, const void *b)
{
	const struct port_item *x = a, *y = b;

	if (x->r.lo != y->r.lo)
		return x->r.lo < y->r.lo ? -1 : 1;
	if (x->r.hi != y->r.hi)
		return x->r.hi < y->r.hi ? -1 : 1;
	return x->col - y->col;
}

static void format_range(const struct port_range *r, char *buf, size_t len)
{
	if (r->lo == r->hi)
		snprintf(buf, len, "%u", r->lo);
	else
		snprintf(buf, len, "%u-%u", r->lo, r->hi);
}

/* Sorted by start, a range overlaps an earlier one iff it starts before the furthest end so far. */
static void check_port_overlaps(struct port_item *items, int n, struct diag *d)
{
	const struct port_item *reach = NULL;

	qsort(items, (size_t)n, sizeof(*items), cmp_port_item);
	for (int i = 0; i < n; i++) {
		if (reach && items[i].r.lo <= reach->r.hi) {
			const struct port_item *later = items[i].col > reach->col ? &items[i] : reach;
			const struct port_item *other = later == reach ? &items[i] : reach;
			struct origin here = { .col = later->col }, there = { .col = other->col };
			char a[16], b[16], at[64];

			format_range(&later->r, a, sizeof(a));
			format_range(&other->r, b, sizeof(b));
			cfg_where(d, &here, &there, at, sizeof(at));
			if (later->r.lo == other->r.lo && later->r.hi == other->r.hi)
				cfg_report(d, later->col, "duplicate port %s (also at %s)", a, at);
			else
				cfg_report(d, later->col, "port %s overlaps %s at %s", a, b, at);
		}
		if (!reach || items[i].r.hi > reach->r.hi)
			reach = &items[i];
	}
}

/* Sorted order is as good as text order for matching, and tidier to print. */
static void emit_ports(void *items, int n, void *out)
{
	const struct port_item *it = items;

	for (int i = 0; i < n; i++)
		((struct port_range *)out)[i] = it[i].r;
}

static void parse_port_item(void *item, const struct elem *e, int idx, struct diag *d)
{
	struct port_item *it = item;
	const char *err;
	size_t pos;

	(void)idx;
	it->col = e->col;
	if (port_range_parse(e->s, &it->r, &err, &pos) < 0)
		cfg_report(d, e->col + (int)pos, "bad port '%s': %s", CFG_Q(e->s), err);
}

static void check_ports(void *items, int n, struct diag *d)
{
	check_port_overlaps(items, n, d);
}

static const struct list_kind port_list = {
	.item_size = sizeof(struct port_item),
	.out_size = sizeof(struct port_range),
	.parse = parse_port_item,
	.check = check_ports,
	.emit = emit_ports,
};

static int proto_number(const char *s)
{
	if (strcmp(s, "tcp") == 0)
		return IPPROTO_TCP;
	if (strcmp(s, "udp") == 0)
		return IPPROTO_UDP;
	return -1;
}

enum rule_field { FIELD_DPORT, FIELD_DST, FIELD_SRC, FIELD_MAX };
static const char *const field_names[FIELD_MAX] = { "dport", "dst", "src" };

static int field_index(const char *s)
{
	for (int i = 0; i < FIELD_MAX; i++)
		if (strcmp(s, field_names[i]) == 0)
			return i;
	return -1;
}

void cfg_rule_free(struct rule *r)
{
	free(r->ports);
	free(r->dst);
	free(r->src);
	r->ports = NULL;
	r->dst = r->src = NULL;
}

/* Leading PROTO: required for steer, optional for bypass (0 = tcp and udp). Returns tokens used. */
static int parse_rule_proto(const struct token *dir, const struct token *args, int nargs, struct rule *r,
			    struct diag *d)
{
	int proto = nargs > 0 ? proto_number(args[0].s) : -1;

	if (proto >= 0) {
		r->proto = (uint8_t)proto;
		return 1;
	}
	if (r->bypass && (nargs == 0 || field_index(args[0].s) >= 0))
		return 0;
	if (nargs == 0) {
		cfg_report(d, dir->col, "'%s' needs a protocol (tcp or udp)", dir->s);
		return 0;
	}
	if (field_index(args[0].s) >= 0) {
		cfg_report(d, args[0].col, "'%s' needs a protocol (tcp or udp) before '%s'", dir->s, args[0].s);
		return 0;
	}
	if (r->bypass) {
		/* Either a bad protocol or a bad field name; a field would bring its value along. */
		cfg_report(d, args[0].col, "unknown protocol or field '%s' (expected tcp, udp, dport, dst or src)",
		       CFG_Q(args[0].s));
		return nargs > 1 && field_index(args[1].s) < 0 ? 2 : 1;
	}
	cfg_report(d, args[0].col, "unknown protocol '%s' (expected tcp or udp)", CFG_Q(args[0].s));
	return 1;
}

static void parse_rule_field(struct steer_config *cfg, const struct token *val, int field, struct rule *r,
			     struct diag *d)
{
	if (field == FIELD_DPORT)
		parse_list(val, &port_list, (void **)&r->ports, &r->nports, d);
	else if (field == FIELD_DST)
		cfg_prefix_list(cfg, val, &r->dst, &r->ndst, d);
	else
		cfg_prefix_list(cfg, val, &r->src, &r->nsrc, d);
}

static int append_rule(struct steer_config *cfg, const struct rule *r)
{
	struct rule *rules = realloc(cfg->rules, (cfg->nrules + 1) * sizeof(*rules));

	if (!rules)
		return -1;
	rules[cfg->nrules++] = *r;
	cfg->rules = rules;
	return 0;
}

int cfg_rule_directive(struct steer_config *cfg, const struct token *dir, const struct token *args, int nargs,
		       struct diag *d, bool bypass)
{
	struct config_pos at = cfg_origin(d, dir->col);
	struct rule r = { .bypass = bypass, .line = at.line > 0 ? at.line : 0, .file = at.file };
	int seen[FIELD_MAX] = { 0 }; /* column where each field was given */
	int nerr0 = d->nerr;
	int i = parse_rule_proto(dir, args, nargs, &r, d);

	/* Fields come as KEYWORD VALUE pairs, so an unknown keyword skips its value too. */
	for (; i < nargs; i += 2) {
		const struct token *kw = &args[i];
		int f = field_index(kw->s);

		if (f < 0 && proto_number(kw->s) >= 0) {
			cfg_report(d, kw->col, "the protocol '%s' must come right after '%s'", kw->s, dir->s);
			i--; /* a protocol has no value */
			continue;
		}
		if (f < 0) {
			cfg_report(d, kw->col, "unknown rule field '%s' (expected dport, dst or src)", CFG_Q(kw->s));
			continue;
		}
		if (i + 1 >= nargs) {
			cfg_report(d, kw->col, "'%s' needs a value", kw->s);
			break;
		}
		if (seen[f]) {
			struct origin here = { .col = kw->col }, first = { .col = seen[f] };
			char at[64];

			cfg_report(d, kw->col, "'%s' given twice in one rule (first at %s)", kw->s,
				   cfg_where(d, &here, &first, at, sizeof(at)));
			continue;
		}
		seen[f] = kw->col;
		parse_rule_field(cfg, &args[i + 1], f, &r, d);
	}
	if (d->nerr == nerr0 && append_rule(cfg, &r) < 0)
		cfg_report(d, dir->col, "out of memory");
	if (d->nerr != nerr0) {
		cfg_rule_free(&r);
		return -1;
	}
	return 0;
}
