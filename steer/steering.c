/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/steering.h"

#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "steer/route.h"

#define MAX_BACKENDS 4

struct steering {
	struct backend_env env;
	const struct backend_ops *const *all; /* NULL-terminated */
	struct backend *inst[MAX_BACKENDS];   /* by position in all */
	int share[MAX_BACKENDS];
	enum backend_kind kind;
	int percent;
};

static void add_local(void *ctx, int family, const uint8_t *addr, bool add)
{
	struct classifier *c = ctx;

	c->ops->local_addr(c, family, addr, add);
}

/* With interface-wait, one that does not exist yet is left to the link monitor (steer/links.h). */
static int attach_present(struct classifier *c, const struct steer_config *cfg, const char *ifname, bool ret)
{
	if (cfg->interface_wait && !if_nametoindex(ifname))
		return 0;
	return c->ops->attach(c, ifname, ret);
}

/* The classifier in probe mode on every interface: steers nothing until a backend says so. */
static struct classifier *classifier_start(const struct classifier_ops *ops, const struct steer_config *cfg,
					   const struct backend_listeners *l)
{
	struct strbuf err = { 0 };
	struct classifier *c = ops->open(cfg);

	if (!c)
		return NULL;
	if (ops->run_stats_enable) {
		int err = ops->run_stats_enable(c);

		/* Only the metrics lose: say so once, and steer on. */
		if (err)
			fprintf(stderr, "steer: warning: the classifier's run-time statistics are off (bpf_enable_stats: "
					"%s); steer_classifier_run_seconds_total and steer_classifier_runs_total are "
					"left out\n",
				strerror(-err));
	}
	for (int slot = 0; slot < LISTEN_SLOTS; slot++)
		if (l->fd[slot] >= 0 && ops->set_listener(c, slot, l->fd[slot]) < 0)
			goto fail;
	if (addr_dump(add_local, c) < 0) {
		fprintf(stderr, "steer: cannot list the gateway's addresses\n");
		goto fail;
	}
	if (ops->set_rules(c, cfg->rules, cfg->nrules, &err) < 0) {
		fprintf(stderr, "steer: %s\n", err.s ? err.s : "rules");
		goto fail;
	}
	/* Return path first: a flow steered on a client interface must find its replies handled. */
	for (int i = 0; i < cfg->n_return_ifaces; i++)
		if (attach_present(c, cfg, cfg->return_ifaces[i], true) < 0)
			goto fail;
	for (int i = 0; i < cfg->n_ifaces; i++)
		if (attach_present(c, cfg, cfg->ifaces[i], false) < 0)
			goto fail;
	sb_free(&err);
	return c;
fail:
	sb_free(&err);
	ops->close(c);
	return NULL;
}

/*
 * The share of new flows each backend takes for kind; all zero if kind is
 * unknown. Split: the backend that takes the remainder gets what the
 * other's PERCENT leaves.
 */
static void target_shares(const struct backend_ops *const *all, enum backend_kind kind, int percent,
			  int share[MAX_BACKENDS])
{
	int rest = -1, part = -1;

	memset(share, 0, sizeof(int) * MAX_BACKENDS);
	for (int i = 0; all[i]; i++) {
		if (all[i]->kind == kind)
			share[i] = 100;
		if (all[i]->takes_remainder)
			rest = i;
		else if (all[i]->set_share)
			part = i;
	}
	if (kind == BACKEND_SPLIT && rest >= 0 && part >= 0) {
		share[part] = percent;
		share[rest] = 100 - percent;
	}
}

void steering_describe(const struct steering *s, char *buf, size_t len)
{
	if (s->kind == BACKEND_SPLIT)
		snprintf(buf, len, "split %d", s->percent);
	else
		snprintf(buf, len, "%s", backend_kind_name(s->kind));
}

enum backend_kind steering_kind(const struct steering *s)
{
	return s->kind;
}

int steering_set(struct steering *s, enum backend_kind kind, int percent, struct strbuf *err)
{
	struct backend *added[MAX_BACKENDS] = { 0 };
	int want[MAX_BACKENDS];
	bool any = false;

	if (kind == BACKEND_AUTO)
		kind = s->env.classifier ? BACKEND_EBPF : BACKEND_NFT;
	target_shares(s->all, kind, percent, want);
	for (int i = 0; s->all[i]; i++)
		any |= want[i] > 0;
	if (!any) {
		sb_printf(err, "backend %s is not available in this build", backend_kind_name(kind));
		return -1;
	}
	/* Make: install what the target needs and is not there yet. */
	for (int i = 0; s->all[i]; i++) {
		if (!want[i] || s->inst[i])
			continue;
		added[i] = s->inst[i] = s->all[i]->install(&s->env);
		if (!s->inst[i]) {
			sb_printf(err, "cannot install backend %s (see the daemon's log)", s->all[i]->name);
			for (int j = 0; j < i; j++)
				if (added[j] && added[j]->ops->remove(added[j]) == 0)
					s->inst[j] = NULL;
			return -1;
		}
	}
	/* Shift: the new shares; a backend leaving takes none from now on. */
	for (int i = 0; s->all[i]; i++)
		if (s->inst[i] && s->all[i]->set_share)
			s->all[i]->set_share(s->inst[i], want[i]);
	/*
	 * Break: remove what the target does not have. A backend that cannot
	 * be removed keeps its handle (the next switch retries) and the switch
	 * reports it; with its share at 0 it steers only what nothing else took.
	 */
	int failed = 0;

	for (int i = 0; s->all[i]; i++) {
		if (s->inst[i] && !want[i]) {
			if (s->all[i]->remove(s->inst[i]) == 0) {
				s->inst[i] = NULL;
			} else {
				sb_printf(err, "%sbackend %s could not be removed", failed ? "; " : "",
					  s->all[i]->name);
				failed++;
			}
		}
		s->share[i] = want[i];
	}
	s->kind = kind;
	s->percent = percent;
	return failed ? -1 : 0;
}

/*
 * At most MAX_BACKENDS, each of a kind of its own: target_shares picks them
 * by kind, and a backend that forgot its kind would share BACKEND_EBPF's 0.
 */
static bool backends_valid(const struct backend_ops *const *all)
{
	int n = 0;

	for (; all[n]; n++) {
		if (n >= MAX_BACKENDS)
			return false;
		for (int j = 0; j < n; j++)
			if (all[j]->kind == all[n]->kind)
				return false;
	}
	return true;
}

struct steering *steering_new(const struct steer_config *cfg, const struct backend_listeners *l,
			      const struct backend_ops *const *backends, struct classifier *classifier)
{
	struct steering *s;

	if (!backends_valid(backends)) {
		fprintf(stderr, "steer: the backend list is invalid (too long, or two of one kind)\n");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->env.cfg = cfg;
	s->env.listeners = *l;
	s->env.classifier = classifier;
	s->all = backends;
	return s;
}

/*
 * Whether the classifier can steer new flows for sure: where the probe could
 * not tell whether the kernel assigns reuseport listeners, a refusal would
 * leave only sk_lookup, which must then be attached.
 */
static bool classifier_can_steer(struct classifier *c, const char **why)
{
	struct classifier_features f;

	c->ops->features(c, &f);
	if (f.reuseport_assign != FEATURE_YES && !f.sk_lookup) {
		*why = "whether this kernel assigns SO_REUSEPORT listeners could not be probed, and the sk_lookup "
		       "program that would take over is not attached";
		return false;
	}
	return true;
}

struct steering *steering_start(const struct steer_config *cfg, const struct backend_listeners *l)
{
	struct classifier *c = classifier_start(&bpf_classifier_ops, cfg, l);
	struct strbuf err = { 0 };
	enum backend_kind kind = cfg->backend;
	const char *why = NULL;
	struct steering *s;

	if (!c) {
		if (kind == BACKEND_EBPF || kind == BACKEND_SPLIT)
			return NULL;
		fprintf(stderr, "steer: the eBPF classifier could not be loaded or attached (above): %s\n",
			kind == BACKEND_AUTO ? "backend auto uses nft, without the probe (no steer_us)"
					     : "nft steers without the probe (no steer_us)");
	}
	if (c && kind == BACKEND_AUTO && !classifier_can_steer(c, &why)) {
		fprintf(stderr, "steer: backend auto uses nft: %s (the eBPF classifier records the flows)\n", why);
		kind = BACKEND_NFT;
	}
	s = steering_new(cfg, l, backend_all, c);
	if (!s) {
		if (c)
			c->ops->close(c);
		return NULL;
	}
	if (steering_set(s, kind, cfg->split_percent, &err) < 0) {
		fprintf(stderr, "steer: %s\n", err.s ? err.s : "cannot install the backend");
		sb_free(&err);
		steering_stop(s);
		return NULL;
	}
	sb_free(&err);
	return s;
}

int steering_reload(struct steering *s, const struct steer_config *cfg, struct strbuf *err)
{
	const struct steer_config *old = s->env.cfg;
	int i;

	struct classifier *c = s->env.classifier;

	if (c && c->ops->set_rules(c, cfg->rules, cfg->nrules, err) < 0)
		return -1;
	for (i = 0; s->all[i]; i++)
		if (s->inst[i] && s->all[i]->replace_rules &&
		    s->all[i]->replace_rules(s->inst[i], cfg) < 0)
			break;
	if (s->all[i]) {
		/* Put the old rules back where they were already replaced. */
		bool restored = true;

		if (c)
			restored &= c->ops->set_rules(c, old->rules, old->nrules, err) == 0;
		for (int j = 0; j < i; j++)
			if (s->inst[j] && s->all[j]->replace_rules)
				restored &= s->all[j]->replace_rules(s->inst[j], old) == 0;
		if (restored)
			sb_printf(err, "backend %s refused the new rules; the running rules stay", s->all[i]->name);
		else
			sb_printf(err, "backend %s refused the new rules and the old ones could not all be put back: "
				       "the backends now disagree; reload a valid config or restart",
				  s->all[i]->name);
		return -1;
	}
	s->env.cfg = cfg;
	return 0;
}

size_t steering_counters(struct steering *s, struct counter_group *groups, size_t max)
{
	size_t n = 0;

	for (int i = 0; s->all[i] && n < max; i++) {
		groups[n].backend = s->all[i]->name;
		groups[n].n = s->all[i]->counters(&s->env, s->inst[i], groups[n].c, STEERING_MAX_COUNTERS);
		if (groups[n].n)
			n++;
	}
	return n;
}

struct classifier *steering_classifier(struct steering *s)
{
	return s->env.classifier;
}

void steering_local_addr(struct steering *s, int family, const uint8_t *addr, bool add)
{
	if (s->env.classifier)
		add_local(s->env.classifier, family, addr, add);
}

void steering_stop(struct steering *s)
{
	if (!s)
		return;
	for (int i = 0; s->all[i]; i++)
		if (s->inst[i] && s->all[i]->remove(s->inst[i]) < 0)
			fprintf(stderr, "steer: backend %s could not be removed: `steer cleanup` removes it\n",
				s->all[i]->name);
	if (s->env.classifier)
		s->env.classifier->ops->close(s->env.classifier);
	free(s);
}
