/* SPDX-License-Identifier: GPL-2.0-only */
/* The eBPF backend: the classifier on every interface, rules in its maps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "../steer/backend.h"
#include "../steer/route.h"
#include "loader.h"

struct ebpf_backend {
	struct backend base; /* first: the daemon's handle */
	struct steer_bpf *bpf;
};

static int load_rules(struct steer_bpf *bpf, const struct steer_config *cfg)
{
	struct compiled_rules c;
	const char *err = NULL;
	int ret;

	if (rules_compile(cfg->rules, cfg->nrules, &c, &err) < 0) {
		fprintf(stderr, "steer: rules: %s\n", err ? err : "cannot compile");
		return -1;
	}
	ret = steer_bpf_set_rules(bpf, &c);
	rules_compiled_free(&c);
	return ret;
}

static void add_local(void *ctx, int family, const uint8_t *addr, bool add)
{
	steer_bpf_local_addr(ctx, family, addr, add);
}

static struct backend *ebpf_install(const struct steer_config *cfg, const struct backend_listeners *l)
{
	struct bpf_settings s = {
		.mark = cfg->mark,
		.fail_closed = cfg->on_proxy_down == PROXY_DOWN_FAIL_CLOSED,
		.external_proxy = cfg->proxy == PROXY_EXTERNAL,
		.proxy_port = cfg->proxy_port,
	};
	struct ebpf_backend *b = calloc(1, sizeof(*b));
	size_t nprefix = 0;

	if (!b)
		return NULL;
	for (size_t i = 0; i < cfg->nrules; i++)
		nprefix += cfg->rules[i].ndst + cfg->rules[i].nsrc;
	/* Room for both generations during a swap, plus the /0 defaults. */
	s.lpm_entries = nprefix * 2 + 16 > STEER_LPM_DEFAULT_ENTRIES ? nprefix * 2 + 16 : 0;
	b->base.ops = &ebpf_backend_ops;
	b->bpf = steer_bpf_load(&s);
	if (!b->bpf)
		goto fail;
	for (int slot = 0; slot < STEER_LISTEN_MAX; slot++)
		if (l->fd[slot] >= 0 && steer_bpf_set_listener(b->bpf, slot, l->fd[slot]) < 0)
			goto fail;
	if (addr_dump(add_local, b->bpf) < 0) {
		fprintf(stderr, "steer: cannot list the gateway's addresses\n");
		goto fail;
	}
	if (load_rules(b->bpf, cfg) < 0)
		goto fail;
	/* Return path first: a flow steered on a client interface must find its replies handled. */
	for (int i = 0; i < cfg->n_return_ifaces; i++)
		if (steer_bpf_attach(b->bpf, cfg->return_ifaces[i], true) < 0)
			goto fail;
	for (int i = 0; i < cfg->n_ifaces; i++)
		if (steer_bpf_attach(b->bpf, cfg->ifaces[i], false) < 0)
			goto fail;
	return &b->base;
fail:
	steer_bpf_destroy(b->bpf);
	free(b);
	return NULL;
}

static int ebpf_replace_rules(struct backend *base, const struct steer_config *cfg)
{
	return load_rules(((struct ebpf_backend *)base)->bpf, cfg);
}

static size_t ebpf_counters(struct backend *base, struct backend_counter *out, size_t max)
{
	static const char *const names[] = STEER_COUNTER_NAMES;
	uint64_t vals[STEER_C_MAX];
	size_t n = 0;

	_Static_assert(sizeof(names) / sizeof(names[0]) == STEER_C_MAX, "a counter has no name");
	if (steer_bpf_counters(((struct ebpf_backend *)base)->bpf, vals) < 0)
		return 0;
	for (; n < STEER_C_MAX && n < max; n++) {
		out[n].name = names[n];
		out[n].value = vals[n];
	}
	return n;
}

static void ebpf_local_addr(struct backend *base, int family, const uint8_t *addr, bool add)
{
	steer_bpf_local_addr(((struct ebpf_backend *)base)->bpf, family, addr, add);
}

static void ebpf_remove(struct backend *base)
{
	struct ebpf_backend *b = (struct ebpf_backend *)base;

	if (!b)
		return;
	steer_bpf_destroy(b->bpf);
	free(b);
}

const struct backend_ops ebpf_backend_ops = {
	.name = "ebpf",
	.install = ebpf_install,
	.replace_rules = ebpf_replace_rules,
	.counters = ebpf_counters,
	.local_addr = ebpf_local_addr,
	.remove = ebpf_remove,
	.cleanup_stale = steer_bpf_cleanup_stale,
};
