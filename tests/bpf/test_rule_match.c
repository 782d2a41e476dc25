// SPDX-License-Identifier: GPL-2.0-only
/* Classifier rules: each field of rules A on IPv4 and IPv6, TCP flow starts, rule generations. */
#include <netinet/in.h>

#include "tests/lib/classifier_harness.h"

/* Each field of rules A, on IPv4 and IPv6. */
static void fields(void)
{
	struct inst in = ct_ready("install rules A");
	const int NOT = STEER_C_NOT_MATCHED;
	const struct ct_match m[] = {
		{ "v4 syn matches rule 0 (port 80)", ct_syn4("192.168.1.2", "10.1.2.3", 80), X_STEER },
		{ "v4 syn port range low end", ct_syn4("192.168.1.2", "10.1.2.3", 8000), X_STEER },
		{ "v4 syn port range high end", ct_syn4("192.168.1.2", "10.1.2.3", 8999), X_STEER },
		{ "v4 syn port above range", ct_syn4("192.168.1.2", "10.1.2.3", 9000), NOT },
		{ "v4 syn port below range", ct_syn4("192.168.1.2", "10.1.2.3", 7999), NOT },
		{ "v4 syn other single port", ct_syn4("192.168.1.2", "10.1.2.3", 81), NOT },
		{ "v4 syn dst outside prefix", ct_syn4("192.168.1.2", "11.0.0.1", 80), NOT },
		{ "v4 syn src outside prefix", ct_syn4("192.169.0.1", "10.1.2.3", 80), NOT },
		{ "v4 tcp to the udp rule's port", ct_syn4("192.168.1.2", "10.1.2.3", 53), NOT },
		{ "v4 udp to the tcp rule's port", ct_udp(4, "192.168.1.2", "10.1.2.3", 5555, 80), NOT },
		{ "v4 udp dport 53 (any src/dst)", ct_udp(4, "1.2.3.4", "8.8.8.8", 5555, 53), X_STEER },
		{ "v4 bypass wins over steer", ct_syn4("192.168.1.2", "10.0.2.5", 80), STEER_C_BYPASSED },
		{ "v4 bypass (any proto) wins for udp", ct_udp(4, "1.2.3.4", "10.0.2.5", 5555, 53), STEER_C_BYPASSED },
		{ "v4 next to the bypass /32 still steered", ct_syn4("192.168.1.2", "10.0.2.6", 80), X_STEER },
		{ "v4 rule 4 (src only) matches", ct_syn4("172.16.5.5", "203.0.113.9", 443), X_STEER },
		{ "v4 rule 4 src outside", ct_syn4("172.32.0.1", "203.0.113.9", 443), NOT },
		{ "v6 syn matches rule 0", ct_syn6("fd00::2", "2001:db8::10", 80), X_STEER },
		{ "v6 syn port range", ct_syn6("fd00::2", "2001:db8::10", 8500), X_STEER },
		{ "v6 syn port outside", ct_syn6("fd00::2", "2001:db8::10", 9000), NOT },
		{ "v6 syn dst outside prefix", ct_syn6("fd00::2", "2001:db9::10", 80), NOT },
		{ "v6 syn src outside prefix", ct_syn6("fc00::2", "2001:db8::10", 80), NOT },
		{ "v6 bypass wins", ct_syn6("fd00::2", "2001:db8::5", 80), STEER_C_BYPASSED },
		{ "v6 udp to the tcp port", ct_udp(6, "fd00::2", "2001:db8::10", 5555, 80), NOT },
		{ "v6 udp dport 53", ct_udp(6, "2001:db8:1::1", "2001:4860::8888", 5555, 53), X_STEER },
		{ "v6 never matches a v4-only src rule", ct_syn6("fd00::2", "2001:db8::10", 443), NOT },
	};

	CT_EXPECT_ALL(&in, m);
	ct_destroy(&in);
}

static void tcp_flow_starts_only(void)
{
	struct inst in = ct_ready("install rules A");
	const struct ct_match m[] = {
		{ "v4 ack without socket not steered", ct_tcp(4, "192.168.1.2", "10.1.2.3", 80, F_ACK),
		  STEER_C_NOT_MATCHED },
		{ "v4 syn+ack not steered", ct_tcp(4, "192.168.1.2", "10.1.2.3", 80, F_SYN | F_ACK),
		  STEER_C_NOT_MATCHED },
	};

	CT_EXPECT_ALL(&in, m);
	ct_destroy(&in);
}

/* Each install fills the idle generation and flips to it: nothing of the previous rules stays. */
static void generations(void)
{
	struct inst in = ct_ready("install rules A");
	struct spec s80 = ct_syn4("192.168.1.2", "10.1.2.3", 80), s81 = ct_syn4("192.168.1.2", "10.1.2.3", 81);
	struct spec v6 = ct_syn6("fd00::2", "2001:db8::10", 80);

	ct_check("install rules B", ct_install(&in, ct_rules_b(), CT_RULES_B_N) == 0, "failed");
	ct_expect_spec(&in, false, "rules B: port 80 no longer matched", &s80, STEER_C_NOT_MATCHED);
	ct_expect_spec(&in, false, "rules B: v6 prefix entries cleared", &v6, STEER_C_NOT_MATCHED);
	ct_expect_spec(&in, false, "rules B: port 81 steered", &s81, X_STEER);
	ct_install_rules_a(&in, "install rules A again");
	ct_expect_spec(&in, false, "rules A again: port 80 steered", &s80, X_STEER);
	ct_expect_spec(&in, false, "rules A again: port 81 cleared", &s81, STEER_C_NOT_MATCHED);
	ct_install_rules_a(&in, "install rules A a third time");
	ct_expect_spec(&in, false, "rules A (gen flipped twice): port 80 steered", &s80, X_STEER);
	ct_expect_spec(&in, false, "rules A (gen flipped twice): port 81 not matched", &s81, STEER_C_NOT_MATCHED);
	ct_check("install no rules", ct_install(&in, NULL, 0) == 0, "failed");
	ct_expect_spec(&in, false, "no rules: nothing matched", &s80, STEER_C_NOT_MATCHED);
	ct_install_rules_a(&in, "install rules A back");
	ct_expect_spec(&in, false, "rules A back: port 80 steered", &s80, X_STEER);
	ct_destroy(&in);
}

CT_CASES({ "fields", fields }, { "tcp_flow_starts_only", tcp_flow_starts_only }, { "generations", generations })
