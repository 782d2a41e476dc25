/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/audit_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "steer/audit.h"
#include "steer/audit_journal.h"
#include "steer/config.h"

enum sink_kind { SINK_FILE, SINK_STDOUT, SINK_SYSLOG, SINK_JOURNALD };

struct audit_sink {
	enum sink_kind kind;
	char path[STEER_PATH_MAX];
	int fd;
	int facility; /* syslog and journald */
};

static int open_file(const char *path)
{
	char dir[STEER_PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0750); /* the default /var/log/steer may not exist yet */
	}
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

const char *audit_sink_spec_file(const char *spec)
{
	return strcmp(spec, "-") && strcmp(spec, "syslog") && strcmp(spec, "journald") ? spec : NULL;
}

struct audit_sink *audit_sink_open(const char *spec, int facility)
{
	struct audit_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	snprintf(s->path, sizeof(s->path), "%s", spec);
	s->fd = -1;
	s->facility = facility;
	if (!strcmp(spec, "-")) {
		s->kind = SINK_STDOUT;
		s->fd = STDOUT_FILENO;
	} else if (!strcmp(spec, "syslog")) {
		s->kind = SINK_SYSLOG;
		openlog("steer", LOG_PID, facility);
	} else if (!strcmp(spec, "journald")) {
		s->kind = SINK_JOURNALD;
		/* Not fatal: journald may start later; until then records are counted lost. */
		if (access(AUDIT_JOURNAL_SOCKET, W_OK))
			fprintf(stderr, "steer: warning: audit-log journald: %s: %s: records are lost until journald runs\n",
				AUDIT_JOURNAL_SOCKET, strerror(errno));
	} else if (audit_sink_spec_file(spec)) {
		s->kind = SINK_FILE;
		s->fd = open_file(spec);
		if (s->fd < 0) {
			fprintf(stderr, "steer: audit log %s: %s\n", spec, strerror(errno));
			free(s);
			return NULL;
		}
	}
	return s;
}

bool audit_sink_per_record(const struct audit_sink *s)
{
	return s->kind == SINK_SYSLOG || s->kind == SINK_JOURNALD;
}

/*
 * A batch the file took only part of (ENOSPC, EFBIG) is cut off again: the
 * chain goes back to where it stood before the batch, and whole lines left
 * behind would be records it no longer holds, so every later record would
 * fail verify.
 */
static bool write_all(struct audit_sink *s, const char *buf, size_t len)
{
	off_t start = s->kind == SINK_FILE ? lseek(s->fd, 0, SEEK_END) : -1;
	bool some = false;

	while (len > 0) {
		ssize_t n = write(s->fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno;

			if (some && start >= 0 && ftruncate(s->fd, start) < 0)
				fprintf(stderr, "steer: audit log %s: cannot cut a partly written batch: %s\n", s->path,
					strerror(errno));
			errno = e;
			return false;
		}
		some = true;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

bool audit_sink_write(struct audit_sink *s, const struct audit_record *r, const char *buf, size_t len)
{
	(void)r;
	if (s->kind == SINK_SYSLOG) {
		syslog(LOG_INFO, "%.*s", (int)(len && buf[len - 1] == '\n' ? len - 1 : len), buf);
		return true;
	}
	if (s->kind == SINK_JOURNALD)
		return audit_journal_send(buf, len, s->facility);
	return write_all(s, buf, len);
}

const char *audit_sink_file(const struct audit_sink *s)
{
	return s->kind == SINK_FILE ? s->path : NULL;
}

void audit_sink_reopen(struct audit_sink *s)
{
	int fd;

	if (s->kind != SINK_FILE)
		return;
	fd = open_file(s->path);
	if (fd < 0) {
		fprintf(stderr, "steer: audit log %s: cannot reopen: %s\n", s->path, strerror(errno));
		return;
	}
	close(s->fd);
	s->fd = fd;
}

void audit_sink_close(struct audit_sink *s)
{
	if (!s)
		return;
	if (s->kind == SINK_FILE)
		close(s->fd);
	if (s->kind == SINK_SYSLOG)
		closelog();
	free(s);
}
