/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Draining (drain-timeout): on the first stop signal the proxy takes no new
 * flows and relays the open ones; the daemon's loop ends when the last one
 * closes or the time runs out, whichever comes first.
 */
#ifndef STEER_DRAIN_H
#define STEER_DRAIN_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "proxy/proxy.h"
#include "steer/offload.h"

struct drain {
	struct ev_loop *loop;
	struct proxy *proxy;
	struct offload_table *offload; /* offloaded flows count as open TCP connections (may be NULL) */
	ev_timer tick;       /* done yet? and systemd's status line */
	ev_tstamp started, deadline;
	int timeout_s;
	bool active;
	bool timed_out;      /* the deadline passed with flows open */
	int cut_by;          /* a second signal ended it (its number), or 0 */
	long notified_left;  /* seconds left at the last status line */
};

/*
 * Start draining `p` for at most timeout_s seconds: logs one line, tells
 * systemd (STOPPING=1 and a STATUS= line kept current), and breaks `loop`
 * when nothing is open or the deadline passes. fallback describes what new
 * flows meet meanwhile (on-proxy-down). False, with nothing done, when there
 * is nothing to drain: no proxy of ours (external) or timeout_s 0.
 */
bool drain_start(struct drain *dr, struct ev_loop *loop, struct proxy *p, int timeout_s, int signum,
		 const char *fallback);

/* A second stop signal: the loop ends now. */
void drain_cut(struct drain *dr, int signum);

/* Seconds until the deadline (0 when past; meaningful while active). */
long drain_left(const struct drain *dr);

/* The close reason for what the proxy still holds when the loop has ended. */
enum proxy_close_reason drain_close_reason(const struct drain *dr);

/* The drain's last line, once the proxy closed what was left (`cut` of them). */
void drain_finish(struct drain *dr, uint64_t cut);

#endif
