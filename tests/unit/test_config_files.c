// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for the configuration at operator scale: include (globs,
 * relative paths, loops, depth), prefix set files (@PATH), lines continued
 * with a backslash, the rule limit across files, echoed tokens truncated and
 * escaped, and the cap on printed errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "steer/config.h"

/* The head every test's main file starts with: valid on its own but for the rules. */
#define HEAD "interface eth1\nupstream-source gateway\n"

static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/steer-cfgfiles-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* DIR/name, in a static buffer of its own per slot (several paths live at once). */
static const char *at(int slot, const char *name)
{
	static char buf[8][256];

	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", dir, name);
	return buf[slot];
}

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (strchr(name, '/')) {
		char sub[256];

		snprintf(sub, sizeof(sub), "%s/%.*s", dir, (int)(strrchr(name, '/') - name), name);
		mkdir(sub, 0755);
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Parse DIR/name; *errs gets everything printed (caller frees). */
static int parse(struct steer_config *cfg, const char *name, char **errs)
{
	size_t len;
	FILE *f = open_memstream(errs, &len);
	int n;

	assert_non_null(f);
	config_init(cfg);
	n = config_parse_file(cfg, at(7, name), f);
	fclose(f);
	return n;
}

/* Parse DIR/name and compare the whole error output; want is a format over the directory. */
__attribute__((format(printf, 3, 4))) static void expect_errors(const char *name, int nerr, const char *fmt, ...)
{
	struct steer_config cfg;
	char *errs = NULL, *want = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	assert_true(vasprintf(&want, fmt, ap) >= 0);
	va_end(ap);
	n = parse(&cfg, name, &errs);
	assert_string_equal(errs, want);
	assert_int_equal(n, nerr);
	free(errs);
	free(want);
	config_free(&cfg);
}

static bool ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);

	return a >= b && strcmp(s + a - b, tail) == 0;
}

/* ---- include ---- */

static void test_include_glob_sorted(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	put("main.conf", HEAD "include conf.d/*.conf\ninclude conf.d/none-*.conf\nsteer udp dport 53\n");
	/* Written out of order: the glob's sort decides. */
	put("conf.d/20-b.conf", "steer tcp dport 443\n");
	put("conf.d/10-a.conf", "# first\nproxy-port 15002\n\nsteer tcp dport 80\ninclude sub/inner.conf\n");
	/* Relative to the including file: conf.d/sub/inner.conf. */
	put("conf.d/sub/inner.conf", "bypass dst 10.0.0.0/8\n");
	put("conf.d/ignored.txt", "garbage\n");
	assert_int_equal(parse(&cfg, "main.conf", &errs), 0);
	assert_string_equal(errs, "");
	assert_int_equal(cfg.nrules, 4);
	assert_int_equal(cfg.rules[0].ports[0].lo, 80);
	assert_int_equal(cfg.rules[0].line, 4);
	assert_true(ends_with(cfg.rules[0].file, "/conf.d/10-a.conf"));
	assert_true(cfg.rules[1].bypass);
	assert_true(ends_with(cfg.rules[1].file, "/conf.d/sub/inner.conf"));
	assert_int_equal(cfg.rules[1].line, 1);
	assert_int_equal(cfg.rules[2].ports[0].lo, 443);
	assert_int_equal(cfg.rules[3].ports[0].lo, 53);
	assert_null(cfg.rules[3].file); /* the main file */
	assert_int_equal(cfg.rules[3].line, 5);
	assert_int_equal(cfg.proxy_port, 15002);
	assert_int_equal(cfg.key_pos[CONFIG_KEY_PROXY_PORT].line, 2);
	assert_true(ends_with(cfg.key_pos[CONFIG_KEY_PROXY_PORT].file, "/conf.d/10-a.conf"));
	assert_string_equal(cfg.path, at(0, "main.conf"));
	assert_int_equal(config_validate(&cfg, NULL), 0);
	free(errs);
	config_free(&cfg);
}

static void test_include_errors(void **state)
{
	(void)state;
	/* A missing literal path is an error at the include; errors inside name the included file. */
	put("main.conf", HEAD "proxy-port 15002\ninclude missing.conf\ninclude inc/a.conf\n");
	put("inc/a.conf", "steer tcp dport 80\nfrobnicate\nproxy-port 15003\ninterface eth1\n");
	expect_errors("main.conf", 4,
		      "%s/main.conf:4:9: cannot read %s/missing.conf: No such file or directory\n"
		      "%s/inc/a.conf:2:1: unknown directive 'frobnicate'\n"
		      "%s/inc/a.conf:3:1: 'proxy-port' already set at %s/main.conf:3\n"
		      "%s/inc/a.conf:4:11: interface 'eth1' already given at %s/main.conf:1\n",
		      dir, dir, dir, dir, dir, dir, dir);
	/* And the other way round: the main file's duplicate names the included file's line. */
	put("main.conf", HEAD "include inc/b.conf\nproxy-port 2\nsteer tcp\n");
	put("inc/b.conf", "\nproxy-port 1\n");
	expect_errors("main.conf", 1, "%s/main.conf:4:1: 'proxy-port' already set at %s/inc/b.conf:2\n", dir,
		      dir);
	/* An include needs exactly one path. */
	put("main.conf", HEAD "include\ninclude a b\nsteer tcp\n");
	expect_errors("main.conf", 2,
		      "%s/main.conf:3:1: 'include' needs a value\n"
		      "%s/main.conf:4:11: unexpected argument 'b'\n",
		      dir, dir);
	/* A glob naming a directory that cannot be read... a directory is not a file. */
	put("main.conf", HEAD "include inc\nsteer tcp\n");
	expect_errors("main.conf", 1, "%s/main.conf:3:9: cannot read %s/inc: Is a directory\n", dir, dir);
}

/* --include FILE: the file's errors are its own lines, not the flag's. */
static void test_include_flag(void **state)
{
	struct steer_config cfg;
	char *errs = NULL, want[512];
	size_t len;
	FILE *f = open_memstream(&errs, &len);

	(void)state;
	put("flag.conf", "steer tcp dport 80\nworkers many\n");
	config_init(&cfg);
	assert_int_equal(config_apply_flag(&cfg, "include", at(0, "flag.conf"), f), 1);
	fclose(f);
	snprintf(want, sizeof(want), "%s/flag.conf:2:9: bad workers 'many' (expected 0..1024)\n", dir);
	assert_string_equal(errs, want);
	assert_int_equal(cfg.nrules, 1);
	assert_int_equal(cfg.rules[0].line, 1);
	assert_true(ends_with(cfg.rules[0].file, "/flag.conf"));
	free(errs);
	config_free(&cfg);
}

static void test_include_loop(void **state)
{
	(void)state;
	put("main.conf", HEAD "include loop/a.conf\nsteer tcp\n");
	put("loop/a.conf", "include b.conf\n");
	put("loop/b.conf", "include a.conf\ninclude ../main.conf\ninclude b.conf\n");
	expect_errors("main.conf", 3,
		      "%s/loop/b.conf:1:9: include loop: %s/loop/a.conf is already being read (included at "
		      "%s/main.conf:3)\n"
		      "%s/loop/b.conf:2:9: include loop: %s/loop/../main.conf is the main file\n"
		      "%s/loop/b.conf:3:9: include loop: %s/loop/b.conf is already being read (included at "
		      "%s/loop/a.conf:1)\n",
		      dir, dir, dir, dir, dir, dir, dir, dir);
}

static void test_include_depth(void **state)
{
	char name[32], text[64];

	(void)state;
	put("main.conf", HEAD "include deep/1.conf\nsteer tcp\n");
	for (int i = 1; i <= 20; i++) {
		snprintf(name, sizeof(name), "deep/%d.conf", i);
		snprintf(text, sizeof(text), "include %d.conf\n", i + 1);
		put(name, text);
	}
	put("deep/21.conf", "proxy-port 1\n");
	/* The main file is depth 0; 16.conf is the 16th nested file, and its include is one too many. */
	expect_errors("main.conf", 1, "%s/deep/16.conf:1:9: includes nested more than 16 deep\n", dir);
	put("deep/16.conf", "proxy-port 16\n");
	expect_errors("main.conf", 0, "%s", "");
}

/* ---- set files ---- */

static void test_set_file(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;
	char a[64];

	(void)state;
	put("main.conf", HEAD "steer tcp dst 192.0.2.0/24,@sets/a.txt,2001:db8:ffff::/48 src @/dev/null,10.9.0.0/16\n");
	put("sets/a.txt", "# a set\n\n10.0.0.0/16\n   2001:db8::/40   # indented, commented\n\t10.1.0.1\n"
			  "2001:db8:100::1\r\n# end");
	/* /dev/null has no prefix: an error, since an empty field would match every address. */
	assert_int_equal(parse(&cfg, "main.conf", &errs), 1);
	char want[512];
	snprintf(want, sizeof(want), "%s/main.conf:3:63: set file /dev/null holds no prefix\n", dir);
	assert_string_equal(errs, want);
	free(errs);
	config_free(&cfg);

	put("main.conf", HEAD "steer tcp dst 192.0.2.0/24,@sets/a.txt,2001:db8:ffff::/48\n");
	assert_int_equal(parse(&cfg, "main.conf", &errs), 0);
	assert_string_equal(errs, "");
	assert_int_equal(cfg.nrules, 1);
	assert_int_equal(cfg.rules[0].ndst, 6);
	/* The operator's order: literal, the set's lines, literal. */
	const char *order[] = { "192.0.2.0/24", "10.0.0.0/16", "2001:db8::/40", "10.1.0.1/32", "2001:db8:100::1/128",
				"2001:db8:ffff::/48" };
	for (int i = 0; i < 6; i++)
		assert_string_equal(prefix_format(&cfg.rules[0].dst[i], a, sizeof(a)), order[i]);
	free(errs);
	config_free(&cfg);
}

static void test_set_file_errors(void **state)
{
	(void)state;
	put("main.conf", HEAD "steer tcp dst @sets/bad.txt,@sets/none.txt,@ src 10.0.0.0/8,@sets/dup.txt\n");
	put("sets/bad.txt", "10.0.0.0/8\n  10.1.2.3/8\n10.2.0.0/16 10.3.0.0/16\n300.1.1.1\n\x01zz\n");
	put("sets/dup.txt", "192.168.0.0/16\n10.0.0.0/8\n10.1.0.0/16\n");
	expect_errors("main.conf", 8,
		      "%s/sets/bad.txt:2:3: bad prefix '10.1.2.3/8': host bits set beyond the prefix length "
		      "(did you mean 10.0.0.0/8?)\n"
		      "%s/sets/bad.txt:3:13: one prefix per line: unexpected '10.3.0.0/16'\n"
		      "%s/sets/bad.txt:4:1: bad prefix '300.1.1.1': invalid IP address\n"
		      "%s/sets/bad.txt:5:1: bad prefix '\\x01zz': invalid IP address\n"
		      "%s/main.conf:3:29: cannot read set file %s/sets/none.txt: No such file or directory\n"
		      "%s/main.conf:3:44: '@' needs a set file's path\n"
		      "%s/sets/dup.txt:2:1: duplicate prefix 10.0.0.0/8 (also at %s/main.conf:3:50)\n"
		      "%s/sets/dup.txt:3:1: prefix 10.1.0.0/16 overlaps 10.0.0.0/8 at %s/main.conf:3:50\n",
		      dir, dir, dir, dir, dir, dir, dir, dir, dir, dir, dir);
}

static void test_set_file_nul(void **state)
{
	FILE *f;

	(void)state;
	put("main.conf", HEAD "steer tcp dst @n.txt\n");
	f = fopen(at(0, "n.txt"), "w");
	assert_non_null(f);
	fwrite("10.0.0.0/8\n10.1\0.0.0/16\n", 1, 24, f);
	fclose(f);
	expect_errors("main.conf", 2,
		      "%s/n.txt:2:5: NUL byte in file\n"
		      "%s/n.txt:2:1: bad prefix '10.1': invalid IP address\n",
		      dir, dir);
}

/* ---- continuation lines ---- */

static void test_continuation(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	put("main.conf", HEAD "steer tcp dport 80,\\\n"
			      "     443 \\   # the web\n"
			      "   dst 10.0.0.0/8,\\\n"
			      "       192.168.0.0/16\n"
			      "proxy-port \\\n"
			      "  15009\n");
	assert_int_equal(parse(&cfg, "main.conf", &errs), 0);
	assert_string_equal(errs, "");
	assert_int_equal(cfg.nrules, 1);
	assert_int_equal(cfg.rules[0].nports, 2);
	assert_int_equal(cfg.rules[0].ports[1].lo, 443);
	assert_int_equal(cfg.rules[0].ndst, 2);
	assert_int_equal(cfg.rules[0].line, 3);
	assert_int_equal(cfg.proxy_port, 15009);
	/* A value's position is its own line and column. */
	assert_int_equal(cfg.key_pos[CONFIG_KEY_PROXY_PORT].line, 8);
	assert_int_equal(cfg.key_pos[CONFIG_KEY_PROXY_PORT].col, 3);
	free(errs);
	config_free(&cfg);

	/* Errors point into the line they are on, and overlaps across lines say which line. */
	put("main.conf", HEAD "steer tcp dport 80,\\\n"
			      "  443,\\\n"
			      "  80 dst 8o\n"
			      "steer udp dst 10.0.0.0/8,\\\n"
			      "              10.0.0.0/8\n"
			      "# a comment does not continue \\\n"
			      "frob \\\n");
	expect_errors("main.conf", 5,
		      "%s/main.conf:5:3: duplicate port 80 (also at line 3, column 17)\n"
		      "%s/main.conf:5:10: bad prefix '8o': invalid IP address\n"
		      "%s/main.conf:7:15: duplicate prefix 10.0.0.0/8 (also at line 6, column 15)\n"
		      "%s/main.conf:9:6: the last line ends in a backslash: nothing follows to continue it\n"
		      "%s/main.conf:9:1: unknown directive 'frob'\n",
		      dir, dir, dir, dir, dir);
}

/* ---- limits and error output ---- */

static void test_rule_limit_across_files(void **state)
{
	struct steer_config cfg;
	char *errs = NULL, *rules = NULL, want[512];
	size_t len;
	FILE *f = open_memstream(&rules, &len);

	(void)state;
	for (int i = 0; i < 100; i++)
		fprintf(f, "steer tcp dport %d\n", 1000 + i);
	fclose(f);
	put("rules.conf", rules);
	free(rules);
	f = open_memstream(&rules, &len);
	for (int i = 0; i < 29; i++)
		fprintf(f, "bypass dport %d\n", 2000 + i);
	fclose(f);
	put("more.conf", rules);
	free(rules);
	put("main.conf", HEAD "include rules.conf\ninclude more.conf\n");
	assert_int_equal(parse(&cfg, "main.conf", &errs), 0);
	assert_int_equal(cfg.nrules, 129);
	free(errs);
	f = open_memstream(&errs, &len);
	assert_int_equal(config_validate(&cfg, f), 1);
	fclose(f);
	/* The first rule too many, the 129th: line 29 of the second file. */
	snprintf(want, sizeof(want), "%s/more.conf:29:1: too many rules: 129 (at most 128)\n", dir);
	assert_string_equal(errs, want);
	free(errs);
	config_free(&cfg);
	put("more.conf", "bypass dport 2000-2028\n");
	expect_errors("main.conf", 0, "%s", "");
}

static void test_quoting(void **state)
{
	char text[512], want[512], *errs = NULL;
	struct steer_config cfg;
	size_t len;
	FILE *f;

	(void)state;
	/* 100 bytes: the first 64 are echoed, then an ellipsis. */
	memset(text, 'A', 100);
	text[100] = '\0';
	strcat(text, " x\n");
	f = open_memstream(&errs, &len);
	config_init(&cfg);
	assert_int_equal(config_parse_string(&cfg, "q.conf", text, f), 1);
	fclose(f);
	snprintf(want, sizeof(want), "q.conf:1:1: unknown directive '%.64s\xe2\x80\xa6'\n", text);
	assert_string_equal(errs, want);
	free(errs);
	config_free(&cfg);

	/* Control bytes, DEL, bytes above 0x7f and the backslash itself are \xNN. */
	f = open_memstream(&errs, &len);
	config_init(&cfg);
	assert_int_equal(config_parse_string(&cfg, "q.conf", "backend e\x1b[31m\x7f\\\xff\n", f), 1);
	fclose(f);
	assert_string_equal(errs, "q.conf:1:9: unknown backend 'e\\x1b[31m\\x7f\\x5c\\xff' "
				  "(expected ebpf, nft, auto or split)\n");
	free(errs);
	config_free(&cfg);

	/* Escaping counts input bytes: 64 escaped bytes are all shown, the 65th is cut. */
	memset(text, 1, 65);
	text[65] = '\0';
	strcat(text, "\n");
	f = open_memstream(&errs, &len);
	config_init(&cfg);
	assert_int_equal(config_parse_string(&cfg, "q.conf", text, f), 1);
	fclose(f);
	assert_true(strlen(errs) < 64 * 4 + 64);
	assert_non_null(strstr(errs, "\\x01\xe2\x80\xa6'"));
	free(errs);
	config_free(&cfg);
}

static void test_error_cap(void **state)
{
	char *text = NULL, *errs = NULL, want[128];
	struct steer_config cfg;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	int lines = 0;

	(void)state;
	for (int i = 0; i < 35; i++)
		fprintf(f, "bad%d\n", i);
	fclose(f);
	f = open_memstream(&errs, &len);
	config_init(&cfg);
	assert_int_equal(config_parse_string(&cfg, "c.conf", text, f), 35);
	fclose(f);
	for (char *p = errs; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 21);
	assert_non_null(strstr(errs, "c.conf:20:1: unknown directive 'bad19'\n"));
	assert_null(strstr(errs, "bad20"));
	assert_true(ends_with(errs, "c.conf:20:1: unknown directive 'bad19'\n"
				    "c.conf: 15 more errors (only the first 20 are shown)\n"));
	free(text);
	free(errs);
	config_free(&cfg);

	/* The cap covers a configuration with its set files: a broken 1000-line set prints 20 lines. */
	f = open_memstream(&text, &len);
	for (int i = 0; i < 1000; i++)
		fprintf(f, "10.0.%d.%d/8\n", (i + 1) / 256, (i + 1) % 256);
	fclose(f);
	put("broken.txt", text);
	free(text);
	put("main.conf", HEAD "steer tcp dst @broken.txt\n");
	assert_int_equal(parse(&cfg, "main.conf", &errs), 1000);
	snprintf(want, sizeof(want), "%s/main.conf: 980 more errors (only the first 20 are shown)\n", dir);
	assert_true(ends_with(errs, want));
	lines = 0;
	for (char *p = errs; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 21);
	free(errs);
	config_free(&cfg);
}

/* A reload reads the set file again: what changed in it is what the new config holds. */
static void test_set_file_reread(void **state)
{
	struct steer_config cfg;
	char *errs = NULL;

	(void)state;
	put("main.conf", HEAD "steer tcp dst @s.txt\n");
	put("s.txt", "10.0.0.0/8\n");
	assert_int_equal(parse(&cfg, "main.conf", &errs), 0);
	assert_int_equal(cfg.rules[0].ndst, 1);
	free(errs);
	config_free(&cfg);
	put("s.txt", "10.0.0.0/8\n172.16.0.0/12\nfd00::/8\n");
	assert_int_equal(parse(&cfg, "main.conf", &errs), 0);
	assert_int_equal(cfg.rules[0].ndst, 3);
	assert_int_equal(cfg.rules[0].dst[2].family, AF_INET6);
	free(errs);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_include_glob_sorted),
		cmocka_unit_test(test_include_errors),
		cmocka_unit_test(test_include_flag),
		cmocka_unit_test(test_include_loop),
		cmocka_unit_test(test_include_depth),
		cmocka_unit_test(test_set_file),
		cmocka_unit_test(test_set_file_errors),
		cmocka_unit_test(test_set_file_nul),
		cmocka_unit_test(test_set_file_reread),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_rule_limit_across_files),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_error_cap),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
