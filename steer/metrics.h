/* SPDX-License-Identifier: GPL-2.0-only */
/* The Prometheus text exposition of what `steer status --json` reports. */
#ifndef STEER_METRICS_H
#define STEER_METRICS_H

#include "steer/status.h"
#include "steer/strbuf.h"

/* The metrics page (exposition format 0.0.4), without HTTP framing. */
void metrics_format(const struct status_view *v, struct strbuf *out);

/* Answer one HTTP request head: GET /metrics, or an error status. */
void metrics_http(const struct status_view *v, const char *request, struct strbuf *out);

#endif
