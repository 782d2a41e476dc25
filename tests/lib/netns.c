// SPDX-License-Identifier: GPL-2.0-only
#include "tests/lib/netns.h"

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int lo_up(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = -1;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, IF_NAMESIZE, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return ret;
}

int netns_enter(const char *who)
{
	if (geteuid() != 0) {
		fprintf(stderr, "%s: FAILED: must run as root (it works in a private network namespace)\n",
			who);
		return -1;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "%s: FAILED: unshare(CLONE_NEWNET): %s\n", who, strerror(errno));
		return -1;
	}
	if (lo_up() != 0) {
		fprintf(stderr, "%s: FAILED: cannot bring lo up: %s\n", who, strerror(errno));
		return -1;
	}
	return 0;
}

char *cmd_output(const char *cmd, int *status)
{
	FILE *p = popen(cmd, "r");
	char *out = NULL;
	size_t len = 0, cap = 0;
	char chunk[4096];
	size_t n;
	int st;

	if (!p)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) {
		if (len + n + 1 > cap) {
			char *grown;

			cap = (len + n + 1) * 2;
			grown = realloc(out, cap);
			if (!grown)
				break;
			out = grown;
		}
		memcpy(out + len, chunk, n);
		len += n;
	}
	st = pclose(p);
	if (status)
		*status = st;
	if (!out)
		return calloc(1, 1);
	out[len] = '\0';
	return out;
}

static FILE *capture;
static int saved_stderr = -1;

int capture_stderr_begin(void)
{
	fflush(stderr);
	capture = tmpfile();
	if (!capture)
		return -1;
	saved_stderr = dup(2);
	if (saved_stderr < 0 || dup2(fileno(capture), 2) < 0) {
		if (saved_stderr >= 0)
			close(saved_stderr);
		fclose(capture);
		capture = NULL;
		return -1;
	}
	return 0;
}

char *capture_stderr_end(void)
{
	long len;
	char *s = NULL;

	if (!capture)
		return NULL;
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	saved_stderr = -1;
	len = ftell(capture);
	if (len >= 0)
		s = calloc(1, (size_t)len + 1);
	rewind(capture);
	if (s && fread(s, 1, (size_t)len, capture) != (size_t)len) {
		free(s);
		s = NULL;
	}
	fclose(capture);
	capture = NULL;
	return s;
}
