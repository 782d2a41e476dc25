/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/kernel_report.h"

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "steer/config.h"

static enum feature_answer yes_no(bool b)
{
	return b ? FEATURE_YES : FEATURE_NO;
}

static enum feature_answer attached_tcx(const struct classifier_features *f)
{
	return yes_no(f->tcx);
}

static enum feature_answer kernel_tcx(const struct classifier_features *f)
{
	return f->kernel_tcx;
}

static enum feature_answer reuseport_assign(const struct classifier_features *f)
{
	return f->reuseport_assign;
}

static enum feature_answer via_lookup(const struct classifier_features *f)
{
	return yes_no(f->listener_via_lookup);
}

static enum feature_answer lookup_attached(const struct classifier_features *f)
{
	return yes_no(f->sk_lookup);
}

/*
 * The one table: `key` is the status text's and JSON's name, `metric` the
 * steer_kernel_feature label; yes/no are the words for the answers
 * ("unknown" for FEATURE_UNKNOWN, -1 as a gauge).
 */
static const struct feature_row {
	const char *key, *metric, *yes, *no;
	enum feature_answer (*get)(const struct classifier_features *f);
} rows[] = {
	{ "attach", "tcx", "tcx", "clsact", attached_tcx },
	{ "kernel_tcx", "kernel_tcx", "yes", "no", kernel_tcx },
	{ "reuseport_assign", "reuseport_assign", "yes", "no", reuseport_assign },
	{ "new_flow_path", "new_flows_via_sk_lookup", "sk_lookup", "assign", via_lookup },
	{ "sk_lookup_attached", "sk_lookup", "yes", "no", lookup_attached },
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static const char *word(const struct feature_row *row, const struct classifier_features *f)
{
	switch (row->get(f)) {
	case FEATURE_YES:
		return row->yes;
	case FEATURE_NO:
		return row->no;
	default:
		return "unknown";
	}
}

void kernel_report_get(struct classifier *c, struct kernel_report *r)
{
	struct utsname u;

	memset(r, 0, sizeof(*r));
	snprintf(r->release, sizeof(r->release), "%s", uname(&u) == 0 ? u.release : "unknown");
	if (c) {
		r->classifier = true;
		c->ops->features(c, &r->f);
	}
}

/* The classifier's mechanisms, in words. */
static void mechanisms(const struct classifier_features *f, bool steers, struct strbuf *out)
{
	if (f->tcx)
		sb_printf(out, "TCX links");
	else
		sb_printf(out, "clsact filters%s", f->kernel_tcx == FEATURE_NO ? " (no TCX)" : "");
	if (steers && f->listener_via_lookup)
		sb_printf(out, ", new flows through sk_lookup (%s)",
			  f->reuseport_assign == FEATURE_UNKNOWN && f->probe_note[0]
				  ? f->probe_note
				  : "bpf_sk_assign refuses SO_REUSEPORT listeners");
	else if (steers)
		sb_printf(out, ", new flows by bpf_sk_assign%s%s%s",
			  f->reuseport_assign == FEATURE_UNKNOWN ? " (reuseport assign " : "",
			  f->reuseport_assign == FEATURE_UNKNOWN ? f->probe_note : "",
			  f->reuseport_assign == FEATURE_UNKNOWN ? "; sk_lookup takes over at the first refusal)" : "");
	sb_printf(out, ", sk_lookup %s", f->sk_lookup ? "attached" : "not attached");
}

/* The mechanisms for backend (see kernel_report_line), after the release. */
static void describe(const struct kernel_report *r, const char *backend, struct strbuf *out)
{
	bool ebpf = backend && !strcmp(backend, "ebpf"), nft = backend && !strcmp(backend, "nft");

	if (nft)
		sb_printf(out, "nft tproxy steers new flows; ");
	else if (backend && !ebpf)
		sb_printf(out, "%s: nft tproxy steers the rest of the new flows; ", backend);
	if (!r->classifier) {
		sb_printf(out, "the eBPF classifier is not loaded");
		return;
	}
	if (nft)
		sb_printf(out, "the eBPF classifier records them: ");
	else if (backend && !ebpf)
		sb_printf(out, "eBPF its share: ");
	mechanisms(&r->f, !nft, out);
}

void kernel_report_line(const struct kernel_report *r, const char *backend, struct strbuf *out)
{
	sb_printf(out, "kernel %s: ", r->release);
	describe(r, backend, out);
}

void kernel_report_text(const struct kernel_report *r, struct strbuf *out)
{
	sb_printf(out, "kernel:      %s", r->release);
	if (!r->classifier) {
		sb_printf(out, ", eBPF classifier not loaded\n");
		return;
	}
	for (size_t i = 0; i < NROWS; i++)
		sb_printf(out, " %s=%s", rows[i].key, word(&rows[i], &r->f));
	if (r->f.probe_note[0])
		sb_printf(out, " (reuseport_assign: %s)", r->f.probe_note);
	sb_printf(out, "\n");
}

void kernel_report_json(const struct kernel_report *r, struct strbuf *out)
{
	sb_printf(out, "{\"release\":");
	sb_json_str(out, r->release);
	sb_printf(out, ",\"classifier\":%s", r->classifier ? "true" : "false");
	if (r->classifier) {
		for (size_t i = 0; i < NROWS; i++)
			sb_printf(out, ",\"%s\":\"%s\"", rows[i].key, word(&rows[i], &r->f));
		sb_printf(out, ",\"reuseport_note\":");
		sb_json_str(out, r->f.probe_note);
	}
	sb_printf(out, "}");
}

void kernel_report_metrics(const struct kernel_report *r, struct strbuf *out)
{
	sb_printf(out,
		  "# HELP steer_kernel_feature What the kernel offers and what steer uses: 1 yes, 0 no, -1 unknown "
		  "(could not be probed). classifier: the eBPF classifier is loaded (the others only then); "
		  "tcx: attached as TCX links, else clsact; kernel_tcx: the kernel has TCX; reuseport_assign: "
		  "bpf_sk_assign takes a SO_REUSEPORT listener; new_flows_via_sk_lookup: new flows reach the "
		  "proxy through sk_lookup; sk_lookup: the sk_lookup program is attached.\n"
		  "# TYPE steer_kernel_feature gauge\n");
	sb_printf(out, "steer_kernel_feature{feature=\"classifier\"} %d\n", r->classifier);
	if (!r->classifier)
		return;
	for (size_t i = 0; i < NROWS; i++) {
		enum feature_answer a = rows[i].get(&r->f);

		sb_printf(out, "steer_kernel_feature{feature=\"%s\"} %d\n", rows[i].metric,
			  a == FEATURE_YES ? 1 : a == FEATURE_NO ? 0 : -1);
	}
}

/* Loading the classifier is the probe: it needs CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN. */
static const char *cannot_probe(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };
	bool bpf, admin;

	if (syscall(SYS_capget, &h, d) < 0)
		return "cannot read this process's capabilities";
#define HAS(cap) ((d[(cap) / 32].effective >> ((cap) % 32)) & 1u)
	bpf = HAS(CAP_BPF) || HAS(CAP_SYS_ADMIN);
	admin = HAS(CAP_NET_ADMIN);
#undef HAS
	if (!bpf || !admin)
		return "not privileged: loading the classifier is the probe and needs root, or CAP_BPF and "
		       "CAP_NET_ADMIN";
	return NULL;
}

int kernel_report_version(FILE *out)
{
	struct kernel_report r;
	struct strbuf line = { 0 };
	struct steer_config cfg;
	struct classifier *c;
	const char *why = cannot_probe();

	kernel_report_get(NULL, &r);
	fprintf(out, "kernel %s\n", r.release);
	if (why) {
		fprintf(out, "kernel features: not probed (%s)\n", why);
		return 0;
	}
	/*
	 * The classifier attaches its sk_lookup program to the namespace it
	 * opens in: a private one leaves the host's untouched. Without
	 * CAP_SYS_ADMIN for that, the host's: for the probe's moment, with
	 * empty maps, it gives no socket to any lookup.
	 */
	if (unshare(CLONE_NEWNET) < 0 && errno != EPERM)
		fprintf(stderr, "steer: a network namespace for the probe: %s\n", strerror(errno));
	config_init(&cfg);
	c = bpf_classifier_ops.open(&cfg);
	config_free(&cfg);
	if (!c) {
		fprintf(out, "kernel features: not probed (the eBPF classifier did not load: the line above says why)\n");
		return 0;
	}
	kernel_report_get(c, &r);
	c->ops->close(c);
	/* Attached to nothing here: say what an interface would get. */
	r.f.tcx = r.f.kernel_tcx == FEATURE_YES;
	describe(&r, NULL, &line);
	fprintf(out, "kernel features: %s\n", line.s ? line.s : "");
	for (size_t i = 0; i < NROWS; i++)
		fprintf(out, "  %-20s %s\n", rows[i].key, word(&rows[i], &r.f));
	if (r.f.probe_note[0])
		fprintf(out, "  %-20s %s\n", "reuseport_note", r.f.probe_note);
	sb_free(&line);
	return 0;
}
