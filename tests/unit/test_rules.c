// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for the rule model: steer/rules.c's reference matcher, the
 * shape of the maps bpf/rules_compile.c compiles, and a randomized proof
 * that the compiled form decides exactly as the reference does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpf/rules_compile.h"

/* ---- helpers ---- */

static struct prefix pfx(const char *s)
{
	struct prefix p;

	assert_int_equal(prefix_parse(s, &p, NULL, NULL), 0);
	return p;
}

static struct flow_tuple flow(uint8_t proto, const char *src, const char *dst, uint16_t dport)
{
	struct flow_tuple t = { .proto = proto, .sport = 40000, .dport = dport };

	t.family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(t.family, src, t.src), 1);
	assert_int_equal(inet_pton(t.family, dst, t.dst), 1);
	return t;
}

/* Rules parsed from config text: the real way they are made. */
static void load(struct steer_config *cfg, const char *text)
{
	config_init(cfg);
	assert_int_equal(config_parse_string(cfg, "t.conf", text, stderr), 0);
}

/* Both matchers must agree; returns their verdict. */
static enum rule_verdict both(const struct steer_config *cfg, const struct flow_tuple *t)
{
	struct compiled_rules c;
	const char *err = NULL;
	enum rule_verdict ref = rules_match(cfg->rules, cfg->nrules, t);

	assert_int_equal(rules_compile(cfg->rules, cfg->nrules, &c, &err), 0);
	assert_int_equal(rules_compiled_match(&c, t), ref);
	rules_compiled_free(&c);
	return ref;
}

static bool has_bit(const struct steer_mask *m, size_t bit)
{
	return (m->w[bit / 64] >> (bit % 64)) & 1;
}

static const struct lpm_entry *find_lpm(const struct lpm_entry *e, size_t n, const char *prefix)
{
	struct prefix p = pfx(prefix);

	for (size_t i = 0; i < n; i++)
		if (e[i].len == p.len && memcmp(e[i].addr, p.addr, 16) == 0)
			return &e[i];
	return NULL;
}

static const struct port_entry *find_port(const struct compiled_rules *c, int proto_idx, uint16_t port)
{
	for (size_t i = 0; i < c->nports; i++)
		if (c->ports[i].proto_idx == proto_idx && c->ports[i].port == port)
			return &c->ports[i];
	return NULL;
}

/* ---- reference matcher ---- */

static void test_match_fields(void **state)
{
	struct steer_config cfg;
	struct flow_tuple t;

	(void)state;
	load(&cfg, "steer tcp dport 80,8000-8999 dst 10.0.0.0/8,2001:db8::/32 src 192.168.0.0/16\n");
	t = flow(IPPROTO_TCP, "192.168.1.2", "10.1.2.3", 80);
	assert_int_equal(both(&cfg, &t), VERDICT_STEER);
	t.dport = 8500;
	assert_int_equal(both(&cfg, &t), VERDICT_STEER);
	t.dport = 8999;
	assert_int_equal(both(&cfg, &t), VERDICT_STEER);
	t.dport = 9000;
	assert_int_equal(both(&cfg, &t), VERDICT_NONE);
	t.dport = 0;
	assert_int_equal(both(&cfg, &t), VERDICT_NONE);

	t = flow(IPPROTO_UDP, "192.168.1.2", "10.1.2.3", 80);
	assert_int_equal(both(&cfg, &t), VERDICT_NONE);
	t = flow(IPPROTO_TCP, "192.169.1.2", "10.1.2.3", 80);
	assert_int_equal(both(&cfg, &t), VERDICT_NONE);
	t = flow(IPPROTO_TCP, "192.168.1.2", "11.1.2.3", 80);
	assert_int_equal(both(&cfg, &t), VERDICT_NONE);
	/* The src list is IPv4 only: no IPv6 flow can match it. */
	t = flow(IPPROTO_TCP, "2001:db8::1", "2001:db8::2", 80);
	assert_int_equal(both(&cfg, &t), VERDICT_NONE);
	/* Not TCP or UDP: never. */
	t = flow(IPPROTO_ICMP, "192.168.1.2", "10.1.2.3", 80);
	assert_int_equal(both(&cfg, &t), VERDICT_NONE);
	config_free(&cfg);
}

static void test_match_families(void **state)
{
	struct steer_config cfg;
	struct flow_tuple t;

	(void)state;
	load(&cfg, "steer tcp dst 10.0.0.0/8\nsteer udp\n");
	t = flow(IPPROTO_TCP, "1.1.1.1", "10.0.0.1", 443);
	assert_int_equal(both(&cfg, &t), VERDICT_STEER);
	t = flow(IPPROTO_TCP, "::1", "::ffff:10.0.0.1", 443); /* mapped, but an IPv6 flow */
	assert_int_equal(both(&cfg, &t), VERDICT_NONE);
	/* No dst list: both families. */
	t = flow(IPPROTO_UDP, "2001:db8::1", "2001:db8::2", 53);
	assert_int_equal(both(&cfg, &t), VERDICT_STEER);
	t = flow(IPPROTO_UDP, "1.2.3.4", "5.6.7.8", 0);
	assert_int_equal(both(&cfg, &t), VERDICT_STEER);
	config_free(&cfg);
}

static void test_bypass_wins(void **state)
{
	struct steer_config cfg;
	struct flow_tuple t;

	(void)state;
	load(&cfg, "steer tcp dport 80\n"
		   "steer udp dport 53\n"
		   "bypass dst 10.0.2.5/32\n"
		   "bypass udp src 2001:db8::/32\n"
		   "bypass dport 8080\n");
	t = flow(IPPROTO_TCP, "1.1.1.1", "10.0.2.5", 80);
	assert_int_equal(both(&cfg, &t), VERDICT_BYPASS);
	t = flow(IPPROTO_UDP, "1.1.1.1", "10.0.2.5", 53);
	assert_int_equal(both(&cfg, &t), VERDICT_BYPASS);
	t = flow(IPPROTO_TCP, "1.1.1.1", "10.0.2.6", 80);
	assert_int_equal(both(&cfg, &t), VERDICT_STEER);
	t = flow(IPPROTO_UDP, "2001:db8::1", "2001:db9::1", 53);
	assert_int_equal(both(&cfg, &t), VERDICT_BYPASS);
	t = flow(IPPROTO_TCP, "2001:db8::1", "2001:db9::1", 80);
	assert_int_equal(both(&cfg, &t), VERDICT_STEER);
	/* A bypass without a protocol takes both. */
	t = flow(IPPROTO_TCP, "1.1.1.1", "2.2.2.2", 8080);
	assert_int_equal(both(&cfg, &t), VERDICT_BYPASS);
	t = flow(IPPROTO_UDP, "1.1.1.1", "2.2.2.2", 8080);
	assert_int_equal(both(&cfg, &t), VERDICT_BYPASS);
	/* Bypass of nothing steered is still bypass. */
	t = flow(IPPROTO_TCP, "1.1.1.1", "10.0.2.5", 22);
	assert_int_equal(both(&cfg, &t), VERDICT_BYPASS);
	t = flow(IPPROTO_TCP, "1.1.1.1", "10.0.2.6", 22);
	assert_int_equal(both(&cfg, &t), VERDICT_NONE);
	config_free(&cfg);
}

static void test_match_no_rules(void **state)
{
	struct flow_tuple t = flow(IPPROTO_TCP, "1.1.1.1", "2.2.2.2", 80);
	struct compiled_rules c;
	const char *err;

	(void)state;
	assert_int_equal(rules_match(NULL, 0, &t), VERDICT_NONE);
	assert_int_equal(rules_compile(NULL, 0, &c, &err), 0);
	assert_int_equal(c.nports, 0);
	assert_int_equal(c.ndst4 + c.ndst6 + c.nsrc4 + c.nsrc6, 0);
	assert_int_equal(rules_compiled_match(&c, &t), VERDICT_NONE);
	rules_compiled_free(&c);
}

/* ---- compiled shape ---- */

static void test_compile_ports(void **state)
{
	struct steer_config cfg;
	struct compiled_rules c;
	const char *err;
	const struct port_entry *e;

	(void)state;
	load(&cfg, "steer tcp dport 80,443\n"    /* rule 0 */
		   "steer tcp dport 80-81\n"     /* rule 1 */
		   "bypass dport 53\n"           /* rule 2: both protocols */
		   "steer udp\n");               /* rule 3: every udp port, 0 included */
	assert_int_equal(rules_compile(cfg.rules, cfg.nrules, &c, &err), 0);
	assert_true(has_bit(&c.ruleset.steer, 0));
	assert_true(has_bit(&c.ruleset.steer, 1));
	assert_false(has_bit(&c.ruleset.steer, 2));
	assert_true(has_bit(&c.ruleset.bypass, 2));
	assert_true(has_bit(&c.ruleset.steer, 3));
	assert_int_equal(c.ruleset.bypass.w[0], 1u << 2);
	assert_int_equal(c.ruleset.steer.w[0], 0xb);
	assert_int_equal(c.ruleset.steer.w[1], 0);

	/* tcp: 80 (0,1), 81 (1), 443 (0), 53 (2); udp: all 65536 ports */
	assert_int_equal(c.nports, 4 + 65536);
	e = find_port(&c, STEER_PROTO_TCP, 80);
	assert_non_null(e);
	assert_int_equal(e->mask.w[0], 0x3);
	assert_int_equal(find_port(&c, STEER_PROTO_TCP, 81)->mask.w[0], 0x2);
	assert_int_equal(find_port(&c, STEER_PROTO_TCP, 443)->mask.w[0], 0x1);
	assert_int_equal(find_port(&c, STEER_PROTO_TCP, 53)->mask.w[0], 0x4);
	assert_null(find_port(&c, STEER_PROTO_TCP, 82));
	assert_null(find_port(&c, STEER_PROTO_TCP, 0));
	assert_int_equal(find_port(&c, STEER_PROTO_UDP, 0)->mask.w[0], 0x8);
	assert_int_equal(find_port(&c, STEER_PROTO_UDP, 53)->mask.w[0], 0xc);
	assert_int_equal(find_port(&c, STEER_PROTO_UDP, 65535)->mask.w[0], 0x8);
	/* Only non-zero masks are listed. */
	for (size_t i = 0; i < c.nports; i++)
		assert_true(c.ports[i].mask.w[0] || c.ports[i].mask.w[1]);
	rules_compiled_free(&c);
	config_free(&cfg);
}

static void test_compile_lpm_containment(void **state)
{
	struct steer_config cfg;
	struct compiled_rules c;
	const char *err;
	const struct lpm_entry *e;

	(void)state;
	load(&cfg, "steer tcp dst 10.0.0.0/8 src 2001:db8::/32\n"      /* rule 0 */
		   "steer tcp dst 10.1.0.0/16,10.2.0.0/16\n"          /* rule 1 */
		   "bypass dst 10.1.2.0/24,192.168.0.0/16\n"          /* rule 2 */
		   "steer udp dst 2001:db8::/32,10.0.0.0/8\n");       /* rule 3 */
	assert_int_equal(rules_compile(cfg.rules, cfg.nrules, &c, &err), 0);

	/* dst4: no /0 (every rule has a dst list), containers folded in, 10.0.0.0/8 once. */
	assert_int_equal(c.ndst4, 5);
	assert_null(find_lpm(c.dst4, c.ndst4, "0.0.0.0/0"));
	e = find_lpm(c.dst4, c.ndst4, "10.0.0.0/8");
	assert_int_equal(e->mask.w[0], 0x9);
	assert_int_equal(find_lpm(c.dst4, c.ndst4, "10.1.0.0/16")->mask.w[0], 0xb);
	assert_int_equal(find_lpm(c.dst4, c.ndst4, "10.2.0.0/16")->mask.w[0], 0xb);
	assert_int_equal(find_lpm(c.dst4, c.ndst4, "10.1.2.0/24")->mask.w[0], 0xf);
	assert_int_equal(find_lpm(c.dst4, c.ndst4, "192.168.0.0/16")->mask.w[0], 0x4);
	/* dst6: rule 3 only. */
	assert_int_equal(c.ndst6, 1);
	assert_int_equal(find_lpm(c.dst6, c.ndst6, "2001:db8::/32")->mask.w[0], 0x8);

	/* src: rules 1-3 have none, so /0 of both families; rule 0 is IPv6 only. */
	assert_int_equal(c.nsrc4, 1);
	assert_int_equal(find_lpm(c.src4, c.nsrc4, "0.0.0.0/0")->mask.w[0], 0xe);
	assert_int_equal(c.nsrc6, 2);
	assert_int_equal(find_lpm(c.src6, c.nsrc6, "::/0")->mask.w[0], 0xe);
	assert_int_equal(find_lpm(c.src6, c.nsrc6, "2001:db8::/32")->mask.w[0], 0xf);

	/* IPv4 addresses sit in the first four bytes, the rest zero. */
	for (size_t i = 0; i < c.ndst4; i++)
		for (int b = 4; b < 16; b++)
			assert_int_equal(c.dst4[i].addr[b], 0);
	rules_compiled_free(&c);
	config_free(&cfg);
}

/* Rule i is bit i%64 of word i/64, and the bits reach every map. */
static void test_compile_bit_layout(void **state)
{
	struct rule rules[STEER_MAX_RULES];
	struct port_range pr[STEER_MAX_RULES];
	struct compiled_rules c;
	const char *err;

	(void)state;
	memset(rules, 0, sizeof(rules));
	for (int i = 0; i < STEER_MAX_RULES; i++) {
		pr[i] = (struct port_range){ (uint16_t)(1000 + i), (uint16_t)(1000 + i) };
		rules[i] = (struct rule){ .proto = IPPROTO_TCP, .ports = &pr[i], .nports = 1, .bypass = i == 127 };
	}
	assert_int_equal(rules_compile(rules, STEER_MAX_RULES, &c, &err), 0);
	assert_int_equal(c.nports, STEER_MAX_RULES);
	const struct port_entry *e = find_port(&c, STEER_PROTO_TCP, 1000 + 64);
	assert_int_equal(e->mask.w[0], 0);
	assert_int_equal(e->mask.w[1], 1);
	e = find_port(&c, STEER_PROTO_TCP, 1000 + 127);
	assert_int_equal(e->mask.w[1], 1ull << 63);
	e = find_port(&c, STEER_PROTO_TCP, 1000 + 63);
	assert_int_equal(e->mask.w[0], 1ull << 63);
	assert_int_equal(c.ruleset.bypass.w[1], 1ull << 63);
	assert_int_equal(c.ruleset.steer.w[0], ~0ull);
	assert_int_equal(c.ruleset.steer.w[1], ~0ull >> 1);
	assert_int_equal(find_lpm(c.dst4, c.ndst4, "0.0.0.0/0")->mask.w[1], ~0ull);

	struct flow_tuple t = flow(IPPROTO_TCP, "1.1.1.1", "2.2.2.2", 1127);
	assert_int_equal(rules_compiled_match(&c, &t), VERDICT_BYPASS);
	assert_int_equal(rules_match(rules, STEER_MAX_RULES, &t), VERDICT_BYPASS);
	t.dport = 1100;
	assert_int_equal(rules_compiled_match(&c, &t), VERDICT_STEER);
	rules_compiled_free(&c);
}

static void test_compile_too_many_rules(void **state)
{
	struct rule rules[STEER_MAX_RULES + 1];
	struct compiled_rules c;
	const char *err = NULL;

	(void)state;
	memset(rules, 0, sizeof(rules));
	for (int i = 0; i <= STEER_MAX_RULES; i++)
		rules[i].proto = IPPROTO_UDP;
	assert_int_equal(rules_compile(rules, STEER_MAX_RULES + 1, &c, &err), -1);
	assert_non_null(err);
	assert_string_equal(err, "too many rules (at most 128)");
	assert_null(c.ports);
	rules_compiled_free(&c); /* safe on a failed compile */
	assert_int_equal(rules_compile(rules, STEER_MAX_RULES, &c, &err), 0);
	rules_compiled_free(&c);
}

static void test_compile_bad_proto(void **state)
{
	struct rule r = { .proto = IPPROTO_ICMP };
	struct compiled_rules c;
	const char *err = NULL;

	(void)state;
	assert_int_equal(rules_compile(&r, 1, &c, &err), -1);
	assert_string_equal(err, "unsupported protocol in a rule (tcp or udp only)");
}

/* Host bits in hand-made rules are ignored, as the kernel's LPM trie would. */
static void test_compile_host_bits(void **state)
{
	struct prefix p = pfx("10.0.0.0/8");
	struct rule r = { .proto = IPPROTO_TCP, .dst = &p, .ndst = 1 };
	struct compiled_rules c;
	const char *err;

	(void)state;
	p.addr[3] = 7;
	assert_int_equal(rules_compile(&r, 1, &c, &err), 0);
	assert_non_null(find_lpm(c.dst4, c.ndst4, "10.0.0.0/8"));
	rules_compiled_free(&c);
}

/* ---- randomized equivalence ---- */

/* xorshift64*: deterministic, and its state lives with the caller. */
struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1Dull;
}

static unsigned rnd_below(struct rng *r, unsigned n)
{
	return (unsigned)(rnd(r) % n);
}

#define NSEEDS 6

/* A few base addresses per family; prefixes and flows cluster around them so that they nest and hit. */
struct world {
	uint8_t v4[NSEEDS][16], v6[NSEEDS][16];
};

static void random_bytes(struct rng *r, uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rnd(r);
}

static void clear_host_bits(uint8_t *a, unsigned len, unsigned bits)
{
	for (unsigned i = len; i < bits; i++)
		a[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
}

static struct prefix random_prefix(struct rng *r, const struct world *w, uint8_t family)
{
	struct prefix p = { .family = family };
	unsigned bits = family == AF_INET ? 32 : 128;

	memcpy(p.addr, family == AF_INET ? w->v4[rnd_below(r, NSEEDS)] : w->v6[rnd_below(r, NSEEDS)], 16);
	/* Mostly mid-length prefixes, sometimes /0 or a host. */
	switch (rnd_below(r, 8)) {
	case 0:
		p.len = 0;
		break;
	case 1:
		p.len = (uint8_t)bits;
		break;
	default:
		p.len = (uint8_t)rnd_below(r, bits + 1);
	}
	clear_host_bits(p.addr, p.len, bits);
	return p;
}

static struct prefix *random_prefix_list(struct rng *r, const struct world *w, size_t *n)
{
	/* A third of the lists are omitted (match all). */
	if (rnd_below(r, 3) == 0) {
		*n = 0;
		return NULL;
	}
	*n = 1 + rnd_below(r, 8);
	struct prefix *p = calloc(*n, sizeof(*p));
	assert_non_null(p);
	/* Some lists are single-family, which must not match the other family. */
	int mode = (int)rnd_below(r, 3);
	for (size_t i = 0; i < *n; i++) {
		uint8_t fam = mode == 0 ? AF_INET : mode == 1 ? AF_INET6 : (rnd_below(r, 2) ? AF_INET : AF_INET6);
		p[i] = random_prefix(r, w, fam);
	}
	return p;
}

/* Ports cluster in 0..99 so that rules and flows meet; a few wide ranges. */
static struct port_range *random_ports(struct rng *r, size_t *n)
{
	if (rnd_below(r, 3) == 0) {
		*n = 0;
		return NULL;
	}
	*n = 1 + rnd_below(r, 4);
	struct port_range *p = calloc(*n, sizeof(*p));
	assert_non_null(p);
	for (size_t i = 0; i < *n; i++) {
		unsigned lo = 1 + rnd_below(r, 99), hi = lo + (rnd_below(r, 2) ? 0 : rnd_below(r, 20));

		if (rnd_below(r, 10) == 0)
			hi = 65535;
		p[i] = (struct port_range){ (uint16_t)lo, (uint16_t)hi };
	}
	return p;
}

static void random_rule(struct rng *r, const struct world *w, struct rule *out)
{
	memset(out, 0, sizeof(*out));
	out->bypass = rnd_below(r, 4) == 0;
	if (out->bypass)
		out->proto = (uint8_t[]){ 0, IPPROTO_TCP, IPPROTO_UDP }[rnd_below(r, 3)];
	else
		out->proto = rnd_below(r, 2) ? IPPROTO_TCP : IPPROTO_UDP;
	out->ports = random_ports(r, &out->nports);
	out->dst = random_prefix_list(r, w, &out->ndst);
	out->src = random_prefix_list(r, w, &out->nsrc);
}

static void random_addr(struct rng *r, const struct world *w, uint8_t family, uint8_t *a)
{
	unsigned bits = family == AF_INET ? 32 : 128;

	memset(a, 0, 16);
	if (rnd_below(r, 8) == 0) {
		random_bytes(r, a, bits / 8);
		return;
	}
	memcpy(a, family == AF_INET ? w->v4[rnd_below(r, NSEEDS)] : w->v6[rnd_below(r, NSEEDS)], 16);
	/* Flip a few bits anywhere, so flows land inside, beside and outside the prefixes. */
	for (unsigned k = rnd_below(r, 3); k > 0; k--) {
		unsigned b = rnd_below(r, bits);
		a[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
	}
}

static struct flow_tuple random_flow(struct rng *r, const struct world *w)
{
	struct flow_tuple t = { 0 };

	t.family = rnd_below(r, 2) ? AF_INET : AF_INET6;
	t.proto = rnd_below(r, 20) == 0 ? IPPROTO_ICMP : rnd_below(r, 2) ? IPPROTO_TCP : IPPROTO_UDP;
	random_addr(r, w, t.family, t.src);
	random_addr(r, w, t.family, t.dst);
	t.sport = (uint16_t)rnd(r);
	t.dport = rnd_below(r, 10) == 0 ? (uint16_t)rnd(r) : (uint16_t)rnd_below(r, 110);
	return t;
}

static void free_rules(struct rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rules[i].ports);
		free(rules[i].dst);
		free(rules[i].src);
	}
	free(rules);
}

static void test_random_equivalence(void **state)
{
	struct rng r = { 0x5eed5eed12345678ull };
	size_t verdicts[3] = { 0 };

	(void)state;
	for (int set = 0; set < 50; set++) {
		struct world w;
		/* Every tenth set is full, to exercise the second mask word. */
		size_t n = set % 10 == 9 ? STEER_MAX_RULES : 1 + rnd_below(&r, 40);
		struct rule *rules = calloc(n, sizeof(*rules));
		struct compiled_rules c;
		const char *err;

		for (int i = 0; i < NSEEDS; i++) {
			memset(w.v4[i], 0, 16);
			random_bytes(&r, w.v4[i], 4);
			random_bytes(&r, w.v6[i], 16);
		}
		assert_non_null(rules);
		for (size_t i = 0; i < n; i++)
			random_rule(&r, &w, &rules[i]);
		assert_int_equal(rules_compile(rules, n, &c, &err), 0);
		for (int f = 0; f < 2000; f++) {
			struct flow_tuple t = random_flow(&r, &w);
			enum rule_verdict want = rules_match(rules, n, &t);
			enum rule_verdict got = rules_compiled_match(&c, &t);

			if (want != got)
				print_error("set %d flow %d: reference %d, compiled %d\n", set, f, want, got);
			assert_int_equal(got, want);
			verdicts[want]++;
		}
		rules_compiled_free(&c);
		free_rules(rules, n);
	}
	/* The test means something only if every outcome occurred often. */
	print_message("verdicts: none %zu, steer %zu, bypass %zu\n", verdicts[0], verdicts[1], verdicts[2]);
	for (int v = 0; v < 3; v++)
		assert_true(verdicts[v] > 5000);
}

/* A random prefix anywhere (not near the seeds): large lists stay mostly distinct. */
static struct prefix scattered_prefix(struct rng *r, uint8_t family)
{
	struct prefix p = { .family = family };
	unsigned bits = family == AF_INET ? 32 : 128;

	random_bytes(r, p.addr, bits / 8);
	p.len = (uint8_t)(family == AF_INET ? 8 + rnd_below(r, 25) : 16 + rnd_below(r, 49));
	clear_host_bits(p.addr, p.len, bits);
	return p;
}

/* An address inside p (random host bits), so lookups land on deep entries. */
static void addr_in(struct rng *r, const struct prefix *p, uint8_t *a)
{
	unsigned bits = p->family == AF_INET ? 32 : 128;

	memset(a, 0, 16);
	random_bytes(r, a, bits / 8);
	for (unsigned i = 0; i < p->len; i++) {
		uint8_t m = (uint8_t)(0x80 >> (i % 8));
		a[i / 8] = (uint8_t)((a[i / 8] & ~m) | (p->addr[i / 8] & m));
	}
}

/* 100k prefixes: the sort-and-stack compile is fast and still exact. */
static void test_compile_large(void **state)
{
	const size_t n = 100000;
	struct rng r = { 0xfeedbeefcafe1234ull };
	struct rule rules[3];
	struct compiled_rules c;
	struct timespec t0, t1;
	size_t verdicts[3] = { 0 };
	const char *err;

	(void)state;
	memset(rules, 0, sizeof(rules));
	for (int k = 0; k < 3; k++) {
		rules[k].bypass = k == 2;
		rules[k].proto = k == 1 ? IPPROTO_UDP : IPPROTO_TCP;
		rules[k].ndst = k == 2 ? n / 10 : n;
		rules[k].dst = calloc(rules[k].ndst, sizeof(struct prefix));
		assert_non_null(rules[k].dst);
		for (size_t i = 0; i < rules[k].ndst; i++) {
			/* Every fourth prefix nests inside (or equals) one already listed by rule 0. */
			if (k > 0 && i % 4 == 0) {
				struct prefix p = rules[0].dst[rnd_below(&r, (unsigned)n)];
				unsigned bits = p.family == AF_INET ? 32 : 128;

				addr_in(&r, &p, p.addr);
				p.len = (uint8_t)(p.len + rnd_below(&r, bits - p.len + 1));
				clear_host_bits(p.addr, p.len, bits);
				rules[k].dst[i] = p;
			} else {
				rules[k].dst[i] = scattered_prefix(&r, i % 2 ? AF_INET : AF_INET6);
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(rules_compile(rules, 3, &c, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("compiled %zu prefixes into %zu+%zu LPM entries in %.3f s\n", 2 * n + n / 10, c.ndst4,
		      c.ndst6, secs);
	assert_true(c.ndst4 + c.ndst6 > n);
	/* Generous (valgrind): a quadratic compile would take minutes. */
	assert_true(secs < 30);
	for (int f = 0; f < 200; f++) {
		const struct rule *src = &rules[rnd_below(&r, 3)];
		const struct prefix *p = &src->dst[rnd_below(&r, (unsigned)src->ndst)];
		struct flow_tuple t = { .family = p->family, .proto = rnd_below(&r, 2) ? IPPROTO_TCP : IPPROTO_UDP,
					.dport = 443 };

		addr_in(&r, p, t.dst);
		if (f % 10 == 0)
			random_bytes(&r, t.dst, p->family == AF_INET ? 4 : 16);
		enum rule_verdict want = rules_match(rules, 3, &t);
		assert_int_equal(rules_compiled_match(&c, &t), want);
		verdicts[want]++;
	}
	assert_true(verdicts[VERDICT_STEER] > 20 && verdicts[VERDICT_BYPASS] > 20);
	rules_compiled_free(&c);
	for (int k = 0; k < 3; k++)
		free(rules[k].dst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_fields),
		cmocka_unit_test(test_match_families),
		cmocka_unit_test(test_bypass_wins),
		cmocka_unit_test(test_match_no_rules),
		cmocka_unit_test(test_compile_ports),
		cmocka_unit_test(test_compile_lpm_containment),
		cmocka_unit_test(test_compile_bit_layout),
		cmocka_unit_test(test_compile_too_many_rules),
		cmocka_unit_test(test_compile_bad_proto),
		cmocka_unit_test(test_compile_host_bits),
		cmocka_unit_test(test_random_equivalence),
		cmocka_unit_test(test_compile_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
