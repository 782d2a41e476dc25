/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The audit log's chain (README, The audit log; steer(8), audit verify): a
 * header record at the start of every file and stream, a position (how many
 * records the chain holds) and, with audit-key, "mac" on every record:
 * HMAC-SHA256(key, previous mac as 64 hex || the record without its mac).
 * An edited, deleted, inserted or reordered record, or a missing file, breaks
 * the chain; a cut tail is only seen against an anchor kept elsewhere.
 */
#ifndef STEER_AUDIT_CHAIN_H
#define STEER_AUDIT_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

/* The key file's size bounds: 32 bytes is HMAC-SHA256's own strength. */
#define AUDIT_KEY_MIN 32
#define AUDIT_KEY_MAX 4096
#define AUDIT_MAC_HEX 64
/* What sealing adds to a line: `,"mac":"` + 64 hex + `"` (the final `}` is kept). */
#define AUDIT_CHAIN_ROOM (8 + AUDIT_MAC_HEX + 1)
#define AUDIT_SCHEMA 2

struct audit_chain;

/* Where a chain stands: the records it holds and the last one's mac (64 '0' for none). */
struct audit_chain_pos {
	uint64_t seq;
	char mac[AUDIT_MAC_HEX + 1];
};

/* The user steer.service runs as (dist/steer.sysusers, the unit's User=). */
#define AUDIT_SERVICE_USER "steer"

/*
 * Read a key file into key[AUDIT_KEY_MAX]. Refused unless a regular file of
 * AUDIT_KEY_MIN..AUDIT_KEY_MAX bytes and, with private_only, also without
 * group or other permissions and owned as audit_key_owner_ok() allows (what
 * the daemon requires; verify only reads it). -1 and one line on err.
 */
int audit_key_load(const char *path, bool private_only, unsigned char *key, size_t *len, FILE *err);

/*
 * Whether a key owned by owner may be used by euid: its own key; as root
 * (steer check --host run by an administrator) also one owned by root or by
 * the service user (NULL or absent: root only).
 */
bool audit_key_owner_ok(uid_t owner, uid_t euid, const char *service_user);

/* A new chain (position 0); key NULL: unkeyed (header and position only). NULL on allocation failure. */
struct audit_chain *audit_chain_new(const unsigned char *key, size_t len);
void audit_chain_free(struct audit_chain *c);
bool audit_chain_keyed(const struct audit_chain *c);
struct audit_chain_pos audit_chain_pos(const struct audit_chain *c);
void audit_chain_set_pos(struct audit_chain *c, const struct audit_chain_pos *p);

/*
 * Add line[0..n) (one JSON object, ending in '}') to the chain: with a key,
 * ",\"mac\":\"...\"" goes in before the '}' (the buffer must hold
 * AUDIT_CHAIN_ROOM more bytes). Returns the new length.
 */
size_t audit_chain_seal(struct audit_chain *c, char *line, size_t n);
/* A header record at the current position, sealed, into buf[cap] (no newline). Returns its length. */
size_t audit_chain_header(struct audit_chain *c, const struct timespec *ts, char *buf, size_t cap);

/*
 * Continue the chain an existing file holds: its last header and the
 * records after it give the position, its last record the mac (checked
 * with this key). 0: continued (why[] empty), or the file is absent or
 * empty: a new chain, and why[] says which ("no such file", "empty").
 * -1: the chain stays new, and why[] says why. *cut: the file's last line
 * has no newline (a crash mid-write): the caller ends it before the header.
 */
int audit_chain_resume(struct audit_chain *c, const char *path, bool *cut, char *why, size_t whylen);

/*
 * The mac of a record after prev (64 hex): HMAC over prev, line[0..n) (the
 * record without its mac member and without its closing brace) and "}".
 * out gets 64 hex and a NUL. A keyed chain only.
 */
void audit_chain_mac(const struct audit_chain *c, const char *prev, const char *line, size_t n, char *out);
/*
 * A record's parts: *body, its length up to its mac member (the record
 * without the mac is line[0..*body) and "}"), and the mac; false when it
 * carries none.
 */
bool audit_line_mac(const char *line, size_t n, size_t *body, char *mac);
/* A header record's seq and prev_mac ("" when it has none); false when line is no header. */
bool audit_line_header(const char *line, uint64_t *seq, char *prev_mac);

#endif
