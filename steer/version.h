/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef STEER_VERSION_H
#define STEER_VERSION_H

#include <stdio.h>

/* steer's own version, as `steer version` and `steer status --json` name it. */
const char *steer_version(void);

/* The libraries' versions: libbpf's as it runs, libnftnl's as built against. */
const char *steer_libbpf_version(void);
const char *steer_libnftnl_version(void);

/* `steer version`: steer's version and the libraries it runs with. Returns 0. */
int print_version(FILE *out);

#endif
