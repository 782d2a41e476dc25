/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The offload's entries from user space (docs/offload.md): the proxy's
 * handoff (struct proxy_splice) turned into the classifier's two
 * steer_offload entries, and what the classifier noted of them read back.
 * bpf/classifier.c's splice_add/splice_end are these.
 */
#ifndef STEER_BPF_OFFLOAD_CTL_H
#define STEER_BPF_OFFLOAD_CTL_H

#include <stdbool.h>

#include "bpf/loader.h"
#include "steer/classifier.h"

/* Both entries or neither: 0, -EEXIST, -ENOSPC (E2BIG: the map is full), -EAFNOSUPPORT, ... */
int steer_bpf_splice_add(struct steer_bpf *b, const struct proxy_splice *sp);
/* -ENOENT when neither entry exists; with remove, both are deleted after they are read. */
int steer_bpf_splice_end(struct steer_bpf *b, const struct proxy_splice *sp, bool remove,
			 struct classifier_splice_end *out);

#endif
