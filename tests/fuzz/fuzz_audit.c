// SPDX-License-Identifier: GPL-2.0-only
/*
 * What `steer audit verify` and the journald sink read: audit lines that an
 * attacker may have edited. The input is one or two log files (split at the
 * first NUL byte), verified as a chain with and without a key; each line is
 * also split into journal fields. No input may crash, leak or hang either;
 * verify answers 0 or 1 (never a usage error) and a field never points
 * outside the buffers it was given.
 */
#include <stdbool.h>
#include <sys/uio.h>
#include <unistd.h>

#include "steer/audit_journal.h"
#include "steer/audit_verify.h"
#include "tests/fuzz/fuzz.h"

/* The key of the seed corpus (tests/fuzz/corpus/fuzz_audit), so seeds verify and mutations reach the mac check. */
static const unsigned char key[] = "fuzz-audit-key-0123456789abcdef!";
static char paths[2][64];
static FILE *devnull;

static void write_file(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
}

static void fields(const char *line, size_t len)
{
	static char buf[4096];
	static struct iovec iov[40];
	size_t n = audit_journal_fields(line, len, buf, sizeof(buf), iov, 40);

	FUZZ_ASSERT(n <= 40);
	for (size_t i = 0; i < n; i++) {
		const char *b = iov[i].iov_base;

		FUZZ_ASSERT(b >= buf && b + iov[i].iov_len <= buf + sizeof(buf));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t first = nul ? (size_t)(nul - data) : size;
	const char *files[2] = { paths[0], paths[1] };
	/* Both answers to a new chain mid-log: refused when keyed, allowed when not. */
	struct audit_verify_opts keyed = { .key = key, .key_len = sizeof(key) - 1 },
				 unkeyed = { .allow_new_chain = true };
	int r;

	if (!devnull) {
		devnull = fopen("/dev/null", "w");
		snprintf(paths[0], sizeof(paths[0]), "/tmp/fuzz_audit.%d.0", (int)getpid());
		snprintf(paths[1], sizeof(paths[1]), "/tmp/fuzz_audit.%d.1", (int)getpid());
	}
	write_file(paths[0], data, first);
	write_file(paths[1], nul ? nul + 1 : data, nul ? size - first - 1 : 0);
	r = audit_verify(files, nul ? 2 : 1, &keyed, devnull, devnull);
	FUZZ_ASSERT(r == 0 || r == 1);
	r = audit_verify(files, nul ? 2 : 1, &unkeyed, devnull, devnull);
	FUZZ_ASSERT(r == 0 || r == 1);
	for (size_t at = 0; at < size;) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t len = nl ? (size_t)(nl - (data + at)) : size - at;

		fields((const char *)data + at, len);
		at += len + 1;
	}
	unlink(paths[0]);
	unlink(paths[1]);
	return 0;
}
