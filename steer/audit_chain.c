/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/audit_chain.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "steer/audit.h"
#include "steer/strbuf.h"
#include "steer/version.h"

#define ZERO_MAC "0000000000000000000000000000000000000000000000000000000000000000"
#define MAC_MEMBER ",\"mac\":\""
/* The tail a restart reads at most: a header is written at every start and reopen. */
#define RESUME_CHUNK 65536

struct audit_chain {
	EVP_MAC_CTX *mac; /* NULL: unkeyed */
	struct audit_chain_pos pos;
};

bool audit_key_owner_ok(uid_t owner, uid_t euid, const char *service_user)
{
	const struct passwd *pw;

	if (owner == euid)
		return true;
	if (euid != 0 || !service_user)
		return false;
	pw = getpwnam(service_user);
	return pw && pw->pw_uid == owner;
}

int audit_key_load(const char *path, bool private_only, unsigned char *key, size_t *len, FILE *err)
{
	/* O_NONBLOCK: a FIFO in its place must not hang the start; fstat refuses it. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	const char *why = NULL;
	struct stat st;
	ssize_t n;

	if (fd < 0) {
		fprintf(err, "steer: error: audit-key %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (private_only && (st.st_mode & 077))
		why = "readable or writable by group or others: must be mode 0600 (chmod 600)";
	else if (private_only && !audit_key_owner_ok(st.st_uid, geteuid(), AUDIT_SERVICE_USER))
		why = geteuid() ? "not owned by the user steer runs as"
				: "not owned by the user steer runs as (" AUDIT_SERVICE_USER ") or root";
	else if (st.st_size < AUDIT_KEY_MIN || st.st_size > AUDIT_KEY_MAX)
		why = "must hold 32 to 4096 bytes (e.g. head -c 32 /dev/urandom)";
	if (why) {
		fprintf(err, "steer: error: audit-key %s: %s\n", path, why);
		close(fd);
		return -1;
	}
	n = read(fd, key, AUDIT_KEY_MAX);
	close(fd);
	if (n < AUDIT_KEY_MIN) {
		fprintf(err, "steer: error: audit-key %s: %s\n", path, n < 0 ? strerror(errno) : "shorter than 32 bytes");
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

struct audit_chain *audit_chain_new(const unsigned char *key, size_t len)
{
	struct audit_chain *c = calloc(1, sizeof(*c));
	EVP_MAC *hmac;

	if (!c)
		return NULL;
	memcpy(c->pos.mac, ZERO_MAC, sizeof(c->pos.mac));
	if (!key)
		return c;
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	c->mac = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	EVP_MAC_free(hmac); /* the context holds its own reference */
	{
		OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
					OSSL_PARAM_construct_end() };

		if (c->mac && EVP_MAC_init(c->mac, key, len, params))
			return c;
	}
	fprintf(stderr, "steer: audit: OpenSSL has no HMAC-SHA256\n");
	audit_chain_free(c);
	return NULL;
}

void audit_chain_free(struct audit_chain *c)
{
	if (!c)
		return;
	EVP_MAC_CTX_free(c->mac);
	free(c);
}

bool audit_chain_keyed(const struct audit_chain *c)
{
	return c->mac != NULL;
}

struct audit_chain_pos audit_chain_pos(const struct audit_chain *c)
{
	return c->pos;
}

void audit_chain_set_pos(struct audit_chain *c, const struct audit_chain_pos *p)
{
	c->pos = *p;
}

void audit_chain_mac(const struct audit_chain *c, const char *prev, const char *line, size_t n, char *out)
{
	unsigned char md[32];
	size_t mdlen = 0;

	/* A NULL key re-uses the one given at creation (OpenSSL keeps the padded key state). */
	if (!EVP_MAC_init(c->mac, NULL, 0, NULL) || !EVP_MAC_update(c->mac, (const unsigned char *)prev, AUDIT_MAC_HEX) ||
	    !EVP_MAC_update(c->mac, (const unsigned char *)line, n) ||
	    !EVP_MAC_update(c->mac, (const unsigned char *)"}", 1) || !EVP_MAC_final(c->mac, md, &mdlen, sizeof(md)))
		mdlen = 0; /* out stays all zeros: no record verifies against it */
	memset(md + mdlen, 0, sizeof(md) - mdlen);
	/* Not snprintf: 32 calls of it cost more than the HMAC itself. */
	for (size_t i = 0; i < sizeof(md); i++) {
		out[2 * i] = "0123456789abcdef"[md[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
	}
	out[AUDIT_MAC_HEX] = '\0';
}

size_t audit_chain_seal(struct audit_chain *c, char *line, size_t n)
{
	char mac[AUDIT_MAC_HEX + 1];

	c->pos.seq++;
	if (!c->mac || n == 0)
		return n;
	audit_chain_mac(c, c->pos.mac, line, n - 1, mac);
	memcpy(c->pos.mac, mac, sizeof(mac));
	n--; /* the '}' goes after the mac */
	memcpy(line + n, MAC_MEMBER, strlen(MAC_MEMBER));
	n += strlen(MAC_MEMBER);
	memcpy(line + n, mac, AUDIT_MAC_HEX);
	n += AUDIT_MAC_HEX;
	memcpy(line + n, "\"}", 3);
	return n + 2;
}

size_t audit_chain_header(struct audit_chain *c, const struct timespec *ts, char *buf, size_t cap)
{
	struct strbuf b = { 0 };
	char host[256] = "", when[40];
	size_t n;

	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
		snprintf(host, sizeof(host), "unknown"); /* never "": readers key runs on it */
	audit_format_ts(ts, when, sizeof(when));
	sb_printf(&b, "{\"ts\":\"%s\",\"event\":\"header\",\"schema\":%d,\"version\":", when, AUDIT_SCHEMA);
	sb_json_str(&b, steer_version());
	sb_printf(&b, ",\"host\":");
	sb_json_str(&b, host);
	sb_printf(&b, ",\"seq\":%" PRIu64, c->pos.seq);
	if (c->mac)
		sb_printf(&b, ",\"prev_mac\":\"%s\"", c->pos.mac);
	sb_printf(&b, "}");
	n = b.s && !b.oom && b.len + AUDIT_CHAIN_ROOM < cap ? b.len : 0;
	if (n)
		memcpy(buf, b.s, n + 1);
	sb_free(&b);
	return n ? audit_chain_seal(c, buf, n) : 0;
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool audit_line_mac(const char *line, size_t n, size_t *body, char *mac)
{
	size_t m = strlen(MAC_MEMBER) + AUDIT_MAC_HEX + 2;

	if (n < m || memcmp(line + n - m, MAC_MEMBER, strlen(MAC_MEMBER)) || memcmp(line + n - 2, "\"}", 2) ||
	    !is_hex(line + n - 2 - AUDIT_MAC_HEX, AUDIT_MAC_HEX))
		return false;
	*body = n - m;
	memcpy(mac, line + n - 2 - AUDIT_MAC_HEX, AUDIT_MAC_HEX);
	mac[AUDIT_MAC_HEX] = '\0';
	return true;
}

bool audit_line_header(const char *line, uint64_t *seq, char *prev_mac)
{
	const char *e = strstr(line, ",\"event\":\"");
	const char *s, *p;
	char *end;

	/* "event" is the second member of every record: a header's own fields cannot fake it. */
	if (!e || strncmp(e + 10, "header\"", 7) || !(s = strstr(e, ",\"seq\":")))
		return false;
	errno = 0;
	*seq = strtoull(s + 7, &end, 10);
	if (errno || end == s + 7 || (*end != ',' && *end != '}'))
		return false;
	prev_mac[0] = '\0';
	p = strstr(end, ",\"prev_mac\":\"");
	if (p && p == end) {
		if (!is_hex(p + 13, AUDIT_MAC_HEX) || p[13 + AUDIT_MAC_HEX] != '"')
			return false;
		memcpy(prev_mac, p + 13, AUDIT_MAC_HEX);
		prev_mac[AUDIT_MAC_HEX] = '\0';
	}
	return true;
}

/* The lines of a file's tail, last first, as the scan back found them. */
struct tail_scan {
	int fd;
	off_t off;        /* what is left to read, before this offset */
	char *buf;        /* buf[0..len): the unread part of what was read */
	size_t len, cap;
};

/* The next line going back (without its newline, NUL-terminated); NULL at the start or on error. */
static char *prev_line(struct tail_scan *t, size_t *n)
{
	for (;;) {
		char *nl = t->len ? memrchr(t->buf, '\n', t->len) : NULL;

		if (nl || (t->off == 0 && t->len)) {
			char *line = nl ? nl + 1 : t->buf;

			*n = t->len - (size_t)(line - t->buf);
			line[*n] = '\0';
			t->len = nl ? (size_t)(nl - t->buf) : 0;
			return line;
		}
		if (t->off == 0 || t->len > 2 * RESUME_CHUNK) /* no line is that long */
			return NULL;
		size_t want = t->off < RESUME_CHUNK ? (size_t)t->off : RESUME_CHUNK;

		if (t->len + want + 1 > t->cap) {
			char *b = realloc(t->buf, t->len + want + 1);

			if (!b)
				return NULL;
			t->buf = b;
			t->cap = t->len + want + 1;
		}
		memmove(t->buf + want, t->buf, t->len);
		if (pread(t->fd, t->buf, want, t->off - (off_t)want) != (ssize_t)want)
			return NULL;
		t->off -= (off_t)want;
		t->len += want;
	}
}

static int resume_scan(struct audit_chain *c, struct tail_scan *t, char *why, size_t whylen)
{
	char last_mac[AUDIT_MAC_HEX + 1] = "", mac[AUDIT_MAC_HEX + 1], prev[AUDIT_MAC_HEX + 1];
	char *last = NULL;
	size_t n, body, last_body = 0;
	uint64_t after = 0, seq;

	if (pread(t->fd, prev, 1, t->off - 1) != 1 || prev[0] != '\n') {
		snprintf(why, whylen, "its last line is cut short");
		return -1;
	}
	t->off--;
	for (char *line; (line = prev_line(t, &n)); after++) {
		bool has_mac = audit_line_mac(line, n, &body, mac);

		if (!has_mac)
			mac[0] = '\0';

		if (after == 0) {
			if (c->mac && !has_mac) {
				snprintf(why, whylen, "its last record has no mac");
				return -1;
			}
			last = strdup(line);
			last_body = body;
			memcpy(last_mac, mac, sizeof(mac));
		} else if (after == 1 && c->mac) {
			memcpy(prev, mac, sizeof(mac)); /* what the last record was chained to */
		}
		if (!audit_line_header(line, &seq, after == 0 ? prev : mac))
			continue;
		if (c->mac && strlen(prev) != AUDIT_MAC_HEX) {
			snprintf(why, whylen, "the record before its last one has no mac");
			break;
		}
		if (c->mac && last) {
			char check[AUDIT_MAC_HEX + 1];

			audit_chain_mac(c, prev, last, last_body, check);
			if (strcmp(check, last_mac)) {
				snprintf(why, whylen, "its last record does not verify with this key");
				break;
			}
		}
		free(last);
		c->pos.seq = seq + after + 1;
		memcpy(c->pos.mac, c->mac ? last_mac : ZERO_MAC, sizeof(c->pos.mac));
		return 0;
	}
	if (!why[0])
		snprintf(why, whylen, "no header record in its tail");
	free(last);
	return -1;
}

int audit_chain_resume(struct audit_chain *c, const char *path, bool *cut, char *why, size_t whylen)
{
	struct tail_scan t = { .fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) };
	struct stat st;
	char last;
	int ret;

	why[0] = '\0';
	*cut = false;
	if (t.fd < 0 && errno == ENOENT) {
		snprintf(why, whylen, "no such file");
		return 0;
	}
	if (t.fd < 0 || fstat(t.fd, &st) < 0) {
		snprintf(why, whylen, "cannot read it: %s", strerror(errno));
		if (t.fd >= 0)
			close(t.fd);
		return -1;
	}
	/* A device or FIFO (/dev/null, a pipe) holds no chain to continue: nothing to say. */
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		if (S_ISREG(st.st_mode))
			snprintf(why, whylen, "empty");
		close(t.fd);
		return 0;
	}
	t.off = st.st_size;
	*cut = pread(t.fd, &last, 1, t.off - 1) == 1 && last != '\n';
	ret = resume_scan(c, &t, why, whylen);
	close(t.fd);
	free(t.buf);
	return ret;
}
