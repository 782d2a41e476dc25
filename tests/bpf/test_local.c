// SPDX-License-Identifier: GPL-2.0-only
/* Classifier: the gateway's own addresses, broadcast and multicast are never steered. */
#include <arpa/inet.h>

#include "tests/lib/classifier_harness.h"

static void local_addresses(void)
{
	struct inst in = ct_ready("install rules A");
	uint8_t a4[4], a6[16];
	struct spec s;

	inet_pton(AF_INET, "10.1.2.3", a4);
	inet_pton(AF_INET6, "2001:db8::10", a6);
	ct_check("add local v4", steer_bpf_local_addr(in.b, 4, a4, true) == 0, "failed");
	ct_check("add local v6", steer_bpf_local_addr(in.b, 6, a6, true) == 0, "failed");
	s = ct_syn4("192.168.1.2", "10.1.2.3", 80);
	ct_expect_spec(&in, false, "v4 local destination", &s, STEER_C_LOCAL_DST);
	s = ct_udp(4, "1.2.3.4", "10.1.2.3", 5555, 53);
	ct_expect_spec(&in, false, "v4 udp to local destination", &s, STEER_C_LOCAL_DST);
	s = ct_syn6("fd00::2", "2001:db8::10", 80);
	ct_expect_spec(&in, false, "v6 local destination", &s, STEER_C_LOCAL_DST);
	s = ct_syn4("192.168.1.2", "10.1.2.4", 80);
	ct_expect_spec(&in, false, "v4 neighbour of a local address steered", &s, X_STEER);
	ct_check("remove local v4", steer_bpf_local_addr(in.b, 4, a4, false) == 0, "failed");
	ct_check("remove local v6", steer_bpf_local_addr(in.b, 6, a6, false) == 0, "failed");
	s = ct_syn4("192.168.1.2", "10.1.2.3", 80);
	ct_expect_spec(&in, false, "v4 after removing the local address steered", &s, X_STEER);
	ct_destroy(&in);
}

/* Broadcast and multicast are delivered locally: a catch-all UDP rule must not take them. */
static void broadcast_multicast(void)
{
	struct inst in = ct_ready("install rules A");
	const struct ct_match m[] = {
		{ "v4 limited broadcast never steered", ct_udp(4, "192.168.1.2", "255.255.255.255", 68, 53),
		  STEER_C_LOCAL_DST },
		{ "v4 multicast never steered", ct_udp(4, "192.168.1.2", "224.0.0.251", 5353, 53), STEER_C_LOCAL_DST },
		{ "v4 multicast (SSDP range) never steered", ct_udp(4, "192.168.1.2", "239.255.255.250", 1900, 53),
		  STEER_C_LOCAL_DST },
		{ "v6 multicast never steered", ct_udp(6, "fd00::2", "ff02::fb", 5353, 53), STEER_C_LOCAL_DST },
		{ "v6 unicast next to the multicast range steered", ct_udp(6, "fd00::2", "fe02::fb", 5353, 53),
		  X_STEER },
	};

	CT_EXPECT_ALL(&in, m);
	ct_destroy(&in);
}

CT_CASES({ "local_addresses", local_addresses }, { "broadcast_multicast", broadcast_multicast })
