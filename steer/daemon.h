/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef STEER_DAEMON_H
#define STEER_DAEMON_H

#include "config.h"

/*
 * Install everything cfg asks for, serve until SIGTERM/SIGINT, then remove
 * everything. A failure while installing undoes what was installed.
 * Returns the process exit status.
 */
int daemon_run(const struct steer_config *cfg);

/* Remove every kernel object steer installs, including a crashed daemon's. */
int daemon_cleanup(const struct steer_config *cfg);

#endif
