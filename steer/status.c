/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/status.h"

#include <string.h>


struct status_data {
	struct counter_group groups[4];
	size_t ngroups;
	char backend[32];
	struct proxy_stats ps;
	struct audit_stats as;
	size_t nsteer, nbypass;
	long uptime;
};

static void collect(const struct status_view *v, struct status_data *s)
{
	memset(s, 0, sizeof(*s));
	s->ngroups = steering_counters(v->steering, s->groups, 4);
	steering_describe(v->steering, s->backend, sizeof(s->backend));
	if (v->proxy)
		proxy_get_stats(v->proxy, &s->ps);
	audit_get_stats(v->audit, &s->as);
	for (size_t i = 0; i < v->cfg->nrules; i++)
		v->cfg->rules[i].bypass ? s->nbypass++ : s->nsteer++;
	s->uptime = (long)(time(NULL) - v->started);
}

static void json_names(struct strbuf *b, const char (*names)[IF_NAMESIZE], int n)
{
	sb_printf(b, "[");
	for (int i = 0; i < n; i++) {
		sb_printf(b, i ? "," : "");
		sb_json_str(b, names[i]);
	}
	sb_printf(b, "]");
}

static void format_json(const struct status_view *v, const struct status_data *s, struct strbuf *b)
{
	const struct steer_config *cfg = v->cfg;
	const struct proxy_stats *ps = &s->ps;

	sb_printf(b, "{\"backend\":\"%s\",\"uptime_s\":%ld,\"interfaces\":", s->backend, s->uptime);
	json_names(b, cfg->ifaces, cfg->n_ifaces);
	sb_printf(b, ",\"return_interfaces\":");
	json_names(b, cfg->return_ifaces, cfg->n_return_ifaces);
	sb_printf(b, ",\"rules\":{\"steer\":%zu,\"bypass\":%zu}", s->nsteer, s->nbypass);
	sb_printf(b, ",\"proxy\":{\"mode\":\"%s\",\"port\":%u,\"upstream_source\":\"%s\"",
		  cfg->proxy == PROXY_BUILTIN ? "builtin" : "external", cfg->proxy_port,
		  upstream_source_name(cfg->upstream_source));
	if (v->proxy) {
		sb_printf(b, ",\"accepted\":%llu,\"open\":%llu,\"upstream_connected\":%llu,"
			  "\"bytes_up\":%llu,\"bytes_down\":%llu,\"accept_errors\":%llu,"
			  "\"emfile\":%llu,\"conn_limit_hits\":%llu,\"closed\":{",
			  (unsigned long long)ps->accepted, (unsigned long long)ps->open,
			  (unsigned long long)ps->upstream_connected, (unsigned long long)ps->bytes_up,
			  (unsigned long long)ps->bytes_down, (unsigned long long)ps->accept_errors,
			  (unsigned long long)ps->emfile, (unsigned long long)ps->conn_limit_hits);
		for (int r = 0; r < CLOSE_REASON_MAX; r++)
			sb_printf(b, "%s\"%s\":%llu", r ? "," : "", proxy_close_reason_name(r),
				  (unsigned long long)ps->closed[r]);
		sb_printf(b, "}");
		sb_printf(b, ",\"udp_sessions_open\":%llu,\"udp_sessions_total\":%llu,\"udp_expired\":%llu,"
			  "\"udp_session_limit\":%llu,\"udp_icmp_errors\":%llu,\"udp_datagrams_up\":%llu,"
			  "\"udp_datagrams_down\":%llu,\"udp_bytes_up\":%llu,\"udp_bytes_down\":%llu,"
			  "\"udp_oversize\":%llu,\"udp_send_errors\":%llu,\"udp_session_errors\":%llu,"
			  "\"udp_recv_errors\":%llu,\"loop_rejected\":%llu",
			  (unsigned long long)ps->udp_sessions_open, (unsigned long long)ps->udp_sessions_total,
			  (unsigned long long)ps->udp_expired, (unsigned long long)ps->udp_session_limit,
			  (unsigned long long)ps->udp_icmp_errors, (unsigned long long)ps->udp_datagrams_up,
			  (unsigned long long)ps->udp_datagrams_down, (unsigned long long)ps->udp_bytes_up,
			  (unsigned long long)ps->udp_bytes_down, (unsigned long long)ps->udp_oversize,
			  (unsigned long long)ps->udp_send_errors, (unsigned long long)ps->udp_session_errors,
			  (unsigned long long)ps->udp_recv_errors, (unsigned long long)ps->loop_rejected);
	}
	sb_printf(b, "},\"counters\":{");
	for (size_t g = 0; g < s->ngroups; g++) {
		sb_printf(b, "%s\"%s\":{", g ? "," : "", s->groups[g].backend);
		for (size_t i = 0; i < s->groups[g].n; i++)
			sb_printf(b, "%s\"%s\":%llu", i ? "," : "", s->groups[g].c[i].name,
				  (unsigned long long)s->groups[g].c[i].value);
		sb_printf(b, "}");
	}
	sb_printf(b, "},\"audit\":{\"written\":%llu,\"lost\":%llu,\"queued\":%llu}}\n",
		  (unsigned long long)s->as.written, (unsigned long long)s->as.lost,
		  (unsigned long long)s->as.queued);
}

static void format_text(const struct status_view *v, const struct status_data *s, struct strbuf *b)
{
	const struct steer_config *cfg = v->cfg;
	const struct proxy_stats *ps = &s->ps;

	sb_printf(b, "backend:     %s (up %lds)\ninterfaces: ", s->backend, s->uptime);
	for (int i = 0; i < cfg->n_ifaces; i++)
		sb_printf(b, " %s", cfg->ifaces[i]);
	for (int i = 0; i < cfg->n_return_ifaces; i++)
		sb_printf(b, " %s(return)", cfg->return_ifaces[i]);
	sb_printf(b, "\nrules:       %zu steer, %zu bypass\n", s->nsteer, s->nbypass);
	sb_printf(b, "proxy:       %s, port %u (tcp4 tcp6 udp4 udp6), upstream-source %s\n",
		  cfg->proxy == PROXY_BUILTIN ? "builtin" : "external", cfg->proxy_port,
		  upstream_source_name(cfg->upstream_source));
	if (v->proxy) {
		sb_printf(b, "connections: %llu open, %llu accepted, %llu connected upstream\n",
			  (unsigned long long)ps->open, (unsigned long long)ps->accepted,
			  (unsigned long long)ps->upstream_connected);
		sb_printf(b, "bytes:       %llu up, %llu down\nclosed:     ",
			  (unsigned long long)ps->bytes_up, (unsigned long long)ps->bytes_down);
		for (int r = 0; r < CLOSE_REASON_MAX; r++)
			sb_printf(b, " %s=%llu", proxy_close_reason_name(r), (unsigned long long)ps->closed[r]);
		sb_printf(b, "\nerrors:      accept=%llu emfile=%llu conn_limit=%llu\n",
			  (unsigned long long)ps->accept_errors, (unsigned long long)ps->emfile,
			  (unsigned long long)ps->conn_limit_hits);
		sb_printf(b, "udp:         %llu sessions open, %llu total, %llu expired, %llu datagrams up, "
			  "%llu down, %llu bytes up, %llu down\n",
			  (unsigned long long)ps->udp_sessions_open, (unsigned long long)ps->udp_sessions_total,
			  (unsigned long long)ps->udp_expired, (unsigned long long)ps->udp_datagrams_up,
			  (unsigned long long)ps->udp_datagrams_down, (unsigned long long)ps->udp_bytes_up,
			  (unsigned long long)ps->udp_bytes_down);
		sb_printf(b, "udp errors:  session_limit=%llu icmp=%llu oversize=%llu send=%llu session=%llu recv=%llu\n",
			  (unsigned long long)ps->udp_session_limit, (unsigned long long)ps->udp_icmp_errors,
			  (unsigned long long)ps->udp_oversize, (unsigned long long)ps->udp_send_errors,
			  (unsigned long long)ps->udp_session_errors, (unsigned long long)ps->udp_recv_errors);
	}
	for (size_t g = 0; g < s->ngroups; g++) {
		sb_printf(b, "kernel (%s):\n", s->groups[g].backend);
		for (size_t i = 0; i < s->groups[g].n; i++)
			sb_printf(b, "  %-22s %llu\n", s->groups[g].c[i].name,
				  (unsigned long long)s->groups[g].c[i].value);
	}
	sb_printf(b, "audit:       %llu written, %llu lost, %llu queued\n",
		  (unsigned long long)s->as.written, (unsigned long long)s->as.lost,
		  (unsigned long long)s->as.queued);
}

void status_format(const struct status_view *v, bool json, struct strbuf *out)
{
	struct status_data s;

	collect(v, &s);
	(json ? format_json : format_text)(v, &s, out);
}
