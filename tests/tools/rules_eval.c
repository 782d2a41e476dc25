/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The reference matcher as a command, for the network tests: reads a
 * config and flows ("tcp|udp SRC SPORT DST DPORT" per line on stdin) and
 * prints steer, bypass or none for each, straight from rules_match().
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "steer/config.h"
#include "steer/rules.h"

static int parse_addr(const char *s, struct flow_tuple *t, uint8_t *out)
{
	if (inet_pton(AF_INET, s, out) == 1) {
		t->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		t->family = AF_INET6;
		return 0;
	}
	return -1;
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "none", "steer", "bypass" };
	struct steer_config cfg;
	char line[256], proto[8], src[64], dst[64];
	unsigned sport, dport;
	int n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: rules_eval CONFIG < flows\n");
		return 2;
	}
	config_init(&cfg);
	if (config_parse_file(&cfg, argv[1], stderr))
		return 1;
	while (fgets(line, sizeof(line), stdin)) {
		struct flow_tuple t = { 0 };

		n++;
		if (sscanf(line, "%7s %63s %u %63s %u", proto, src, &sport, dst, &dport) != 5 ||
		    parse_addr(src, &t, t.src) < 0 || parse_addr(dst, &t, t.dst) < 0) {
			fprintf(stderr, "rules_eval: line %d: bad flow\n", n);
			return 1;
		}
		t.proto = strcmp(proto, "udp") ? IPPROTO_TCP : IPPROTO_UDP;
		t.sport = (uint16_t)sport;
		t.dport = (uint16_t)dport;
		puts(names[rules_match(cfg.rules, cfg.nrules, &t)]);
	}
	config_free(&cfg);
	return 0;
}
