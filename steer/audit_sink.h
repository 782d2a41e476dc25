/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where audit lines go: a file (appended, reopened on SIGHUP), stdout, syslog
 * or journald. Byte sinks take many lines per write; record sinks (syslog,
 * journald) take one record at a time, with the record itself.
 */
#ifndef STEER_AUDIT_SINK_H
#define STEER_AUDIT_SINK_H

#include <stdbool.h>
#include <stddef.h>

struct audit_record;
struct audit_sink;

/*
 * spec: a file path, "-" for stdout, "syslog" or "journald"; facility (LOG_*)
 * for syslog and journald. NULL + a message on stderr on error.
 */
struct audit_sink *audit_sink_open(const char *spec, int facility);
/* The file spec names; NULL for the other sinks. */
const char *audit_sink_spec_file(const char *spec);
/* One record per write (syslog, journald) rather than a stream of lines. */
bool audit_sink_per_record(const struct audit_sink *s);
/*
 * Write whole lines, each ending in '\n'. A record sink gets exactly one line
 * and its record r; a byte sink gets r == NULL. False: not written.
 */
bool audit_sink_write(struct audit_sink *s, const struct audit_record *r, const char *buf, size_t len);
/* The file's path; NULL for the other sinks. */
const char *audit_sink_file(const struct audit_sink *s);
/* Reopen the file (logrotate); other sinks: nothing to do. */
void audit_sink_reopen(struct audit_sink *s);
void audit_sink_close(struct audit_sink *s);

#endif
