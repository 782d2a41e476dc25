// SPDX-License-Identifier: GPL-2.0-only
/*
 * The config parser and the command-line flags: the input is a config file,
 * optionally followed by a line "--" and flag lines "KEY VALUE" (what
 * `steer run --KEY VALUE` applies). No input may crash, leak or hang the
 * parser. When it accepts, the rules compiled for the classifier
 * (rules_compile) must give the reference matcher's verdict (rules_match)
 * on packets derived from the rules' own prefixes and ports: at each edge,
 * just inside and just outside.
 * Inputs naming other files (include, @PATH set files) are skipped: the
 * fuzzer would read the machine's files (and /dev/zero never ends).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "bpf/rules_compile.h"
#include "steer/config.h"
#include "steer/rules.h"
#include "tests/fuzz/fuzz.h"

static FILE *devnull;

static void check(const struct steer_config *cfg, const struct compiled_rules *c, const struct flow_tuple *t)
{
	enum rule_verdict want = rules_match(cfg->rules, cfg->nrules, t), got = rules_compiled_match(c, t);

	if (want != got) {
		char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

		inet_ntop(t->family, t->src, s, sizeof(s));
		inet_ntop(t->family, t->dst, d, sizeof(d));
		fprintf(stderr, "proto %u %s:%u -> %s:%u: rules_match %d, compiled %d\n", t->proto, s, t->sport, d,
			t->dport, want, got);
		abort();
	}
}

/* addr with the host bits after len set to all ones (edge) or the bit after len flipped (just outside). */
static void edge(const struct prefix *p, int how, uint8_t *out)
{
	size_t bytes = p->family == AF_INET ? 4 : 16;

	memset(out, 0, 16);
	memcpy(out, p->addr, bytes);
	if (how == 1)
		for (size_t b = p->len; b < bytes * 8; b++)
			out[b / 8] |= (uint8_t)(0x80 >> b % 8);
	if (how == 2 && p->len > 0)
		out[(p->len - 1) / 8] ^= (uint8_t)(0x80 >> (p->len - 1) % 8);
}

static void packets_of(const struct steer_config *cfg, const struct compiled_rules *c, const struct rule *r)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	uint16_t ports[6] = { 1, 80, 65535, 443, 53, 8080 };
	size_t np = 3;

	if (r->nports) {
		const struct port_range *pr = &r->ports[r->nports - 1];

		ports[0] = pr->lo, ports[1] = pr->hi;
		ports[2] = pr->lo > 1 ? pr->lo - 1 : pr->lo;
		ports[3] = pr->hi < 65535 ? pr->hi + 1 : pr->hi;
		np = 4;
	}
	for (int fam = 0; fam < 2; fam++) {
		int family = fam ? AF_INET6 : AF_INET;
		struct prefix any = { .family = (uint8_t)family };
		const struct prefix *dst = &any, *src = &any;

		for (size_t i = 0; i < r->ndst; i++)
			if (r->dst[i].family == family)
				dst = &r->dst[i];
		for (size_t i = 0; i < r->nsrc; i++)
			if (r->src[i].family == family)
				src = &r->src[i];
		for (int hd = 0; hd < 3; hd++)
			for (int hs = 0; hs < 3; hs += 2)
				for (size_t pi = 0; pi < np; pi++)
					for (size_t k = 0; k < 2; k++) {
						struct flow_tuple t = { .family = (uint8_t)family, .proto = protos[k] };

						edge(dst, hd, t.dst);
						edge(src, hs, t.src);
						t.sport = 40000;
						t.dport = ports[pi];
						check(cfg, c, &t);
					}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size), *flags;
	struct steer_config cfg;
	struct compiled_rules c;
	const char *err;
	int errors;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	if (strstr(text, "include") || strchr(text, '@')) {
		free(text);
		return 0;
	}
	flags = strstr(text, "\n--\n");
	if (flags) {
		*flags = '\0';
		flags += 4;
	}
	config_init(&cfg);
	errors = config_parse_string(&cfg, "fuzz.conf", text, devnull);
	for (char *line = flags, *next; line && *line; line = next) {
		char *sp;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		sp = strchr(line, ' ');
		if (sp)
			*sp++ = '\0';
		errors += config_apply_flag(&cfg, line, sp ? sp : "", devnull);
	}
	if (!errors)
		config_validate(&cfg, devnull); /* a config without interface still has rules to compare */
	if (!errors && rules_compile(cfg.rules, cfg.nrules, &c, &err) == 0) {
		for (size_t i = 0; i < cfg.nrules && i < 16; i++)
			packets_of(&cfg, &c, &cfg.rules[i]);
		rules_compiled_free(&c);
	}
	config_free(&cfg);
	free(text);
	return 0;
}
