/* SPDX-License-Identifier: GPL-2.0-only */
/* `steer status`: what the daemon runs and its counters, as text or JSON. */
#ifndef STEER_STATUS_H
#define STEER_STATUS_H

#include <stdbool.h>
#include <time.h>

#include "proxy/proxy.h"
#include "steer/audit.h"
#include "steer/steering.h"
#include "steer/strbuf.h"

struct status_view {
	const struct steer_config *cfg;
	struct steering *steering;
	struct proxy *proxy; /* NULL with an external proxy */
	struct audit *audit;
	time_t started;
};

void status_format(const struct status_view *v, bool json, struct strbuf *out);

#endif
