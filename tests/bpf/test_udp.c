// SPDX-License-Identifier: GPL-2.0-only
/* Classifier, UDP: the return path (connected sockets only) and the flow idle timeout. */
#include <unistd.h>

#include "tests/lib/classifier_harness.h"

static void return_connected_v4(void)
{
	struct inst in = ct_ready("install rules A");
	int u = ct_udp_connected("127.0.0.1", 6000, 6001);
	int v = ct_sock(SOCK_DGRAM, "127.0.0.1", 6002, false);
	struct spec s = ct_udp(4, "127.0.0.1", "127.0.0.1", 6001, 6000);

	ct_expect_spec(&in, true, "return: udp reply to a connected socket assigned", &s, X_RET);
	s.dport = 6002;
	ct_expect_spec(&in, true, "return: udp to an unconnected socket passed", &s, STEER_C_RETURN_PASSED);
	s.dport = 6003;
	ct_expect_spec(&in, true, "return: udp to no socket passed", &s, STEER_C_RETURN_PASSED);
	/* client side: an unconnected local udp socket is never 'established' */
	s.dport = 6002;
	ct_expect_spec(&in, false, "udp to a local unconnected socket: rules decide", &s, STEER_C_NOT_MATCHED);
	close(u);
	close(v);
	ct_destroy(&in);
}

static void return_connected_v6(void)
{
	struct inst in = ct_ready("install rules A");
	int u = ct_udp_connected("::1", 6000, 6001);
	struct spec s = ct_udp(6, "::1", "::1", 6001, 6000);

	ct_expect_spec(&in, true, "return: v6 udp reply to a connected socket assigned", &s, X_RET);
	close(u);
	ct_destroy(&in);
}

/* UDP first-datagram reporting with a 1 ms idle timeout. */
static void idle_timeout(void)
{
	struct bpf_settings st = { .mark = MARK, .proxy_port = PROXY_PORT, .udp_idle_timeout_ms = 1 };
	struct inst ui = ct_load_settings(st, true);
	struct spec s = ct_udp(4, "1.2.3.4", "8.8.8.8", 5700, 53);

	ct_install_rules_a(&ui, "udp idle 1 ms: install rules");
	steer_bpf_set_mode(ui.b, STEER_MODE_PROBE, 0);
	ct_expect_ev(&ui, false, "udp idle 1 ms: first datagram reported", &s, STEER_C_PROBED, 1);
	usleep(5000);
	ct_expect_ev(&ui, false, "udp idle 1 ms: after 5 ms idle reported again", &s, STEER_C_PROBED, 1);
	usleep(5000);
	s = ct_udp(6, "2001:db8:1::1", "2001:4860::8888", 5700, 53);
	ct_expect_ev(&ui, false, "udp idle 1 ms: v6 first datagram reported", &s, STEER_C_PROBED, 1);
	usleep(5000);
	ct_expect_ev(&ui, false, "udp idle 1 ms: v6 after 5 ms reported again", &s, STEER_C_PROBED, 1);
	ct_destroy(&ui);
}

CT_CASES({ "return_connected_v4", return_connected_v4 }, { "return_connected_v6", return_connected_v6 },
	 { "idle_timeout", idle_timeout })
