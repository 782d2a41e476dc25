/* SPDX-License-Identifier: GPL-2.0-only */
/* Checks run before anything is installed; each problem is one line on `out`. */
#ifndef STEER_PREFLIGHT_H
#define STEER_PREFLIGHT_H

#include <stdio.h>

#include "steer/config.h"

/*
 * Fatal problems (a capability the config needs, an interface missing, ...) and warnings
 * (forwarding off, rp_filter strict where it breaks return traffic,
 * src_valid_mark, ...) are printed as "steer: error: ..." / "steer: warning: ...".
 * Returns the number of fatal problems; nothing may be installed if > 0.
 */
int preflight_run(const struct steer_config *cfg, FILE *out);

/*
 * `steer check --host`: preflight_run, whether the daemon's user may create
 * the audit log and the control socket, and preflight_kernel. Installs
 * nothing. Returns the number of fatal problems.
 */
int preflight_host(const struct steer_config *cfg, FILE *out);

/*
 * The kernel features the configured backend needs, tried for real in a
 * throwaway network namespace (steer/host_probe.c): the classifier loads
 * (the verifier, TCX, reuseport assign, sk_lookup) and the nftables table
 * is accepted. "host: ..." lines on stdout for what was found, "steer: error: ..."
 * for what is missing; returns the number of those.
 */
int preflight_kernel(const struct steer_config *cfg, FILE *out);

#endif
