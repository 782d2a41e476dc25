/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The config's rules compiled into the map entries the classifier looks up
 * (see steer_abi.h), and an evaluator of that compiled form.
 */
#ifndef STEER_BPF_RULES_COMPILE_H
#define STEER_BPF_RULES_COMPILE_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/steer_abi.h"
#include "steer/rules.h"

struct lpm_entry {
	uint8_t len; /* prefix length in bits (without the generation byte) */
	uint8_t addr[16];
	struct steer_mask mask; /* rules this prefix (and every covering one) matches */
};

struct port_entry {
	uint8_t proto_idx; /* enum steer_proto_idx */
	uint16_t port;
	struct steer_mask mask;
};

/*
 * What the classifier's maps hold for one generation. Port entries are
 * listed only where the mask is non-zero (absent = no rule). The LPM lists
 * follow the containment rule: an entry's mask includes the rules of every
 * shorter prefix that contains it, so a longest-prefix lookup returns all
 * rules whose prefix list contains the address. Omitted src/dst fields are
 * the /0 entry of both families.
 */
struct compiled_rules {
	struct steer_ruleset ruleset;
	struct port_entry *ports;
	size_t nports;
	struct lpm_entry *dst4, *src4, *dst6, *src6;
	size_t ndst4, nsrc4, ndst6, nsrc6;
};

/* Returns 0, or -1 with *err set (too many rules, out of memory). */
int rules_compile(const struct rule *rules, size_t nrules, struct compiled_rules *out, const char **err);
void rules_compiled_free(struct compiled_rules *c);

/*
 * Evaluate a flow against the compiled form exactly as the classifier does
 * (longest-prefix lookups, mask intersection, bypass wins). Used by the
 * tests to prove the compilation equals rules_match.
 */
enum rule_verdict rules_compiled_match(const struct compiled_rules *c, const struct flow_tuple *t);

#endif
