/* SPDX-License-Identifier: GPL-2.0-only */
/* The audit chain: sealing, the header, the key file's refusals, continuing an existing file. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "steer/audit.h"
#include "steer/audit_chain.h"
#include "steer/audit_sink.h"
#include "steer/audit_verify.h"

#define ZERO_MAC "0000000000000000000000000000000000000000000000000000000000000000"
#define LOST "{\"ts\":\"2026-11-22T06:59:10.123456Z\",\"event\":\"lost\",\"count\":12}"

#define KEY "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
static const unsigned char *const key = (const unsigned char *)KEY;

static char dir[] = "/tmp/steer-chain.XXXXXX";

static int make_dir(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static const char *path(const char *name)
{
	static char p[2][128];
	static int i;

	i ^= 1;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void write_file(const char *name, const char *text, mode_t mode)
{
	int fd = open(path(name), O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* The contract's mac, computed once outside steer (Python's hmac over "0"*64 + the record). */
static void test_seal_known_answer(void **state)
{
	struct audit_chain *c = audit_chain_new(key, 32);
	char line[256] = LOST;
	size_t n = audit_chain_seal(c, line, strlen(line));

	(void)state;
	assert_string_equal(line, "{\"ts\":\"2026-11-22T06:59:10.123456Z\",\"event\":\"lost\",\"count\":12,"
				  "\"mac\":\"5cd2a838abbe129102c5efa0c5a9e0bc215fd13e386e8d551212af5952813614\"}");
	assert_int_equal(n, strlen(line));
	assert_int_equal(audit_chain_pos(c).seq, 1);
	assert_string_equal(audit_chain_pos(c).mac, "5cd2a838abbe129102c5efa0c5a9e0bc215fd13e386e8d551212af5952813614");
	/* The same record again chains to the first: another mac. */
	strcpy(line, LOST);
	audit_chain_seal(c, line, strlen(line));
	assert_null(strstr(line, "5cd2a838abbe"));
	assert_int_equal(audit_chain_pos(c).seq, 2);
	audit_chain_free(c);
}

static void test_unkeyed_counts_only(void **state)
{
	struct audit_chain *c = audit_chain_new(NULL, 0);
	char line[256] = LOST;
	struct timespec ts = { 1795330750, 0 };
	uint64_t seq;
	char prev[AUDIT_MAC_HEX + 1];

	(void)state;
	assert_false(audit_chain_keyed(c));
	assert_int_equal(audit_chain_seal(c, line, strlen(line)), strlen(LOST));
	assert_string_equal(line, LOST);
	assert_true(audit_chain_header(c, &ts, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "\"event\":\"header\",\"schema\":2,\"version\":\""));
	assert_non_null(strstr(line, ",\"seq\":1}"));
	assert_null(strstr(line, "mac"));
	assert_true(audit_line_header(line, &seq, prev));
	assert_int_equal(seq, 1);
	assert_string_equal(prev, "");
	assert_int_equal(audit_chain_pos(c).seq, 2);
	audit_chain_free(c);
}

static void test_header_keyed(void **state)
{
	struct audit_chain *c = audit_chain_new(key, 32);
	struct timespec ts = { 1795330750, 0 };
	char line[512], prev[AUDIT_MAC_HEX + 1], mac[AUDIT_MAC_HEX + 1], check[AUDIT_MAC_HEX + 1];
	size_t n, body;
	uint64_t seq;

	(void)state;
	n = audit_chain_header(c, &ts, line, sizeof(line));
	assert_int_equal(strncmp(line, "{\"ts\":\"2026-11-22T06:59:10.000000Z\",\"event\":\"header\",\"schema\":2,", 64), 0);
	assert_non_null(strstr(line, ",\"seq\":0,\"prev_mac\":\"" ZERO_MAC "\",\"mac\":\""));
	assert_true(audit_line_header(line, &seq, prev));
	assert_int_equal(seq, 0);
	assert_string_equal(prev, ZERO_MAC);
	assert_true(audit_line_mac(line, n, &body, mac));
	assert_string_equal(mac, audit_chain_pos(c).mac);
	audit_chain_mac(c, ZERO_MAC, line, body, check);
	assert_string_equal(check, mac);
	/* A record is no header, and a line without a mac has none. */
	assert_false(audit_line_header(LOST, &seq, prev));
	assert_false(audit_line_mac(LOST, strlen(LOST), &body, mac));
	/* Too small a buffer: nothing, and the chain has not moved. */
	assert_int_equal(audit_chain_header(c, &ts, line, 64), 0);
	assert_int_equal(audit_chain_pos(c).seq, 1);
	audit_chain_free(c);
}

/* The one line of err a refused key printed. */
static char *refusal(const char *name, bool private_only)
{
	static char buf[512];
	unsigned char k[AUDIT_KEY_MAX];
	size_t len = 0;
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	int r = audit_key_load(path(name), private_only, k, &len, f);

	fclose(f);
	if (r == 0) {
		assert_int_equal(len, 32);
		return NULL;
	}
	assert_int_equal(r, -1);
	/* One line: its only newline ends it. */
	assert_ptr_equal(strchr(buf, '\n'), buf + strlen(buf) - 1);
	return buf;
}

static void test_key_refusals(void **state)
{
	(void)state;
	write_file("ok.key", KEY, 0600);
	assert_null(refusal("ok.key", true));
	write_file("open.key", "0123456789abcdef0123456789abcdef", 0644);
	assert_non_null(strstr(refusal("open.key", true), "must be mode 0600"));
	/* verify only reads the key: the mode is the daemon's concern. */
	assert_null(refusal("open.key", false));
	write_file("group.key", "0123456789abcdef0123456789abcdef", 0640);
	assert_non_null(strstr(refusal("group.key", true), "group or others"));
	write_file("short.key", "0123456789", 0600);
	assert_non_null(strstr(refusal("short.key", true), "32 to 4096 bytes"));
	write_file("empty.key", "", 0600);
	assert_non_null(strstr(refusal("empty.key", true), "32 to 4096 bytes"));
	write_file("other.key", "0123456789abcdef0123456789abcdef", 0600);
	assert_int_equal(chown(path("other.key"), 65534, 65534), 0); /* the tests run as root */
	assert_non_null(strstr(refusal("other.key", true), "not owned by the user steer runs as"));
	assert_non_null(strstr(refusal("", true), "not a regular file"));
	assert_non_null(strstr(refusal("absent.key", true), "No such file"));
	/* Root (steer check --host) accepts root's key and the service user's. */
	assert_true(audit_key_owner_ok(0, 0, "nobody"));
	assert_true(audit_key_owner_ok(65534, 0, "nobody"));
	assert_false(audit_key_owner_ok(65534, 0, "steer-no-such-user"));
	assert_false(audit_key_owner_ok(65534, 0, NULL));
	assert_true(audit_key_owner_ok(1000, 1000, "nobody"));
	assert_false(audit_key_owner_ok(65534, 1000, "nobody"));
	assert_false(audit_key_owner_ok(0, 1000, "nobody"));
}

/* Records through the real writer: the header, records, a reopen, more; then close. */
static void write_log(const char *name, const char *key_path, int n1, int n2)
{
	struct audit *a = audit_open_keyed(path(name), LOG_DAEMON, key_path, 0);

	assert_non_null(a);
	for (int i = 0; i < n1; i++)
		audit_backend_change(a, "ebpf", "nft");
	audit_reopen(a);
	usleep(100000); /* the writer reopens before it takes the records below */
	for (int i = 0; i < n2; i++)
		audit_backend_change(a, "nft", "ebpf");
	audit_close(a);
}

static int verify(const char *a, const char *b, const unsigned char *k, char *err, size_t errlen)
{
	const char *files[2] = { a, b };
	struct audit_verify_opts o = { .key = k, .key_len = k ? 32 : 0 };
	char out[256] = "";
	FILE *fo = fmemopen(out, sizeof(out), "w"), *fe = fmemopen(err, errlen, "w");
	int r = audit_verify(files, b ? 2 : 1, &o, fo, fe);

	fclose(fo);
	fclose(fe);
	if (r == 0)
		snprintf(err, errlen, "%s", out);
	return r;
}

static int lines_of(const char *name)
{
	FILE *f = fopen(path(name), "r");
	int n = 0, ch;

	assert_non_null(f);
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

static void test_writer_chains_and_resumes(void **state)
{
	char err[512];

	(void)state;
	write_file("w.key", KEY, 0600);
	write_log("w.jsonl", path("w.key"), 5, 3);
	/* header, 5, header (the reopen), 3 */
	assert_int_equal(lines_of("w.jsonl"), 10);
	assert_int_equal(verify(path("w.jsonl"), NULL, key, err, sizeof(err)), 0);
	assert_string_equal(err, "ok: 10 records in 1 files\n");
	/* A restart appends and continues: one chain of 20. */
	write_log("w.jsonl", path("w.key"), 4, 4);
	assert_int_equal(verify(path("w.jsonl"), NULL, key, err, sizeof(err)), 0);
	assert_string_equal(err, "ok: 20 records in 1 files\n");
	/* Without a key: headers and positions only, and a header still opens the file. */
	write_log("u.jsonl", NULL, 2, 2);
	assert_int_equal(lines_of("u.jsonl"), 6);
	assert_int_equal(verify(path("u.jsonl"), NULL, NULL, err, sizeof(err)), 0);
	assert_string_equal(err, "ok: 6 records in 1 files (unkeyed: structure only, no mac checked)\n");
}

/* A crash cut the last line: the next start's header goes on a line of its own, and verify names the cut one. */
static void test_cut_tail(void **state)
{
	char err[512], at[160];
	int fd;

	(void)state;
	write_file("c.key", KEY, 0600);
	write_log("c.jsonl", path("c.key"), 2, 0);
	fd = open(path("c.jsonl"), O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"ts\":\"2026", 12), 12);
	close(fd);
	write_log("c.jsonl", path("c.key"), 1, 0);
	/* header, 2, header (reopen), the cut line, header, 1, header (reopen) */
	assert_int_equal(lines_of("c.jsonl"), 8);
	assert_int_equal(verify(path("c.jsonl"), NULL, key, err, sizeof(err)), 1);
	snprintf(at, sizeof(at), "%s:5: line cut short", path("c.jsonl"));
	assert_int_equal(strncmp(err, at, strlen(at)), 0);
}

/* A batch the file took only in part (here EFBIG past RLIMIT_FSIZE) leaves nothing of itself behind. */
static void test_partial_write(void **state)
{
	struct rlimit old, small;
	struct audit_sink *s;
	char batch[300];
	struct stat st;

	(void)state;
	memset(batch, 'x', sizeof(batch));
	batch[sizeof(batch) - 1] = '\n';
	assert_non_null(s = audit_sink_open(path("p.jsonl"), LOG_DAEMON));
	assert_true(audit_sink_write(s, NULL, batch, 100));
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 250;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	assert_false(audit_sink_write(s, NULL, batch, sizeof(batch)));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(stat(path("p.jsonl"), &st), 0);
	assert_int_equal(st.st_size, 100);
	/* The next batch goes on where the file and the chain agree. */
	assert_true(audit_sink_write(s, NULL, batch, sizeof(batch)));
	assert_int_equal(stat(path("p.jsonl"), &st), 0);
	assert_int_equal(st.st_size, 100 + sizeof(batch));
	audit_sink_close(s);
}

static void test_resume(void **state)
{
	struct audit_chain *c = audit_chain_new(key, 32), *d;
	char why[128];
	unsigned char other[32];
	bool cut;

	(void)state;
	write_file("r.key", KEY, 0600);
	write_log("r.jsonl", path("r.key"), 3, 0);
	assert_int_equal(audit_chain_resume(c, path("r.jsonl"), &cut, why, sizeof(why)), 0);
	assert_int_equal(audit_chain_pos(c).seq, 5);
	assert_int_equal(strlen(audit_chain_pos(c).mac), 64);
	assert_string_not_equal(audit_chain_pos(c).mac, ZERO_MAC);
	assert_string_equal(why, "");
	assert_false(cut);
	/* No file, an empty file: a new chain, and why says which (the daemon logs it). */
	assert_int_equal(audit_chain_resume(c, path("none.jsonl"), &cut, why, sizeof(why)), 0);
	assert_string_equal(why, "no such file");
	write_file("empty.jsonl", "", 0640);
	assert_int_equal(audit_chain_resume(c, path("empty.jsonl"), &cut, why, sizeof(why)), 0);
	assert_string_equal(why, "empty");
	/* Another key: the last record does not verify, so the chain starts anew. */
	memset(other, 'x', sizeof(other));
	d = audit_chain_new(other, sizeof(other));
	assert_int_equal(audit_chain_resume(d, path("r.jsonl"), &cut, why, sizeof(why)), -1);
	assert_string_equal(why, "its last record does not verify with this key");
	assert_int_equal(audit_chain_pos(d).seq, 0);
	audit_chain_free(d);
	d = audit_chain_new(key, 32);
	write_file("old.jsonl", LOST "\n", 0640);
	assert_int_equal(audit_chain_resume(d, path("old.jsonl"), &cut, why, sizeof(why)), -1);
	assert_string_equal(why, "its last record has no mac");
	write_file("cut.jsonl", LOST, 0640);
	assert_int_equal(audit_chain_resume(d, path("cut.jsonl"), &cut, why, sizeof(why)), -1);
	assert_string_equal(why, "its last line is cut short");
	assert_true(cut);
	audit_chain_free(d);
	/* Unkeyed: the position from the last header and the lines after it. */
	d = audit_chain_new(NULL, 0);
	write_file("nohdr.jsonl", LOST "\n" LOST "\n", 0640);
	assert_int_equal(audit_chain_resume(d, path("nohdr.jsonl"), &cut, why, sizeof(why)), -1);
	assert_string_equal(why, "no header record in its tail");
	write_log("u2.jsonl", NULL, 2, 3);
	assert_int_equal(audit_chain_resume(d, path("u2.jsonl"), &cut, why, sizeof(why)), 0);
	assert_int_equal(audit_chain_pos(d).seq, 7);
	audit_chain_free(d);
	audit_chain_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_known_answer),
		cmocka_unit_test(test_unkeyed_counts_only),
		cmocka_unit_test(test_header_keyed),
		cmocka_unit_test(test_key_refusals),
		cmocka_unit_test(test_writer_chains_and_resumes),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_cut_tail),
		cmocka_unit_test(test_partial_write),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
