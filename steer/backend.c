/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/backend.h"

#include <string.h>

const struct backend_ops *const backend_all[] = { &ebpf_backend_ops, &nft_backend_ops, NULL };

const struct backend_ops *backend_by_name(const char *name)
{
	for (const struct backend_ops *const *ops = backend_all; *ops; ops++)
		if (!strcmp((*ops)->name, name))
			return *ops;
	return NULL;
}
