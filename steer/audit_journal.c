/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/audit_journal.h"

#include <stdio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

/* More members than any record has (a header with a mac has 8); the rest are dropped. */
#define MAX_FIELDS 32
/* Several times the longest line audit_format writes, so a field is never cut. */
#define ENTRY_MAX 8192

struct out {
	char *buf;
	size_t len, used;
	bool full;
};

static void put(struct out *o, char c)
{
	if (o->used < o->len)
		o->buf[o->used++] = c;
	else
		o->full = true;
}

static int hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* \uXXXX (p at the X's) as UTF-8; false if not four hex digits. */
static bool unicode(const char *p, const char *end, struct out *o)
{
	unsigned v = 0;

	if (end - p < 4)
		return false;
	for (int i = 0; i < 4; i++) {
		if (hex(p[i]) < 0)
			return false;
		v = v << 4 | (unsigned)hex(p[i]);
	}
	if (v < 0x80) {
		put(o, (char)v);
	} else if (v < 0x800) {
		put(o, (char)(0xc0 | v >> 6));
		put(o, (char)(0x80 | (v & 0x3f)));
	} else {
		put(o, (char)(0xe0 | v >> 12));
		put(o, (char)(0x80 | (v >> 6 & 0x3f)));
		put(o, (char)(0x80 | (v & 0x3f)));
	}
	return true;
}

/* The JSON string after its opening quote, unescaped into o; *p ends past the closing quote. */
static bool string_value(const char **p, const char *end, struct out *o)
{
	static const char from[] = "nrtbf", to[] = "\n\r\t\b\f";

	while (*p < end) {
		char c = *(*p)++;

		if (c == '"')
			return true;
		if (c != '\\') {
			put(o, c);
			continue;
		}
		if (*p == end)
			return false;
		c = *(*p)++;
		if (c == 'u') {
			if (!unicode(*p, end, o))
				return false;
			*p += 4;
			continue;
		}
		for (int i = 0; from[i]; i++)
			if (c == from[i]) {
				c = to[i];
				break;
			}
		put(o, c); /* \" \\ \/ stand for themselves */
	}
	return false;
}

/* A member's key (p past its opening quote) as STEER_KEY; false unless [a-z0-9_]+ and a closing quote. */
static bool key(const char **p, const char *end, struct out *o)
{
	const char *start = *p;

	for (const char *s = "STEER_"; *s; s++)
		put(o, *s);
	for (; *p < end && **p != '"'; (*p)++) {
		char c = **p;

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!(c >= '0' && c <= '9') && c != '_')
			return false;
		put(o, c);
	}
	return *p < end && *p > start && *(*p)++ == '"';
}

size_t audit_journal_fields(const char *line, size_t len, char *buf, size_t buflen, struct iovec *iov,
			    size_t max_iov)
{
	const char *p = line, *end = line + len;
	struct out o = { .buf = buf, .len = buflen };
	size_t n = 0;

	if (p == end || *p++ != '{')
		return 0;
	while (n < max_iov && p < end && *p++ == '"') {
		size_t start = o.used;

		if (!key(&p, end, &o) || p == end || *p++ != ':')
			break;
		put(&o, '=');
		if (p < end && *p == '"') {
			p++;
			if (!string_value(&p, end, &o))
				break;
		} else {
			while (p < end && *p != ',' && *p != '}')
				put(&o, *p++);
		}
		if (o.full || p == end || (*p != ',' && *p != '}'))
			break;
		iov[n++] = (struct iovec){ .iov_base = buf + start, .iov_len = o.used - start };
		if (*p++ == '}')
			break;
	}
	return n;
}

bool audit_journal_send(const char *line, size_t len, int facility)
{
	char msg[ENTRY_MAX], fields[ENTRY_MAX], fac[32];
	struct iovec iov[MAX_FIELDS + 5] = {
		{ .iov_base = msg },
		{ .iov_base = (char *)"SYSLOG_IDENTIFIER=steer", .iov_len = sizeof("SYSLOG_IDENTIFIER=steer") - 1 },
		{ .iov_base = (char *)"PRIORITY=6", .iov_len = sizeof("PRIORITY=6") - 1 },
		{ .iov_base = (char *)"MESSAGE_ID=" AUDIT_JOURNAL_MESSAGE_ID,
		  .iov_len = sizeof("MESSAGE_ID=" AUDIT_JOURNAL_MESSAGE_ID) - 1 },
		{ .iov_base = fac },
	};
	int n;

	if (len && line[len - 1] == '\n')
		len--;
	n = snprintf(msg, sizeof(msg), "MESSAGE=%.*s", (int)len, line);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return false;
	iov[0].iov_len = (size_t)n;
	iov[4].iov_len = (size_t)snprintf(fac, sizeof(fac), "SYSLOG_FACILITY=%d", LOG_FAC(facility));
	n = (int)audit_journal_fields(line, len, fields, sizeof(fields), iov + 5, MAX_FIELDS);
	return sd_journal_sendv(iov, 5 + n) >= 0;
}
