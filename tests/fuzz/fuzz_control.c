// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control and /metrics framing (control_frame), as the server meets it:
 * the bytes arrive in pieces, each piece's verdict must agree with the whole.
 * The first byte picks the protocol (bit 0: HTTP) and the piece size.
 */
#include <stdbool.h>

#include "steer/control.h"
#include "tests/fuzz/fuzz.h"

/* Where the request would end, computed the plain way: offset of the terminator, or -1. */
static long reference_end(const char *b, size_t len, bool http, bool *nul_first)
{
	*nul_first = false;
	for (size_t i = 0; i < len; i++) {
		if (b[i] == '\0') {
			*nul_first = true;
			return -1;
		}
		if (!http && b[i] == '\n')
			return (long)i;
		if (http && i + 4 <= len && !memcmp(b + i, "\r\n\r\n", 4))
			return (long)i;
	}
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool http, nul_first;
	size_t step, len = 0;
	const char *buf;

	if (size < 1)
		return 0;
	http = data[0] & 1;
	step = 1 + (data[0] >> 1);
	buf = (const char *)data + 1;
	size--;
	if (size > CONTROL_MAX_REQUEST - 1)
		size = CONTROL_MAX_REQUEST - 1; /* the server never holds more */
	for (size_t have = step < size ? step : size;; have = have + step < size ? have + step : size) {
		long end = reference_end(buf, have, http, &nul_first);
		enum control_frame f = control_frame(buf, have, http, &len);

		if (end >= 0) {
			FUZZ_ASSERT(f == CONTROL_FRAME_DONE && len == (size_t)end);
			break; /* the server answers here */
		}
		if (nul_first) {
			FUZZ_ASSERT(f == CONTROL_FRAME_BAD);
			break;
		}
		if (have >= CONTROL_MAX_REQUEST - 1) {
			FUZZ_ASSERT(f == CONTROL_FRAME_TOO_LONG);
			break;
		}
		FUZZ_ASSERT(f == CONTROL_FRAME_MORE);
		if (have == size)
			break;
	}
	return 0;
}
