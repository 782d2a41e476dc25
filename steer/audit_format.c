/* SPDX-License-Identifier: GPL-2.0-only */
/* One audit record as one JSON line (the schema: docs/audit.md). */
#include "steer/audit.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "steer/addr.h"

void audit_format_ts(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&ts->tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06ldZ", ts->tv_nsec / 1000);
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

/*
 * snprintf at offset n of buf[len]: the new offset. Once a write is cut
 * short, n stays >= len and later calls write nothing, so len - n never wraps.
 */
__attribute__((format(printf, 4, 5))) static size_t append(char *buf, size_t len, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (n >= len)
		return n;
	va_start(ap, fmt);
	r = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	return r < 0 ? len : n + (size_t)r;
}

static const char *event_name(const struct audit_record *r)
{
	return r->kind == AUDIT_DROP ? "drop" : r->ev.open ? "open" : "close";
}

/*
 * What every flow record (open, close, drop) starts with, up to
 * community_id; absent when the writer could not compute one (a tuple of
 * another family or protocol), never empty.
 */
static size_t flow_fields(const struct audit_record *r, const char *ts, char *buf, size_t len)
{
	const struct proxy_conn_event *ev = &r->ev;
	char c[ADDR_STR_MAX], d[ADDR_STR_MAX];
	size_t n;

	sockaddr_format((const struct sockaddr *)&ev->client, c, sizeof(c));
	sockaddr_format((const struct sockaddr *)&ev->dst, d, sizeof(d));
	n = append(buf, len, 0,
		   "{\"ts\":\"%s\",\"event\":\"%s\",\"flow\":%llu,\"proto\":\"%s\","
		   "\"backend\":\"%s\",\"client\":\"%s\",\"dst\":\"%s\"",
		   ts, event_name(r), (unsigned long long)ev->flow, proto_name(ev->proto), r->backend, c, d);
	if (r->community_id[0])
		n = append(buf, len, n, ",\"community_id\":\"%s\"", r->community_id);
	return n;
}

size_t audit_format(const struct audit_record *r, char *buf, size_t len)
{
	char ts[40], u[ADDR_STR_MAX];
	const struct proxy_conn_event *ev = &r->ev;
	size_t n = 0;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	audit_format_ts(&r->ts, ts, sizeof(ts));
	switch (r->kind) {
	case AUDIT_BACKEND:
		n = append(buf, len, n, "{\"ts\":\"%s\",\"event\":\"backend\",\"from\":\"%s\",\"to\":\"%s\"}", ts,
			   r->from, r->to);
		break;
	case AUDIT_LOST:
		n = append(buf, len, n, "{\"ts\":\"%s\",\"event\":\"lost\",\"count\":%llu}", ts,
			   (unsigned long long)r->count);
		break;
	case AUDIT_DROP:
	case AUDIT_CONN:
		n = flow_fields(r, ts, buf, len);
		if (r->kind == AUDIT_DROP) {
			n = append(buf, len, n, ",\"reason\":\"%s\"}", r->reason);
		} else if (ev->open) {
			if (ev->upstream_src.ss_family) {
				sockaddr_format((const struct sockaddr *)&ev->upstream_src, u, sizeof(u));
				n = append(buf, len, n, ",\"upstream_src\":\"%s\"", u);
			}
			if (r->steer_us >= 0)
				n = append(buf, len, n, ",\"steer_us\":%lld", (long long)r->steer_us);
			n = append(buf, len, n, "}");
		} else {
			double ms = (double)(ev->close_ns - ev->accept_ns) / 1e6;

			n = append(buf, len, n,
				   ",\"bytes_up\":%llu,\"bytes_down\":%llu,\"duration_ms\":%.3f,\"reason\":\"%s\"}",
				   (unsigned long long)ev->bytes_up, (unsigned long long)ev->bytes_down, ms,
				   proxy_close_reason_name(ev->reason));
		}
		break;
	}
	return n < len ? n : len - 1;
}
