/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Messages on stderr. When stderr is the journal (systemd's JOURNAL_STREAM names
 * it), every line carries an sd-daemon priority prefix so journald can tell errors
 * from information; on a terminal or a file the lines stay plain.
 *
 * The convention the prefixes follow: information goes through log_msg(LOG_INFO);
 * any other line on stderr is an error unless it says "warning:" (or comes from
 * libbpf, which explains a failure steer reports itself), then it is a warning.
 */
#ifndef STEER_LOG_H
#define STEER_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* Call first in main(): replaces stderr by a prefixing stream if it is the journal. */
void log_init(void);

/* Whether stderr is the journal: then a line on it is in the journal already. */
bool log_to_journal(void);
/* One message at priority prio (LOG_ERR, LOG_WARNING, LOG_INFO). */
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
