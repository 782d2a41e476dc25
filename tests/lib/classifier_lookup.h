/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * steer_redirect, steer_frags and steer_lookup, the netns sk_lookup program,
 * run through BPF_PROG_TEST_RUN with a struct bpf_sk_lookup: the selected
 * socket's cookie is compared with the listener's SO_COOKIE.
 */
#ifndef STEER_TESTS_CLASSIFIER_LOOKUP_H
#define STEER_TESTS_CLASSIFIER_LOOKUP_H

#include "tests/lib/classifier_harness.h"

void ct_flow_key(struct steer_flow_key *k, int fam, int proto, const char *src, const char *dst, uint16_t sport,
		 uint16_t dport);
/* The slot steer_redirect holds for this tuple, or -1. */
int ct_redirect_slot(struct inst *in, int fam, int proto, const char *src, const char *dst, uint16_t sport,
		     uint16_t dport);
/* steer_lookup selects want_fd (-1: nothing) and moves counter want_c (-1: none). */
void ct_expect_lookup(struct inst *in, const char *name, int fam, int proto, const char *rip, uint16_t rport,
		      const char *lip, uint16_t lport, int want_fd, int want_c);

#endif
