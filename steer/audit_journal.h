/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The journald sink: one journal entry per audit record. MESSAGE is the
 * record's JSON line, and every member of that line is also a field of its
 * own (STEER_EVENT, STEER_CLIENT, STEER_COMMUNITY_ID, ...), so the fields can
 * never disagree with the line and a member new to the schema reaches the
 * journal without a change here.
 */
#ifndef STEER_AUDIT_JOURNAL_H
#define STEER_AUDIT_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

/* Every audit entry carries it: `journalctl MESSAGE_ID=...` finds them all. */
#define AUDIT_JOURNAL_MESSAGE_ID "cd6e045898b940029da1300883e58518"
/* The socket sd_journal_send() writes to. */
#define AUDIT_JOURNAL_SOCKET "/run/systemd/journal/socket"

/*
 * The line's members as STEER_<KEY>=VALUE fields (strings unescaped), one
 * iovec each, written into buf. Returns how many; a line cut short or not a
 * flat JSON object yields the members before the fault.
 */
size_t audit_journal_fields(const char *line, size_t len, char *buf, size_t buflen, struct iovec *iov,
			    size_t max_iov);
/* Send one line (its '\n' optional) as an entry; false: the journal did not take it. */
bool audit_journal_send(const char *line, size_t len, int facility);

#endif
