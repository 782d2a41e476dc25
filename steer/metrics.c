/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/metrics.h"

#include <stddef.h>
#include <string.h>

struct stat_desc {
	const char *name, *help, *type;
	const char *label; /* "key=\"value\"" or NULL */
	size_t offset;     /* into struct proxy_stats */
};

#define PS(field) offsetof(struct proxy_stats, field)

/* One line per value; consecutive entries of the same name form one family. */
static const struct stat_desc proxy_stats[] = {
	{ "steer_proxy_connections_accepted_total", "TCP connections the proxy accepted.", "counter", NULL, PS(accepted) },
	{ "steer_proxy_connections_open", "TCP connections open now.", "gauge", NULL, PS(open) },
	{ "steer_proxy_upstream_connected_total", "Upstream TCP connections established.", "counter", NULL,
	  PS(upstream_connected) },
	{ "steer_proxy_bytes_total", "Bytes relayed, by direction (up: client to server).", "counter",
	  "proto=\"tcp\",direction=\"up\"", PS(bytes_up) },
	{ "steer_proxy_bytes_total", NULL, NULL, "proto=\"tcp\",direction=\"down\"", PS(bytes_down) },
	{ "steer_proxy_bytes_total", NULL, NULL, "proto=\"udp\",direction=\"up\"", PS(udp_bytes_up) },
	{ "steer_proxy_bytes_total", NULL, NULL, "proto=\"udp\",direction=\"down\"", PS(udp_bytes_down) },
	{ "steer_proxy_errors_total", "Proxy errors by kind.", "counter", "kind=\"accept\"", PS(accept_errors) },
	{ "steer_proxy_errors_total", NULL, NULL, "kind=\"emfile\"", PS(emfile) },
	{ "steer_proxy_errors_total", NULL, NULL, "kind=\"conn_limit\"", PS(conn_limit_hits) },
	{ "steer_proxy_errors_total", NULL, NULL, "kind=\"connect_refused\"", PS(connect_refused) },
	{ "steer_proxy_errors_total", NULL, NULL, "kind=\"connect_unreachable\"", PS(connect_unreachable) },
	{ "steer_proxy_errors_total", NULL, NULL, "kind=\"connect_timeout\"", PS(connect_timeout) },
	{ "steer_proxy_errors_total", NULL, NULL, "kind=\"connect_other\"", PS(connect_other) },
	{ "steer_proxy_errors_total", NULL, NULL, "kind=\"upstream_socket\"", PS(upstream_errors) },
	{ "steer_proxy_errors_total", NULL, NULL, "kind=\"loop_rejected\"", PS(loop_rejected) },
	{ "steer_proxy_errors_total", NULL, NULL, "kind=\"pipe\"", PS(pipe_errors) },
	{ "steer_proxy_errors_total", NULL, NULL, "kind=\"splice\"", PS(splice_errors) },
	{ "steer_proxy_udp_sessions_open", "UDP sessions open now.", "gauge", NULL, PS(udp_sessions_open) },
	{ "steer_proxy_udp_sessions_total", "UDP sessions created.", "counter", NULL, PS(udp_sessions_total) },
	{ "steer_proxy_udp_sessions_ended_total", "UDP sessions ended, by cause.", "counter", "reason=\"idle_timeout\"",
	  PS(udp_expired) },
	{ "steer_proxy_udp_sessions_ended_total", NULL, NULL, "reason=\"icmp_error\"", PS(udp_icmp_errors) },
	{ "steer_proxy_udp_datagrams_total", "UDP datagrams relayed, by direction.", "counter", "direction=\"up\"",
	  PS(udp_datagrams_up) },
	{ "steer_proxy_udp_datagrams_total", NULL, NULL, "direction=\"down\"", PS(udp_datagrams_down) },
	{ "steer_proxy_udp_drops_total", "UDP datagrams dropped, by cause.", "counter", "reason=\"session_limit\"",
	  PS(udp_session_limit) },
	{ "steer_proxy_udp_drops_total", NULL, NULL, "reason=\"oversize\"", PS(udp_oversize) },
	{ "steer_proxy_udp_drops_total", NULL, NULL, "reason=\"send_error\"", PS(udp_send_errors) },
	{ "steer_proxy_udp_drops_total", NULL, NULL, "reason=\"session_error\"", PS(udp_session_errors) },
	{ "steer_proxy_udp_drops_total", NULL, NULL, "reason=\"recv_error\"", PS(udp_recv_errors) },
};

static void family(struct strbuf *b, const char *name, const char *type, const char *help)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void kernel_metrics(const struct status_view *v, struct strbuf *b)
{
	struct counter_group g[4];
	size_t n = steering_counters(v->steering, g, 4);

	family(b, "steer_kernel_packets_total", "counter",
	       "Packets by what each backend's kernel side did with them (the classifier's reasons for ebpf, "
	       "the rule counters for nft).");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < g[i].n; j++)
			if (strcmp(g[i].c[j].name, "events_lost"))
				sb_printf(b, "steer_kernel_packets_total{backend=\"%s\",reason=\"%s\"} %llu\n",
					  g[i].backend, g[i].c[j].name, (unsigned long long)g[i].c[j].value);
	family(b, "steer_kernel_events_lost_total", "counter",
	       "Flow records the classifier could not write to its ring buffer.");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < g[i].n; j++)
			if (!strcmp(g[i].c[j].name, "events_lost"))
				sb_printf(b, "steer_kernel_events_lost_total{backend=\"%s\"} %llu\n", g[i].backend,
					  (unsigned long long)g[i].c[j].value);
}

void metrics_format(const struct status_view *v, struct strbuf *b)
{
	struct audit_stats as;
	char backend[32];

	steering_describe(v->steering, backend, sizeof(backend));
	family(b, "steer_up", "gauge", "1 while the steer daemon runs.");
	sb_printf(b, "steer_up 1\n");
	family(b, "steer_start_time_seconds", "gauge", "When the daemon started (Unix time).");
	sb_printf(b, "steer_start_time_seconds %lld\n", (long long)v->started);
	family(b, "steer_backend_info", "gauge", "The active backend: ebpf, nft or split PERCENT.");
	sb_printf(b, "steer_backend_info{backend=\"%s\"} 1\n", backend);
	kernel_metrics(v, b);
	if (v->proxy) {
		struct proxy_stats ps;

		proxy_get_stats(v->proxy, &ps);
		for (size_t i = 0; i < sizeof(proxy_stats) / sizeof(proxy_stats[0]); i++) {
			const struct stat_desc *d = &proxy_stats[i];
			uint64_t val = *(const uint64_t *)((const char *)&ps + d->offset);

			if (d->help)
				family(b, d->name, d->type, d->help);
			sb_printf(b, d->label ? "%s{%s} %llu\n" : "%s%s %llu\n", d->name, d->label ? d->label : "",
				  (unsigned long long)val);
		}
		family(b, "steer_proxy_closed_total", "counter", "Proxied TCP connections closed, by reason.");
		for (int r = 0; r < CLOSE_REASON_MAX; r++)
			sb_printf(b, "steer_proxy_closed_total{reason=\"%s\"} %llu\n", proxy_close_reason_name(r),
				  (unsigned long long)ps.closed[r]);
	}
	audit_get_stats(v->audit, &as);
	family(b, "steer_audit_records_total", "counter", "Audit records written, and lost (queue full or sink error).");
	sb_printf(b, "steer_audit_records_total{result=\"written\"} %llu\n", (unsigned long long)as.written);
	sb_printf(b, "steer_audit_records_total{result=\"lost\"} %llu\n", (unsigned long long)as.lost);
	family(b, "steer_audit_queue_length", "gauge", "Audit records waiting for the writer.");
	sb_printf(b, "steer_audit_queue_length %llu\n", (unsigned long long)as.queued);
	family(b, "steer_audit_flows_total", "counter",
	       "Proxied flows by whether their kernel record was found (joined: backend and steer_us known).");
	sb_printf(b, "steer_audit_flows_total{join=\"joined\"} %llu\n", (unsigned long long)as.joined);
	sb_printf(b, "steer_audit_flows_total{join=\"unjoined\"} %llu\n", (unsigned long long)as.unjoined);
}

void metrics_http(const struct status_view *v, const char *request, struct strbuf *out)
{
	struct strbuf body = { 0 };
	const char *status = "200 OK";

	if (strncmp(request, "GET ", 4))
		status = "405 Method Not Allowed";
	else if (strncmp(request + 4, "/metrics ", 9) && strncmp(request + 4, "/ ", 2))
		status = "404 Not Found";
	if (strcmp(status, "200 OK"))
		sb_printf(&body, "%s\n", status);
	else
		metrics_format(v, &body);
	sb_printf(out,
		  "HTTP/1.1 %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		  "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		  status, body.len, body.s ? body.s : "");
	sb_free(&body);
}
