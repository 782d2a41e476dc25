/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the kernel offers and which mechanisms steer chose on it, as the start
 * line, `steer status` (text and JSON), the metrics page and `steer version`
 * say it: all from one table of features (kernel_report.c), so they agree.
 */
#ifndef STEER_KERNEL_REPORT_H
#define STEER_KERNEL_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "steer/classifier.h"
#include "steer/strbuf.h"

struct kernel_report {
	char release[sizeof(((struct utsname *)0)->release)]; /* uname -r */
	bool classifier; /* the eBPF classifier is loaded: f is its answer */
	struct classifier_features f;
};

/* The running kernel and c's features (c NULL: none loaded). */
void kernel_report_get(struct classifier *c, struct kernel_report *r);

/*
 * One sentence: the kernel release and the mechanisms, for backend
 * (the steering_describe() words: "ebpf", "nft", "split P"; NULL: the
 * classifier alone, as `steer version` has it).
 */
void kernel_report_line(const struct kernel_report *r, const char *backend, struct strbuf *out);

/* The `kernel:` line of `steer status`. */
void kernel_report_text(const struct kernel_report *r, struct strbuf *out);

/* The "kernel" object of `steer status --json` (the value, without its key). */
void kernel_report_json(const struct kernel_report *r, struct strbuf *out);

/* steer_kernel_feature: one gauge per feature, 1 yes, 0 no, -1 unknown. */
void kernel_report_metrics(const struct kernel_report *r, struct strbuf *out);

/*
 * `steer version`'s kernel part: the release, and the features found by
 * opening the classifier for a moment in a network namespace of its own
 * (with the privileges for it), or why they could not be probed. Returns 0.
 */
int kernel_report_version(FILE *out);

#endif
