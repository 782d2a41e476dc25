/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/notify.h"

#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <time.h>

void service_notify(enum service_state state, const char *status)
{
	char head[64] = "";
	struct timespec now;

	switch (state) {
	case SERVICE_READY:
		snprintf(head, sizeof(head), "READY=1\n");
		break;
	case SERVICE_RELOADING:
		/* systemd >= 253 (Type=notify-reload) wants the reload's start time with it. */
		clock_gettime(CLOCK_MONOTONIC, &now);
		snprintf(head, sizeof(head), "RELOADING=1\nMONOTONIC_USEC=%llu\n",
			 (unsigned long long)now.tv_sec * 1000000ULL + (unsigned long long)now.tv_nsec / 1000);
		break;
	case SERVICE_STOPPING:
		snprintf(head, sizeof(head), "STOPPING=1\n");
		break;
	case SERVICE_STATUS:
		break;
	}
	/* The service manager may be gone or not listening: the daemon carries on either way. */
	sd_notifyf(0, "%s%s%s", head, status ? "STATUS=" : "", status ? status : "");
}
