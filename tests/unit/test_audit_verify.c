/* SPDX-License-Identifier: GPL-2.0-only */
/* steer audit verify: an intact chain passes; each kind of tampering is found at its line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "steer/audit_chain.h"
#include "steer/audit_verify.h"

#define KEY "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
#define PER_FILE 6 /* a header and 5 records */

static const unsigned char *const key = (const unsigned char *)KEY;
static char dir[] = "/tmp/steer-verify.XXXXXX";
/* Two rotated files of one chain: lines[0..6) the older, lines[6..12) the newer. */
static char lines[2 * PER_FILE][512];
static struct audit_chain_pos end;

static void build(const unsigned char *k)
{
	struct audit_chain *c = audit_chain_new(k, 32);
	struct timespec ts = { 1795330750, 0 };

	for (int i = 0; i < 2 * PER_FILE; i++) {
		if (i % PER_FILE == 0) {
			assert_true(audit_chain_header(c, &ts, lines[i], sizeof(lines[i])) > 0);
			continue;
		}
		snprintf(lines[i], sizeof(lines[i]),
			 "{\"ts\":\"2026-11-22T06:59:1%d.000000Z\",\"event\":\"lost\",\"count\":%d}", i % 10, i);
		audit_chain_seal(c, lines[i], strlen(lines[i]));
	}
	end = audit_chain_pos(c);
	audit_chain_free(c);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	build(key);
	return 0;
}

static int teardown(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static const char *path(int file)
{
	static char p[2][128];

	snprintf(p[file], sizeof(p[file]), "%s/audit.jsonl%s", dir, file ? "" : ".1");
	return p[file];
}

/* Write both files from order[] (line indexes, -1 ends a file); in line edit, edit_from becomes edit_to. */
static void write_files(const int *order, int edit, const char *edit_from, const char *edit_to)
{
	FILE *f = fopen(path(0), "w");
	int file = 0;

	assert_non_null(f);
	for (; file < 2; order++) {
		if (*order < 0) {
			fclose(f);
			if (++file < 2)
				assert_non_null(f = fopen(path(file), "w"));
			continue;
		}
		const char *l = lines[*order], *at = *order == edit ? strstr(l, edit_from) : NULL;

		if (at) {
			fprintf(f, "%.*s%s%s\n", (int)(at - l), l, edit_to, at + strlen(edit_from));
		} else {
			fprintf(f, "%s\n", l);
		}
	}
}

static const int intact[] = { 0, 1, 2, 3, 4, 5, -1, 6, 7, 8, 9, 10, 11, -1 };

static char result[1024];

/* Run verify over nfiles (from first), with k and anchor; result[] holds what it printed. */
static int run(int first, int nfiles, const unsigned char *k, const struct audit_chain_pos *anchor)
{
	const char *files[2] = { path(first), path(1) };
	struct audit_verify_opts o = { .key = k, .key_len = 32, .anchor = anchor };
	FILE *out = fmemopen(result, sizeof(result), "w");
	int r = audit_verify(files, nfiles, &o, out, out);

	fclose(out);
	return r;
}

/* The first line of result names file:line. */
static void expect_break(int file, int line, const char *reason)
{
	char at[160];

	snprintf(at, sizeof(at), "%s:%d: ", path(file), line);
	assert_int_equal(strncmp(result, at, strlen(at)), 0);
	assert_non_null(strstr(result, reason));
}

/* The files in order[], checked with the key: broken at file:line for reason. */
static void expect_reordered_break(const int *order, int file, int line, const char *reason)
{
	write_files(order, -1, NULL, NULL);
	assert_int_equal(run(0, 2, key, NULL), 1);
	expect_break(file, line, reason);
}

static void test_intact(void **state)
{
	(void)state;
	write_files(intact, -1, NULL, NULL);
	assert_int_equal(run(0, 2, key, NULL), 0);
	assert_string_equal(result, "ok: 12 records in 2 files\n");
	assert_int_equal(run(0, 2, NULL, NULL), 0);
	assert_string_equal(result, "ok: 12 records in 2 files (unkeyed: structure only, no mac checked)\n");
	assert_int_equal(run(0, 2, key, &end), 0);
}

static void test_edited(void **state)
{
	(void)state;
	write_files(intact, 3, "\"count\":3", "\"count\":4");
	assert_int_equal(run(0, 2, key, NULL), 1);
	expect_break(0, 4, "this record was edited");
	/* Without a key an edit is not seen: that is what the key is for. */
	assert_int_equal(run(0, 2, NULL, NULL), 0);
	/* An edited header is an edit too. */
	write_files(intact, 6, "\"seq\":6", "\"seq\":7");
	assert_int_equal(run(0, 2, key, NULL), 1);
	expect_break(1, 1, "this header was edited");
}

static void test_deleted(void **state)
{
	static const int order[] = { 0, 1, 2, 4, 5, -1, 6, 7, 8, 9, 10, 11, -1 };

	(void)state;
	expect_reordered_break(order, 0, 4, "deleted");
	/* Unkeyed, the next header's position shows it. */
	assert_int_equal(run(0, 2, NULL, NULL), 1);
	expect_break(1, 1, "header says 6 records came before, the files before hold 5");
}

static void test_inserted_copy(void **state)
{
	static const int order[] = { 0, 1, 2, 3, 4, 5, -1, 6, 7, 8, 2, 9, 10, 11, -1 };

	(void)state;
	expect_reordered_break(order, 1, 4, "a copy of the record at");
	assert_non_null(strstr(result, ".1:3 (inserted)"));
}

static void test_swapped(void **state)
{
	static const int order[] = { 0, 1, 2, 3, 4, 5, -1, 6, 7, 9, 8, 10, 11, -1 };

	(void)state;
	expect_reordered_break(order, 1, 3, "the chain breaks here");
}

static void test_missing_file(void **state)
{
	(void)state;
	write_files(intact, -1, NULL, NULL);
	/* The older file left out: the newer one starts mid-chain. */
	assert_int_equal(run(1, 1, key, NULL), 1);
	expect_break(1, 1, "an earlier file is missing");
	assert_int_equal(run(1, 1, NULL, NULL), 1);
	expect_break(1, 1, "an earlier file is missing");
	/* Files out of order: the same. */
	assert_int_equal(run(1, 2, key, NULL), 1);
	expect_break(1, 1, "an earlier file is missing");
}

static void test_wrong_key(void **state)
{
	(void)state;
	write_files(intact, -1, NULL, NULL);
	assert_int_equal(run(0, 2, (const unsigned char *)"wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww", NULL), 1);
	expect_break(0, 1, "a wrong key");
}

static void test_truncated_tail_and_anchor(void **state)
{
	static const int order[] = { 0, 1, 2, 3, 4, 5, -1, 6, 7, 8, 9, -1 };
	struct audit_chain_pos other = end;

	(void)state;
	write_files(order, -1, NULL, NULL);
	/* Without an anchor a cut tail cannot be seen: the chain is intact as far as it goes. */
	assert_int_equal(run(0, 2, key, NULL), 0);
	assert_int_equal(run(0, 2, key, &end), 1);
	expect_break(1, 5, "the log ends after record 10, the anchor names record 12: its tail was cut");
	/* The anchor's position is there, but with another mac: not this chain's record. */
	write_files(intact, -1, NULL, NULL);
	other.mac[0] = other.mac[0] == 'a' ? 'b' : 'a';
	assert_int_equal(run(0, 2, key, &other), 1);
	expect_break(1, 6, "does not have the anchor's mac");
}

static void test_structure(void **state)
{
	(void)state;
	/* A file whose first line is no header. */
	{
		static const int order[] = { 0, 1, 2, 3, 4, 5, -1, 7, 8, 9, 10, 11, -1 };

		expect_reordered_break(order, 1, 1, "no header record");
	}
	/* Records of an unkeyed log, checked with a key. */
	build(NULL);
	write_files(intact, -1, NULL, NULL);
	assert_int_equal(run(0, 2, key, NULL), 1);
	expect_break(0, 1, "no mac");
	assert_int_equal(run(0, 2, NULL, NULL), 0);
	build(key);
	/* A line cut short. */
	write_files(intact, 11, "\"}", "\"");
	assert_int_equal(run(0, 2, key, NULL), 1);
	expect_break(1, 6, "not a whole audit record");
	assert_non_null(strstr(result, "line cut short"));
}

/* Files 0 and 1 written from raw lines (each string a whole file, lines ending in newlines). */
static void write_raw(const char *f0, const char *f1)
{
	for (int file = 0; file < 2; file++) {
		FILE *f = fopen(path(file), "w");

		assert_non_null(f);
		fputs(file ? f1 : f0, f);
		fclose(f);
	}
}

/* The older file's text into buf[cap]. */
static void older_file(char *buf, size_t cap)
{
	buf[0] = '\0';
	for (int i = 0; i < PER_FILE; i++)
		snprintf(buf + strlen(buf), cap - strlen(buf), "%s\n", lines[i]);
}

/* A replay: records that verify, seen before. A genuine chain never repeats a mac. */
static void test_replayed(void **state)
{
	/* The older file (a new chain, seq 0) appended to the newer one. */
	static const int appended[] = { 0, 1, 2, 3, 4, 5, -1, 6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5, -1 };
	/* The first line doubled (sed -i 1p). */
	static const int doubled[] = { 0, 0, 1, 2, 3, 4, 5, -1, 6, 7, 8, 9, 10, 11, -1 };
	char f0[8192];

	(void)state;
	write_files(appended, -1, NULL, NULL);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(run(0, 2, k ? key : NULL, NULL), 1);
		expect_break(1, 7, "a copy of the record at");
		assert_non_null(strstr(result, ".1:1\n"));
		/* Accepting new chains does not accept a copy of one. */
		{
			const char *files[2] = { path(0), path(1) };
			struct audit_verify_opts o = { .key = k ? key : NULL, .key_len = 32, .allow_new_chain = true };
			FILE *out = fmemopen(result, sizeof(result), "w");

			assert_int_equal(audit_verify(files, 2, &o, out, out), 1);
			fclose(out);
			expect_break(1, 7, "a copy of the record at");
		}
	}
	write_files(doubled, -1, NULL, NULL);
	assert_int_equal(run(0, 2, key, NULL), 1);
	expect_break(0, 2, "a copy of the record at");
	assert_non_null(strstr(result, ".1:1\n"));
	/* One file given twice. */
	older_file(f0, sizeof(f0));
	write_raw(f0, f0);
	assert_int_equal(run(0, 2, key, NULL), 1);
	expect_break(1, 1, "a copy of the record at");
}

/* Two genuine chains (the daemon started a new one): a break, unless allowed. */
static void test_new_chain(void **state)
{
	char f0[8192], f1[8192] = "";
	struct audit_chain *c;
	struct timespec ts = { 1795330760, 0 };
	const char *files[2];
	struct audit_verify_opts o = { .key = key, .key_len = 32, .allow_new_chain = true };
	FILE *out;

	(void)state;
	older_file(f0, sizeof(f0));
	/* Another chain: a new header at seq 0, a later time, so other macs. */
	assert_non_null(c = audit_chain_new(key, 32));
	for (int i = 0; i < 3; i++) {
		char l[512];

		if (i == 0) {
			assert_true(audit_chain_header(c, &ts, l, sizeof(l)) > 0);
		} else {
			snprintf(l, sizeof(l), "{\"ts\":\"2026-11-22T07:00:0%d.000000Z\",\"event\":\"lost\",\"count\":%d}", i, i);
			audit_chain_seal(c, l, strlen(l));
		}
		snprintf(f1 + strlen(f1), sizeof(f1) - strlen(f1), "%s\n", l);
	}
	audit_chain_free(c);
	write_raw(f0, f1);
	assert_int_equal(run(0, 2, key, NULL), 1);
	expect_break(1, 1, "a new chain starts here: what came before cannot be tied to it");
	assert_int_equal(run(0, 2, NULL, NULL), 1);
	expect_break(1, 1, "a new chain starts here");
	files[0] = path(0);
	files[1] = path(1);
	out = fmemopen(result, sizeof(result), "w");
	assert_int_equal(audit_verify(files, 2, &o, out, out), 0);
	fclose(out);
	assert_non_null(strstr(result, "note: a new chain starts here"));
	assert_non_null(strstr(result, "ok: 9 records in 2 files (2 chains)\n"));
}

/* An anchor without the key: the anchored record must carry the anchor's mac. */
static void test_anchor_unkeyed(void **state)
{
	struct audit_chain_pos other = end;

	(void)state;
	write_files(intact, -1, NULL, NULL);
	assert_int_equal(run(0, 2, NULL, &end), 0);
	other.mac[0] = other.mac[0] == 'a' ? 'b' : 'a';
	assert_int_equal(run(0, 2, NULL, &other), 1);
	expect_break(1, 6, "does not have the anchor's mac");
}

static int main_with(int argc, const char **argv)
{
	return audit_verify_main(argc, (char **)argv);
}

static void test_command_line(void **state)
{
	char keyfile[160], anchor[128];
	FILE *f;

	(void)state;
	snprintf(keyfile, sizeof(keyfile), "%s/key", dir);
	assert_non_null(f = fopen(keyfile, "w"));
	fputs(KEY, f);
	fclose(f);
	write_files(intact, -1, NULL, NULL);
	snprintf(anchor, sizeof(anchor), "%llu:%s", (unsigned long long)end.seq, end.mac);
	assert_int_equal(main_with(6, (const char *[]){ "--key", keyfile, "--anchor", anchor, path(0), path(1) }), 0);
	assert_int_equal(main_with(2, (const char *[]){ "--help", path(0) }), 0);
	assert_int_equal(main_with(0, (const char *[]){ NULL }), 2);
	assert_int_equal(main_with(2, (const char *[]){ "--key", keyfile }), 2);
	assert_int_equal(main_with(3, (const char *[]){ "--anchor", "12:zz", path(0) }), 2);
	assert_int_equal(main_with(2, (const char *[]){ "--bogus", path(0) }), 2);
	assert_int_equal(main_with(3, (const char *[]){ "--key", "/nonexistent", path(0) }), 2);
	assert_int_equal(main_with(1, (const char *[]){ "/nonexistent.jsonl" }), 1);
	assert_int_equal(main_with(3, (const char *[]){ "--allow-new-chain", path(0), path(1) }), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intact),
		cmocka_unit_test(test_edited),
		cmocka_unit_test(test_deleted),
		cmocka_unit_test(test_inserted_copy),
		cmocka_unit_test(test_swapped),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_truncated_tail_and_anchor),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_command_line),
		cmocka_unit_test(test_replayed),
		cmocka_unit_test(test_new_chain),
		cmocka_unit_test(test_anchor_unkeyed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
