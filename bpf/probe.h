/* SPDX-License-Identifier: GPL-2.0-only */
/* Kernel feature probes for the classifier (bpf/probe.c): tried, never read off a version. */
#ifndef STEER_BPF_PROBE_H
#define STEER_BPF_PROBE_H

#include <stddef.h>
#include <stdint.h>

enum probe_answer {
	PROBE_UNKNOWN = 0, /* could not be tried; the reason is given */
	PROBE_NO,
	PROBE_YES,
};

/*
 * Does bpf_sk_assign take a SO_REUSEPORT listener at TC ingress? Tried in a
 * throwaway network namespace with prog_fd (steer_probe), map_fd
 * (steer_probe_listen) and rc (steer_probe_rc, in the skeleton's shared
 * mapping). PROBE_UNKNOWN puts the reason in why.
 */
int probe_reuseport_assign(int prog_fd, int map_fd, volatile int32_t *rc, char *why, size_t whylen);

/* Does the kernel have TCX links (Linux >= 6.6)? */
int probe_tcx(void);

/*
 * The BPF helpers and program types the classifier cannot work without:
 * 0, or -EOPNOTSUPP with the first one missing named in missing.
 */
int probe_helpers(char *missing, size_t len);

#endif
