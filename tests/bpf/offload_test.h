/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The test-only offload program's counters (offload_test.bpf.c, test_offload.c). */
#ifndef STEER_TESTS_OFFLOAD_TEST_H
#define STEER_TESTS_OFFLOAD_TEST_H

#include "bpf/steer_abi.h"

/* enum steer_ofl_result, then the program's own outcomes. */
enum {
	OFL_T_MISS = STEER_OFL_RESULTS, /* no entry for the packet's tuple: untouched */
	OFL_T_NOT_TCP,                  /* not a parsed TCP segment: untouched */
	OFL_T_MAX,
};

#endif
