/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The rule model: what the config's steer/bypass rules say should happen to
 * a flow, decided straight from the rules. The classifier compiles the same
 * rules into its maps (bpf/rules_compile.h) and is tested against this.
 */
#ifndef STEER_RULES_H
#define STEER_RULES_H

#include <stddef.h>

#include "steer/config.h"
#include "steer/flow.h"

enum rule_verdict { VERDICT_NONE = 0, VERDICT_STEER, VERDICT_BYPASS };

/* Reference matcher: straight from the rules, no compilation. */
enum rule_verdict rules_match(const struct rule *rules, size_t nrules, const struct flow_tuple *t);

#endif
