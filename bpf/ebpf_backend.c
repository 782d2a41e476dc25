// SPDX-License-Identifier: GPL-2.0-only
/*
 * The eBPF backend. Its mechanism is the classifier, which is attached in
 * every mode: installing this backend switches the classifier from probing
 * (recording flows that nft steers) to steering them itself, and its share
 * in split mode is the classifier's split percentage.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bpf/loader.h"
#include "steer/backend.h"

struct ebpf_backend {
	struct backend base; /* first: the daemon's handle */
	struct classifier *classifier;
};

static int ebpf_set_share(struct backend *base, int percent)
{
	struct classifier *c = ((struct ebpf_backend *)base)->classifier;

	if (percent >= 100)
		return c->ops->set_mode(c, CLASSIFIER_EBPF, 100);
	if (percent <= 0)
		return c->ops->set_mode(c, CLASSIFIER_PROBE, 0);
	return c->ops->set_mode(c, CLASSIFIER_SPLIT, percent);
}

static struct backend *ebpf_install(const struct backend_env *env)
{
	struct ebpf_backend *b;

	if (!env->classifier) {
		fprintf(stderr, "steer: ebpf: the classifier is not loaded\n");
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->base.ops = &ebpf_backend_ops;
	b->classifier = env->classifier;
	if (ebpf_set_share(&b->base, 100) < 0) {
		free(b);
		return NULL;
	}
	return &b->base;
}

static size_t ebpf_counters(const struct backend_env *env, struct backend *base, struct backend_counter *out,
			    size_t max)
{
	(void)base; /* the classifier counts in probe mode too */
	if (!env->classifier)
		return 0;
	return env->classifier->ops->counters(env->classifier, out, max);
}

static int ebpf_remove(struct backend *base)
{
	if (!base)
		return 0;
	/* Back to probing: the classifier stays, it records what nft steers. */
	if (ebpf_set_share(base, 0) < 0)
		return -1;
	free(base);
	return 0;
}

const struct backend_ops ebpf_backend_ops = {
	.name = "ebpf",
	.kind = BACKEND_EBPF,
	.install = ebpf_install,
	.set_share = ebpf_set_share,
	.counters = ebpf_counters,
	.remove = ebpf_remove,
	.cleanup_stale = steer_bpf_cleanup_stale,
};
