/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/status.h"

#include <string.h>
#include <time.h>

#include "steer/flow_stats.h"
#include "steer/kernel_report.h"
#include "steer/tcp_stack.h"
#include "steer/version.h"

/* The lines of `steer status` that print stats rows, in print order. */
enum text_line {
	LINE_CONNECTIONS,
	LINE_BYTES,
	LINE_CLOSED, /* the close reasons, not rows */
	LINE_ERRORS,
	LINE_CONNECT,
	LINE_RELAY,
	LINE_UDP,
	LINE_UDP_ERRORS,
	LINE_OFFLOAD,
	LINE_OFFLOAD_REFUSED,
	LINE_AUDIT,
	LINE_TCP,
	LINE_MAX,
};

/* A line lists "N text, N text" or, named, " text=N text=N". */
static const struct {
	const char *head;
	bool named;
} text_lines[LINE_MAX] = {
	[LINE_CONNECTIONS] = { "connections: ", false },
	[LINE_BYTES] = { "bytes:       ", false },
	[LINE_CLOSED] = { "closed:     ", true },
	[LINE_ERRORS] = { "errors:     ", true },
	[LINE_CONNECT] = { "connect:    ", true },
	[LINE_RELAY] = { "relay:       ", false },
	[LINE_UDP] = { "udp:         ", false },
	[LINE_UDP_ERRORS] = { "udp errors: ", true },
	[LINE_OFFLOAD] = { "offload:     ", false },
	[LINE_OFFLOAD_REFUSED] = { "offload refused:", true },
	[LINE_AUDIT] = { "audit:       ", false },
	[LINE_TCP] = { "tcp stack:   ", false },
};

#define STAT_ROW(stats, field, type_, metric_, labels_, help_, line_, text_)                                \
	{ .key = #field, .type = type_, .metric = metric_, .labels = labels_, .help = help_, .text = text_, \
	  .line = LINE_##line_, .offset = offsetof(struct stats, field) },
#define PROXY_ROW(...) STAT_ROW(proxy_stats, __VA_ARGS__)
#define AUDIT_ROW(...) STAT_ROW(audit_stats, __VA_ARGS__)
#define TCP_ROW(...) STAT_ROW(tcp_stack_stats, __VA_ARGS__)
static const struct stat_row proxy_rows[] = { PROXY_STATS(PROXY_ROW) };
static const struct stat_row audit_rows[] = { AUDIT_STATS(AUDIT_ROW) };
static const struct stat_row tcp_rows[] = { TCP_STACK_STATS(TCP_ROW) };
const struct stat_table proxy_stat_table = { proxy_rows, sizeof(proxy_rows) / sizeof(proxy_rows[0]) };
const struct stat_table audit_stat_table = { audit_rows, sizeof(audit_rows) / sizeof(audit_rows[0]) };
const struct stat_table tcp_stack_stat_table = { tcp_rows, sizeof(tcp_rows) / sizeof(tcp_rows[0]) };

uint64_t stat_value(const struct stat_row *r, const void *stats)
{
	return *(const uint64_t *)((const char *)stats + r->offset);
}

size_t status_run_stats(const struct status_view *v, struct classifier_run_stat *out, size_t max)
{
	struct classifier *c = steering_classifier(v->steering);

	return c && c->ops->run_stats ? c->ops->run_stats(c, out, max) : 0;
}

#define MAX_WARNINGS 16
#define MAX_RUN_STATS 4

struct status_data {
	struct counter_group groups[4];
	size_t ngroups;
	struct kernel_report kernel;
	struct health_warning warn[MAX_WARNINGS];
	size_t nwarn;
	char backend[32];
	struct proxy_stats ps;
	struct audit_stats as;
	struct tcp_stack_stats ts;
	struct flow_stats_snap fs;
	struct classifier_run_stat run[MAX_RUN_STATS];
	size_t nrun;
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
	audit_flow_stats(v->audit, &s->fs);
	s->nrun = status_run_stats(v, s->run, MAX_RUN_STATS);
	tcp_stack_read(&s->ts, PROXY_BACKLOG);
	kernel_report_get(steering_classifier(v->steering), &s->kernel);
	if (v->health) {
		time_t now = health_now();

		/* What the reader sees now, not at the last tick; the log lines follow the same rule. */
		health_observe(v->health, s->groups, s->ngroups, v->proxy ? &s->ps : NULL, now, stderr);
		s->nwarn = health_warnings(v->health, now, s->warn, MAX_WARNINGS);
	}
	for (size_t i = 0; i < v->cfg->nrules; i++)
		v->cfg->rules[i].bypass ? s->nbypass++ : s->nsteer++;
	s->uptime = (long)(time(NULL) - v->started);
}

/* Whether nft steers too: it matches the interfaces by name, whatever their ifindex. */
static bool nft_steers(const struct status_view *v)
{
	enum backend_kind k = steering_kind(v->steering);

	return k == BACKEND_NFT || k == BACKEND_SPLIT;
}

static void rfc3339(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void text_links(const struct status_view *v, struct strbuf *b)
{
	const struct link_info *i;
	char since[32];

	for (size_t n = 0; (i = links_get(v->links, n)); n++) {
		rfc3339(i->since, since, sizeof(since));
		sb_printf(b, "interface:   %s (%s) %s", i->name, link_role(i), link_state(i));
		if (i->attached)
			sb_printf(b, " (%s)", i->tcx ? "tcx" : "clsact");
		if (i->ifindex)
			sb_printf(b, ", ifindex %d", i->ifindex);
		sb_printf(b, ", since %s (%llds), attaches %llu, losses %llu", since, (long long)(time(NULL) - i->since),
			  (unsigned long long)i->attaches, (unsigned long long)i->losses);
		if (nft_steers(v))
			sb_printf(b, "; nft: %s", i->ifindex ? "matches it by name" : "absent, matched once it exists");
		sb_printf(b, "\n");
	}
}

static void json_links(const struct status_view *v, struct strbuf *b)
{
	const struct link_info *i;
	char since[32];

	sb_printf(b, ",\"links\":[");
	for (size_t n = 0; (i = links_get(v->links, n)); n++) {
		rfc3339(i->since, since, sizeof(since));
		sb_printf(b, "%s{\"name\":", n ? "," : "");
		sb_json_str(b, i->name);
		sb_printf(b, ",\"role\":\"%s\",\"state\":\"%s\",\"attach\":%s,\"ifindex\":%d,\"since\":\"%s\","
			     "\"since_s\":%lld,\"attaches\":%llu,\"losses\":%llu,\"nft\":%s}",
			  link_role(i), link_state(i), !i->attached ? "null" : i->tcx ? "\"tcx\"" : "\"clsact\"",
			  i->ifindex, since, (long long)(time(NULL) - i->since), (unsigned long long)i->attaches,
			  (unsigned long long)i->losses,
			  !nft_steers(v) ? "null" : i->ifindex ? "\"present\"" : "\"absent\"");
	}
	sb_printf(b, "],\"link_rescans\":%llu", (unsigned long long)links_rescans(v->links));
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

/* The rows as JSON members, "key":N separated by commas. */
static void json_stats(struct strbuf *b, const struct stat_table *t, const void *stats)
{
	for (size_t i = 0; i < t->n; i++)
		sb_printf(b, "%s\"%s\":%llu", i ? "," : "", t->rows[i].key,
			  (unsigned long long)stat_value(&t->rows[i], stats));
}

/* Per backend: the flow events and the setup latency's p50/p99 (bucket-interpolated, in seconds; null: no sample). */
static void json_flows(const struct status_data *s, struct strbuf *b)
{
	sb_printf(b, ",\"flows\":{");
	for (int k = 0; k < FS_BACKENDS; k++) {
		const struct flow_stats_backend_snap *f = &s->fs.b[k];
		uint64_t h[FLOW_SETUP_NBOUNDS + 1], sum = f->sum_us[FS_TCP] + f->sum_us[FS_UDP];

		flow_stats_hist(f, h);
		sb_printf(b, "%s\"%s\":{\"flows\":{\"tcp\":%llu,\"udp\":%llu},\"setup\":{\"count\":%llu,\"sum_s\":%.6f",
			  k ? "," : "", flow_stats_backend_names[k], (unsigned long long)f->flows[FS_TCP],
			  (unsigned long long)f->flows[FS_UDP], (unsigned long long)flow_stats_count(f), (double)sum / 1e6);
		for (int q = 0; q < 2; q++) {
			double v = flow_setup_quantile(h, q ? 0.99 : 0.5);

			sb_printf(b, v < 0 ? ",\"%s\":null" : ",\"%s\":%.6f", q ? "p99_s" : "p50_s", v);
		}
		sb_printf(b, "},\"failures\":{");
		for (int i = 0; i < FLOW_FAIL_MAX; i++)
			sb_printf(b, "%s\"%s\":%llu", i ? "," : "", flow_failure_names[i], (unsigned long long)f->failures[i]);
		sb_printf(b, "},\"drops\":{");
		for (size_t i = 0; i < f->ndrops; i++)
			sb_printf(b, "%s\"%s\":%llu", i ? "," : "", f->drops[i].reason, (unsigned long long)f->drops[i].n);
		sb_printf(b, "}}");
	}
	sb_printf(b, "},\"classifier_run\":[");
	for (size_t i = 0; i < s->nrun; i++)
		sb_printf(b, "%s{\"program\":\"%s\",\"run_ns\":%llu,\"runs\":%llu}", i ? "," : "", s->run[i].program,
			  (unsigned long long)s->run[i].run_ns, (unsigned long long)s->run[i].runs);
	sb_printf(b, "]");
}

/* One quantile for the side-by-side: µs, or "-" without a sample. */
static void text_quantile(struct strbuf *b, const struct flow_stats_backend_snap *f, double q)
{
	uint64_t h[FLOW_SETUP_NBOUNDS + 1];
	double v;

	flow_stats_hist(f, h);
	v = flow_setup_quantile(h, q);
	if (v < 0)
		sb_printf(b, " %14s", "-");
	else
		sb_printf(b, " %11.1f us", v * 1e6);
}

/* Split mode: both backends on the live traffic, side by side. */
static void text_split(const struct status_data *s, struct strbuf *b)
{
	const struct flow_stats_backend_snap *e = &s->fs.b[FS_EBPF], *n = &s->fs.b[FS_NFT];

	sb_printf(b, "split:       flows by backend (events, one per flow; latency bucket-interpolated)\n");
	sb_printf(b, "  %-18s %14s %14s\n", "", "ebpf", "nft");
	sb_printf(b, "  %-18s %14llu %14llu\n", "flows", (unsigned long long)flow_stats_flows(e),
		  (unsigned long long)flow_stats_flows(n));
	sb_printf(b, "  %-18s", "setup p50");
	text_quantile(b, e, 0.5);
	text_quantile(b, n, 0.5);
	sb_printf(b, "\n  %-18s", "setup p99");
	text_quantile(b, e, 0.99);
	text_quantile(b, n, 0.99);
	sb_printf(b, "\n  %-18s %14llu %14llu\n", "failures", (unsigned long long)flow_stats_failures(e),
		  (unsigned long long)flow_stats_failures(n));
	sb_printf(b, "  %-18s %14llu %14llu\n", "drops", (unsigned long long)flow_stats_drops(e),
		  (unsigned long long)flow_stats_drops(n));
}

static void format_json(const struct status_view *v, const struct status_data *s, struct strbuf *b)
{
	const struct steer_config *cfg = v->cfg;

	sb_printf(b, "{\"schema\":%d,\"version\":", STATUS_JSON_SCHEMA);
	sb_json_str(b, steer_version());
	sb_printf(b, ",\"backend\":\"%s\",\"uptime_s\":%ld,\"state\":\"%s\",", s->backend, s->uptime,
		  v->draining ? "draining" : "running");
	if (v->draining)
		sb_printf(b, "\"drain\":{\"connections\":%llu,\"udp_sessions\":%llu,\"seconds_left\":%ld,\"timeout_s\":%d},",
			  (unsigned long long)s->ps.open, (unsigned long long)s->ps.udp_sessions_open, v->drain_left_s,
			  v->drain_timeout_s);
	sb_printf(b, "\"interfaces\":");
	json_names(b, cfg->ifaces, cfg->n_ifaces);
	sb_printf(b, ",\"return_interfaces\":");
	json_names(b, cfg->return_ifaces, cfg->n_return_ifaces);
	json_links(v, b);
	sb_printf(b, ",\"rules\":{\"steer\":%zu,\"bypass\":%zu}", s->nsteer, s->nbypass);
	sb_printf(b, ",\"kernel\":");
	kernel_report_json(&s->kernel, b);
	sb_printf(b, ",\"warnings\":[");
	for (size_t i = 0; i < s->nwarn; i++) {
		sb_printf(b, "%s{\"source\":\"%s\",\"counter\":\"%s\",\"recent\":%llu,\"window_s\":%d,"
			     "\"last_s\":%ld,\"cause\":",
			  i ? "," : "", s->warn[i].source, s->warn[i].counter, (unsigned long long)s->warn[i].recent,
			  HEALTH_RECENT_S, s->warn[i].last_s);
		sb_json_str(b, s->warn[i].cause);
		sb_printf(b, "}");
	}
	sb_printf(b, "]");
	sb_printf(b, ",\"proxy\":{\"mode\":\"%s\",\"port\":%u,\"upstream_source\":\"%s\"",
		  cfg->proxy == PROXY_BUILTIN ? "builtin" : "external", cfg->proxy_port,
		  upstream_source_name(cfg->upstream_source));
	if (v->proxy) {
		sb_printf(b, ",\"max_connections\":%d,", proxy_max_conns(v->proxy));
		json_stats(b, &proxy_stat_table, &s->ps);
		sb_printf(b, ",\"closed\":{");
		for (int r = 0; r < CLOSE_REASON_MAX; r++)
			sb_printf(b, "%s\"%s\":%llu", r ? "," : "", proxy_close_reason_name(r),
				  (unsigned long long)s->ps.closed[r]);
		sb_printf(b, "}");
	}
	sb_printf(b, "},\"counters\":{");
	for (size_t g = 0; g < s->ngroups; g++) {
		sb_printf(b, "%s\"%s\":{", g ? "," : "", s->groups[g].backend);
		for (size_t i = 0; i < s->groups[g].n; i++)
			sb_printf(b, "%s\"%s\":%llu", i ? "," : "", s->groups[g].c[i].name,
				  (unsigned long long)s->groups[g].c[i].value);
		sb_printf(b, "}");
	}
	sb_printf(b, "}");
	json_flows(s, b);
	sb_printf(b, ",\"reload\":{\"ok\":%s,\"last_success\":%lld}", v->reload_ok ? "true" : "false",
		  (long long)v->reload_ok_at);
	sb_printf(b, ",\"audit\":{");
	json_stats(b, &audit_stat_table, &s->as);
	sb_printf(b, "},\"tcp_stack\":{");
	json_stats(b, &tcp_stack_stat_table, &s->ts);
	sb_printf(b, "}}\n");
}

/* One text line: its head, then the rows printed on it. */
static void text_line(struct strbuf *b, enum text_line l, const struct stat_table *t, const void *stats)
{
	int n = 0;

	sb_printf(b, "%s", text_lines[l].head);
	for (size_t i = 0; i < t->n; i++) {
		const struct stat_row *r = &t->rows[i];
		unsigned long long val = stat_value(r, stats);

		if (r->line != (int)l)
			continue;
		if (text_lines[l].named)
			sb_printf(b, " %s=%llu", r->text, val);
		else
			sb_printf(b, "%s%llu %s", n++ ? ", " : "", val, r->text);
	}
	sb_printf(b, "\n");
}

static void text_proxy(struct strbuf *b, const struct proxy_stats *ps)
{
	for (enum text_line l = LINE_CONNECTIONS; l <= LINE_OFFLOAD_REFUSED; l++) {
		if (l != LINE_CLOSED) {
			text_line(b, l, &proxy_stat_table, ps);
			continue;
		}
		sb_printf(b, "%s", text_lines[l].head);
		for (int r = 0; r < CLOSE_REASON_MAX; r++)
			sb_printf(b, " %s=%llu", proxy_close_reason_name(r), (unsigned long long)ps->closed[r]);
		sb_printf(b, "\n");
	}
}

static void format_text(const struct status_view *v, const struct status_data *s, struct strbuf *b)
{
	const struct steer_config *cfg = v->cfg;

	sb_printf(b, "backend:     %s (up %lds)\n", s->backend, s->uptime);
	if (v->draining)
		sb_printf(b, "draining:    %llu TCP connections, %llu UDP sessions open, %ld s left of drain-timeout %d; "
			     "new flows are not proxied\n",
			  (unsigned long long)s->ps.open, (unsigned long long)s->ps.udp_sessions_open, v->drain_left_s,
			  v->drain_timeout_s);
	sb_printf(b, "interfaces: ");
	for (int i = 0; i < cfg->n_ifaces; i++)
		sb_printf(b, " %s", cfg->ifaces[i]);
	for (int i = 0; i < cfg->n_return_ifaces; i++)
		sb_printf(b, " %s(return)", cfg->return_ifaces[i]);
	sb_printf(b, "\n");
	text_links(v, b);
	sb_printf(b, "rules:       %zu steer, %zu bypass\n", s->nsteer, s->nbypass);
	kernel_report_text(&s->kernel, b);
	for (size_t i = 0; i < s->nwarn; i++)
		sb_printf(b, "warning:     not proxied: %s %s: %llu in the last %d min, last %lds ago: %s\n",
			  s->warn[i].source, s->warn[i].counter, (unsigned long long)s->warn[i].recent,
			  HEALTH_RECENT_S / 60, s->warn[i].last_s, s->warn[i].cause);
	sb_printf(b, "proxy:       %s, port %u (tcp4 tcp6 udp4 udp6), upstream-source %s",
		  cfg->proxy == PROXY_BUILTIN ? "builtin" : "external", cfg->proxy_port,
		  upstream_source_name(cfg->upstream_source));
	if (v->proxy)
		sb_printf(b, ", up to %d connections (open files)", proxy_max_conns(v->proxy));
	sb_printf(b, "\n");
	if (v->proxy)
		text_proxy(b, &s->ps);
	for (size_t g = 0; g < s->ngroups; g++) {
		sb_printf(b, "kernel (%s) packets:\n", s->groups[g].backend);
		for (size_t i = 0; i < s->groups[g].n; i++)
			sb_printf(b, "  %-22s %llu\n", s->groups[g].c[i].name,
				  (unsigned long long)s->groups[g].c[i].value);
	}
	for (size_t i = 0; i < s->nrun; i++)
		sb_printf(b, "classifier:  %s %llu runs, %.0f ns/run\n", s->run[i].program,
			  (unsigned long long)s->run[i].runs,
			  s->run[i].runs ? (double)s->run[i].run_ns / (double)s->run[i].runs : 0.0);
	if (steering_kind(v->steering) == BACKEND_SPLIT)
		text_split(s, b);
	if (!v->reload_ok)
		sb_printf(b, "warning:     the last reload failed: the configuration running is the one before it\n");
	text_line(b, LINE_AUDIT, &audit_stat_table, &s->as);
	text_line(b, LINE_TCP, &tcp_stack_stat_table, &s->ts);
}

void status_format(const struct status_view *v, bool json, struct strbuf *out)
{
	struct status_data s;

	collect(v, &s);
	(json ? format_json : format_text)(v, &s, out);
}
