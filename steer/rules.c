// SPDX-License-Identifier: GPL-2.0-only
/*
 * The reference matcher (see rules.h), read straight off the rules; the
 * classifier's compiled form (bpf/rules_compile.c) is proven equal to it.
 */
#include "steer/rules.h"

#include <netinet/in.h>

static bool ports_match(const struct rule *r, uint16_t port)
{
	if (r->nports == 0)
		return true;
	for (size_t i = 0; i < r->nports; i++)
		if (port >= r->ports[i].lo && port <= r->ports[i].hi)
			return true;
	return false;
}

/* An empty list matches everything; otherwise only prefixes of the flow's family can match. */
static bool prefixes_match(const struct prefix *p, size_t n, uint8_t family, const uint8_t *addr)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (p[i].family == family && prefix_contains(&p[i], addr))
			return true;
	return false;
}

/* Protocol 0 (a bypass without PROTO) covers both protocols the classifier handles. */
static bool rule_matches(const struct rule *r, const struct flow_tuple *t)
{
	return (r->proto == t->proto || r->proto == 0) && ports_match(r, t->dport) &&
	       prefixes_match(r->dst, r->ndst, t->family, t->dst) &&
	       prefixes_match(r->src, r->nsrc, t->family, t->src);
}

enum rule_verdict rules_match(const struct rule *rules, size_t nrules, const struct flow_tuple *t)
{
	bool steer = false;

	if ((t->proto != IPPROTO_TCP && t->proto != IPPROTO_UDP) || (t->family != AF_INET && t->family != AF_INET6))
		return VERDICT_NONE;
	for (size_t i = 0; i < nrules; i++) {
		if (!rule_matches(&rules[i], t))
			continue;
		if (rules[i].bypass)
			return VERDICT_BYPASS;
		steer = true;
	}
	return steer ? VERDICT_STEER : VERDICT_NONE;
}

