/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef STEER_DAEMON_H
#define STEER_DAEMON_H

#include <stdio.h>

#include "steer/config.h"

/* How `steer reload` reads the configuration again (the file, then the flags). */
struct config_loader {
	/* Fill a config_init'ed cfg; print errors to errs; return the error count. */
	int (*load)(struct steer_config *cfg, FILE *errs, void *ctx);
	void *ctx;
};

/*
 * Install everything cfg asks for, serve until SIGTERM/SIGINT, then remove
 * everything. A failure while installing undoes what was installed.
 * Returns the process exit status.
 */
int daemon_run(struct steer_config *cfg, const struct config_loader *loader);

/* Remove every kernel object steer installs, including a crashed daemon's. */
int daemon_cleanup(const struct steer_config *cfg);

#endif
