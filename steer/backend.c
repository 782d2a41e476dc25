/* SPDX-License-Identifier: GPL-2.0-only */
#include "backend.h"

const struct backend_ops *backend_ops_for(enum backend_kind kind)
{
	switch (kind) {
	case BACKEND_EBPF:
	case BACKEND_AUTO:
		return &ebpf_backend_ops;
	default:
		return NULL;
	}
}

const struct backend_ops *const backend_all[] = { &ebpf_backend_ops, NULL };
