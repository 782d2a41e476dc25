// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for steer/config.c: every directive, every error, flags, validation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <fcntl.h>
#include <unistd.h>

#include "steer/config.h"

#define F "t.conf"

/* Parse text into cfg; *errs receives everything printed (caller frees). */
static int parse_into(struct steer_config *cfg, const char *text, char **errs)
{
	size_t len;
	FILE *f = open_memstream(errs, &len);
	int n;

	assert_non_null(f);
	n = config_parse_string(cfg, F, text, f);
	fclose(f);
	return n;
}

/* Parse text into a fresh config and compare the whole error output. */
static void expect_parse(const char *text, int nerr, const char *want)
{
	struct steer_config cfg;
	char *errs = NULL;

	config_init(&cfg);
	int n = parse_into(&cfg, text, &errs);
	if (strcmp(errs, want) != 0 || n != nerr)
		print_error("input: %s\n", text);
	assert_string_equal(errs, want);
	assert_int_equal(n, nerr);
	free(errs);
	config_free(&cfg);
}

static void expect_ok(const char *text)
{
	expect_parse(text, 0, "");
}

/* One line, one error. */
static void expect_error(const char *text, const char *want_line)
{
	char want[1024];

	snprintf(want, sizeof(want), "%s\n", want_line);
	expect_parse(text, 1, want);
}

static int flag(struct steer_config *cfg, const char *key, const char *value, char **errs)
{
	size_t len;
	FILE *f = open_memstream(errs, &len);
	int n = config_apply_flag(cfg, key, value, f);

	fclose(f);
	return n;
}

static void expect_flag_ok(struct steer_config *cfg, const char *key, const char *value)
{
	char *errs = NULL;
	int n = flag(cfg, key, value, &errs);

	assert_string_equal(errs, "");
	assert_int_equal(n, 0);
	free(errs);
}

static void expect_flag_error(struct steer_config *cfg, const char *key, const char *value, const char *want)
{
	char *errs = NULL;
	int n = flag(cfg, key, value, &errs);

	assert_string_equal(errs, want);
	assert_int_equal(n, 1);
	free(errs);
}

static int validate(const struct steer_config *cfg, char **errs)
{
	size_t len;
	FILE *f = open_memstream(errs, &len);
	int n = config_validate(cfg, f);

	fclose(f);
	return n;
}

static void expect_validate(const struct steer_config *cfg, int nerr, const char *want)
{
	char *errs = NULL;
	int n = validate(cfg, &errs);

	assert_string_equal(errs, want);
	assert_int_equal(n, nerr);
	free(errs);
}

/* ---- defaults ---- */

static void test_defaults(void **state)
{
	struct steer_config cfg;

	(void)state;
	config_init(&cfg);
	assert_int_equal(cfg.backend, BACKEND_EBPF);
	assert_int_equal(cfg.proxy_port, 15001);
	assert_int_equal(cfg.upstream_source, UPSTREAM_CLIENT);
	assert_int_equal(cfg.on_proxy_down, PROXY_DOWN_FAIL_OPEN);
	assert_int_equal(cfg.mark, 0x1000000);
	assert_int_equal(cfg.route_table, 100);
	assert_string_equal(cfg.audit_log, "/var/log/steer/audit.jsonl");
	assert_string_equal(cfg.control_socket, "/run/steer/steer.sock");
	assert_int_equal(cfg.workers, 0);
	assert_int_equal(cfg.proxy, PROXY_BUILTIN);
	assert_int_equal(cfg.udp_idle_timeout, 60);
	assert_int_equal(cfg.drain_timeout, 30);
	assert_string_equal(cfg.audit_key, "");
	assert_int_equal(cfg.audit_anchor_interval, 60);
	assert_false(cfg.metrics_enabled);
	assert_false(cfg.interface_wait);
	assert_int_equal(cfg.n_ifaces, 0);
	assert_int_equal(cfg.n_return_ifaces, 0);
	assert_int_equal(cfg.nrules, 0);
	assert_null(cfg.rules);
	assert_string_equal(cfg.path, "");
	for (int k = 0; k < CONFIG_KEY_MAX; k++)
		assert_int_equal(cfg.key_pos[k].line, 0);
	config_free(&cfg);
	config_free(&cfg); /* idempotent */
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(backend_kind_name(BACKEND_EBPF), "ebpf");
	assert_string_equal(backend_kind_name(BACKEND_NFT), "nft");
	assert_string_equal(backend_kind_name(BACKEND_AUTO), "auto");
	assert_string_equal(backend_kind_name(BACKEND_SPLIT), "split");
	assert_string_equal(backend_kind_name((enum backend_kind)42), "?");
	assert_string_equal(upstream_source_name(UPSTREAM_CLIENT), "client");
	assert_string_equal(upstream_source_name(UPSTREAM_CLIENT_IP), "client-ip");
	assert_string_equal(upstream_source_name(UPSTREAM_GATEWAY), "gateway");
	assert_string_equal(upstream_source_name((enum upstream_source)-1), "?");
}

/* ---- a full valid file ---- */

static const char design_example[] =
	"backend ebpf                 # ebpf | nft | auto | split PERCENT\n"
	"interface eth1               # client-facing; repeatable\n"
	"return-interface eth2        # server-facing\n"
	"proxy-port 15002\n"
	"upstream-source client-ip\n"
	"on-proxy-down fail-closed\n"
	"mark 0x2000000\n"
	"route-table 101\n"
	"audit-log /tmp/audit.jsonl\n"
	"control-socket /tmp/steer.sock\n"
	"workers 4\n"
	"proxy external\n"
	"udp-idle-timeout 30\n"
	"metrics-listen 127.0.0.1:9464\n"
	"\n"
	"steer tcp dport 80,443,8000-8999 dst 10.0.0.0/8,2001:db8::/32 src 192.168.0.0/16\n"
	"steer udp dport 53\n"
	"bypass dst 10.0.2.5/32       # never steered; bypass wins over steer\n";

static void test_full_file(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;
	char buf[64];

	(void)state;
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, design_example, &errs), 0);
	assert_string_equal(errs, "");
	free(errs);
	assert_string_equal(cfg.path, F);
	assert_int_equal(cfg.backend, BACKEND_EBPF);
	assert_int_equal(cfg.n_ifaces, 1);
	assert_string_equal(cfg.ifaces[0], "eth1");
	assert_int_equal(cfg.iface_pos[0].line, 2);
	assert_int_equal(cfg.iface_pos[0].col, 11);
	assert_int_equal(cfg.n_return_ifaces, 1);
	assert_string_equal(cfg.return_ifaces[0], "eth2");
	assert_int_equal(cfg.proxy_port, 15002);
	assert_int_equal(cfg.upstream_source, UPSTREAM_CLIENT_IP);
	assert_int_equal(cfg.key_pos[CONFIG_KEY_UPSTREAM_SOURCE].line, 5);
	assert_int_equal(cfg.key_pos[CONFIG_KEY_UPSTREAM_SOURCE].col, 17);
	assert_int_equal(cfg.on_proxy_down, PROXY_DOWN_FAIL_CLOSED);
	assert_int_equal(cfg.mark, 0x2000000);
	assert_int_equal(cfg.route_table, 101);
	assert_string_equal(cfg.audit_log, "/tmp/audit.jsonl");
	assert_string_equal(cfg.control_socket, "/tmp/steer.sock");
	assert_int_equal(cfg.workers, 4);
	assert_int_equal(cfg.proxy, PROXY_EXTERNAL);
	assert_int_equal(cfg.udp_idle_timeout, 30);
	assert_true(cfg.metrics_enabled);
	assert_string_equal(sockaddr_format((struct sockaddr *)&cfg.metrics_addr, buf, sizeof(buf)),
			    "127.0.0.1:9464");

	assert_int_equal(cfg.nrules, 3);
	const struct rule *r = &cfg.rules[0];
	assert_false(r->bypass);
	assert_int_equal(r->proto, IPPROTO_TCP);
	assert_int_equal(r->line, 16);
	assert_int_equal(r->nports, 3);
	assert_int_equal(r->ports[0].lo, 80);
	assert_int_equal(r->ports[0].hi, 80);
	assert_int_equal(r->ports[1].lo, 443);
	assert_int_equal(r->ports[2].lo, 8000);
	assert_int_equal(r->ports[2].hi, 8999);
	assert_int_equal(r->ndst, 2);
	assert_string_equal(prefix_format(&r->dst[0], buf, sizeof(buf)), "10.0.0.0/8");
	assert_string_equal(prefix_format(&r->dst[1], buf, sizeof(buf)), "2001:db8::/32");
	assert_int_equal(r->nsrc, 1);
	assert_string_equal(prefix_format(&r->src[0], buf, sizeof(buf)), "192.168.0.0/16");

	r = &cfg.rules[1];
	assert_false(r->bypass);
	assert_int_equal(r->proto, IPPROTO_UDP);
	assert_int_equal(r->nports, 1);
	assert_int_equal(r->ports[0].lo, 53);
	assert_int_equal(r->ndst, 0);
	assert_int_equal(r->nsrc, 0);

	r = &cfg.rules[2];
	assert_true(r->bypass);
	assert_int_equal(r->proto, 0);
	assert_int_equal(r->nports, 0);
	assert_int_equal(r->ndst, 1);
	assert_string_equal(prefix_format(&r->dst[0], buf, sizeof(buf)), "10.0.2.5/32");
	assert_int_equal(r->line, 18);

	expect_validate(&cfg, 0, "");
	config_free(&cfg);
}

/* ---- lexical ---- */

static void test_comments_and_blanks(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg,
				    "# a comment line\n"
				    "\n"
				    "   \t  \n"
				    "  # indented comment\n"
				    "\tinterface\teth1   # trailing\n"
				    "proxy-port 15005#no space before the comment\n"
				    "steer tcp dport 80 # dst 10.0.0.1/8 is commented out\n"
				    "workers 2\r\n"
				    "#",
				    &errs),
			 0);
	assert_string_equal(errs, "");
	free(errs);
	assert_int_equal(cfg.n_ifaces, 1);
	assert_string_equal(cfg.ifaces[0], "eth1");
	assert_int_equal(cfg.proxy_port, 15005);
	assert_int_equal(cfg.nrules, 1);
	assert_int_equal(cfg.rules[0].ndst, 0);
	assert_int_equal(cfg.workers, 2);
	config_free(&cfg);

	expect_ok("");
	expect_ok("\n\n\n");
	expect_ok("# only\n# comments");
}

/* Columns count bytes: a tab is one column. */
static void test_columns(void **state)
{
	(void)state;
	expect_error("\tproxy-port\t0", F ":1:13: bad proxy-port '0' (expected 1..65535)");
	expect_error("   proxy-port    0   ", F ":1:18: bad proxy-port '0' (expected 1..65535)");
	expect_error("\n\n  frob 1 # x", F ":3:3: unknown directive 'frob'");
}

/* ---- scalar directives: valid ---- */

static void test_backend_values(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;
	static const struct {
		const char *text;
		enum backend_kind b;
		int pct;
	} cases[] = {
		{ "backend ebpf", BACKEND_EBPF, 0 },	   { "backend nft", BACKEND_NFT, 0 },
		{ "backend auto", BACKEND_AUTO, 0 },	   { "backend split 30", BACKEND_SPLIT, 30 },
		{ "backend split 0", BACKEND_SPLIT, 0 },   { "backend split 100", BACKEND_SPLIT, 100 },
		{ "backend split 25%", BACKEND_SPLIT, 25 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_init(&cfg);
		assert_int_equal(parse_into(&cfg, cases[i].text, &errs), 0);
		free(errs);
		assert_int_equal(cfg.backend, cases[i].b);
		if (cases[i].b == BACKEND_SPLIT)
			assert_int_equal(cfg.split_percent, cases[i].pct);
		assert_int_equal(cfg.key_pos[CONFIG_KEY_BACKEND].line, 1);
		assert_int_equal(cfg.key_pos[CONFIG_KEY_BACKEND].col, 9);
		config_free(&cfg);
	}
}

static void test_scalar_values(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg,
				    "proxy-port 1\n"
				    "upstream-source gateway\n"
				    "on-proxy-down fail-open\n"
				    "mark 4294967295\n"
				    "route-table 4294967295\n"
				    "audit-log -\n"
				    "control-socket relative.sock\n"
				    "workers 1024\n"
				    "proxy builtin\n"
				    "udp-idle-timeout 86400\n"
				    "metrics-listen [::1]:9100\n"
				    "interface-wait yes\n"
				    "drain-timeout 3600\n"
				    "offload after 3m\n"
				    "audit-key /etc/steer/audit.key\n"
				    "audit-anchor-interval 86400\n",
				    &errs),
			 0);
	assert_string_equal(errs, "");
	free(errs);
	assert_int_equal(cfg.proxy_port, 1);
	assert_int_equal(cfg.upstream_source, UPSTREAM_GATEWAY);
	assert_int_equal(cfg.on_proxy_down, PROXY_DOWN_FAIL_OPEN);
	assert_int_equal(cfg.mark, 0xffffffffu);
	assert_int_equal(cfg.route_table, 0xffffffffu);
	assert_string_equal(cfg.audit_log, "-");
	assert_string_equal(cfg.control_socket, "relative.sock");
	assert_int_equal(cfg.workers, 1024);
	assert_int_equal(cfg.proxy, PROXY_BUILTIN);
	assert_int_equal(cfg.udp_idle_timeout, 86400);
	assert_int_equal(cfg.drain_timeout, 3600);
	assert_true(cfg.offload);
	assert_int_equal(cfg.offload_after, 3ull << 20);
	assert_string_equal(cfg.audit_key, "/etc/steer/audit.key");
	assert_int_equal(cfg.audit_anchor_interval, 86400);
	assert_true(cfg.metrics_enabled);
	assert_int_equal(cfg.metrics_addr.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&cfg.metrics_addr)->sin6_port), 9100);
	assert_true(cfg.interface_wait);
	config_free(&cfg);

	config_init(&cfg);
	assert_int_equal(parse_into(&cfg,
				    "proxy-port 65535\nupstream-source client\non-proxy-down fail-closed\nmark 1\n"
				    "route-table 1\naudit-log syslog\nworkers 0\nudp-idle-timeout 1\ndrain-timeout 0\nmark2 x\n",
				    &errs),
			 1);
	assert_string_equal(errs, F ":10:1: unknown directive 'mark2'\n");
	free(errs);
	assert_int_equal(cfg.proxy_port, 65535);
	assert_int_equal(cfg.upstream_source, UPSTREAM_CLIENT);
	assert_int_equal(cfg.mark, 1);
	assert_int_equal(cfg.route_table, 1);
	assert_string_equal(cfg.audit_log, "syslog");
	assert_int_equal(cfg.audit_syslog_facility, LOG_DAEMON);
	assert_int_equal(cfg.udp_idle_timeout, 1);
	assert_int_equal(cfg.drain_timeout, 0);
	assert_false(cfg.offload);
	config_free(&cfg);

	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, "offload after 0\n", &errs), 0);
	free(errs);
	assert_true(cfg.offload);
	assert_int_equal(cfg.offload_after, 0);
	config_free(&cfg);
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, "offload after 65536\noffload off\n", &errs), 1);
	free(errs);
	config_free(&cfg);
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, "offload off\n", &errs), 0);
	free(errs);
	assert_false(cfg.offload);
	config_free(&cfg);

	expect_ok("mark 0x10");
	expect_ok("mark 0XABCDEF");
	expect_ok("mark 0xffffffff");
	expect_ok("route-table 252");
	expect_ok("route-table 256");
	expect_ok("upstream-source client-ip");
	expect_ok("proxy external");
}

/* ---- scalar directives: every bad value ---- */

static void test_workers_per_cpu(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, "workers per-cpu\n", &errs), 0);
	assert_string_equal(errs, "");
	free(errs);
	assert_int_equal(cfg.workers, STEER_WORKERS_PER_CPU);
	config_free(&cfg);
}

static void test_scalar_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "backend bpf", F ":1:9: unknown backend 'bpf' (expected ebpf, nft, auto or split)" },
		{ "backend split", F ":1:9: 'split' needs a PERCENT (0..100)" },
		{ "backend split 101", F ":1:15: bad percent '101' (expected 0..100)" },
		{ "backend split -1", F ":1:15: bad percent '-1' (expected 0..100)" },
		{ "backend split x", F ":1:15: bad percent 'x' (expected 0..100)" },
		{ "backend ebpf 5", F ":1:14: unexpected argument '5'" },
		{ "backend split 5 6", F ":1:17: unexpected argument '6'" },
		{ "backend", F ":1:1: 'backend' needs a value" },
		{ "proxy-port", F ":1:1: 'proxy-port' needs a value" },
		{ "proxy-port 0", F ":1:12: bad proxy-port '0' (expected 1..65535)" },
		{ "proxy-port 65536", F ":1:12: bad proxy-port '65536' (expected 1..65535)" },
		{ "proxy-port 80x", F ":1:12: bad proxy-port '80x' (expected 1..65535)" },
		{ "proxy-port 0x50", F ":1:12: bad proxy-port '0x50' (expected 1..65535)" },
		{ "proxy-port 99999999999999999999999", F ":1:12: bad proxy-port '99999999999999999999999' (expected 1..65535)" },
		{ "proxy-port 1 2", F ":1:14: unexpected argument '2'" },
		{ "upstream-source server",
		  F ":1:17: unknown upstream-source 'server' (expected client, client-ip or gateway)" },
		{ "upstream-source", F ":1:1: 'upstream-source' needs a value" },
		{ "on-proxy-down drop", F ":1:15: unknown on-proxy-down 'drop' (expected fail-open or fail-closed)" },
		{ "mark 0", F ":1:6: bad mark '0' (expected a nonzero 32-bit value, decimal or 0x hex)" },
		{ "mark 0x0", F ":1:6: bad mark '0x0' (expected a nonzero 32-bit value, decimal or 0x hex)" },
		{ "mark 0x100000000",
		  F ":1:6: bad mark '0x100000000' (expected a nonzero 32-bit value, decimal or 0x hex)" },
		{ "mark 4294967296",
		  F ":1:6: bad mark '4294967296' (expected a nonzero 32-bit value, decimal or 0x hex)" },
		{ "mark 0x", F ":1:6: bad mark '0x' (expected a nonzero 32-bit value, decimal or 0x hex)" },
		{ "mark -1", F ":1:6: bad mark '-1' (expected a nonzero 32-bit value, decimal or 0x hex)" },
		{ "mark 0xg", F ":1:6: bad mark '0xg' (expected a nonzero 32-bit value, decimal or 0x hex)" },
		{ "route-table 0", F ":1:13: bad route-table '0' (expected 1..4294967295)" },
		{ "route-table 4294967296", F ":1:13: bad route-table '4294967296' (expected 1..4294967295)" },
		{ "route-table 253", F ":1:13: route-table 253 is reserved (253 default, 254 main, 255 local)" },
		{ "route-table 254", F ":1:13: route-table 254 is reserved (253 default, 254 main, 255 local)" },
		{ "route-table 255", F ":1:13: route-table 255 is reserved (253 default, 254 main, 255 local)" },
		{ "route-table main", F ":1:13: bad route-table 'main' (expected 1..4294967295)" },
		{ "audit-log", F ":1:1: 'audit-log' needs a value" },
		{ "audit-log a b", F ":1:13: unexpected argument 'b'" },
		{ "audit-syslog-facility kern",
		  F ":1:23: unknown facility 'kern' (expected auth, authpriv, cron, daemon, ftp, lpr, mail, news, syslog, "
		    "user, uucp, local0, local1, local2, local3, local4, local5, local6 or local7)" },
		{ "audit-syslog-facility", F ":1:1: 'audit-syslog-facility' needs a value" },
		{ "audit-syslog-facility local0\naudit-syslog-facility local1",
		  F ":2:1: 'audit-syslog-facility' already set at line 1" },
		{ "control-socket", F ":1:1: 'control-socket' needs a value" },
		{ "workers 1025", F ":1:9: bad workers '1025' (expected 0..1024)" },
		{ "workers -1", F ":1:9: bad workers '-1' (expected 0..1024)" },
		{ "workers per-CPU", F ":1:9: bad workers 'per-CPU' (expected 0..1024)" },
		{ "proxy internal", F ":1:7: unknown proxy 'internal' (expected builtin or external)" },
		{ "interface-wait maybe", F ":1:16: unknown interface-wait 'maybe' (expected no or yes)" },
		{ "interface-wait", F ":1:1: 'interface-wait' needs a value" },
		{ "udp-idle-timeout 0", F ":1:18: bad udp-idle-timeout '0' (expected 1..86400)" },
		{ "udp-idle-timeout 86401", F ":1:18: bad udp-idle-timeout '86401' (expected 1..86400)" },
		{ "drain-timeout 3601", F ":1:15: bad drain-timeout '3601' (expected 0..3600)" },
		{ "drain-timeout -1", F ":1:15: bad drain-timeout '-1' (expected 0..3600)" },
		{ "drain-timeout 30s", F ":1:15: bad drain-timeout '30s' (expected 0..3600)" },
		{ "drain-timeout", F ":1:1: 'drain-timeout' needs a value" },
		{ "offload", F ":1:1: 'offload' needs a value" },
		{ "offload on", F ":1:9: unknown offload 'on' (expected off or after)" },
		{ "offload after", F ":1:9: offload after needs BYTES (offload after 65536, 64K, 1M)" },
		{ "offload off 5", F ":1:13: unexpected argument '5'" },
		{ "offload after 1T",
		  F ":1:15: bad byte count '1T' (expected a number, K, M or G after it: 65536, 64K, 1M)" },
		{ "offload after -1",
		  F ":1:15: bad byte count '-1' (expected a number, K, M or G after it: 65536, 64K, 1M)" },
		{ "offload after K",
		  F ":1:15: bad byte count 'K' (expected a number, K, M or G after it: 65536, 64K, 1M)" },
		{ "offload after 0x10",
		  F ":1:15: bad byte count '0x10' (expected a number, K, M or G after it: 65536, 64K, 1M)" },
		{ "offload after 17179869184G",
		  F ":1:15: bad byte count '17179869184G' (expected a number, K, M or G after it: 65536, 64K, 1M)" },
		{ "offload off\noffload after 1", F ":2:1: 'offload' already set at line 1" },
		{ "audit-anchor-interval 86401", F ":1:23: bad audit-anchor-interval '86401' (expected 0..86400)" },
		{ "audit-anchor-interval 1m", F ":1:23: bad audit-anchor-interval '1m' (expected 0..86400)" },
		{ "audit-key", F ":1:1: 'audit-key' needs a value" },
		{ "metrics-listen 127.0.0.1",
		  F ":1:16: bad metrics-listen '127.0.0.1': missing :PORT (expected IP:PORT or [IPv6]:PORT)" },
		{ "metrics-listen ::1:80",
		  F ":1:16: bad metrics-listen '::1:80': IPv6 addresses need brackets: [IPv6]:PORT "
		    "(expected IP:PORT or [IPv6]:PORT)" },
		{ "metrics-listen 127.0.0.1:0",
		  F ":1:16: bad metrics-listen '127.0.0.1:0': port out of range (1..65535) "
		    "(expected IP:PORT or [IPv6]:PORT)" },
		{ "metrics-listen host:80",
		  F ":1:16: bad metrics-listen 'host:80': invalid IP address (expected IP:PORT or [IPv6]:PORT)" },
		{ "frobnicate 1", F ":1:1: unknown directive 'frobnicate'" },
		{ "Interface eth0", F ":1:1: unknown directive 'Interface'" },
		{ "interface", F ":1:1: 'interface' needs a value" },
		{ "interface eth0 eth1", F ":1:16: unexpected argument 'eth1'" },
		{ "return-interface", F ":1:1: 'return-interface' needs a value" },
		{ "interface eth0123456789abc",
		  F ":1:11: invalid interface name 'eth0123456789abc': longer than 15 characters" },
		{ "interface a/b", F ":1:11: invalid interface name 'a/b': contains '/' or ':'" },
		{ "return-interface eth0:1", F ":1:18: invalid interface name 'eth0:1': contains '/' or ':'" },
		{ "interface ..", F ":1:11: invalid interface name '..': not a valid name" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].text, cases[i].want);
	expect_ok("interface eth0123456789ab"); /* 15 characters: the kernel's limit */
}

static void test_long_paths(void **state)
{
	char text[512], want[512];
	char longpath[300];

	(void)state;
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	snprintf(text, sizeof(text), "audit-log /%s", longpath);
	expect_error(text, F ":1:11: path too long (at most 255 bytes)");

	/* A unix socket path is shorter than any other path. */
	longpath[110] = '\0';
	snprintf(text, sizeof(text), "control-socket /%s", longpath);
	snprintf(want, sizeof(want), F ":1:16: socket path too long (at most 107 bytes)");
	expect_error(text, want);
	longpath[106] = '\0';
	snprintf(text, sizeof(text), "control-socket /%s", longpath);
	expect_ok(text);
}

static void test_scalar_twice(void **state)
{
	(void)state;
	expect_error("proxy-port 1\nproxy-port 2", F ":2:1: 'proxy-port' already set at line 1");
	expect_error("backend nft\n\n  backend nft", F ":3:3: 'backend' already set at line 1");
	expect_error("mark 1\nmark 2", F ":2:1: 'mark' already set at line 1");
	expect_error("metrics-listen 127.0.0.1:1\nmetrics-listen 127.0.0.1:2",
		     F ":2:1: 'metrics-listen' already set at line 1");
	/* A first occurrence that failed did not set anything: the second is the only value. */
	expect_error("workers x\nworkers 3", F ":1:9: bad workers 'x' (expected 0..1024)");

	/* Each scalar has its own record. */
	static const char *const keys[] = { "backend ebpf",	   "proxy-port 1",    "upstream-source client",
					    "on-proxy-down fail-open", "mark 1",	      "route-table 1",
					    "audit-log -",		   "control-socket /x", "workers 1",
					    "proxy builtin",	   "udp-idle-timeout 1", "metrics-listen 1.2.3.4:5",
					    "drain-timeout 1" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char text[128], want[128], name[32];

		snprintf(text, sizeof(text), "%s\n%s\n", keys[i], keys[i]);
		sscanf(keys[i], "%31s", name);
		snprintf(want, sizeof(want), F ":2:1: '%s' already set at line 1", name);
		expect_error(text, want);
	}
}

/* ---- interfaces ---- */

static void test_interfaces(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, "interface eth1\ninterface eth3\nreturn-interface eth2\nreturn-interface eth4",
				    &errs),
			 0);
	free(errs);
	assert_int_equal(cfg.n_ifaces, 2);
	assert_string_equal(cfg.ifaces[1], "eth3");
	assert_int_equal(cfg.n_return_ifaces, 2);
	assert_string_equal(cfg.return_ifaces[1], "eth4");
	assert_int_equal(cfg.return_iface_pos[1].line, 4);
	config_free(&cfg);

	expect_error("interface eth1\ninterface eth1", F ":2:11: interface 'eth1' already given at line 1");
	expect_error("return-interface eth2\nreturn-interface eth2",
		     F ":2:18: return-interface 'eth2' already given at line 1");
	expect_error("interface eth1\nreturn-interface eth1",
		     F ":2:18: 'eth1' is already an interface (line 1): an interface cannot be both");
	expect_error("return-interface eth1\n\ninterface eth1",
		     F ":3:11: 'eth1' is already a return-interface (line 1): an interface cannot be both");
}

static void test_too_many_interfaces(void **state)
{
	char text[2048] = "";
	size_t off = 0;

	(void)state;
	for (int i = 0; i <= STEER_MAX_IFACES; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "interface veth%d\n", i);
	expect_error(text, F ":33:11: too many interfaces (at most 32)");
}

/* ---- rules ---- */

static void test_rules_valid(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg,
				    "steer tcp\n"
				    "steer udp src ::/0 dport 1-65535 dst 0.0.0.0/0,::/0\n"
				    "bypass dport 53\n"
				    "bypass\n"
				    "bypass udp\n"
				    "bypass src 10.0.0.0/8,fd00::/8 tcp\n" /* error: proto after a field */
				    "steer tcp dst 10.0.0.0/8,::ffff:10.0.0.0/104,11.1.2.3,10.0.0.0/8\n",
				    &errs),
			 2);
	assert_string_equal(errs, F ":6:32: the protocol 'tcp' must come right after 'bypass'\n"
				  F ":7:55: duplicate prefix 10.0.0.0/8 (also at column 15)\n");
	free(errs);
	assert_int_equal(cfg.nrules, 5);
	assert_int_equal(cfg.rules[0].proto, IPPROTO_TCP);
	assert_int_equal(cfg.rules[0].nports + cfg.rules[0].ndst + cfg.rules[0].nsrc, 0);
	assert_int_equal(cfg.rules[1].proto, IPPROTO_UDP);
	assert_int_equal(cfg.rules[1].nports, 1);
	assert_int_equal(cfg.rules[1].ports[0].hi, 65535);
	assert_int_equal(cfg.rules[1].ndst, 2);
	assert_int_equal(cfg.rules[1].dst[1].family, AF_INET6);
	assert_int_equal(cfg.rules[1].nsrc, 1);
	/* dport on a bypass without a protocol: both tcp and udp */
	assert_true(cfg.rules[2].bypass);
	assert_int_equal(cfg.rules[2].proto, 0);
	assert_int_equal(cfg.rules[2].ports[0].lo, 53);
	assert_true(cfg.rules[3].bypass);
	assert_int_equal(cfg.rules[3].proto, 0);
	assert_int_equal(cfg.rules[4].proto, IPPROTO_UDP);
	assert_int_equal(cfg.rules[4].line, 5);
	config_free(&cfg);

	/* Fields in any order, mixed families, nested-looking but disjoint. */
	expect_ok("steer tcp src 192.168.0.0/16 dst 10.0.0.0/9,10.128.0.0/9,2001:db8::/32 dport 80,443");
	expect_ok("steer udp dport 1,2,3,4-10,11-20,65535");
	expect_ok("steer tcp dst ::ffff:10.0.0.0/104,10.0.0.0/8");
}

/* The port list keeps text semantics but is stored sorted. */
static void test_rule_ports_sorted(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, "steer tcp dport 8000-8999,443,80", &errs), 0);
	free(errs);
	assert_int_equal(cfg.rules[0].nports, 3);
	assert_int_equal(cfg.rules[0].ports[0].lo, 80);
	assert_int_equal(cfg.rules[0].ports[1].lo, 443);
	assert_int_equal(cfg.rules[0].ports[2].lo, 8000);
	config_free(&cfg);
}

static void test_rule_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "steer", F ":1:1: 'steer' needs a protocol (tcp or udp)" },
		{ "steer icmp", F ":1:7: unknown protocol 'icmp' (expected tcp or udp)" },
		{ "steer TCP", F ":1:7: unknown protocol 'TCP' (expected tcp or udp)" },
		{ "bypass icmp", F ":1:8: unknown protocol or field 'icmp' (expected tcp, udp, dport, dst or src)" },
		{ "bypass icmp dport 7", F ":1:8: unknown protocol or field 'icmp' (expected tcp, udp, dport, dst or src)" },
		{ "steer dport 80", F ":1:7: 'steer' needs a protocol (tcp or udp) before 'dport'" },
		{ "steer tcp dport 80,70000,443", F ":1:20: bad port '70000': port out of range (1..65535)" },
		{ "steer tcp dport 80,8000-99999", F ":1:25: bad port '8000-99999': port out of range (1..65535)" },
		{ "steer tcp dport 9-8", F ":1:17: bad port '9-8': reversed range (LO > HI)" },
		{ "steer tcp dport http", F ":1:17: bad port 'http': invalid port" },
		{ "steer tcp dport 80,,443", F ":1:20: empty element in list" },
		{ "steer tcp dport 80,", F ":1:20: empty element in list" },
		{ "steer tcp dport ,80", F ":1:17: empty element in list" },
		{ "steer tcp dport 80-100,85-90", F ":1:24: port 85-90 overlaps 80-100 at column 17" },
		{ "steer tcp dport 85-90,80-100", F ":1:23: port 80-100 overlaps 85-90 at column 17" },
		{ "steer tcp dport 443,80,443", F ":1:24: duplicate port 443 (also at column 17)" },
		{ "steer tcp dport 80-90,80-90", F ":1:23: duplicate port 80-90 (also at column 17)" },
		{ "steer tcp dport 1-100,100", F ":1:23: port 100 overlaps 1-100 at column 17" },
		{ "steer tcp dport 80 dport 443", F ":1:20: 'dport' given twice in one rule (first at column 11)" },
		{ "steer tcp dst 1.2.3.4 src 1.2.3.4 dst 5.6.7.8",
		  F ":1:35: 'dst' given twice in one rule (first at column 11)" },
		{ "steer tcp src ::/0 src ::/0", F ":1:20: 'src' given twice in one rule (first at column 11)" },
		{ "steer tcp dst 10.0.0.1/8",
		  F ":1:15: bad prefix '10.0.0.1/8': host bits set beyond the prefix length (did you mean 10.0.0.0/8?)" },
		{ "steer tcp src 2001:db8::1/32",
		  F ":1:15: bad prefix '2001:db8::1/32': host bits set beyond the prefix length "
		    "(did you mean 2001:db8::/32?)" },
		{ "steer tcp dst 10.0.0.0/33", F ":1:24: bad prefix '10.0.0.0/33': prefix length out of range (0..32)" },
		{ "steer tcp dst 10.0.0.0/8,10.0.0.0/x", F ":1:35: bad prefix '10.0.0.0/x': invalid prefix length" },
		{ "steer tcp dst 10.0.0/8", F ":1:15: bad prefix '10.0.0/8': invalid IP address" },
		{ "steer tcp dst example.com", F ":1:15: bad prefix 'example.com': invalid IP address" },
		{ "steer tcp dst 10.0.0.0/8,10.0.0.0/8", F ":1:26: duplicate prefix 10.0.0.0/8 (also at column 15)" },
		{ "steer tcp dst 10.0.0.0/8,10.1.0.0/16", F ":1:26: prefix 10.1.0.0/16 overlaps 10.0.0.0/8 at column 15" },
		{ "steer tcp dst 10.1.0.0/16,10.0.0.0/8", F ":1:15: prefix 10.1.0.0/16 overlaps 10.0.0.0/8 at column 27" },
		{ "steer tcp src ::/0,2001:db8::/32", F ":1:20: prefix 2001:db8::/32 overlaps ::/0 at column 15" },
		{ "steer tcp src", F ":1:11: 'src' needs a value" },
		{ "steer tcp dport 80 dst", F ":1:20: 'dst' needs a value" },
		{ "steer tcp proto udp", F ":1:11: unknown rule field 'proto' (expected dport, dst or src)" },
		{ "steer tcp dport 80 udp", F ":1:20: the protocol 'udp' must come right after 'steer'" },
		{ "bypass dport 53 tcp", F ":1:17: the protocol 'tcp' must come right after 'bypass'" },
		{ "bypass port 53", F ":1:8: unknown protocol or field 'port' (expected tcp, udp, dport, dst or src)" },
		{ "steer tcp port 53 dst 1.2.3.4", F ":1:11: unknown rule field 'port' (expected dport, dst or src)" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].text, cases[i].want);
}

/* Every bad element of every list is reported, and the rule is dropped. */
static void test_rule_multiple_errors(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, "steer tcp dport 0,80,70000 dst 1.2.3.4/40 src 10.0.0.1/8\n", &errs), 4);
	assert_string_equal(errs, F ":1:17: bad port '0': port out of range (1..65535)\n"
				  F ":1:22: bad port '70000': port out of range (1..65535)\n"
				  F ":1:40: bad prefix '1.2.3.4/40': prefix length out of range (0..32)\n"
				  F ":1:47: bad prefix '10.0.0.1/8': host bits set beyond the prefix length "
				  "(did you mean 10.0.0.0/8?)\n");
	free(errs);
	assert_int_equal(cfg.nrules, 0);
	config_free(&cfg);
}

static void test_too_many_tokens(void **state)
{
	char text[256] = "steer tcp";

	(void)state;
	for (int i = 0; i < 40; i++)
		strcat(text, " x");
	/* Token 33 (the 31st "x") starts at column 11 + 2 * 30. */
	expect_error(text, F ":1:71: too many arguments");
}

/* A large generated list: parsed, checked for overlaps in O(n log n). */
static void test_large_prefix_list(void **state)
{
	const int n = 100000;
	size_t cap = (size_t)n * 20 + 64, off;
	char *text = malloc(cap);
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	assert_non_null(text);
	off = (size_t)snprintf(text, cap, "steer tcp dst ");
	for (int i = 0; i < n; i++)
		off += (size_t)snprintf(text + off, cap - off, "%s%d.%d.%d.0/24", i ? "," : "", 10 + i / 65536,
					(i / 256) % 256, i % 256);
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, text, &errs), 0);
	assert_string_equal(errs, "");
	assert_int_equal(cfg.nrules, 1);
	assert_int_equal(cfg.rules[0].ndst, (size_t)n);
	free(errs);
	config_free(&cfg);

	/* One nested entry at the very end is still found. */
	strcpy(text + off, ",10.0.5.128/25");
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, text, &errs), 1);
	assert_non_null(strstr(errs, "prefix 10.0.5.128/25 overlaps 10.0.5.0/24 at column"));
	free(errs);
	config_free(&cfg);
	free(text);
}

/* ---- all errors of a file, in order ---- */

static void test_keeps_going(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg,
				    "backend bogus   # 1\n"
				    "proxy-port 15001\n"
				    "frob\n"
				    "steer tcp dport 99999\n"
				    "interface eth0\n"
				    "proxy-port 2\n"
				    "steer udp dport 53\n",
				    &errs),
			 4);
	assert_string_equal(errs, F ":1:9: unknown backend 'bogus' (expected ebpf, nft, auto or split)\n"
				  F ":3:1: unknown directive 'frob'\n"
				  F ":4:17: bad port '99999': port out of range (1..65535)\n"
				  F ":6:1: 'proxy-port' already set at line 2\n");
	free(errs);
	/* The good lines still took effect. */
	assert_int_equal(cfg.n_ifaces, 1);
	assert_int_equal(cfg.nrules, 1);
	assert_int_equal(cfg.rules[0].line, 7);
	assert_int_equal(cfg.proxy_port, 15001);
	config_free(&cfg);
}

/* A NULL errs stream still counts errors. */
static void test_null_errs(void **state)
{
	struct steer_config cfg;

	(void)state;
	config_init(&cfg);
	assert_int_equal(config_parse_string(&cfg, F, "a\nb\nproxy-port 0\n", NULL), 3);
	assert_int_equal(config_apply_flag(&cfg, "nope", "1", NULL), 1);
	assert_int_equal(config_validate(&cfg, NULL), 3);
	config_free(&cfg);
}

/* A field given twice in a flag's rule: an error naming the column (the fuzzer found a NULL file name here). */
static void test_flag_rule_field_twice(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	config_init(&cfg);
	assert_int_equal(flag(&cfg, "steer", "tcp dport 80 dport 81", &errs), 1);
	assert_non_null(strstr(errs, "'dport' given twice in one rule (first at column "));
	assert_int_equal(cfg.nrules, 0);
	free(errs);
	config_free(&cfg);
}

/* ---- files ---- */

static void test_parse_file(void **state)
{
	char path[] = "/tmp/steer-test-XXXXXX";
	int fd = mkstemp(path);
	struct steer_config cfg;
	char *errs = NULL, want[256];
	size_t len;
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, design_example, strlen(design_example)), (ssize_t)strlen(design_example));
	close(fd);
	config_init(&cfg);
	f = open_memstream(&errs, &len);
	assert_int_equal(config_parse_file(&cfg, path, f), 0);
	fclose(f);
	assert_string_equal(errs, "");
	free(errs);
	assert_string_equal(cfg.path, path);
	assert_int_equal(cfg.nrules, 3);
	config_free(&cfg);

	/* Errors name the file. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "workers many\n", 13), 13);
	close(fd);
	config_init(&cfg);
	f = open_memstream(&errs, &len);
	assert_int_equal(config_parse_file(&cfg, path, f), 1);
	fclose(f);
	snprintf(want, sizeof(want), "%s:1:9: bad workers 'many' (expected 0..1024)\n", path);
	assert_string_equal(errs, want);
	free(errs);
	config_free(&cfg);

	/* A NUL byte would hide the rest of the file. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "interface eth1\nproxy-\0port 1\n", 29), 29);
	close(fd);
	config_init(&cfg);
	f = open_memstream(&errs, &len);
	assert_int_equal(config_parse_file(&cfg, path, f), 2);
	fclose(f);
	snprintf(want, sizeof(want), "%s:2:1: unknown directive 'proxy-'\n%s:2:7: NUL byte in file\n", path, path);
	assert_string_equal(errs, want);
	free(errs);
	config_free(&cfg);
	unlink(path);

	config_init(&cfg);
	f = open_memstream(&errs, &len);
	assert_int_equal(config_parse_file(&cfg, "/nonexistent/steer.conf", f), 1);
	fclose(f);
	assert_string_equal(errs, "/nonexistent/steer.conf:1:1: cannot open: No such file or directory\n");
	free(errs);
	config_free(&cfg);
}

/* A file bigger than the reader's first buffer. */
static void test_parse_big_file(void **state)
{
	char path[] = "/tmp/steer-test-XXXXXX";
	int fd = mkstemp(path);
	struct steer_config cfg;
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	for (int i = 0; i < 2000; i++)
		fprintf(f, "# padding line %d\n", i);
	fprintf(f, "interface eth9\n");
	fclose(f);
	config_init(&cfg);
	assert_int_equal(config_parse_file(&cfg, path, NULL), 0);
	assert_int_equal(cfg.n_ifaces, 1);
	assert_string_equal(cfg.ifaces[0], "eth9");
	assert_int_equal(cfg.iface_pos[0].line, 2001);
	config_free(&cfg);
	unlink(path);
}

/* ---- flags ---- */

static void test_flags_override(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, design_example, &errs), 0);
	free(errs);

	expect_flag_ok(&cfg, "proxy-port", "20000");
	assert_int_equal(cfg.proxy_port, 20000);
	assert_int_equal(cfg.key_pos[CONFIG_KEY_PROXY_PORT].line, -1);
	expect_flag_ok(&cfg, "proxy-port", "20001"); /* the last flag wins */
	assert_int_equal(cfg.proxy_port, 20001);
	expect_flag_ok(&cfg, "backend", "split 20");
	assert_int_equal(cfg.backend, BACKEND_SPLIT);
	assert_int_equal(cfg.split_percent, 20);
	expect_flag_ok(&cfg, "mark", "0x10");
	assert_int_equal(cfg.mark, 0x10);
	expect_flag_ok(&cfg, "upstream-source", "gateway");
	assert_int_equal(cfg.upstream_source, UPSTREAM_GATEWAY);
	expect_flag_ok(&cfg, "metrics-listen", "off");
	assert_false(cfg.metrics_enabled);
	expect_flag_ok(&cfg, "drain-timeout", "0");
	assert_int_equal(cfg.drain_timeout, 0);
	expect_flag_ok(&cfg, "audit-key", "k.key");
	assert_string_equal(cfg.audit_key, "k.key");
	expect_flag_ok(&cfg, "audit-anchor-interval", "0");
	assert_int_equal(cfg.audit_anchor_interval, 0);
	expect_flag_ok(&cfg, "audit-log", "  -  "); /* shell quoting leftovers are trimmed */
	assert_string_equal(cfg.audit_log, "-");
	assert_int_equal(cfg.audit_syslog_facility, LOG_DAEMON); /* the default */
	expect_flag_ok(&cfg, "audit-syslog-facility", "local3");
	assert_int_equal(cfg.audit_syslog_facility, LOG_LOCAL3);
	assert_string_equal(syslog_facility_name(cfg.audit_syslog_facility), "local3");
	expect_flag_ok(&cfg, "control-socket", "/tmp/x#y.sock"); /* no comments in a flag */
	assert_string_equal(cfg.control_socket, "/tmp/x#y.sock");

	/* First --interface replaces the file's list, later ones append. */
	expect_flag_ok(&cfg, "interface", "eth5");
	assert_int_equal(cfg.n_ifaces, 1);
	assert_string_equal(cfg.ifaces[0], "eth5");
	assert_int_equal(cfg.iface_pos[0].line, -1);
	expect_flag_ok(&cfg, "interface", "eth6");
	assert_int_equal(cfg.n_ifaces, 2);
	assert_string_equal(cfg.ifaces[1], "eth6");
	expect_flag_error(&cfg, "interface", "eth6", "--interface: 'eth6' given twice\n");
	expect_flag_ok(&cfg, "return-interface", "eth7");
	assert_int_equal(cfg.n_return_ifaces, 1);
	assert_string_equal(cfg.return_ifaces[0], "eth7");

	/* Rules append, marked as coming from a flag (line 0). */
	expect_flag_ok(&cfg, "steer", "udp dport 5353");
	expect_flag_ok(&cfg, "bypass", "dst 10.9.0.0/16");
	assert_int_equal(cfg.nrules, 5);
	assert_int_equal(cfg.rules[3].proto, IPPROTO_UDP);
	assert_int_equal(cfg.rules[3].line, 0);
	assert_true(cfg.rules[4].bypass);

	expect_validate(&cfg, 0, "");
	config_free(&cfg);
}

static void test_flag_errors(void **state)
{
	struct steer_config cfg;

	(void)state;
	config_init(&cfg);
	expect_flag_error(&cfg, "nope", "1", "--nope: unknown option\n");
	expect_flag_error(&cfg, "proxy-port", "0", "--proxy-port: bad proxy-port '0' (expected 1..65535)\n");
	expect_flag_error(&cfg, "proxy-port", "1 2", "--proxy-port: unexpected argument '2'\n");
	expect_flag_error(&cfg, "mark", NULL, "--mark: 'mark' needs a value\n");
	expect_flag_error(&cfg, "mark", "", "--mark: 'mark' needs a value\n");
	expect_flag_error(&cfg, "backend", "split", "--backend: 'split' needs a PERCENT (0..100)\n");
	expect_flag_error(&cfg, "audit-syslog-facility", "local8",
			  "--audit-syslog-facility: unknown facility 'local8' (expected auth, authpriv, cron, daemon, ftp, "
			  "lpr, mail, news, syslog, user, uucp, local0, local1, local2, local3, local4, local5, local6 or "
			  "local7)\n");
	expect_flag_error(&cfg, "route-table", "254",
			  "--route-table: route-table 254 is reserved (253 default, 254 main, 255 local)\n");
	expect_flag_error(&cfg, "interface", "this-name-is-too-long",
			  "--interface: invalid interface name 'this-name-is-too-long': longer than 15 characters\n");
	expect_flag_error(&cfg, "steer", "tcp dport 0", "--steer: bad port '0': port out of range (1..65535)\n");
	expect_flag_error(&cfg, "steer", "", "--steer: 'steer' needs a protocol (tcp or udp)\n");
	expect_flag_error(&cfg, "bypass", "dst 10.0.0.1/8",
			  "--bypass: bad prefix '10.0.0.1/8': host bits set beyond the prefix length "
			  "(did you mean 10.0.0.0/8?)\n");

	char many[256] = "tcp";
	for (int i = 0; i < 40; i++)
		strcat(many, " x");
	expect_flag_error(&cfg, "steer", many, "--steer: too many arguments\n");

	/* Nothing above changed the config. */
	assert_int_equal(cfg.proxy_port, 15001);
	assert_int_equal(cfg.nrules, 0);
	assert_int_equal(cfg.n_ifaces, 0);
	config_free(&cfg);
}

/* A flag on a key the file never set is not a duplicate; a file after flags is not our use. */
static void test_flags_without_file(void **state)
{
	struct steer_config cfg;

	(void)state;
	config_init(&cfg);
	expect_flag_ok(&cfg, "interface", "eth0");
	expect_flag_ok(&cfg, "interface", "eth1");
	expect_flag_ok(&cfg, "return-interface", "eth2");
	expect_flag_ok(&cfg, "steer", "tcp dport 80");
	assert_int_equal(cfg.n_ifaces, 2);
	expect_validate(&cfg, 0, "");
	config_free(&cfg);
}

/* ---- validate ---- */

static void test_validate_empty(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, "# nothing\n", &errs), 0);
	free(errs);
	/* Nothing was written, so the top of the file is where the errors point. */
	expect_validate(&cfg, 3,
			F ":1:1: no 'interface': at least one client-facing interface is required\n"
			F ":1:1: upstream-source client (the default) needs at least one return-interface\n"
			F ":1:1: no 'steer' rule: nothing would be steered\n");
	config_free(&cfg);

	/* Without a file at all. */
	config_init(&cfg);
	expect_validate(&cfg, 3,
			"config: no 'interface': at least one client-facing interface is required\n"
			"config: upstream-source client (the default) needs at least one return-interface\n"
			"config: no 'steer' rule: nothing would be steered\n");
	config_free(&cfg);
}

static void test_validate_upstream(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, "interface eth1\n  upstream-source  client-ip\nsteer tcp\n", &errs), 0);
	free(errs);
	expect_validate(&cfg, 1, F ":2:20: upstream-source client-ip needs at least one return-interface\n");
	/* Switched by a flag: the flag is blamed. */
	expect_flag_ok(&cfg, "upstream-source", "client");
	expect_validate(&cfg, 1, "--upstream-source: upstream-source client needs at least one return-interface\n");
	expect_flag_ok(&cfg, "upstream-source", "gateway");
	expect_validate(&cfg, 0, "");
	config_free(&cfg);

	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, "interface eth1\nupstream-source gateway\nsteer tcp\n", &errs), 0);
	free(errs);
	expect_validate(&cfg, 0, "");
	config_free(&cfg);
}

/* offload joins two connections that carry one tuple: only the built-in proxy with the client's ip:port. */
static void test_validate_offload(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg,
				    "interface eth1\nreturn-interface eth2\nsteer tcp\noffload after 1M\n"
				    "upstream-source client-ip\n",
				    &errs),
			 0);
	free(errs);
	expect_validate(&cfg, 1,
			F ":4:9: offload needs upstream-source client (both legs must carry the client's ip:port)\n");
	expect_flag_ok(&cfg, "upstream-source", "client");
	expect_validate(&cfg, 0, "");
	expect_flag_ok(&cfg, "proxy", "external");
	expect_validate(&cfg, 1, F ":4:9: offload needs the built-in proxy (proxy builtin)\n");
	expect_flag_ok(&cfg, "offload", "off");
	expect_validate(&cfg, 0, "");
	config_free(&cfg);
}

static void test_validate_bypass_only(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, "interface eth1\nreturn-interface eth2\nbypass dport 22\n", &errs), 0);
	free(errs);
	expect_validate(&cfg, 1, F ":1:1: no 'steer' rule: nothing would be steered\n");
	config_free(&cfg);
}

static void test_validate_too_many_rules(void **state)
{
	size_t cap = 64 * 1024, off = 0;
	char *text = malloc(cap);
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	off += (size_t)snprintf(text + off, cap - off, "interface eth1\nreturn-interface eth2\n");
	for (int i = 1; i <= CONFIG_MAX_RULES; i++)
		off += (size_t)snprintf(text + off, cap - off, "steer tcp dport %d\n", i);
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, text, &errs), 0);
	free(errs);
	expect_validate(&cfg, 0, "");

	/* Rule 129 is on line 2 + 129. */
	snprintf(text + off, cap - off, "bypass dport 9999\n");
	config_free(&cfg);
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, text, &errs), 0);
	free(errs);
	expect_validate(&cfg, 1, F ":131:1: too many rules: 129 (at most 128)\n");

	/* One more from a flag: the flag rule is not the first one too many. */
	expect_flag_ok(&cfg, "steer", "udp");
	expect_validate(&cfg, 1, F ":131:1: too many rules: 130 (at most 128)\n");
	config_free(&cfg);

	/* All from flags. */
	config_init(&cfg);
	expect_flag_ok(&cfg, "interface", "eth1");
	expect_flag_ok(&cfg, "upstream-source", "gateway");
	for (int i = 0; i <= CONFIG_MAX_RULES; i++)
		expect_flag_ok(&cfg, "bypass", "udp");
	expect_flag_ok(&cfg, "steer", "udp");
	expect_validate(&cfg, 1, "--bypass: too many rules: 130 (at most 128)\n");
	config_free(&cfg);
	free(text);
}

/* The parser keeps the two lists apart; flags can still bring them together. */
static void test_validate_iface_overlap(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, "interface eth1\nreturn-interface eth2\nsteer tcp\n", &errs), 0);
	free(errs);
	expect_flag_ok(&cfg, "interface", "eth2");
	expect_validate(&cfg, 1, "--interface: 'eth2' is both an interface and a return-interface\n");
	/* A later --return-interface replaces the file's list and resolves it. */
	expect_flag_ok(&cfg, "return-interface", "eth3");
	expect_validate(&cfg, 0, "");
	expect_flag_ok(&cfg, "return-interface", "eth2");
	expect_validate(&cfg, 1, "--return-interface: 'eth2' is both an interface and a return-interface\n");
	config_free(&cfg);

	/* From the file only (the file's return-interface stays, a flag adds the clash). */
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, "interface eth1\nreturn-interface eth2\nsteer tcp\n", &errs), 0);
	free(errs);
	expect_flag_ok(&cfg, "interface", "eth1");
	expect_flag_ok(&cfg, "interface", "eth2");
	expect_validate(&cfg, 1, "--interface: 'eth2' is both an interface and a return-interface\n");
	config_free(&cfg);
}

static void test_validate_split(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	config_init(&cfg);
	assert_int_equal(parse_into(&cfg, "backend split 50\ninterface eth1\nreturn-interface eth2\nsteer tcp\n",
				    &errs),
			 0);
	free(errs);
	expect_validate(&cfg, 0, "");
	/* Only code can put an out-of-range percent there; validate still refuses it. */
	cfg.split_percent = 150;
	expect_validate(&cfg, 1, F ":1:9: split percent 150 out of range (0..100)\n");
	cfg.split_percent = -1;
	cfg.key_pos[CONFIG_KEY_BACKEND].line = 0;
	expect_validate(&cfg, 1, F ":1:1: split percent -1 out of range (0..100)\n");
	config_free(&cfg);
}

/* A reload may change drain-timeout (read only when steer stops), not udp-idle-timeout. */
static void test_reload_diff(void **state)
{
	struct steer_config run, next;
	char *errs = NULL;
	size_t len;
	FILE *f;

	(void)state;
	config_init(&run);
	config_init(&next);
	next.drain_timeout = 5;
	f = open_memstream(&errs, &len);
	assert_int_equal(config_diff_except_rules(&run, &next, f), 0);
	next.udp_idle_timeout = 5;
	assert_int_equal(config_diff_except_rules(&run, &next, f), 1);
	/* The writer holds the key and the interval from its start. */
	strcpy(next.audit_key, "/k");
	next.audit_anchor_interval = 1;
	assert_int_equal(config_diff_except_rules(&run, &next, f), 3);
	fclose(f);
	assert_non_null(strstr(errs, "udp-idle-timeout: changed"));
	assert_non_null(strstr(errs, "audit-key: changed"));
	assert_non_null(strstr(errs, "audit-anchor-interval: changed"));
	assert_null(strstr(errs, "drain-timeout"));
	free(errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_comments_and_blanks),
		cmocka_unit_test(test_columns),
		cmocka_unit_test(test_backend_values),
		cmocka_unit_test(test_scalar_values),
		cmocka_unit_test(test_workers_per_cpu),
		cmocka_unit_test(test_scalar_errors),
		cmocka_unit_test(test_long_paths),
		cmocka_unit_test(test_scalar_twice),
		cmocka_unit_test(test_interfaces),
		cmocka_unit_test(test_too_many_interfaces),
		cmocka_unit_test(test_rules_valid),
		cmocka_unit_test(test_rule_ports_sorted),
		cmocka_unit_test(test_rule_errors),
		cmocka_unit_test(test_rule_multiple_errors),
		cmocka_unit_test(test_too_many_tokens),
		cmocka_unit_test(test_large_prefix_list),
		cmocka_unit_test(test_keeps_going),
		cmocka_unit_test(test_null_errs),
		cmocka_unit_test(test_flag_rule_field_twice),
		cmocka_unit_test(test_parse_file),
		cmocka_unit_test(test_parse_big_file),
		cmocka_unit_test(test_flags_override),
		cmocka_unit_test(test_flag_errors),
		cmocka_unit_test(test_flags_without_file),
		cmocka_unit_test(test_validate_empty),
		cmocka_unit_test(test_validate_upstream),
		cmocka_unit_test(test_validate_offload),
		cmocka_unit_test(test_validate_bypass_only),
		cmocka_unit_test(test_validate_too_many_rules),
		cmocka_unit_test(test_validate_iface_overlap),
		cmocka_unit_test(test_validate_split),
		cmocka_unit_test(test_reload_diff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
