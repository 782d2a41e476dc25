// SPDX-License-Identifier: GPL-2.0-only
/*
 * The nft backend against a real kernel, inside a private network namespace
 * (needs root). The ruleset is read back with the nft CLI, the way an
 * operator sees it: `nft list table inet steer`.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <malloc.h>

#include "nft/batch.h"
#include "nft/nft.h"
#include "steer/backend.h"
#include "steer/config.h"
#include "tests/lib/netns.h"

/* ---------------------------------------------------------------- helpers */

/* Output whatever the exit status: `nft list` of a missing table is read too. */
static char *run_cmd(const char *cmd)
{
	char *out = cmd_output(cmd, NULL);

	assert_non_null(out);
	return out;
}

static char *list_table(void)
{
	return run_cmd("nft list table inet steer 2>&1");
}

static bool table_exists(void)
{
	return system("nft list table inet steer >/dev/null 2>&1") == 0;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* cfg from the common head plus the text (rules and extra directives). */
static void load(struct steer_config *cfg, const char *text)
{
	char buf[8192];

	config_init(cfg);
	snprintf(buf, sizeof(buf), "interface cli0\nproxy-port 15001\nmark 0x1000000\n%s", text);
	assert_int_equal(config_parse_string(cfg, "steer.conf", buf, stderr), 0);
}

static struct backend *install(const struct steer_config *cfg)
{
	struct backend_env env = { .cfg = cfg };

	for (int i = 0; i < LISTEN_SLOTS; i++)
		env.listeners.fd[i] = -1;
	return nft_backend_ops.install(&env);
}

/* stderr of fn() into buf. */
static void capture_stderr(void (*fn)(void *), void *arg, char *buf, size_t len)
{
	char *got;

	assert_int_equal(capture_stderr_begin(), 0);
	fn(arg);
	got = capture_stderr_end();
	assert_non_null(got);
	snprintf(buf, len, "%s", got);
	free(got);
	fputs(buf, stderr); /* still visible in the test log */
}

static void assert_has(const char *text, const char *line)
{
	if (!strstr(text, line)) {
		fprintf(stderr, "missing:\n%s\nin:\n%s\n", line, text);
		fail();
	}
}

static void assert_lacks(const char *text, const char *what)
{
	if (strstr(text, what)) {
		fprintf(stderr, "unexpected:\n%s\nin:\n%s\n", what, text);
		fail();
	}
}

static void assert_text(const char *got, const char *want)
{
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "--- want\n%s--- got\n%s", want, got);
		fail();
	}
}

/* ---------------------------------------------------------------- fixtures */

static int group_setup(void **state)
{
	(void)state;
	if (netns_enter("test_nft") != 0)
		return -1;
	if (system("ip link add cli0 type veth peer name cli1 && "
		   "ip link add srv0 type veth peer name srv1 && ip link set cli0 up && ip link set srv0 up") != 0) {
		fprintf(stderr, "test_nft: cannot create the veth interfaces\n");
		return -1;
	}
	if (system("nft --version >/dev/null") != 0) {
		fprintf(stderr, "test_nft: the nft CLI is needed to read the ruleset back\n");
		return -1;
	}
	return 0;
}

/* Every test starts and ends without the table. */
static int teardown(void **state)
{
	(void)state;
	system("nft delete table inet steer 2>/dev/null");
	return 0;
}

/* ---------------------------------------------------------------- tests */

static const char HEAD[] = "table inet steer {\n"
			   "\tcomment \"steer: flows to the local transparent proxy (steer cleanup removes it)\"\n"
			   "\tset client_ifaces {\n"
			   "\t\ttype ifname\n"
			   "\t\telements = { \"cli0\" }\n"
			   "\t}\n\n";

static const char CHAIN_HEAD[] =
	"\tchain prerouting {\n"
	"\t\ttype filter hook prerouting priority mangle; policy accept;\n"
	"\t\tmeta mark & 0x01000000 == 0x01000000 counter packets 0 bytes 0 accept comment \"steered by eBPF at "
	"TC ingress (runs before netfilter)\"\n";

static const char CLIENT_PART[] =
	"\t\tiifname != @client_ifaces return\n"
	"\t\tfib daddr type local counter packets 0 bytes 0 return comment \"to the gateway itself: never steered\"\n"
	"\t\tmeta pkttype != host counter packets 0 bytes 0 return comment \"broadcast and multicast: never "
	"steered\"\n"
	"\t\ttcp flags != syn / syn,rst,ack socket transparent 1 counter packets 0 bytes 0 meta mark set meta mark "
	"| 0x01000000 accept comment \"flows the proxy holds (SYNs go to tproxy: TIME_WAIT)\"\n"
	"\t\ttcp flags ack / syn,rst,ack ct mark & 0x01000000 == 0x01000000 tproxy to :15001 meta mark set meta "
	"mark | 0x01000000 counter packets 0 bytes 0 accept comment \"SYN-cookie ACKs of steered connections (ct "
	"mark)\"\n"
	"\t\tmeta l4proto icmp socket transparent 1 counter packets 0 bytes 0 meta mark set meta mark | 0x01000000 "
	"accept comment \"ICMP errors for the proxy's sockets (path MTU)\"\n"
	"\t\tmeta l4proto ipv6-icmp socket transparent 1 counter packets 0 bytes 0 meta mark set meta mark | "
	"0x01000000 accept comment \"ICMP errors for the proxy's sockets (path MTU)\"\n";

static void test_simple_rule(void **state)
{
	struct steer_config cfg;
	struct backend *b;
	char want[8192];
	char *got;

	(void)state;
	load(&cfg, "steer tcp dport 80\n");
	b = install(&cfg);
	assert_non_null(b);
	got = list_table();
	snprintf(want, sizeof(want),
		 "%s"
		 "\tset steer1_ports {\n"
		 "\t\ttype inet_service\n"
		 "\t\tflags interval\n"
		 "\t\telements = { 80 }\n"
		 "\t}\n\n"
		 "%s%s"
		 "\t\ttcp dport @steer1_ports tcp flags syn / syn,rst,ack tproxy to :15001 meta mark set meta mark | "
		 "0x01000000 ct mark set ct mark | 0x01000000 counter packets 0 bytes 0 accept comment \"steer.conf:4\"\n"
		 "\t}\n"
		 "}\n",
		 HEAD, CHAIN_HEAD, CLIENT_PART);
	assert_text(got, want);
	free(got);
	b->ops->remove(b);
	assert_false(table_exists());
	config_free(&cfg);
}

/* Bypass and steer, IPv4 and IPv6 mixed in one list; fail-open: no drop rules. */
static void test_mixed_families(void **state)
{
	struct steer_config cfg;
	struct backend *b;
	char want[16384];
	char *got;

	(void)state;
	load(&cfg, "steer tcp dport 80,443,8000-8999 dst 10.0.0.0/8,2001:db8::/32 src 192.168.0.0/16\n" /* 4 */
		   "steer udp dport 53\n"                                                                    /* 5 */
		   "steer tcp dst 2001:db8::/32,198.51.100.0/24\n"                                          /* 6 */
		   "steer tcp dst 10.9.0.0/16 src fd00::/8\n"                                               /* 7 */
		   "bypass dst 10.0.2.5/32,2001:db8::5\n"                                                   /* 8 */
		   "bypass tcp dport 22\n");                                                                /* 9 */
	b = install(&cfg);
	assert_non_null(b);
	got = list_table();
	snprintf(want, sizeof(want),
		 "%s"
		 "\tset steer1_ports {\n\t\ttype inet_service\n\t\tflags interval\n"
		 "\t\telements = { 80, 443, 8000-8999 }\n\t}\n\n"
		 "\tset steer1_dst4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.0.0/8 }\n\t}\n\n"
		 "\tset steer1_src4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 192.168.0.0/16 }\n"
		 "\t}\n\n"
		 "\tset steer2_ports {\n\t\ttype inet_service\n\t\tflags interval\n\t\telements = { 53 }\n\t}\n\n"
		 "\tset steer3_dst4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 198.51.100.0/24 }\n"
		 "\t}\n\n"
		 "\tset steer3_dst6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n\t\telements = { 2001:db8::/32 }\n"
		 "\t}\n\n"
		 "\tset bypass5_dst4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.2.5 }\n\t}\n\n"
		 "\tset bypass5_dst6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n\t\telements = { 2001:db8::5 }\n"
		 "\t}\n\n"
		 "\tset bypass6_ports {\n\t\ttype inet_service\n\t\tflags interval\n\t\telements = { 22 }\n\t}\n\n"
		 "%s%s"
		 "\t\tmeta l4proto { tcp, udp } ip daddr @bypass5_dst4 counter packets 0 bytes 0 accept comment "
		 "\"steer.conf:8\"\n"
		 "\t\tmeta l4proto { tcp, udp } ip6 daddr @bypass5_dst6 counter packets 0 bytes 0 accept comment "
		 "\"steer.conf:8\"\n"
		 "\t\ttcp dport @bypass6_ports counter packets 0 bytes 0 accept comment \"steer.conf:9\"\n"
		 "\t\ttcp dport @steer1_ports ip daddr @steer1_dst4 ip saddr @steer1_src4 tcp flags syn / syn,rst,ack "
		 "tproxy ip to :15001 meta mark set meta mark | 0x01000000 ct mark set ct mark | 0x01000000 counter "
		 "packets 0 bytes 0 accept comment \"steer.conf:4\"\n"
		 "\t\tudp dport @steer2_ports tproxy to :15001 meta mark set meta mark | 0x01000000 counter packets 0 "
		 "bytes 0 accept comment \"steer.conf:5\"\n"
		 "\t\tip daddr @steer3_dst4 tcp flags syn / syn,rst,ack tproxy ip to :15001 meta mark set meta mark | "
		 "0x01000000 ct mark set ct mark | 0x01000000 counter packets 0 bytes 0 accept comment \"steer.conf:6\"\n"
		 "\t\tip6 daddr @steer3_dst6 tcp flags syn / syn,rst,ack tproxy ip6 to :15001 meta mark set meta mark "
		 "| 0x01000000 ct mark set ct mark | 0x01000000 counter packets 0 bytes 0 accept comment "
		 "\"steer.conf:6\"\n"
		 "\t}\n"
		 "}\n",
		 HEAD, CHAIN_HEAD, CLIENT_PART);
	/* Line 7 (v4 dst, v6 src) can match nothing: no sets, no rules, as rules_match() says. */
	assert_text(got, want);
	assert_lacks(got, "steer4_");
	free(got);
	b->ops->remove(b);
	config_free(&cfg);
}

static void test_fail_closed(void **state)
{
	struct steer_config cfg;
	struct backend *b;
	char *got;

	(void)state;
	load(&cfg, "on-proxy-down fail-closed\nsteer tcp dport 80 dst 10.0.0.0/8,2001:db8::/32\nsteer udp\n");
	b = install(&cfg);
	assert_non_null(b);
	got = list_table();
	assert_has(got, "\t\ttcp dport @steer1_ports ip daddr @steer1_dst4 tcp flags syn / syn,rst,ack tproxy ip to "
			":15001 meta mark set meta mark | 0x01000000 ct mark set ct mark | 0x01000000 counter packets "
			"0 bytes 0 accept comment \"steer.conf:5\"\n"
			"\t\ttcp dport @steer1_ports ip6 daddr @steer1_dst6 tcp flags syn / syn,rst,ack tproxy ip6 to "
			":15001 meta mark set meta mark | 0x01000000 ct mark set ct mark | 0x01000000 counter packets "
			"0 bytes 0 accept comment \"steer.conf:5\"\n"
			"\t\ttcp dport @steer1_ports ip daddr @steer1_dst4 tcp flags syn / syn,rst,ack counter packets 0 "
			"bytes 0 drop comment \"steer.conf:5: no listener, fail-closed\"\n"
			"\t\ttcp dport @steer1_ports ip6 daddr @steer1_dst6 tcp flags syn / syn,rst,ack counter packets 0 "
			"bytes 0 drop comment \"steer.conf:5: no listener, fail-closed\"\n"
			"\t\tmeta l4proto udp tproxy to :15001 meta mark set meta mark | 0x01000000 counter packets 0 "
			"bytes 0 accept comment \"steer.conf:6\"\n"
			"\t\tmeta l4proto udp counter packets 0 bytes 0 drop comment \"steer.conf:6: no listener, "
			"fail-closed\"\n"
			"\t}\n");
	free(got);
	b->ops->remove(b);
	config_free(&cfg);
}

static void test_return_interface(void **state)
{
	struct steer_config cfg;
	struct backend *b;
	char *got;

	(void)state;
	load(&cfg, "interface cli1\nreturn-interface srv0\nupstream-source client\nsteer tcp dport 80\n");
	b = install(&cfg);
	assert_non_null(b);
	got = list_table();
	assert_has(got, "\tset client_ifaces {\n\t\ttype ifname\n\t\telements = { \"cli0\",\n\t\t\t     \"cli1\" }\n\t}\n");
	assert_has(got, "\tset return_ifaces {\n\t\ttype ifname\n\t\telements = { \"srv0\" }\n\t}\n");
	/* Right after the eBPF-mark rule, before anything client-side. */
	assert_has(got, "runs before netfilter)\"\n"
			"\t\tiifname @return_ifaces socket transparent 1 socket wildcard 0 counter packets 0 bytes 0 "
			"meta mark set meta mark | 0x01000000 accept comment \"replies to the proxy's upstream sockets\"\n"
			"\t\tiifname != @client_ifaces return\n");
	free(got);
	b->ops->remove(b);
	config_free(&cfg);
}

/* An external proxy is found by tproxy the same way: the very same ruleset. */
static void test_external_proxy(void **state)
{
	struct steer_config a, e;
	struct backend *b;
	char *ga, *ge;

	(void)state;
	load(&a, "steer tcp dport 80,443\nsteer udp dport 53\n");
	load(&e, "proxy external\nsteer tcp dport 80,443\nsteer udp dport 53\n");
	b = install(&a);
	assert_non_null(b);
	ga = list_table();
	b->ops->remove(b);
	b = install(&e);
	assert_non_null(b);
	ge = list_table();
	b->ops->remove(b);
	/* Only the comments' line numbers differ (one more directive). */
	assert_has(ge, "comment \"steer.conf:5\"");
	assert_int_equal(count(ga, "\n"), count(ge, "\n"));
	assert_int_equal(count(ga, "tproxy to :15001"), 3); /* two rules and the SYN-cookie ACKs' */
	assert_int_equal(count(ge, "tproxy to :15001"), 3);
	free(ga);
	free(ge);
	config_free(&a);
	config_free(&e);
}

/* A config with n prefixes in one dst list: IPv4 /28s in 10/8, or IPv6 /64s. */
static char *many_prefixes(size_t n, bool v6)
{
	size_t cap = n * 32 + 256, len = 0;
	char *s = malloc(cap);

	assert_non_null(s);
	len += (size_t)snprintf(s + len, cap - len, "steer tcp dport 80 dst ");
	for (size_t i = 0; i < n; i++) {
		if (v6)
			len += (size_t)snprintf(s + len, cap - len, "%s2001:db8:%zx:%zx::/64", i ? "," : "",
						i >> 16, i & 0xffff);
		else
			len += (size_t)snprintf(s + len, cap - len, "%s10.%zu.%zu.%zu/28", i ? "," : "", i >> 12,
						(i >> 4) & 0xff, (i & 0xf) << 4);
	}
	snprintf(s + len, cap - len, "\n");
	return s;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void big_set(size_t n, bool v6)
{
	struct steer_config cfg;
	struct backend *b;
	char *text = many_prefixes(n, v6), *got, cmd[256];
	double t0;

	config_init(&cfg);
	{
		char *full = malloc(strlen(text) + 128);

		assert_non_null(full);
		sprintf(full, "interface cli0\nproxy-port 15001\n%s", text);
		assert_int_equal(config_parse_string(&cfg, "steer.conf", full, stderr), 0);
		free(full);
	}
	t0 = now_ms();
	b = install(&cfg);
	assert_non_null(b);
	fprintf(stderr, "test_nft: install with %zu IPv%d prefixes: %.0f ms\n", n, v6 ? 6 : 4, now_ms() - t0);
	/* The rule count does not grow with the prefixes. */
	got = run_cmd("nft list chain inet steer prerouting");
	assert_int_equal(count(got, " tproxy "), 2); /* the rule's and the SYN-cookie ACKs' */
	assert_int_equal(count(got, "\n\t\t"), 10); /* type line + 9 rules */
	free(got);
	/* The set holds every prefix (nft prints one per line once they do not fit one). */
	snprintf(cmd, sizeof(cmd), "nft -j list set inet steer steer1_dst%d | grep -o '\"prefix\"' | wc -l",
		 v6 ? 6 : 4);
	got = run_cmd(cmd);
	assert_int_equal(strtoul(got, NULL, 10), n);
	free(got);
	t0 = now_ms();
	assert_int_equal(b->ops->replace_rules(b, &cfg), 0);
	fprintf(stderr, "test_nft: replace with %zu IPv%d prefixes: %.0f ms\n", n, v6 ? 6 : 4, now_ms() - t0);
	b->ops->remove(b);
	free(text);
	config_free(&cfg);
}

/* Every attribute's padding in [p, end) is zero, nested attributes' too. */
static void assert_padding_zero(const unsigned char *p, const unsigned char *end)
{
	while (p + sizeof(struct nlattr) <= end) {
		const struct nlattr *a = (const struct nlattr *)p;
		size_t len = a->nla_len, aligned = MNL_ALIGN(len);

		assert_true(len >= sizeof(struct nlattr) && p + len <= end);
		for (size_t i = len; i < aligned && p + i < end; i++)
			if (p[i])
				fail_msg("attribute %u: padding byte %zu is 0x%02x", a->nla_type & NLA_TYPE_MASK, i, p[i]);
		if (a->nla_type & NLA_F_NESTED)
			assert_padding_zero(p + MNL_ATTR_HDRLEN, p + len);
		p += aligned;
	}
}

/*
 * The batch sent to the kernel holds no uninitialised byte (valgrind saw two
 * after each table name): malloc's memory is perturbed to non-zero here, and
 * the 3000 IPv6 prefixes make the buffer grow past its first 64 KiB.
 */
static void test_batch_padding_zeroed(void **state)
{
	struct steer_config cfg;
	struct nft_batch b;
	char *text = many_prefixes(3000, true), *full;
	size_t msgs = 0;

	(void)state;
	mallopt(M_PERTURB, 0x5a);
	full = malloc(strlen(text) + 128);
	assert_non_null(full);
	sprintf(full, "interface cli0\nproxy-port 15001\n%s", text);
	config_init(&cfg);
	assert_int_equal(config_parse_string(&cfg, "steer.conf", full, stderr), 0);
	assert_int_equal(nft_batch_init(&b, 1), 0);
	assert_int_equal(nft_ruleset_install(&b, &cfg), 0);
	assert_int_equal(nft_batch_end(&b), 0);
	assert_true(b.len > 1 << 16);
	for (size_t off = 0; off < b.len; msgs++) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(b.buf + off);
		const unsigned char *start = (const unsigned char *)nlh, *end = start + nlh->nlmsg_len;

		assert_true(nlh->nlmsg_len >= NLMSG_HDRLEN && off + nlh->nlmsg_len <= b.len);
		assert_padding_zero(start + NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)), end);
		off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	assert_true(msgs > 4);
	mallopt(M_PERTURB, 0);
	nft_batch_free(&b);
	config_free(&cfg);
	free(full);
	free(text);
}

static void test_10k_prefixes(void **state)
{
	(void)state;
	big_set(10000, false);
	big_set(10000, true);
}

static void test_100k_prefixes(void **state)
{
	(void)state;
	big_set(100000, false);
}

static void test_replace_rules(void **state)
{
	struct steer_config a, b2, fresh;
	struct backend *b, *f;
	char *got, *want;

	(void)state;
	load(&a, "steer tcp dport 80 dst 10.0.0.0/8\nbypass dst 10.0.2.5\n");
	load(&b2, "return-interface srv0\non-proxy-down fail-closed\nsteer udp dport 53 src fd00::/8\n"
		  "steer tcp dst 10.1.0.0/16\n");
	/* What b2 looks like installed from scratch. */
	f = install(&b2);
	assert_non_null(f);
	want = list_table();
	f->ops->remove(f);

	b = install(&a);
	assert_non_null(b);
	assert_int_equal(b->ops->replace_rules(b, &b2), 0);
	got = list_table();
	assert_text(got, want);
	free(got);
	/* And back: same set names deleted and re-created in one batch. */
	load(&fresh, "steer tcp dport 80 dst 10.0.0.0/8\nbypass dst 10.0.2.5\n");
	assert_int_equal(b->ops->replace_rules(b, &fresh), 0);
	got = list_table();
	assert_has(got, "set bypass2_dst4");
	assert_lacks(got, "steer1_src6");
	free(got);
	b->ops->remove(b);
	free(want);
	config_free(&a);
	config_free(&b2);
	config_free(&fresh);
}

/* Duplicate a prefix in rule 0's dst list: the kernel refuses the element. */
static void poison(struct steer_config *cfg)
{
	struct rule *r = &cfg->rules[0];

	r->dst = realloc(r->dst, (r->ndst + 1) * sizeof(*r->dst));
	assert_non_null(r->dst);
	r->dst[r->ndst] = r->dst[0];
	r->ndst++;
}

struct call {
	struct backend *b;
	const struct steer_config *cfg;
	int ret;
	struct backend *out;
};

static void call_replace(void *arg)
{
	struct call *c = arg;

	c->ret = c->b->ops->replace_rules(c->b, c->cfg);
}

static void call_install(void *arg)
{
	struct call *c = arg;

	c->out = install(c->cfg);
}

static void test_rejected_batch(void **state)
{
	struct steer_config a, bad;
	struct call c = { 0 };
	struct backend *b;
	char *before, *after, err[1024];

	(void)state;
	load(&a, "return-interface srv0\nsteer tcp dport 80 dst 10.0.0.0/8\nbypass dst 10.0.2.5\n");
	load(&bad, "steer udp dport 53 dst 192.0.2.0/24,198.51.100.0/24\nsteer tcp dport 443\n");
	poison(&bad);
	b = install(&a);
	assert_non_null(b);
	before = list_table();

	c.b = b;
	c.cfg = &bad;
	capture_stderr(call_replace, &c, err, sizeof(err));
	assert_true(c.ret < 0);
	assert_has(err, "steer: nft: add 6 elements to set steer1_dst4: File exists");
	after = list_table();
	assert_text(after, before);
	free(after);

	/* A rejected install leaves nothing (after removing the running one). */
	b->ops->remove(b);
	c.cfg = &bad;
	capture_stderr(call_install, &c, err, sizeof(err));
	assert_null(c.out);
	assert_false(table_exists());
	free(before);
	config_free(&a);
	config_free(&bad);
}

static void test_table_exists(void **state)
{
	struct steer_config cfg;
	struct call c = { .cfg = &cfg };
	char err[1024];
	char *before, *after;

	(void)state;
	load(&cfg, "steer tcp dport 80\n");
	assert_int_equal(system("nft add table inet steer && nft add chain inet steer keep"), 0);
	before = list_table();
	capture_stderr(call_install, &c, err, sizeof(err));
	assert_null(c.out);
	assert_text(err, "steer: nft: table inet steer exists (run steer cleanup)\n");
	after = list_table();
	assert_text(after, before);
	free(before);
	free(after);
	config_free(&cfg);
}

static void test_remove_and_cleanup(void **state)
{
	struct steer_config cfg;
	struct backend *b;

	(void)state;
	load(&cfg, "steer tcp dport 80\n");
	b = install(&cfg);
	assert_non_null(b);
	assert_true(table_exists());
	b->ops->remove(b);
	assert_false(table_exists());

	/* A daemon that died: the table stays until cleanup. */
	b = install(&cfg);
	assert_non_null(b);
	free(b); /* forget it without removing */
	assert_int_equal(nft_backend_ops.cleanup_stale(), 1);
	assert_false(table_exists());
	assert_int_equal(nft_backend_ops.cleanup_stale(), 0);
	config_free(&cfg);
}

static void test_counters(void **state)
{
	struct steer_config cfg;
	struct backend_counter c[16];
	struct backend_env env = { 0 };
	struct backend *b;
	size_t n;

	(void)state;
	load(&cfg, "on-proxy-down fail-closed\nreturn-interface srv0\nsteer tcp dport 80\nbypass dst 10.0.2.5\n");
	env.cfg = &cfg;
	assert_int_equal(nft_backend_ops.counters(&env, NULL, c, 16), 0);
	b = install(&cfg);
	assert_non_null(b);
	n = b->ops->counters(&env, b, c, 16);
	assert_int_equal(n, 8);
	assert_string_equal(c[0].name, "steered");
	assert_string_equal(c[2].name, "bypassed");
	assert_string_equal(c[5].name, "no_listener_drop");
	assert_string_equal(c[7].name, "cookie_ack");
	for (size_t i = 0; i < n; i++)
		assert_int_equal(c[i].value, 0);
	/* Traffic: a packet to the gateway's own address from outside: local_dst (via loopback: iif lo is
	 * not a client interface, so nothing moves) — counting with real traffic is the lab's job. */
	assert_int_equal(b->ops->counters(&env, b, c, 3), 3);
	b->ops->remove(b);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_simple_rule, teardown),
		cmocka_unit_test_teardown(test_mixed_families, teardown),
		cmocka_unit_test_teardown(test_fail_closed, teardown),
		cmocka_unit_test_teardown(test_return_interface, teardown),
		cmocka_unit_test_teardown(test_external_proxy, teardown),
		cmocka_unit_test(test_batch_padding_zeroed),
		cmocka_unit_test_teardown(test_10k_prefixes, teardown),
		cmocka_unit_test_teardown(test_100k_prefixes, teardown),
		cmocka_unit_test_teardown(test_replace_rules, teardown),
		cmocka_unit_test_teardown(test_rejected_batch, teardown),
		cmocka_unit_test_teardown(test_table_exists, teardown),
		cmocka_unit_test_teardown(test_remove_and_cleanup, teardown),
		cmocka_unit_test_teardown(test_counters, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
