/* SPDX-License-Identifier: GPL-2.0-only */
/* What the loader (attach) and the stale cleanup (tc_stale.c) share about clsact filters. */
#ifndef STEER_BPF_TC_H
#define STEER_BPF_TC_H

/* Fixed handle and priorities of steer's clsact filters, so a later run finds a crashed one's. */
#define STEER_TC_HANDLE 0x57ee
#define STEER_TC_PRIO_INGRESS 0x5700
#define STEER_TC_PRIO_RETURN 0x5701

/* libbpf prints through us from the first call; quiet > 0 mutes it (failures expected and handled). */
void libbpf_print_setup(void);
void libbpf_quiet_add(int delta);

#endif
