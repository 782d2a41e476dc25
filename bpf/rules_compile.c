// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rules compiled into per-field rule bitmaps that the classifier
 * intersects (see rules_compile.h). The tests prove the compiled form decides
 * as steer/rules.c's reference matcher does.
 */
#include "bpf/rules_compile.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* The config's rule cap is the width of the classifier's rule bitmaps. */
_Static_assert(CONFIG_MAX_RULES == STEER_MAX_RULES, "config and classifier disagree on the rule cap");

/* ---- masks ---- */

static void mask_set(struct steer_mask *m, size_t bit)
{
	m->w[bit / 64] |= (__u64)1 << (bit % 64);
}

static void mask_or(struct steer_mask *dst, const struct steer_mask *src)
{
	for (int i = 0; i < STEER_RULE_WORDS; i++)
		dst->w[i] |= src->w[i];
}

static struct steer_mask mask_and(const struct steer_mask *a, const struct steer_mask *b)
{
	struct steer_mask m;

	for (int i = 0; i < STEER_RULE_WORDS; i++)
		m.w[i] = a->w[i] & b->w[i];
	return m;
}

static bool mask_any(const struct steer_mask *m)
{
	for (int i = 0; i < STEER_RULE_WORDS; i++)
		if (m->w[i])
			return true;
	return false;
}

static int proto_index(uint8_t proto)
{
	if (proto == IPPROTO_TCP)
		return STEER_PROTO_TCP;
	if (proto == IPPROTO_UDP)
		return STEER_PROTO_UDP;
	return -1;
}

/* ---- compilation: ports ---- */

#define NPORTS 65536

static void fill_ports(struct steer_mask *tab, size_t bit, unsigned lo, unsigned hi)
{
	for (unsigned p = lo; p <= hi; p++)
		mask_set(&tab[p], bit);
}

/* A rule without ports takes every port, 0 included (the classifier looks up any dport). */
static void fill_rule_ports(struct steer_mask *tab, const struct rule *r, size_t bit)
{
	for (int pi = 0; pi < STEER_PROTO_MAX; pi++) {
		struct steer_mask *t = tab + (size_t)pi * NPORTS;

		if (r->proto != 0 && proto_index(r->proto) != pi)
			continue;
		if (r->nports == 0)
			fill_ports(t, bit, 0, NPORTS - 1);
		for (size_t k = 0; k < r->nports; k++)
			fill_ports(t, bit, r->ports[k].lo, r->ports[k].hi);
	}
}

static int compile_ports(const struct rule *rules, size_t nrules, struct compiled_rules *out)
{
	size_t total = (size_t)STEER_PROTO_MAX * NPORTS, n = 0;
	struct steer_mask *tab = calloc(total, sizeof(*tab));

	if (!tab)
		return -1;
	for (size_t i = 0; i < nrules; i++)
		fill_rule_ports(tab, &rules[i], i);
	for (size_t i = 0; i < total; i++)
		n += mask_any(&tab[i]);
	out->ports = calloc(n ? n : 1, sizeof(*out->ports));
	if (!out->ports) {
		free(tab);
		return -1;
	}
	for (size_t i = 0; i < total; i++) {
		if (!mask_any(&tab[i]))
			continue;
		out->ports[out->nports++] = (struct port_entry){
			.proto_idx = (uint8_t)(i / NPORTS),
			.port = (uint16_t)(i % NPORTS),
			.mask = tab[i],
		};
	}
	free(tab);
	return 0;
}

/* ---- compilation: longest-prefix lists ---- */

/* Do the first len bits of a and b agree? */
static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t m = (uint8_t)(0xff << (8 - rest));
	return (a[full] & m) == (b[full] & m);
}

static bool entry_contains(const struct lpm_entry *outer, const struct lpm_entry *inner)
{
	return outer->len <= inner->len && bits_equal(outer->addr, inner->addr, outer->len);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct lpm_entry *x = a, *y = b;
	int c = memcmp(x->addr, y->addr, 16);

	if (c)
		return c;
	return (int)x->len - (int)y->len;
}

/* Host bits are cleared so that equal networks compare equal whatever the caller wrote. */
static void push_entry(struct lpm_entry *e, const uint8_t *addr, unsigned len, size_t bit)
{
	memset(e, 0, sizeof(*e));
	e->len = (uint8_t)len;
	for (unsigned i = 0; i < len; i++)
		if (addr[i / 8] & (0x80 >> (i % 8)))
			e->addr[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	mask_set(&e->mask, bit);
}

static size_t collect_entries(const struct rule *rules, size_t nrules, bool dst, uint8_t family,
			      struct lpm_entry *e)
{
	static const uint8_t zero[16];
	size_t n = 0;

	for (size_t i = 0; i < nrules; i++) {
		const struct prefix *p = dst ? rules[i].dst : rules[i].src;
		size_t np = dst ? rules[i].ndst : rules[i].nsrc;

		/* An omitted field matches every address: the /0 of both families. */
		if (np == 0) {
			if (e)
				push_entry(&e[n], zero, 0, i);
			n++;
		}
		for (size_t k = 0; k < np; k++) {
			if (p[k].family != family)
				continue;
			if (e)
				push_entry(&e[n], p[k].addr, p[k].len, i);
			n++;
		}
	}
	return n;
}

/* Sorted input: identical prefixes are neighbours. */
static size_t merge_duplicates(struct lpm_entry *e, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		if (out > 0 && e[out - 1].len == e[i].len && memcmp(e[out - 1].addr, e[i].addr, 16) == 0) {
			mask_or(&e[out - 1].mask, &e[i].mask);
			continue;
		}
		e[out++] = e[i];
	}
	return out;
}

/*
 * Sorted by (address, length), a prefix's containers all come before it and
 * are exactly the entries left on a stack from which every non-container has
 * been popped. The top already carries the rules of all its own containers,
 * so one OR per entry gives the containment rule in O(n) after the sort.
 * Nesting depth is at most 129 (lengths 0..128, strictly increasing).
 */
static void propagate_containers(struct lpm_entry *e, size_t n)
{
	size_t stack[130];
	size_t sp = 0;

	for (size_t i = 0; i < n; i++) {
		while (sp > 0 && !entry_contains(&e[stack[sp - 1]], &e[i]))
			sp--;
		if (sp > 0)
			mask_or(&e[i].mask, &e[stack[sp - 1]].mask);
		stack[sp++] = i;
	}
}

static int compile_lpm(const struct rule *rules, size_t nrules, bool dst, uint8_t family, struct lpm_entry **out,
		       size_t *nout)
{
	size_t n = collect_entries(rules, nrules, dst, family, NULL);
	struct lpm_entry *e = calloc(n ? n : 1, sizeof(*e));

	if (!e)
		return -1;
	collect_entries(rules, nrules, dst, family, e);
	qsort(e, n, sizeof(*e), cmp_entry);
	n = merge_duplicates(e, n);
	propagate_containers(e, n);
	*out = e;
	*nout = n;
	return 0;
}

/* ---- public ---- */

static int check_rules(const struct rule *rules, size_t nrules, const char **err)
{
	if (nrules > STEER_MAX_RULES) {
		_Static_assert(CONFIG_MAX_RULES == 128, "update the message below");
		*err = "too many rules (at most 128)";
		return -1;
	}
	for (size_t i = 0; i < nrules; i++) {
		if (rules[i].proto != 0 && proto_index(rules[i].proto) < 0) {
			*err = "unsupported protocol in a rule (tcp or udp only)";
			return -1;
		}
	}
	return 0;
}

int rules_compile(const struct rule *rules, size_t nrules, struct compiled_rules *out, const char **err)
{
	const char *dummy;

	if (!err)
		err = &dummy;
	memset(out, 0, sizeof(*out));
	if (check_rules(rules, nrules, err) < 0)
		return -1;
	for (size_t i = 0; i < nrules; i++)
		mask_set(rules[i].bypass ? &out->ruleset.bypass : &out->ruleset.steer, i);
	if (compile_ports(rules, nrules, out) < 0 ||
	    compile_lpm(rules, nrules, true, AF_INET, &out->dst4, &out->ndst4) < 0 ||
	    compile_lpm(rules, nrules, false, AF_INET, &out->src4, &out->nsrc4) < 0 ||
	    compile_lpm(rules, nrules, true, AF_INET6, &out->dst6, &out->ndst6) < 0 ||
	    compile_lpm(rules, nrules, false, AF_INET6, &out->src6, &out->nsrc6) < 0) {
		rules_compiled_free(out);
		*err = "out of memory";
		return -1;
	}
	return 0;
}

void rules_compiled_free(struct compiled_rules *c)
{
	free(c->ports);
	free(c->dst4);
	free(c->src4);
	free(c->dst6);
	free(c->src6);
	memset(c, 0, sizeof(*c));
}

static int cmp_port_entry(const void *key, const void *elem)
{
	const struct port_entry *k = key, *e = elem;

	if (k->proto_idx != e->proto_idx)
		return k->proto_idx < e->proto_idx ? -1 : 1;
	return (int)k->port - (int)e->port;
}

/* The port array: absent entries read as an empty mask, as in the kernel's ARRAY map. */
static struct steer_mask lookup_port(const struct compiled_rules *c, int proto_idx, uint16_t port)
{
	struct port_entry key = { .proto_idx = (uint8_t)proto_idx, .port = port };
	const struct port_entry *e = bsearch(&key, c->ports, c->nports, sizeof(*c->ports), cmp_port_entry);

	return e ? e->mask : (struct steer_mask){ { 0 } };
}

/* Longest-prefix match by linear scan: slow, but obviously what an LPM trie returns. */
static struct steer_mask lookup_lpm(const struct lpm_entry *e, size_t n, const uint8_t *addr)
{
	const struct lpm_entry *best = NULL;

	for (size_t i = 0; i < n; i++)
		if ((!best || e[i].len > best->len) && bits_equal(e[i].addr, addr, e[i].len))
			best = &e[i];
	return best ? best->mask : (struct steer_mask){ { 0 } };
}

enum rule_verdict rules_compiled_match(const struct compiled_rules *c, const struct flow_tuple *t)
{
	int pi = proto_index(t->proto);
	bool v4 = t->family == AF_INET;
	struct steer_mask m, dst, src;

	if (pi < 0 || (t->family != AF_INET && t->family != AF_INET6))
		return VERDICT_NONE;
	m = lookup_port(c, pi, t->dport);
	dst = v4 ? lookup_lpm(c->dst4, c->ndst4, t->dst) : lookup_lpm(c->dst6, c->ndst6, t->dst);
	src = v4 ? lookup_lpm(c->src4, c->nsrc4, t->src) : lookup_lpm(c->src6, c->nsrc6, t->src);
	m = mask_and(&m, &dst);
	m = mask_and(&m, &src);
	struct steer_mask bypass = mask_and(&m, &c->ruleset.bypass);
	struct steer_mask steer = mask_and(&m, &c->ruleset.steer);
	if (mask_any(&bypass))
		return VERDICT_BYPASS;
	return mask_any(&steer) ? VERDICT_STEER : VERDICT_NONE;
}
