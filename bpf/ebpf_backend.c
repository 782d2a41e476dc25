/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The eBPF backend. Its mechanism is the classifier, which is attached in
 * every mode: installing this backend switches the classifier from probing
 * (recording flows that nft steers) to steering them itself, and its share
 * in split mode is the classifier's split percentage.
 */
#include <stdio.h>
#include <stdlib.h>

#include "steer/backend.h"
#include "bpf/loader.h"

struct ebpf_backend {
	struct backend base; /* first: the daemon's handle */
	struct steer_bpf *bpf;
};

static int ebpf_set_share(struct backend *base, int percent)
{
	struct steer_bpf *bpf = ((struct ebpf_backend *)base)->bpf;

	if (percent >= 100)
		return steer_bpf_set_mode(bpf, STEER_MODE_EBPF, 100);
	if (percent <= 0)
		return steer_bpf_set_mode(bpf, STEER_MODE_PROBE, 0);
	return steer_bpf_set_mode(bpf, STEER_MODE_SPLIT, percent);
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
	b->bpf = env->classifier;
	if (ebpf_set_share(&b->base, 100) < 0) {
		free(b);
		return NULL;
	}
	return &b->base;
}

static size_t ebpf_counters(const struct backend_env *env, struct backend *base, struct backend_counter *out,
			    size_t max)
{
	static const char *const names[] = STEER_COUNTER_NAMES;
	uint64_t vals[STEER_C_MAX];
	size_t n = 0;

	_Static_assert(sizeof(names) / sizeof(names[0]) == STEER_C_MAX, "a counter has no name");
	(void)base; /* the classifier counts in probe mode too */
	if (!env->classifier || steer_bpf_counters(env->classifier, vals) < 0)
		return 0;
	for (; n < STEER_C_MAX && n < max; n++) {
		out[n].name = names[n];
		out[n].value = vals[n];
	}
	return n;
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
	.install = ebpf_install,
	.set_share = ebpf_set_share,
	.counters = ebpf_counters,
	.remove = ebpf_remove,
	.cleanup_stale = steer_bpf_cleanup_stale,
};
