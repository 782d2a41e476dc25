/* SPDX-License-Identifier: GPL-2.0-only */
/* Kept apart from the rest: <link.h> and libev's <ev.h> define the same names. */
#include "steer/version.h"

#include <bpf/libbpf.h>
#include <limits.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "steer/build_info.h"

/* libnftnl has no version call: find the shared object this process loaded. */
static int find_nftnl(struct dl_phdr_info *info, size_t size, void *data)
{
	char *out = data;

	(void)size;
	if (info->dlpi_name && strstr(info->dlpi_name, "libnftnl.so")) {
		char *real = realpath(info->dlpi_name, NULL);
		const char *path = real ? real : info->dlpi_name;
		const char *base = strrchr(path, '/');

		snprintf(out, 128, "%s", base ? base + 1 : path);
		free(real);
		return 1;
	}
	return 0;
}

const char *steer_version(void)
{
	return STEER_VERSION;
}

const char *steer_libbpf_version(void)
{
	return libbpf_version_string();
}

const char *steer_libnftnl_version(void)
{
	return LIBNFTNL_VERSION;
}

int print_version(FILE *out)
{
	char nftnl[128] = "not loaded";

	dl_iterate_phdr(find_nftnl, nftnl);
	fprintf(out, "steer %s\nlibbpf %s\nlibnftnl %s (built against; running %s)\n", steer_version(),
		steer_libbpf_version(), steer_libnftnl_version(), nftnl);
	return 0;
}
