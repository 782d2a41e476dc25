// SPDX-License-Identifier: GPL-2.0-only
/* Classifier, external proxy: the listener is found by socket lookup on the proxy port. */
#include <netinet/in.h>
#include <unistd.h>

#include "tests/lib/classifier_lookup.h"

static struct inst ext_ready(const char *name)
{
	struct inst ex = ct_load(false, true);

	ct_install_rules_a(&ex, name);
	return ex;
}

static void listener_by_lookup(void)
{
	struct inst ext = ext_ready("external: install rules");
	struct spec s = ct_syn4("192.168.1.2", "10.1.2.3", 80);
	int t4, t6, u4;

	ct_expect_spec(&ext, false, "external: no listener on the proxy port", &s, STEER_C_NO_LISTENER_PASS);
	t4 = ct_sock(SOCK_STREAM, "127.0.0.1", PROXY_PORT, true);
	t6 = ct_sock(SOCK_STREAM, "::1", PROXY_PORT, true);
	u4 = ct_sock(SOCK_DGRAM, "127.0.0.1", PROXY_PORT, true);
	ct_expect_spec(&ext, false, "external: v4 tcp listener on 127.0.0.1 found", &s, X_STEER);
	s = ct_syn6("fd00::2", "2001:db8::10", 80);
	ct_expect_spec(&ext, false, "external: v6 tcp listener on ::1 found", &s, X_STEER);
	s = ct_udp(4, "1.2.3.4", "8.8.8.8", 5555, 53);
	ct_expect_spec(&ext, false, "external: v4 udp socket found", &s, X_STEER);
	s = ct_udp(6, "2001:db8:1::1", "2001:4860::8888", 5555, 53);
	ct_expect_spec(&ext, false, "external: v6 udp socket missing", &s, STEER_C_NO_LISTENER_PASS);
	close(t4);
	close(t6);
	close(u4);
	ct_destroy(&ext);
}

static void wildcard_listeners(void)
{
	struct inst ext = ext_ready("external: install rules");
	int w4 = ct_sock(SOCK_STREAM, "0.0.0.0", PROXY_PORT, true);
	int w6 = ct_sock(SOCK_STREAM, "::", PROXY_PORT, true);
	struct spec s = ct_syn4("192.168.1.2", "10.1.2.3", 80);

	ct_expect_spec(&ext, false, "external: wildcard-bound v4 listener found", &s, X_STEER);
	s = ct_syn6("fd00::2", "2001:db8::10", 80);
	ct_expect_spec(&ext, false, "external: wildcard-bound v6 listener found", &s, X_STEER);
	close(w4);
	close(w6);
	ct_destroy(&ext);
}

static void other_port_ignored(void)
{
	struct inst ext = ext_ready("external: install rules");
	int t4 = ct_sock(SOCK_STREAM, "127.0.0.1", PROXY_PORT + 1, true);
	struct spec s = ct_syn4("192.168.1.2", "10.1.2.3", 80);

	ct_expect_spec(&ext, false, "external: listener on another port ignored", &s, STEER_C_NO_LISTENER_PASS);
	close(t4);
	ct_destroy(&ext);
}

/* The listener found by lookup goes into steer_ext_listen for steer_lookup. */
static void redirect(void)
{
	struct inst ex = ext_ready("external redirect: install rules");
	int t4 = ct_sock(SOCK_STREAM, "127.0.0.1", PROXY_PORT, true);
	int u6 = ct_sock(SOCK_DGRAM, "::1", PROXY_PORT, true);
	struct spec s = ct_tcp_flow(4, "127.0.0.1", 9040, "127.0.0.1", 7777, F_SYN);

	ct_time_wait(9040);
	ct_expect_spec(&ex, false, "external: tw syn marked, recorded", &s, X_MARK + STEER_C_TIME_WAIT_SYN);
	ct_expect_lookup(&ex, "external: steer_lookup selects the external tcp listener", 4, IPPROTO_TCP,
			 "127.0.0.1", 9040, "127.0.0.1", 7777, t4, STEER_C_TW_REDIRECTED);
	s = ct_udp(6, "2001:db8:1::1", "2001:4860::8888", 5555, 53);
	s.ext = EXT_FRAG;
	s.frag = 0x0001;
	ct_expect_frag(&ex, false, "external: v6 first fragment marked", s, 0x01020304, 1480,
		       X_MARK + STEER_C_FRAGMENT_STEERED);
	ct_expect_lookup(&ex, "external: steer_lookup selects the external udp socket", 6, IPPROTO_UDP,
			 "2001:db8:1::1", 5555, "2001:4860::8888", 53, u6, STEER_C_FRAG_REDIRECTED);
	close(t4);
	ct_expect_lookup(&ex, "external: closing the tcp listener leaves the udp one in place", 6, IPPROTO_UDP,
			 "2001:db8:1::1", 5555, "2001:4860::8888", 53, u6, STEER_C_FRAG_REDIRECTED);
	close(u6);
	usleep(50 * 1000);
	ct_expect_lookup(&ex, "external: closed udp socket: lookup_failed", 6, IPPROTO_UDP, "2001:db8:1::1", 5555,
			 "2001:4860::8888", 53, -1, STEER_C_LOOKUP_FAILED);
	ct_destroy(&ex);
}

CT_CASES({ "listener_by_lookup", listener_by_lookup }, { "wildcard_listeners", wildcard_listeners },
	 { "other_port_ignored", other_port_ignored }, { "redirect", redirect })
