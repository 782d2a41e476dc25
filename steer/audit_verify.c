/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/audit_verify.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define ZERO_MAC "0000000000000000000000000000000000000000000000000000000000000000"

static const char usage[] =
	"usage: steer audit verify [--key FILE] [--anchor SEQ:MAC] [--allow-new-chain] FILE...\n"
	"Check the audit log's chain over FILE... given oldest first (audit.jsonl.2,\n"
	"audit.jsonl.1, audit.jsonl). With --key (the daemon's audit-key) every record's\n"
	"mac is checked: an edited, deleted, inserted or reordered record, a missing file\n"
	"and a wrong key are found; without it only the headers' positions are.\n"
	"--anchor SEQ:MAC (an \"audit anchor seq=SEQ mac=MAC\" line from syslog or the\n"
	"journal) must be a position of the chain: a cut tail is found against it.\n"
	"A new chain (a header at seq 0) after the first record is a break: what came\n"
	"before cannot be tied to it. --allow-new-chain accepts it, with a note (the\n"
	"daemon starts one when its key changed or its file was missing or damaged).\n"
	"A record seen twice is a break either way.\n"
	"Exit: 0 intact, 1 the first break as FILE:LINE: reason, 2 usage.\n";

/* Where each mac was seen, so a record copied in is named as the copy it is. */
#define SEEN_MAX (1u << 21)
struct seen {
	uint64_t h; /* the mac's first 16 hex digits; 0: empty slot */
	int file;
	uint64_t line;
};

struct verify {
	const char *const *files;
	struct audit_chain *chain; /* NULL: unkeyed */
	const struct audit_chain_pos *anchor;
	bool allow_new_chain;
	uint64_t chains;
	FILE *err;
	bool started;
	uint64_t count; /* records in the chain so far */
	char prev[AUDIT_MAC_HEX + 1];
	uint64_t total;
	/* The record at the anchor's position in the last chain, if the files reach it. */
	bool at_anchor, anchor_match;
	int anchor_file;
	uint64_t anchor_line;
	struct seen *seen;
	size_t seen_cap, seen_used;
};

static uint64_t mac_hash(const char *mac)
{
	uint64_t h = strtoull((char[17]){ mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], mac[6], mac[7], mac[8], mac[9],
					 mac[10], mac[11], mac[12], mac[13], mac[14], mac[15], 0 },
			      NULL, 16);
	return h ? h : 1;
}

static struct seen *seen_find(struct verify *v, uint64_t h)
{
	for (size_t i = h % v->seen_cap;; i = (i + 1) % v->seen_cap)
		if (!v->seen[i].h || v->seen[i].h == h)
			return &v->seen[i];
}

static bool seen_grow(struct verify *v)
{
	struct verify grown = { .seen_cap = v->seen_cap ? 2 * v->seen_cap : 4096 };

	grown.seen = calloc(grown.seen_cap, sizeof(*grown.seen));
	if (!grown.seen)
		return false;
	for (size_t i = 0; i < v->seen_cap; i++)
		if (v->seen[i].h)
			*seen_find(&grown, v->seen[i].h) = v->seen[i];
	free(v->seen);
	v->seen = grown.seen;
	v->seen_cap = grown.seen_cap;
	return true;
}

static void seen_add(struct verify *v, const char *mac, bool header, int file, uint64_t line)
{
	struct seen *s;

	/*
	 * 48 MB at most: past a million records a copied record is still a
	 * break (its mac is chained to another record), only not named as one.
	 * Headers are kept while a slot is free: a replayed chain starts with a
	 * copied header, and that copy alone would verify.
	 */
	if (2 * (v->seen_used + 1) > v->seen_cap &&
	    (v->seen_cap >= SEEN_MAX ? !header || v->seen_used + 2 > v->seen_cap : !seen_grow(v)))
		return;
	s = seen_find(v, mac_hash(mac));
	if (!s->h)
		v->seen_used++;
	*s = (struct seen){ mac_hash(mac), file, line };
}

__attribute__((format(printf, 4, 5))) static int broken(struct verify *v, int file, uint64_t line, const char *fmt,
							  ...)
{
	va_list ap;

	fprintf(v->err, "%s:%" PRIu64 ": ", v->files[file], line);
	va_start(ap, fmt);
	vfprintf(v->err, fmt, ap);
	va_end(ap);
	fputc('\n', v->err);
	return 1;
}

/* The record at line is one already seen (its mac is mac); how is appended to the reason. */
static int copy_break(struct verify *v, int file, uint64_t line, const char *mac, const char *how)
{
	struct seen *s = v->seen_cap ? seen_find(v, mac_hash(mac)) : NULL;

	if (!s || !s->h)
		return 0;
	return broken(v, file, line, "a copy of the record at %s:%" PRIu64 "%s", v->files[s->file], s->line, how);
}

/* Whether next (the line after a record whose mac is mac) is chained to it. */
static bool chained_to(struct verify *v, const char *mac, const char *next, size_t n)
{
	char m[AUDIT_MAC_HEX + 1], check[AUDIT_MAC_HEX + 1];
	size_t body;

	if (!next || !audit_line_mac(next, n, &body, m))
		return false;
	audit_chain_mac(v->chain, mac, next, body, check);
	return !strcmp(check, m);
}

/* A record whose mac is not the chain's: say what most likely happened. */
static int mac_break(struct verify *v, int file, uint64_t line, const char *mac, FILE *f)
{
	char *next = NULL;
	size_t cap = 0;
	ssize_t n;
	bool edited;

	if (copy_break(v, file, line, mac, " (inserted)"))
		return 1;
	n = getline(&next, &cap, f);
	if (n > 0 && next[n - 1] == '\n')
		next[--n] = '\0';
	edited = chained_to(v, mac, n > 0 ? next : NULL, n > 0 ? (size_t)n : 0);
	free(next);
	if (edited)
		return broken(v, file, line, "mac does not match: this record was edited, or the one before it deleted");
	return broken(v, file, line, "the chain breaks here: a record was deleted, inserted or moved here");
}

/* A header: where the file says the chain stands must be where the files before left it. */
static int check_header(struct verify *v, int file, uint64_t line, uint64_t seq, const char *prev_mac)
{
	bool keyed = v->chain != NULL;
	bool fresh = seq == 0 && (!keyed || !strcmp(prev_mac, ZERO_MAC));

	if (keyed && strlen(prev_mac) != AUDIT_MAC_HEX)
		return broken(v, file, line, "header without prev_mac (written without audit-key)");
	if (!v->started && !fresh)
		return broken(v, file, line,
			      "the chain starts at record %" PRIu64 " here: an earlier file is missing "
			      "(give every file, oldest first)",
			      seq);
	if (v->started && fresh && v->count) {
		if (!v->allow_new_chain)
			return broken(v, file, line, "a new chain starts here: what came before cannot be tied to it");
		fprintf(v->err, "%s:%" PRIu64 ": note: a new chain starts here (steer could not continue the old one)\n",
			v->files[file], line);
		v->chains++;
		v->count = 0;
		memcpy(v->prev, ZERO_MAC, sizeof(v->prev));
		v->at_anchor = false;
		return 0;
	}
	if (seq != v->count)
		return broken(v, file, line,
			      "header says %" PRIu64 " records came before, the files before hold %" PRIu64 ": %s", seq,
			      v->count,
			      seq > v->count ? "a file is missing, or records were deleted" : "records were inserted");
	if (keyed && strcmp(prev_mac, v->prev))
		return broken(v, file, line, "header's prev_mac is not the last record's mac: a file is missing, or the "
					     "one before was changed");
	return 0;
}

/* One line of files[file]; 0: it continues the chain. */
static int check_line(struct verify *v, int file, uint64_t line, char *s, size_t n, FILE *f)
{
	char mac[AUDIT_MAC_HEX + 1], prev_mac[AUDIT_MAC_HEX + 1], check[AUDIT_MAC_HEX + 1];
	bool has_mac;
	size_t body;
	uint64_t seq;
	bool header;

	if (n >= 1 && s[0] == '{' && s[n - 1] != '}')
		return broken(v, file, line, "line cut short: not a whole audit record (steer stopped mid-write)");
	if (n < 2 || s[0] != '{' || s[n - 1] != '}')
		return broken(v, file, line, "not a whole audit record");
	has_mac = audit_line_mac(s, n, &body, mac);
	header = audit_line_header(s, &seq, prev_mac);
	if (line == 1 && !header)
		return broken(v, file, line, "no header record: not the start of a steer audit file");
	if (v->chain && !has_mac)
		return broken(v, file, line, "record has no mac (written without audit-key)");
	if (v->chain) {
		/* A header is checked against its own prev_mac first: an edit of it is an edit, not a gap. */
		audit_chain_mac(v->chain, header && strlen(prev_mac) == AUDIT_MAC_HEX ? prev_mac : v->prev, s, body,
				check);
		if (strcmp(check, mac))
			return header ? broken(v, file, line, "mac does not match: a wrong key, or this header was edited")
				      : mac_break(v, file, line, mac, f);
	}
	/* A genuine chain never repeats a mac; unkeyed, the mac text is all there is to compare. */
	if (has_mac && copy_break(v, file, line, mac, ""))
		return 1;
	if (header && check_header(v, file, line, seq, prev_mac))
		return 1;
	v->started = true;
	v->count++;
	v->total++;
	if (v->chain)
		memcpy(v->prev, mac, sizeof(mac));
	if (has_mac)
		seen_add(v, mac, header, file, line);
	if (v->anchor && v->count == v->anchor->seq) {
		v->at_anchor = true;
		/* Unkeyed too: the anchor's mac is the text the record must carry. */
		v->anchor_match = has_mac && !strcmp(mac, v->anchor->mac);
		v->anchor_file = file;
		v->anchor_line = line;
	}
	return 0;
}

static int verify_file(struct verify *v, int file, uint64_t *lines)
{
	FILE *f = fopen(v->files[file], "re");
	char *s = NULL;
	size_t cap = 0;
	ssize_t n;
	int ret = 0;

	*lines = 0;
	if (!f) {
		fprintf(v->err, "%s: %s\n", v->files[file], strerror(errno));
		return 1;
	}
	while (!ret && (n = getline(&s, &cap, f)) >= 0) {
		if (n && s[n - 1] == '\n')
			s[--n] = '\0';
		ret = check_line(v, file, ++*lines, s, (size_t)n, f);
	}
	if (!ret && *lines == 0)
		ret = broken(v, file, 1, "empty: no header record");
	free(s);
	fclose(f);
	return ret;
}

int audit_verify(const char *const *files, int n, const struct audit_verify_opts *o, FILE *out, FILE *err)
{
	struct verify v = { .files = files, .anchor = o->anchor, .allow_new_chain = o->allow_new_chain, .chains = 1, .err = err };
	uint64_t lines = 0;
	int ret = 0, i;

	memcpy(v.prev, ZERO_MAC, sizeof(v.prev));
	if (o->key && !(v.chain = audit_chain_new(o->key, o->key_len)))
		return 1;
	for (i = 0; i < n && !ret; i++)
		ret = verify_file(&v, i, &lines);
	if (!ret && v.anchor && !v.at_anchor)
		ret = broken(&v, n - 1, lines + 1,
			     "the log ends after record %" PRIu64 ", the anchor names record %" PRIu64
			     ": its tail was cut",
			     v.count, v.anchor->seq);
	else if (!ret && v.anchor && !v.anchor_match)
		ret = broken(&v, v.anchor_file, v.anchor_line,
			     "record %" PRIu64 " does not have the anchor's mac: the log was rewritten from here, or "
			     "the anchor is another chain's",
			     v.anchor->seq);
	if (!ret && v.allow_new_chain)
		fprintf(out, "ok: %" PRIu64 " records in %d files (%" PRIu64 " chain%s)%s\n", v.total, n, v.chains,
			v.chains == 1 ? "" : "s", v.chain ? "" : " (unkeyed: structure only, no mac checked)");
	else if (!ret)
		fprintf(out, "ok: %" PRIu64 " records in %d files%s\n", v.total, n,
			v.chain ? "" : " (unkeyed: structure only, no mac checked)");
	audit_chain_free(v.chain);
	free(v.seen);
	return ret;
}

static bool parse_anchor(const char *s, struct audit_chain_pos *p)
{
	char *end;

	errno = 0;
	p->seq = strtoull(s, &end, 10);
	if (errno || end == s || *end != ':' || strlen(end + 1) != AUDIT_MAC_HEX)
		return false;
	for (const char *c = end + 1; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
			return false;
	memcpy(p->mac, end + 1, sizeof(p->mac));
	return true;
}

int audit_verify_main(int argc, char **argv)
{
	unsigned char key[AUDIT_KEY_MAX];
	struct audit_chain_pos anchor;
	struct audit_verify_opts o = { 0 };
	const char *key_path = NULL;
	int i, ret;

	for (i = 0; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "--key") && i + 1 < argc && !key_path) {
			key_path = argv[++i];
		} else if (!strcmp(argv[i], "--anchor") && i + 1 < argc && !o.anchor) {
			if (!parse_anchor(argv[++i], &anchor)) {
				fprintf(stderr, "steer: audit verify: --anchor %s: expected SEQ:MAC (64 lowercase hex)\n",
					argv[i]);
				return 2;
			}
			o.anchor = &anchor;
		} else if (!strcmp(argv[i], "--allow-new-chain")) {
			o.allow_new_chain = true;
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (i == argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (key_path) {
		if (audit_key_load(key_path, false, key, &o.key_len, stderr) < 0)
			return 2;
		o.key = key;
	}
	ret = audit_verify((const char *const *)argv + i, argc - i, &o, stdout, stderr);
	OPENSSL_cleanse(key, sizeof(key));
	return ret;
}
