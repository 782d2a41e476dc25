/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the tests that need a real kernel share: a private network namespace,
 * the output of a shell command, and stderr captured while code under test
 * runs. No cmocka here (the BPF test binaries link this too): failures are
 * returned, the tests assert on them.
 */
#ifndef TESTS_LIB_NETNS_H
#define TESTS_LIB_NETNS_H

/*
 * Move this process into a new network namespace with lo up, so that the
 * test sees and changes nothing of the host's. Needs root. 0, or -1 after a
 * line "who: FAILED: why" on stderr.
 */
int netns_enter(const char *who);

/*
 * Run cmd with sh; returns its stdout (malloc'd, NULL if it cannot run) and,
 * if status is not NULL, its wait status there.
 */
char *cmd_output(const char *cmd, int *status);

/* Send stderr to a temporary file until capture_stderr_end. 0 or -1. */
int capture_stderr_begin(void);
/* Restore stderr; returns what was written meanwhile (malloc'd), NULL on failure. */
char *capture_stderr_end(void);

#endif
