// SPDX-License-Identifier: GPL-2.0-only
/*
 * route.c and preflight.c against a real kernel, inside a private network
 * namespace (needs root). `ip` is run here only to observe and to prepare
 * the namespace; the code under test talks rtnetlink itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>

#include <cmocka.h>

#include "steer/config.h"
#include "steer/preflight.h"
#include "steer/route.h"
#include "tests/lib/netns.h"

#define MARK 0x1000000u
#define TABLE 100u
#define TEST_IF "steertest0"

/* ---------------------------------------------------------------- helpers */

static char *run_cmd(const char *cmd)
{
	int status;
	char *out = cmd_output(cmd, &status);

	assert_non_null(out);
	assert_int_equal(status, 0);
	return out;
}

static void sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static char *snapshot(void)
{
	return run_cmd("ip -4 rule show; echo ==; ip -6 rule show; echo ==; "
		       "ip -4 route show table all; echo ==; ip -6 route show table all");
}

static void assert_snapshot_equal(const char *before, const char *after)
{
	if (strcmp(before, after) != 0)
		fail_msg("kernel state changed.\n--- before:\n%s\n--- after:\n%s", before, after);
}

/* Count the lines of text that start with prefix. */
static int count_lines(const char *text, const char *prefix)
{
	int n = 0;
	size_t pl = strlen(prefix);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, prefix, pl) == 0)
			n++;
	return n;
}

static void assert_has_line(const char *text, const char *prefix, int want)
{
	int got = count_lines(text, prefix);

	if (got != want)
		fail_msg("expected %d line(s) starting with \"%s\", got %d in:\n%s", want, prefix,
			 got, text);
}

/* Redirect stderr into a temporary file while code under test runs. */
static void stderr_capture_begin(void)
{
	assert_int_equal(capture_stderr_begin(), 0);
}

/* Returns what was written to stderr (malloc'd). */
static char *stderr_capture_end(void)
{
	char *s = capture_stderr_end();

	assert_non_null(s);
	return s;
}

static void write_sysctl(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");

	if (!f)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	fputs(val, f);
	assert_int_equal(fclose(f), 0);
}

static void expected_rule_lines(char *buf, size_t len, uint32_t mark, uint32_t table)
{
	snprintf(buf, len, "%u:\tfrom all fwmark 0x%x/0x%x lookup %u", STEER_RULE_PRIORITY, mark,
		 mark, table);
}

/* Both rules and both routes of (mark, table) are present exactly once. */
static void assert_installed(uint32_t mark, uint32_t table)
{
	char rule[128], route[128], cmd[128];
	char *r4 = run_cmd("ip rule show");
	char *r6 = run_cmd("ip -6 rule show");
	char *t4, *t6;

	expected_rule_lines(rule, sizeof(rule), mark, table);
	assert_has_line(r4, rule, 1);
	assert_has_line(r6, rule, 1);
	free(r4);
	free(r6);

	snprintf(cmd, sizeof(cmd), "ip route show table %u", table);
	t4 = run_cmd(cmd);
	snprintf(cmd, sizeof(cmd), "ip -6 route show table %u", table);
	t6 = run_cmd(cmd);
	assert_has_line(t4, "local default dev lo scope host", 1);
	assert_has_line(t6, "local default dev lo metric 1024", 1);
	free(t4);
	free(t6);

	t4 = run_cmd("ip -4 route show table all");
	t6 = run_cmd("ip -6 route show table all");
	snprintf(route, sizeof(route), "local default dev lo table %u ", table);
	assert_has_line(t4, route, 1);
	assert_has_line(t6, route, 1);
	free(t4);
	free(t6);
}

/* ------------------------------------------------------------- route tests */

static void test_install_remove(void **state)
{
	char *before = snapshot(), *installed, *after, *err;

	assert_int_equal(route_install(MARK, TABLE), 0);
	assert_installed(MARK, TABLE);
	installed = snapshot();

	/* A second install fails, says why, and leaves the first one intact. */
	stderr_capture_begin();
	assert_int_equal(route_install(MARK, TABLE), -EEXIST);
	err = stderr_capture_end();
	assert_non_null(strstr(err, "steer: ip rule fwmark 0x1000000/0x1000000 lookup 100 pref 9050 "
				    "already exists (another steer running? run `steer cleanup`)\n"));
	assert_int_equal(count_lines(err, "steer: "), 1);
	free(err);
	after = snapshot();
	assert_snapshot_equal(installed, after);
	free(after);

	assert_int_equal(route_remove(MARK, TABLE), 0);
	after = snapshot();
	assert_snapshot_equal(before, after);
	free(after);

	/* Removing again is fine: nothing left is not an error. */
	stderr_capture_begin();
	assert_int_equal(route_remove(MARK, TABLE), 0);
	err = stderr_capture_end();
	assert_string_equal(err, "");
	free(err);

	free(installed);
	free(before);
}

static void test_install_cleanup(void **state)
{
	char *before = snapshot(), *after;

	assert_int_equal(route_install(MARK, TABLE), 0);
	assert_installed(MARK, TABLE);
	assert_int_equal(route_cleanup_stale(), 4);
	after = snapshot();
	assert_snapshot_equal(before, after);
	free(after);
	assert_int_equal(route_cleanup_stale(), 0);
	free(before);
}

static void test_big_table(void **state)
{
	char *before = snapshot(), *after;

	assert_int_equal(route_install(0x2, 1000), 0);
	assert_installed(0x2, 1000);
	assert_int_equal(route_remove(0x2, 1000), 0);
	after = snapshot();
	assert_snapshot_equal(before, after);
	free(after);

	assert_int_equal(route_install(0x80000000u, 70000), 0);
	assert_installed(0x80000000u, 70000);
	assert_int_equal(route_cleanup_stale(), 4);
	after = snapshot();
	assert_snapshot_equal(before, after);
	free(after);
	free(before);
}

/* Cleanup leaves rules that are not steer's alone. */
static void test_cleanup_leaves_others(void **state)
{
	char *before, *after;

	sh("ip rule add fwmark 0x5 lookup 200 pref 9051");
	sh("ip rule add lookup 201 pref 9050");
	sh("ip route add local default dev lo table 200");
	before = snapshot();
	assert_int_equal(route_install(MARK, TABLE), 0);
	assert_int_equal(route_cleanup_stale(), 4);
	after = snapshot();
	assert_snapshot_equal(before, after);
	free(after);
	free(before);
	sh("ip rule del pref 9051 && ip rule del pref 9050 lookup 201 && "
	   "ip route del local default dev lo table 200");
}

/* A failure half way undoes what was added. */
static void test_partial_failure_rolls_back(void **state)
{
	char *before, *after, *err;

	sh("ip -6 route add local default dev lo table %u", TABLE);
	before = snapshot();
	stderr_capture_begin();
	assert_int_equal(route_install(MARK, TABLE), -EEXIST);
	err = stderr_capture_end();
	assert_string_equal(err, "steer: ip -6 route local default dev lo table 100 already exists "
				 "(another steer running? run `steer cleanup`)\n");
	free(err);
	after = snapshot();
	assert_snapshot_equal(before, after);
	free(after);
	free(before);
	sh("ip -6 route del local default dev lo table %u", TABLE);
}

static void test_invalid_args(void **state)
{
	char *before = snapshot(), *after, *err;

	stderr_capture_begin();
	assert_int_equal(route_install(0, TABLE), -EINVAL);
	assert_int_equal(route_install(MARK, 254), -EINVAL);
	assert_int_equal(route_install(MARK, 0), -EINVAL);
	err = stderr_capture_end();
	assert_int_equal(count_lines(err, "steer: "), 3);
	free(err);
	after = snapshot();
	assert_snapshot_equal(before, after);
	free(after);
	free(before);
}

/* ----------------------------------------------------------- address tests */

#define MAX_SEEN 64
struct seen {
	int n;
	struct {
		int family;
		uint8_t addr[16];
		bool add;
	} v[MAX_SEEN];
};

static void collect(void *ctx, int family, const uint8_t *addr, bool add)
{
	struct seen *s = ctx;

	assert_true(family == 4 || family == 6);
	if (s->n == MAX_SEEN)
		return;
	s->v[s->n].family = family;
	memset(s->v[s->n].addr, 0, 16);
	memcpy(s->v[s->n].addr, addr, family == 4 ? 4 : 16);
	s->v[s->n].add = add;
	s->n++;
}

static bool seen_has(const struct seen *s, const char *ip, bool add)
{
	uint8_t a[16] = { 0 };
	int family = strchr(ip, ':') ? 6 : 4;

	assert_int_equal(inet_pton(family == 4 ? AF_INET : AF_INET6, ip, a), 1);
	for (int i = 0; i < s->n; i++)
		if (s->v[i].family == family && s->v[i].add == add &&
		    memcmp(s->v[i].addr, a, 16) == 0)
			return true;
	return false;
}

static void test_addr_dump(void **state)
{
	struct seen s = { 0 };
	int n = addr_dump(collect, &s);

	assert_true(n >= 4);
	assert_int_equal(n, s.n);
	assert_true(seen_has(&s, "127.0.0.1", true));
	assert_true(seen_has(&s, "::1", true));
	assert_true(seen_has(&s, "198.51.100.7", true));
	assert_true(seen_has(&s, "2001:db8::7", true));
	assert_false(seen_has(&s, "198.51.100.9", true));
}

/* Poll and read the monitor until ip is seen with `add`, or 3 s pass. */
static void wait_for(struct addr_monitor *m, struct seen *s, const char *ip, bool add)
{
	for (int i = 0; i < 30 && !seen_has(s, ip, add); i++) {
		struct pollfd pfd = { .fd = addr_monitor_fd(m), .events = POLLIN };

		if (poll(&pfd, 1, 100) > 0)
			assert_true(addr_monitor_read(m, collect, s) >= 0);
	}
	if (!seen_has(s, ip, add))
		fail_msg("address monitor did not report %s %s", add ? "add" : "delete", ip);
}

static void test_addr_monitor(void **state)
{
	struct addr_monitor *m = addr_monitor_open();
	struct seen s = { 0 };

	assert_non_null(m);
	assert_true(addr_monitor_fd(m) >= 0);
	/* nothing pending: a read returns at once with nothing */
	assert_int_equal(addr_monitor_read(m, collect, &s), 0);

	sh("ip addr add 198.51.100.9/32 dev " TEST_IF);
	sh("ip -6 addr add 2001:db8::9/128 dev " TEST_IF " nodad");
	wait_for(m, &s, "198.51.100.9", true);
	wait_for(m, &s, "2001:db8::9", true);
	assert_false(seen_has(&s, "198.51.100.9", false));

	sh("ip addr del 198.51.100.9/32 dev " TEST_IF);
	sh("ip -6 addr del 2001:db8::9/128 dev " TEST_IF);
	wait_for(m, &s, "198.51.100.9", false);
	wait_for(m, &s, "2001:db8::9", false);
	addr_monitor_close(m);
	addr_monitor_close(NULL);
}

/* --------------------------------------------------------- preflight tests */

static char *preflight_output(const struct steer_config *cfg, int *fatal)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	*fatal = preflight_run(cfg, out);
	assert_int_equal(fclose(out), 0);
	return buf;
}

static void base_config(struct steer_config *cfg, const char *iface)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->upstream_source = UPSTREAM_GATEWAY;
	cfg->mark = MARK;
	cfg->route_table = TABLE;
	cfg->proxy_port = 15001;
	snprintf(cfg->ifaces[0], IF_NAMESIZE, "%s", iface);
	cfg->n_ifaces = 1;
}

static void set_forwarding(const char *v)
{
	write_sysctl("/proc/sys/net/ipv4/ip_forward", v);
	write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", v);
}

static void test_preflight_missing_interface(void **state)
{
	struct steer_config cfg;
	int fatal;
	char *out;

	set_forwarding("1");
	base_config(&cfg, "eth9");
	out = preflight_output(&cfg, &fatal);
	assert_int_equal(fatal, 1);
	assert_string_equal(out, "steer: error: interface eth9 does not exist\n");
	free(out);

	/* a missing return interface is fatal too */
	base_config(&cfg, TEST_IF);
	cfg.upstream_source = UPSTREAM_CLIENT;
	snprintf(cfg.return_ifaces[0], IF_NAMESIZE, "eth8");
	cfg.n_return_ifaces = 1;
	out = preflight_output(&cfg, &fatal);
	assert_int_equal(fatal, 1);
	assert_string_equal(out, "steer: error: return-interface eth8 does not exist\n");
	free(out);
}

static void test_preflight_ok(void **state)
{
	struct steer_config cfg;
	int fatal;
	char *out;

	set_forwarding("1");
	base_config(&cfg, TEST_IF);
	out = preflight_output(&cfg, &fatal);
	assert_int_equal(fatal, 0);
	assert_string_equal(out, "");
	free(out);

	/* forwarding off: two warnings, not fatal */
	set_forwarding("0");
	out = preflight_output(&cfg, &fatal);
	assert_int_equal(fatal, 0);
	assert_string_equal(out,
			    "steer: warning: net.ipv4.ip_forward is 0: non-steered IPv4 traffic "
			    "will not be forwarded\n"
			    "steer: warning: net.ipv6.conf.all.forwarding is 0: non-steered IPv6 "
			    "traffic will not be forwarded\n");
	free(out);
	set_forwarding("1");
}

static void test_preflight_src_valid_mark(void **state)
{
	const char *svm = "/proc/sys/net/ipv4/conf/" TEST_IF "/src_valid_mark";
	const char *rp = "/proc/sys/net/ipv4/conf/" TEST_IF "/rp_filter";
	const char *al = "/proc/sys/net/ipv4/conf/" TEST_IF "/accept_local";
	struct steer_config cfg;
	int fatal;
	char *out;

	set_forwarding("1");
	base_config(&cfg, TEST_IF);
	write_sysctl(svm, "1");
	/* dropped whatever rp_filter is (custom local route => full source check) */
	for (const char *v = "012"; *v; v++) {
		char val[2] = { *v, 0 };

		write_sysctl(rp, val);
		out = preflight_output(&cfg, &fatal);
		assert_int_equal(fatal, 0);
		assert_int_equal(count_lines(out, "steer: warning: src_valid_mark=1 on client-facing "
						  "interface " TEST_IF " "), 1);
		assert_non_null(strstr(out, "net.ipv4.conf." TEST_IF ".src_valid_mark=0"));
		assert_int_equal(count_lines(out, "steer: "), 1);
		free(out);
	}
	/* accept_local=1 with loose rp_filter lets the packets through */
	write_sysctl(al, "1");
	write_sysctl(rp, "2");
	out = preflight_output(&cfg, &fatal);
	assert_string_equal(out, "");
	free(out);
	/* ... strict does not */
	write_sysctl(rp, "1");
	out = preflight_output(&cfg, &fatal);
	assert_int_equal(count_lines(out, "steer: warning: src_valid_mark=1"), 1);
	free(out);
	write_sysctl(al, "0");
	write_sysctl(rp, "0");
	write_sysctl(svm, "0");

	/* via conf.all, on a return interface when replies are marked */
	write_sysctl("/proc/sys/net/ipv4/conf/all/src_valid_mark", "1");
	base_config(&cfg, "lo");
	cfg.upstream_source = UPSTREAM_CLIENT;
	snprintf(cfg.return_ifaces[0], IF_NAMESIZE, TEST_IF);
	cfg.n_return_ifaces = 1;
	out = preflight_output(&cfg, &fatal);
	assert_int_equal(fatal, 0);
	assert_int_equal(count_lines(out, "steer: warning: src_valid_mark=1 on return interface " TEST_IF
					  " "), 1);
	assert_non_null(strstr(out, "net.ipv4.conf.all.src_valid_mark=0"));
	free(out);
	/* with upstream-source gateway the replies are for the gateway: no mark */
	cfg.upstream_source = UPSTREAM_GATEWAY;
	out = preflight_output(&cfg, &fatal);
	assert_int_equal(count_lines(out, "steer: warning: src_valid_mark=1 on return"), 0);
	free(out);
	write_sysctl("/proc/sys/net/ipv4/conf/all/src_valid_mark", "0");

	/* strict rp_filter alone is no problem and not reported */
	write_sysctl(rp, "1");
	base_config(&cfg, TEST_IF);
	out = preflight_output(&cfg, &fatal);
	assert_string_equal(out, "");
	free(out);
	write_sysctl(rp, "0");
}

/* Capabilities, not the uid: nobody without them, root without them, nobody with them. */
static void test_preflight_not_root(void **state)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct saved[2], caps[2];
	struct steer_config cfg;
	int fatal;
	char *out;

	set_forwarding("1");
	base_config(&cfg, TEST_IF);
	cfg.upstream_source = UPSTREAM_CLIENT;
	/* euid 0 -> 65534 clears the effective set */
	assert_int_equal(seteuid(65534), 0);
	out = preflight_output(&cfg, &fatal);
	assert_int_equal(seteuid(0), 0);
	assert_int_equal(fatal, 3);
	assert_string_equal(out,
			    "steer: error: missing capability CAP_NET_ADMIN: policy routing, the nftables table, "
			    "attaching the classifier, IP_TRANSPARENT sockets\n"
			    "steer: error: missing capability CAP_BPF: loading the eBPF classifier and creating its maps\n"
			    "steer: error: missing capability CAP_PERFMON: the verifier refuses the classifier's "
			    "pointer arithmetic without it\n"
			    "steer: warning: missing capability CAP_NET_BIND_SERVICE: binding ports below 1024: "
			    "upstream-source client binds the client's port: flows from client ports below it "
			    "will fail\n");
	free(out);
	cfg.upstream_source = UPSTREAM_GATEWAY;

	/* uid 0 without CAP_BPF (a container's reduced set): refused the same way */
	assert_int_equal(syscall(SYS_capget, &hdr, saved), 0);
	memcpy(caps, saved, sizeof(caps));
	caps[1].effective &= ~(1u << (CAP_BPF - 32));
	assert_int_equal(syscall(SYS_capset, &hdr, caps), 0);
	out = preflight_output(&cfg, &fatal);
	assert_int_equal(fatal, 0); /* CAP_SYS_ADMIN stands in for it (bpf_capable()) */
	assert_string_equal(out, "");
	free(out);
	caps[0].effective &= ~(1u << CAP_SYS_ADMIN);
	assert_int_equal(syscall(SYS_capset, &hdr, caps), 0);
	out = preflight_output(&cfg, &fatal);
	assert_int_equal(fatal, 1);
	assert_string_equal(out, "steer: error: missing capability CAP_BPF: loading the eBPF classifier and "
				 "creating its maps\n");
	free(out);
	/* ... backend nft starts without it, saying what is lost */
	cfg.backend = BACKEND_NFT;
	out = preflight_output(&cfg, &fatal);
	assert_int_equal(fatal, 0);
	assert_int_equal(count_lines(out, "steer: warning: missing capability CAP_BPF "), 1);
	free(out);
	cfg.backend = BACKEND_EBPF;
	assert_int_equal(syscall(SYS_capset, &hdr, saved), 0);

	/* nobody holding exactly the four: accepted (uid 0 kept as the saved uid to come back) */
	assert_int_equal(prctl(PR_SET_KEEPCAPS, 1), 0);
	assert_int_equal(setresuid(65534, 65534, 0), 0);
	memset(caps, 0, sizeof(caps));
	caps[0].effective = 1u << CAP_NET_ADMIN | 1u << CAP_NET_BIND_SERVICE;
	caps[1].effective = 1u << (CAP_BPF - 32) | 1u << (CAP_PERFMON - 32);
	caps[0].permitted = saved[0].permitted;
	caps[1].permitted = saved[1].permitted;
	assert_int_equal(syscall(SYS_capset, &hdr, caps), 0);
	out = preflight_output(&cfg, &fatal);
	assert_int_equal(setresuid(0, 0, 0), 0);
	assert_int_equal(prctl(PR_SET_KEEPCAPS, 0), 0);
	assert_int_equal(syscall(SYS_capset, &hdr, saved), 0);
	assert_int_equal(fatal, 0);
	assert_string_equal(out, "");
	free(out);
}

/* ------------------------------------------------------------------- setup */

/* After each routing test: leave nothing behind for the next, even on failure. */
static int route_teardown(void **state)
{
	if (system("ip rule del pref 9051 2>/dev/null; ip rule del pref 9050 lookup 201 2>/dev/null; "
		   "ip route del local default dev lo table 200 2>/dev/null; "
		   "ip -6 route del local default dev lo table 100 2>/dev/null; true") != 0)
		return -1;
	stderr_capture_begin();
	route_cleanup_stale();
	free(stderr_capture_end());
	return 0;
}

static int group_setup(void **state)
{
	/* a dummy interface where the kernel has the driver, else one end of a veth pair */
	if (system("ip link add " TEST_IF " type dummy 2>/dev/null") != 0 &&
	    system("ip link add " TEST_IF " type veth peer name steertest1") != 0) {
		fprintf(stderr, "test_route: cannot create a test interface\n");
		return -1;
	}
	if (system("ip link set " TEST_IF " addrgenmode none && ip link set " TEST_IF " up && "
		   "(! ip link show steertest1 >/dev/null 2>&1 || ip link set steertest1 up) && "
		   "for i in $(seq 100); do ip link show " TEST_IF " | grep -q LOWER_UP && break; "
		   "sleep 0.05; done && "
		   "ip addr add 198.51.100.7/24 dev " TEST_IF " && "
		   "ip -6 addr add 2001:db8::7/64 dev " TEST_IF " nodad") != 0) {
		fprintf(stderr, "test_route: cannot configure " TEST_IF "\n");
		return -1;
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest route_tests[] = {
		cmocka_unit_test_teardown(test_install_remove, route_teardown),
		cmocka_unit_test_teardown(test_install_cleanup, route_teardown),
		cmocka_unit_test_teardown(test_big_table, route_teardown),
		cmocka_unit_test_teardown(test_cleanup_leaves_others, route_teardown),
		cmocka_unit_test_teardown(test_partial_failure_rolls_back, route_teardown),
		cmocka_unit_test_teardown(test_invalid_args, route_teardown),
		cmocka_unit_test(test_addr_dump),
		cmocka_unit_test(test_addr_monitor),
		cmocka_unit_test(test_preflight_missing_interface),
		cmocka_unit_test(test_preflight_ok),
		cmocka_unit_test(test_preflight_src_valid_mark),
		cmocka_unit_test(test_preflight_not_root),
	};

	if (netns_enter("test_route") != 0)
		return 1;
	return cmocka_run_group_tests(route_tests, group_setup, NULL);
}
