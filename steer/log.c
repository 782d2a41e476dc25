/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static bool journal;

/* A line being assembled; the stream's own lock serialises the writers. */
static char line[4096];
static size_t line_len;

static bool has_prefix(const char *s, size_t len)
{
	return len >= 3 && s[0] == '<' && s[1] >= '0' && s[1] <= '7' && s[2] == '>';
}

/* The priority of a line printed without one (the convention in log.h). */
static int line_priority(const char *s, size_t len)
{
	if (memmem(s, len, "warning:", 8) || (len >= 8 && !memcmp(s, "libbpf: ", 8)))
		return LOG_WARNING;
	return LOG_ERR;
}

static void emit_line(void)
{
	char prefix[4] = "";
	struct iovec iov[2] = { { prefix, 0 }, { line, line_len } };

	if (!has_prefix(line, line_len))
		snprintf(prefix, sizeof(prefix), "<%d>", line_priority(line, line_len));
	iov[0].iov_len = strlen(prefix);
	/* One write per line: journald reads a line and its prefix together. */
	if (writev(STDERR_FILENO, iov, 2) < 0) {
		/* The journal is gone: there is no one left to tell. */
	}
	line_len = 0;
}

static ssize_t journal_write(void *cookie, const char *buf, size_t size)
{
	(void)cookie;
	for (size_t i = 0; i < size; i++) {
		line[line_len++] = buf[i];
		/* An overlong line goes out in pieces. */
		if (buf[i] == '\n' || line_len == sizeof(line))
			emit_line();
	}
	return (ssize_t)size;
}

/* JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected; a redirect changes it. */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
	       (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(void)
{
	FILE *f;

	if (!stderr_is_journal())
		return;
	f = fopencookie(NULL, "w", (cookie_io_functions_t){ .write = journal_write });
	if (!f)
		return;
	setvbuf(f, NULL, _IOLBF, 0);
	stderr = f;
	journal = true;
}

bool log_to_journal(void)
{
	return journal;
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	flockfile(stderr);
	if (journal)
		fprintf(stderr, "<%d>", prio);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	funlockfile(stderr);
}
