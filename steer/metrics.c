/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/metrics.h"

#include <stdbool.h>
#include <string.h>

#include "steer/flow_stats.h"
#include "steer/kernel_report.h"
#include "steer/tcp_stack.h"
#include "steer/version.h"

static void family(struct strbuf *b, const char *name, const char *type, const char *help)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static bool same_family(const struct stat_row *a, const struct stat_row *b)
{
	return a->metric && b->metric && !strcmp(a->metric, b->metric);
}

/* Row i starts a family: it has a metric no earlier row has. */
static bool family_first(const struct stat_table *t, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (same_family(&t->rows[j], &t->rows[i]))
			return false;
	return t->rows[i].metric != NULL;
}

/*
 * Each family of the table once, at its first row, with every row of that
 * name (the exposition format wants a family's samples together).
 */
static void stat_metrics(struct strbuf *b, const struct stat_table *t, const void *stats)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct stat_row *f = &t->rows[i];

		if (!family_first(t, i))
			continue;
		family(b, f->metric, f->type, f->help);
		for (size_t j = i; j < t->n; j++) {
			const struct stat_row *r = &t->rows[j];

			if (same_family(r, f))
				sb_printf(b, r->labels ? "%s{%s} %llu\n" : "%s%s %llu\n", r->metric,
					  r->labels ? r->labels : "", (unsigned long long)stat_value(r, stats));
		}
	}
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

/* One histogram per backend and proto; _count is the buckets' sum, so it always equals the +Inf bucket. */
static void setup_histograms(const struct flow_stats_snap *fs, struct strbuf *b)
{
	family(b, "steer_flow_setup_seconds", "histogram",
	       "steer_us of each proxied flow whose kernel record was found: from the classifier's first sight of the "
	       "flow to the proxy's accept, by the backend that steered it.");
	for (int k = 0; k < FS_BACKENDS; k++)
		for (int p = 0; p < FS_PROTOS; p++) {
			const char *bk = flow_stats_backend_names[k], *pr = flow_stats_proto_names[p];
			uint64_t cum = 0;

			for (int i = 0; i <= FLOW_SETUP_NBOUNDS; i++) {
				cum += fs->b[k].hist[p][i];
				if (i < FLOW_SETUP_NBOUNDS)
					sb_printf(b, "steer_flow_setup_seconds_bucket{backend=\"%s\",proto=\"%s\",le=\"%g\"} %llu\n",
						  bk, pr, (double)flow_setup_bounds_us[i] / 1e6, (unsigned long long)cum);
				else
					sb_printf(b, "steer_flow_setup_seconds_bucket{backend=\"%s\",proto=\"%s\",le=\"+Inf\"} %llu\n",
						  bk, pr, (unsigned long long)cum);
			}
			sb_printf(b, "steer_flow_setup_seconds_sum{backend=\"%s\",proto=\"%s\"} %.6f\n", bk, pr,
				  (double)fs->b[k].sum_us[p] / 1e6);
			sb_printf(b, "steer_flow_setup_seconds_count{backend=\"%s\",proto=\"%s\"} %llu\n", bk, pr,
				  (unsigned long long)cum);
		}
}

/* One sample of a per-backend event family: {backend, and one more label}. */
static void backend_sample(struct strbuf *b, const char *metric, int k, const char *label, const char *value,
			   uint64_t n)
{
	sb_printf(b, "%s{backend=\"%s\",%s=\"%s\"} %llu\n", metric, flow_stats_backend_names[k], label, value,
		  (unsigned long long)n);
}

/* The per-flow event counters by backend (flow_stats.h), apart from the kernel's per-packet ones. */
static void flow_metrics(const struct status_view *v, struct strbuf *b)
{
	struct flow_stats_snap fs;

	audit_flow_stats(v->audit, &fs);
	setup_histograms(&fs, b);
	family(b, "steer_backend_flows_total", "counter",
	       "Flows opened (audit open records), by the backend that steered them: one per flow, not per packet.");
	for (int k = 0; k < FS_BACKENDS; k++)
		for (int p = 0; p < FS_PROTOS; p++)
			backend_sample(b, "steer_backend_flows_total", k, "proto", flow_stats_proto_names[p],
				       fs.b[k].flows[p]);
	family(b, "steer_backend_failures_total", "counter",
	       "Flows the proxy accepted but could not set up as steered, by backend and reason (setup_failed, "
	       "unjoined).");
	for (int k = 0; k < FS_BACKENDS; k++)
		for (int f = 0; f < FLOW_FAIL_MAX; f++)
			backend_sample(b, "steer_backend_failures_total", k, "reason", flow_failure_names[f],
				       fs.b[k].failures[f]);
	family(b, "steer_backend_drops_total", "counter",
	       "Flows the classifier dropped (audit drop records: fail-closed), by backend and the kernel's reason.");
	for (int k = 0; k < FS_BACKENDS; k++)
		for (size_t i = 0; i < fs.b[k].ndrops; i++)
			backend_sample(b, "steer_backend_drops_total", k, "reason", fs.b[k].drops[i].reason,
				       fs.b[k].drops[i].n);
}

/* The classifier programs' own run time, while the kernel accounts it (bpf_enable_stats). */
static void run_metrics(const struct status_view *v, struct strbuf *b)
{
	struct classifier_run_stat rs[4];
	size_t n = status_run_stats(v, rs, 4);

	if (!n)
		return;
	family(b, "steer_classifier_run_seconds_total", "counter",
	       "Time the classifier's programs ran (the kernel's run_time_ns, BPF_STATS_RUN_TIME).");
	for (size_t i = 0; i < n; i++)
		sb_printf(b, "steer_classifier_run_seconds_total{program=\"%s\"} %.9f\n", rs[i].program,
			  (double)rs[i].run_ns / 1e9);
	family(b, "steer_classifier_runs_total", "counter", "Runs of the classifier's programs (the kernel's run_cnt).");
	for (size_t i = 0; i < n; i++)
		sb_printf(b, "steer_classifier_runs_total{program=\"%s\"} %llu\n", rs[i].program,
			  (unsigned long long)rs[i].runs);
}

/* Per configured interface: one family per field, each labelled with the interface and its role. */
static void link_metrics(const struct status_view *v, struct strbuf *b)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "steer_interface_attached", "gauge",
		  "1 while the classifier is attached to the interface (label attach: tcx or clsact), else 0." },
		{ "steer_interface_ifindex", "gauge", "The interface's ifindex; 0 while it does not exist." },
		{ "steer_interface_since_seconds", "gauge",
		  "When the interface was last attached, lost or first seen (Unix time)." },
		{ "steer_interface_attaches_total", "counter",
		  "Times the classifier was attached to the interface, the start's included." },
		{ "steer_interface_losses_total", "counter",
		  "Times the interface went away (deleted or renamed) while steer ran." },
	};
	const struct link_info *i;

	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		family(b, fam[f].name, fam[f].type, fam[f].help);
		for (size_t n = 0; (i = links_get(v->links, n)); n++) {
			long long val[] = { i->attached, i->ifindex, (long long)i->since, (long long)i->attaches,
					    (long long)i->losses };

			sb_printf(b, "%s{interface=\"%s\",role=\"%s\"", fam[f].name, i->name, link_role(i));
			if (f == 0)
				sb_printf(b, ",attach=\"%s\"", !i->attached ? "none" : i->tcx ? "tcx" : "clsact");
			sb_printf(b, "} %lld\n", val[f]);
		}
	}
	family(b, "steer_interface_rescans_total", "counter",
	       "Times link notifications were lost and every configured interface was looked at again.");
	sb_printf(b, "steer_interface_rescans_total %llu\n", (unsigned long long)links_rescans(v->links));
}

void metrics_format(const struct status_view *v, struct strbuf *b)
{
	struct audit_stats as;
	struct tcp_stack_stats ts;
	struct kernel_report kr;
	char backend[32];

	steering_describe(v->steering, backend, sizeof(backend));
	kernel_report_get(steering_classifier(v->steering), &kr);
	family(b, "steer_build_info", "gauge",
	       "1, labelled with steer's version, the libbpf it runs with, the libnftnl it was built against and the "
	       "kernel release.");
	sb_printf(b, "steer_build_info{version=\"%s\",libbpf=\"%s\",libnftnl=\"%s\",kernel=\"%s\"} 1\n",
		  steer_version(), steer_libbpf_version(), steer_libnftnl_version(), kr.release);
	kernel_report_metrics(&kr, b);
	family(b, "steer_config_last_reload_successful", "gauge",
	       "1 when the last `steer reload` succeeded (or none was asked), 0 when it was refused or failed.");
	sb_printf(b, "steer_config_last_reload_successful %d\n", v->reload_ok);
	family(b, "steer_config_last_reload_success_timestamp_seconds", "gauge",
	       "When the configuration was last loaded successfully: the last good reload, else the start (Unix time).");
	sb_printf(b, "steer_config_last_reload_success_timestamp_seconds %lld\n", (long long)v->reload_ok_at);
	family(b, "steer_up", "gauge", "1 while the steer daemon runs.");
	sb_printf(b, "steer_up 1\n");
	family(b, "steer_start_time_seconds", "gauge", "When the daemon started (Unix time).");
	sb_printf(b, "steer_start_time_seconds %lld\n", (long long)v->started);
	family(b, "steer_backend_info", "gauge", "The active backend: ebpf, nft or split PERCENT.");
	sb_printf(b, "steer_backend_info{backend=\"%s\"} 1\n", backend);
	kernel_metrics(v, b);
	run_metrics(v, b);
	flow_metrics(v, b);
	link_metrics(v, b);
	if (v->proxy) {
		struct proxy_stats ps;

		proxy_get_stats(v->proxy, &ps);
		stat_metrics(b, &proxy_stat_table, &ps);
		family(b, "steer_proxy_closed_total", "counter", "Proxied TCP connections closed, by reason.");
		for (int r = 0; r < CLOSE_REASON_MAX; r++)
			sb_printf(b, "steer_proxy_closed_total{reason=\"%s\"} %llu\n", proxy_close_reason_name(r),
				  (unsigned long long)ps.closed[r]);
	}
	audit_get_stats(v->audit, &as);
	stat_metrics(b, &audit_stat_table, &as);
	tcp_stack_read(&ts, PROXY_BACKLOG);
	stat_metrics(b, &tcp_stack_stat_table, &ts);
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
