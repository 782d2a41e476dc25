/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/drain.h"

#include <stddef.h>
#include <stdio.h>

#include "steer/log.h"
#include "steer/notify.h"

/* How soon the end of the last flow, or the deadline, ends the drain. */
#define DRAIN_TICK_S 0.1

static void open_flows(const struct drain *dr, unsigned long long *tcp, unsigned long long *udp)
{
	struct proxy_stats ps;

	proxy_get_stats(dr->proxy, &ps);
	/*
	 * An offloaded flow left the proxy but not the gateway: it ends as a
	 * relayed one would, seen by the reap (the health tick's, stopped now).
	 */
	*tcp = ps.open + (dr->offload ? offload_reap(dr->offload) : 0);
	*udp = ps.udp_sessions_open;
}

long drain_left(const struct drain *dr)
{
	double left = dr->deadline - ev_now(dr->loop);

	/* Rounded up: "0 s left" only once it is over. */
	return left > 0 ? (long)left + (left > (long)left) : 0;
}

static void drain_stop(struct drain *dr)
{
	ev_timer_stop(dr->loop, &dr->tick);
	service_notify(SERVICE_STATUS, "stopping: drain ended, removing steering");
	ev_break(dr->loop, EVBREAK_ALL);
}

/* systemctl status follows the count down, one line a second at most. */
static void notify_left(struct drain *dr, unsigned long long tcp, unsigned long long udp)
{
	char status[128];
	long left = drain_left(dr);

	if (left == dr->notified_left)
		return;
	dr->notified_left = left;
	snprintf(status, sizeof(status), "draining: %llu TCP connections, %llu UDP sessions open, %ld s left", tcp,
		 udp, left);
	service_notify(SERVICE_STATUS, status);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct drain *dr = (struct drain *)((char *)w - offsetof(struct drain, tick));
	unsigned long long tcp, udp;

	(void)revents;
	open_flows(dr, &tcp, &udp);
	/* Until every worker has taken its queue, a count of 0 may be early. */
	if (tcp + udp == 0 && proxy_drained(dr->proxy)) {
		drain_stop(dr);
		return;
	}
	if (ev_now(loop) >= dr->deadline) {
		dr->timed_out = true;
		drain_stop(dr);
		return;
	}
	notify_left(dr, tcp, udp);
}

bool drain_start(struct drain *dr, struct ev_loop *loop, struct proxy *p, int timeout_s, int signum,
		 const char *fallback)
{
	unsigned long long tcp, udp;
	char status[128];

	if (!p || timeout_s <= 0)
		return false;
	*dr = (struct drain){ .loop = loop, .proxy = p, .offload = dr->offload, .timeout_s = timeout_s, .active = true };
	dr->started = ev_now(loop);
	dr->deadline = dr->started + timeout_s;
	dr->notified_left = timeout_s;
	proxy_drain(p);
	open_flows(dr, &tcp, &udp);
	snprintf(status, sizeof(status), "draining: %llu TCP connections, %llu UDP sessions open, %d s left", tcp,
		 udp, timeout_s);
	service_notify(SERVICE_STOPPING, status);
	log_msg(LOG_INFO,
		"steer: signal %d: draining: %llu TCP connections and %llu UDP sessions open; new flows are not "
		"proxied (%s); stopping when they end, at the latest in %d s (drain-timeout)\n",
		signum, tcp, udp, fallback, timeout_s);
	ev_timer_init(&dr->tick, on_tick, DRAIN_TICK_S, DRAIN_TICK_S);
	ev_timer_start(loop, &dr->tick);
	return true;
}

void drain_cut(struct drain *dr, int signum)
{
	dr->cut_by = signum;
	drain_stop(dr);
}

enum proxy_close_reason drain_close_reason(const struct drain *dr)
{
	return dr->active && dr->timed_out ? CLOSE_DRAIN_TIMEOUT : CLOSE_SHUTDOWN;
}

void drain_finish(struct drain *dr, uint64_t cut)
{
	double took = ev_time() - dr->started;

	if (!dr->active)
		return;
	if (dr->timed_out)
		log_msg(LOG_INFO, "steer: drain ended: drain-timeout (%d s) passed, %llu cut\n", dr->timeout_s,
			(unsigned long long)cut);
	else if (dr->cut_by)
		log_msg(LOG_INFO, "steer: drain ended: signal %d after %.1f s, %llu cut\n", dr->cut_by, took,
			(unsigned long long)cut);
	else
		log_msg(LOG_INFO, "steer: drain ended: all closed after %.1f s\n", took);
	dr->active = false;
}
