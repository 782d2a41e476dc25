// SPDX-License-Identifier: GPL-2.0-only
/*
 * The classifier interface (steer/classifier.h) over the loader: the
 * settings and map sizes taken from the config, rules compiled before they
 * are loaded, the kernel's counters named, and its flow events turned into
 * steer-side flow records.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bpf/loader.h"
#include "bpf/offload_ctl.h"
#include "bpf/probe.h"
#include "steer/backend.h"
#include "steer/classifier.h"

_Static_assert((int)LISTEN_TCP4 == STEER_LISTEN_TCP4 && (int)LISTEN_TCP6 == STEER_LISTEN_TCP6 &&
		       (int)LISTEN_UDP4 == STEER_LISTEN_UDP4 && (int)LISTEN_UDP6 == STEER_LISTEN_UDP6 &&
		       (int)LISTEN_SLOTS == STEER_LISTEN_MAX,
	       "listener slots differ from the socket map's");
_Static_assert((int)CLASSIFIER_EBPF == STEER_MODE_EBPF && (int)CLASSIFIER_PROBE == STEER_MODE_PROBE &&
		       (int)CLASSIFIER_SPLIT == STEER_MODE_SPLIT,
	       "classifier modes differ from the program's");

struct bpf_classifier {
	struct classifier base; /* first: the caller's handle */
	struct steer_bpf *bpf;
	struct flow_events events;
	bool events_open;
	flow_record_cb cb; /* set by each consume, for the ring's callback */
	void *cb_ctx;
};

static const char *const counter_names[] = STEER_COUNTER_NAMES;
_Static_assert(sizeof(counter_names) / sizeof(counter_names[0]) == STEER_C_MAX, "a counter has no name");

static struct bpf_classifier *of(struct classifier *c)
{
	return (struct bpf_classifier *)c;
}

static struct bpf_classifier *of_events(struct flow_events *e)
{
	return (struct bpf_classifier *)((char *)e - offsetof(struct bpf_classifier, events));
}

static struct classifier *bpfc_open(const struct steer_config *cfg)
{
	struct bpf_settings set = {
		.mark = cfg->mark,
		.fail_closed = cfg->on_proxy_down == PROXY_DOWN_FAIL_CLOSED,
		.external_proxy = cfg->proxy == PROXY_EXTERNAL,
		.proxy_port = cfg->proxy_port,
		.udp_idle_timeout_ms = (uint32_t)cfg->udp_idle_timeout * 1000,
		.offload = cfg->offload,
	};
	struct bpf_classifier *c = calloc(1, sizeof(*c));
	size_t nprefix = 0;

	if (!c) {
		fprintf(stderr, "steer: out of memory\n");
		return NULL;
	}
	c->base.ops = &bpf_classifier_ops;
	for (size_t i = 0; i < cfg->nrules; i++)
		nprefix += cfg->rules[i].ndst + cfg->rules[i].nsrc;
	/* Room for both generations during a swap, plus the /0 defaults. */
	if (nprefix * 2 + 16 > STEER_LPM_DEFAULT_ENTRIES)
		set.lpm_entries = (uint32_t)(nprefix * 2 + 16);
	c->bpf = steer_bpf_load(&set);
	/* The program starts out steering: probe until a backend says otherwise. */
	if (!c->bpf || steer_bpf_set_mode(c->bpf, STEER_MODE_PROBE, 0) < 0) {
		steer_bpf_destroy(c->bpf);
		free(c);
		return NULL;
	}
	return &c->base;
}

static int bpfc_attach(struct classifier *c, const char *ifname, bool ret)
{
	return steer_bpf_attach(of(c)->bpf, ifname, ret);
}

static int bpfc_detach(struct classifier *c, const char *ifname)
{
	return steer_bpf_detach(of(c)->bpf, ifname);
}

static bool bpfc_attachment(struct classifier *c, const char *ifname, struct classifier_attachment *out)
{
	return steer_bpf_attachment(of(c)->bpf, ifname, &out->ifindex, &out->tcx);
}

static int bpfc_set_rules(struct classifier *c, const struct rule *rules, size_t nrules, struct strbuf *err)
{
	struct compiled_rules cr;
	const char *why = NULL;
	int ret;

	if (rules_compile(rules, nrules, &cr, &why) < 0) {
		sb_printf(err, "rules: %s", why ? why : "cannot compile");
		return -1;
	}
	ret = steer_bpf_set_rules(of(c)->bpf, &cr);
	rules_compiled_free(&cr);
	if (ret < 0)
		sb_printf(err, "cannot load the rules into the classifier");
	return ret;
}

static void bpfc_set_proxy_full(struct classifier *c, bool full)
{
	steer_bpf_set_proxy_full(of(c)->bpf, full);
}

static int bpfc_set_mode(struct classifier *c, enum classifier_mode mode, int percent)
{
	return steer_bpf_set_mode(of(c)->bpf, (enum steer_mode)mode, percent);
}

static int bpfc_set_listener(struct classifier *c, enum listen_slot slot, int fd)
{
	return steer_bpf_set_listener(of(c)->bpf, (int)slot, fd);
}

static int bpfc_local_addr(struct classifier *c, int family, const uint8_t *addr, bool add)
{
	return steer_bpf_local_addr(of(c)->bpf, family, addr, add);
}

static int bpfc_run_stats_enable(struct classifier *c)
{
	return steer_bpf_enable_stats(of(c)->bpf);
}

static size_t bpfc_run_stats(struct classifier *c, struct classifier_run_stat *out, size_t max)
{
	struct steer_bpf_run_stat s[4];
	size_t n = steer_bpf_run_stats(of(c)->bpf, s, max < 4 ? max : 4);

	for (size_t i = 0; i < n; i++)
		out[i] = (struct classifier_run_stat){ s[i].program, s[i].run_ns, s[i].runs };
	return n;
}

static size_t bpfc_counters(struct classifier *c, struct backend_counter *out, size_t max)
{
	uint64_t vals[STEER_C_MAX];
	size_t n = 0;

	if (steer_bpf_counters(of(c)->bpf, vals) < 0)
		return 0;
	for (; n < STEER_C_MAX && n < max; n++) {
		out[n].name = counter_names[n];
		out[n].value = vals[n];
	}
	return n;
}

/* ---- flow events ---- */

/*
 * A closed set, listed in docs/audit.md, audit.schema.json and steer(8): the
 * only counters new_flow() drops under; "unknown" if the kernel ever names
 * another, so a reader's enum never meets a name it was not told about.
 */
static const char *drop_reason(uint8_t counter)
{
	switch (counter) {
	case STEER_C_NO_LISTENER_DROP:
		return "proxy_down";
	case STEER_C_ASSIGN_FAILED:
		return "assign_failed";
	case STEER_C_PROXY_FULL_DROP:
		return "proxy_full_drop";
	default:
		return "unknown";
	}
}

/* The one place a kernel event becomes a steer-side record. */
static void flow_record_of(const struct steer_event *ev, struct flow_record *r)
{
	r->kind = ev->kind == STEER_EV_FLOW ? FLOW_RECORD_FLOW : FLOW_RECORD_DROP;
	r->ts_ns = ev->ts_ns;
	r->backend = ev->backend == STEER_BACKEND_NFT ? "nft" : "ebpf";
	r->reason = r->kind == FLOW_RECORD_DROP ? drop_reason(ev->reason) : NULL;
	flow_tuple_from_bytes(&r->tuple, ev->family == 6 ? AF_INET6 : AF_INET, ev->proto, ev->saddr, ev->sport,
			      ev->daddr, ev->dport);
}

static void on_event(void *ctx, const struct steer_event *ev)
{
	struct bpf_classifier *c = ctx;
	struct flow_record r;

	flow_record_of(ev, &r);
	c->cb(c->cb_ctx, &r);
}

static int events_consume(struct flow_events *e, flow_record_cb cb, void *ctx)
{
	struct bpf_classifier *c = of_events(e);

	c->cb = cb;
	c->cb_ctx = ctx;
	return steer_bpf_events_consume(c->bpf);
}

static uint64_t events_lost(struct flow_events *e)
{
	struct bpf_classifier *c = of_events(e);
	uint64_t n;

	return steer_bpf_counter(c->bpf, STEER_C_EVENTS_LOST, &n) < 0 ? 0 : n;
}

static struct flow_events *bpfc_events(struct classifier *base)
{
	struct bpf_classifier *c = of(base);

	if (!c->events_open) {
		if (steer_bpf_events_open(c->bpf, on_event, c) < 0)
			return NULL;
		c->events = (struct flow_events){ .consume = events_consume, .lost = events_lost };
		c->events_open = true;
	}
	return &c->events;
}

_Static_assert((int)FEATURE_UNKNOWN == PROBE_UNKNOWN && (int)FEATURE_NO == PROBE_NO &&
		       (int)FEATURE_YES == PROBE_YES,
	       "feature answers are the probe's");

static void bpfc_features(struct classifier *c, struct classifier_features *out)
{
	struct steer_bpf_features f;

	steer_bpf_features(of(c)->bpf, &f);
	memset(out, 0, sizeof(*out));
	out->tcx = steer_bpf_attached_tcx(of(c)->bpf);
	out->sk_lookup = f.sk_lookup;
	out->kernel_tcx = (enum feature_answer)f.tcx;
	out->reuseport_assign = (enum feature_answer)f.reuseport_assign;
	out->listener_via_lookup = f.via_lookup;
	snprintf(out->probe_note, sizeof(out->probe_note), "%s", f.probe_note);
}

static int bpfc_splice_add(struct classifier *c, const struct proxy_splice *sp)
{
	return steer_bpf_splice_add(of(c)->bpf, sp);
}

static int bpfc_splice_end(struct classifier *c, const struct proxy_splice *sp, bool remove,
			   struct classifier_splice_end *out)
{
	return steer_bpf_splice_end(of(c)->bpf, sp, remove, out);
}

static void bpfc_close(struct classifier *c)
{
	steer_bpf_destroy(of(c)->bpf);
	free(c);
}

const struct classifier_ops bpf_classifier_ops = {
	.open = bpfc_open,
	.attach = bpfc_attach,
	.detach = bpfc_detach,
	.attachment = bpfc_attachment,
	.set_rules = bpfc_set_rules,
	.set_mode = bpfc_set_mode,
	.set_proxy_full = bpfc_set_proxy_full,
	.set_listener = bpfc_set_listener,
	.local_addr = bpfc_local_addr,
	.counters = bpfc_counters,
	.run_stats_enable = bpfc_run_stats_enable,
	.run_stats = bpfc_run_stats,
	.events = bpfc_events,
	.features = bpfc_features,
	.splice_add = bpfc_splice_add,
	.splice_end = bpfc_splice_end,
	.close = bpfc_close,
};
