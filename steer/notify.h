/* SPDX-License-Identifier: GPL-2.0-only */
/* The daemon's state for its service manager (systemd's Type=notify). */
#ifndef STEER_NOTIFY_H
#define STEER_NOTIFY_H

enum service_state {
	SERVICE_READY,     /* steering is in place (again, after a reload) */
	SERVICE_RELOADING, /* a reload began; SERVICE_READY ends it */
	SERVICE_STOPPING,
	SERVICE_STATUS,    /* only the status line changed */
};

/*
 * Send state, with a STATUS= line when status is not NULL. Without
 * NOTIFY_SOCKET (not started by systemd) this does nothing.
 */
void service_notify(enum service_state state, const char *status);

#endif
