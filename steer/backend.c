/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/backend.h"

const struct backend_ops *const backend_all[] = { &ebpf_backend_ops, &nft_backend_ops, NULL };

