/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The classifier tests' results and runner. Each case runs in a network
 * namespace of its own and sets up everything it needs, so any case can run
 * alone or in any order:
 *   test_x                     every case, in the order listed
 *   test_x NAME...             only these cases
 *   test_x --list              the case names
 *   STEER_TEST_ORDER=reverse   (or shuffle, or shuffle:SEED) another order
 */
#ifndef STEER_TESTS_CLASSIFIER_RUNNER_H
#define STEER_TESTS_CLASSIFIER_RUNNER_H

#include <stddef.h>

void ct_ok(const char *name);
void ct_fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ct_check(const char *name, int cond, const char *what);
/* A set-up step failed and nothing after it can run: FAIL, the totals, exit 1. */
void ct_abort(const char *why) __attribute__((noreturn));

/* Report once (the first call of each kind) whether bpf_sk_assign worked in test-run. */
void ct_note_assign(int works);

struct ct_case {
	const char *name;
	void (*run)(void);
};

#define CT_CASES(...)                                                                                              \
	int main(int argc, char **argv)                                                                                \
	{                                                                                                              \
		static const struct ct_case cases[] = { __VA_ARGS__ };                                                 \
		return ct_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));                                   \
	}

/* Root, then each selected case in a fresh network namespace; prints "N passed, N failed". */
int ct_main(int argc, char **argv, const struct ct_case *cases, size_t n);

#endif
