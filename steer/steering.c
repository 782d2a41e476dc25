/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/steering.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/loader.h"
#include "steer/route.h"
#include "bpf/rules_compile.h"

#define MAX_BACKENDS 4

struct steering {
	struct backend_env env;
	struct backend *inst[MAX_BACKENDS]; /* by position in backend_all */
	int share[MAX_BACKENDS];
	enum backend_kind kind;
	int percent;
};

static int backend_index(const struct backend_ops *ops)
{
	for (int i = 0; ops && backend_all[i]; i++)
		if (backend_all[i] == ops)
			return i;
	return -1;
}

static int load_rules(struct steer_bpf *bpf, const struct steer_config *cfg, struct strbuf *err)
{
	struct compiled_rules c;
	const char *why = NULL;
	int ret;

	if (rules_compile(cfg->rules, cfg->nrules, &c, &why) < 0) {
		sb_printf(err, "rules: %s", why ? why : "cannot compile");
		return -1;
	}
	ret = steer_bpf_set_rules(bpf, &c);
	rules_compiled_free(&c);
	if (ret < 0)
		sb_printf(err, "cannot load the rules into the classifier");
	return ret;
}

static void add_local(void *ctx, int family, const uint8_t *addr, bool add)
{
	steer_bpf_local_addr(ctx, family, addr, add);
}

/* The classifier in probe mode on every interface: steers nothing until a backend says so. */
static struct steer_bpf *classifier_start(const struct steer_config *cfg, const struct backend_listeners *l)
{
	struct bpf_settings set = {
		.mark = cfg->mark,
		.fail_closed = cfg->on_proxy_down == PROXY_DOWN_FAIL_CLOSED,
		.external_proxy = cfg->proxy == PROXY_EXTERNAL,
		.proxy_port = cfg->proxy_port,
		.udp_idle_timeout_ms = (uint32_t)cfg->udp_idle_timeout * 1000,
	};
	struct strbuf err = { 0 };
	struct steer_bpf *bpf;
	size_t nprefix = 0;

	for (size_t i = 0; i < cfg->nrules; i++)
		nprefix += cfg->rules[i].ndst + cfg->rules[i].nsrc;
	/* Room for both generations during a swap, plus the /0 defaults. */
	if (nprefix * 2 + 16 > STEER_LPM_DEFAULT_ENTRIES)
		set.lpm_entries = (uint32_t)(nprefix * 2 + 16);
	bpf = steer_bpf_load(&set);
	if (!bpf)
		return NULL;
	if (steer_bpf_set_mode(bpf, STEER_MODE_PROBE, 0) < 0)
		goto fail;
	for (int slot = 0; slot < STEER_LISTEN_MAX; slot++)
		if (l->fd[slot] >= 0 && steer_bpf_set_listener(bpf, slot, l->fd[slot]) < 0)
			goto fail;
	if (addr_dump(add_local, bpf) < 0) {
		fprintf(stderr, "steer: cannot list the gateway's addresses\n");
		goto fail;
	}
	if (load_rules(bpf, cfg, &err) < 0) {
		fprintf(stderr, "steer: %s\n", err.s ? err.s : "rules");
		goto fail;
	}
	/* Return path first: a flow steered on a client interface must find its replies handled. */
	for (int i = 0; i < cfg->n_return_ifaces; i++)
		if (steer_bpf_attach(bpf, cfg->return_ifaces[i], true) < 0)
			goto fail;
	for (int i = 0; i < cfg->n_ifaces; i++)
		if (steer_bpf_attach(bpf, cfg->ifaces[i], false) < 0)
			goto fail;
	sb_free(&err);
	return bpf;
fail:
	sb_free(&err);
	steer_bpf_destroy(bpf);
	return NULL;
}

/* The share of new flows each backend takes for kind; all zero if kind is unknown. */
static void target_shares(enum backend_kind kind, int percent, int share[MAX_BACKENDS])
{
	int e = backend_index(backend_by_name("ebpf")), n = backend_index(backend_by_name("nft"));

	memset(share, 0, sizeof(int) * MAX_BACKENDS);
	if (kind == BACKEND_EBPF && e >= 0)
		share[e] = 100;
	else if (kind == BACKEND_NFT && n >= 0)
		share[n] = 100;
	else if (kind == BACKEND_SPLIT && e >= 0 && n >= 0) {
		share[e] = percent;
		share[n] = 100 - percent;
	}
}

void steering_describe(const struct steering *s, char *buf, size_t len)
{
	if (s->kind == BACKEND_SPLIT)
		snprintf(buf, len, "split %d", s->percent);
	else
		snprintf(buf, len, "%s", backend_kind_name(s->kind));
}

int steering_set(struct steering *s, enum backend_kind kind, int percent, struct strbuf *err)
{
	struct backend *added[MAX_BACKENDS] = { 0 };
	int want[MAX_BACKENDS];
	bool any = false;

	if (kind == BACKEND_AUTO)
		kind = s->env.classifier ? BACKEND_EBPF : BACKEND_NFT;
	target_shares(kind, percent, want);
	for (int i = 0; backend_all[i]; i++)
		any |= want[i] > 0;
	if (!any) {
		sb_printf(err, "backend %s is not available in this build", backend_kind_name(kind));
		return -1;
	}
	/* Make: install what the target needs and is not there yet. */
	for (int i = 0; backend_all[i]; i++) {
		if (!want[i] || s->inst[i])
			continue;
		added[i] = s->inst[i] = backend_all[i]->install(&s->env);
		if (!s->inst[i]) {
			sb_printf(err, "cannot install backend %s (see the daemon's log)", backend_all[i]->name);
			for (int j = 0; j < i; j++)
				if (added[j] && added[j]->ops->remove(added[j]) == 0)
					s->inst[j] = NULL;
			return -1;
		}
	}
	/* Shift: the new shares; a backend leaving takes none from now on. */
	for (int i = 0; backend_all[i]; i++)
		if (s->inst[i] && backend_all[i]->set_share)
			backend_all[i]->set_share(s->inst[i], want[i]);
	/*
	 * Break: remove what the target does not have. A backend that cannot
	 * be removed keeps its handle (the next switch retries) and the switch
	 * reports it; with its share at 0 it steers only what nothing else took.
	 */
	int failed = 0;

	for (int i = 0; backend_all[i]; i++) {
		if (s->inst[i] && !want[i]) {
			if (backend_all[i]->remove(s->inst[i]) == 0) {
				s->inst[i] = NULL;
			} else {
				sb_printf(err, "%sbackend %s could not be removed", failed ? "; " : "",
					  backend_all[i]->name);
				failed++;
			}
		}
		s->share[i] = want[i];
	}
	s->kind = kind;
	s->percent = percent;
	return failed ? -1 : 0;
}

struct steering *steering_start(const struct steer_config *cfg, const struct backend_listeners *l)
{
	struct steering *s = calloc(1, sizeof(*s));
	struct strbuf err = { 0 };
	enum backend_kind kind = cfg->backend;

	if (!s)
		return NULL;
	s->env.cfg = cfg;
	s->env.listeners = *l;
	s->env.classifier = classifier_start(cfg, l);
	if (!s->env.classifier) {
		if (kind == BACKEND_EBPF || kind == BACKEND_SPLIT)
			goto fail;
		fprintf(stderr, "steer: the eBPF classifier could not be loaded or attached (above): %s\n",
			kind == BACKEND_AUTO ? "backend auto uses nft, without the probe (no steer_us)"
					     : "nft steers without the probe (no steer_us)");
	}
	if (steering_set(s, kind, cfg->split_percent, &err) < 0) {
		fprintf(stderr, "steer: %s\n", err.s ? err.s : "cannot install the backend");
		goto fail;
	}
	sb_free(&err);
	return s;
fail:
	sb_free(&err);
	steering_stop(s);
	return NULL;
}

int steering_reload(struct steering *s, const struct steer_config *cfg, struct strbuf *err)
{
	const struct steer_config *old = s->env.cfg;
	int i;

	if (s->env.classifier && load_rules(s->env.classifier, cfg, err) < 0)
		return -1;
	for (i = 0; backend_all[i]; i++)
		if (s->inst[i] && backend_all[i]->replace_rules &&
		    backend_all[i]->replace_rules(s->inst[i], cfg) < 0)
			break;
	if (backend_all[i]) {
		/* Put the old rules back where they were already replaced. */
		bool restored = true;

		if (s->env.classifier)
			restored &= load_rules(s->env.classifier, old, err) == 0;
		for (int j = 0; j < i; j++)
			if (s->inst[j] && backend_all[j]->replace_rules)
				restored &= backend_all[j]->replace_rules(s->inst[j], old) == 0;
		if (restored)
			sb_printf(err, "backend %s refused the new rules; the running rules stay", backend_all[i]->name);
		else
			sb_printf(err, "backend %s refused the new rules and the old ones could not all be put back: "
				       "the backends now disagree; reload a valid config or restart",
				  backend_all[i]->name);
		return -1;
	}
	s->env.cfg = cfg;
	return 0;
}

size_t steering_counters(struct steering *s, struct counter_group *groups, size_t max)
{
	size_t n = 0;

	for (int i = 0; backend_all[i] && n < max; i++) {
		groups[n].backend = backend_all[i]->name;
		groups[n].n = backend_all[i]->counters(&s->env, s->inst[i], groups[n].c, STEERING_MAX_COUNTERS);
		if (groups[n].n)
			n++;
	}
	return n;
}

struct steer_bpf *steering_classifier(struct steering *s)
{
	return s->env.classifier;
}

void steering_local_addr(struct steering *s, int family, const uint8_t *addr, bool add)
{
	if (s->env.classifier)
		steer_bpf_local_addr(s->env.classifier, family, addr, add);
}

void steering_stop(struct steering *s)
{
	if (!s)
		return;
	for (int i = 0; backend_all[i]; i++)
		if (s->inst[i] && backend_all[i]->remove(s->inst[i]) < 0)
			fprintf(stderr, "steer: backend %s could not be removed: `steer cleanup` removes it\n",
				backend_all[i]->name);
	steer_bpf_destroy(s->env.classifier);
	free(s);
}
