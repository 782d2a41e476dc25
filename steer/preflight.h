/* SPDX-License-Identifier: GPL-2.0-only */
/* Checks run before anything is installed; each problem is one line on `out`. */
#ifndef STEER_PREFLIGHT_H
#define STEER_PREFLIGHT_H

#include <stdio.h>

#include "steer/config.h"

/*
 * Fatal problems (not root, an interface missing, ...) and warnings
 * (forwarding off, rp_filter strict where it breaks return traffic,
 * src_valid_mark, ...) are printed as "steer: error: ..." / "steer: warning: ...".
 * Returns the number of fatal problems; nothing may be installed if > 0.
 */
int preflight_run(const struct steer_config *cfg, FILE *out);

#endif
