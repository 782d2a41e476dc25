// SPDX-License-Identifier: GPL-2.0-only
/*
 * The flow join against a plain model: a ring of slots searched linearly
 * (no hash chains), the same FIFO reuse. Each 3-byte step adds or takes a
 * record for one of 64 tuples, so that tuples collide, replace each other
 * and are evicted.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "steer/flow_join.h"
#include "tests/fuzz/fuzz.h"

#define CAP 8

struct model {
	struct flow_record rec[CAP];
	bool live[CAP];
	unsigned head;
	uint64_t evicted;
};

static int model_find(const struct model *m, const struct flow_tuple *t)
{
	for (int i = 0; i < CAP; i++)
		if (m->live[i] && !memcmp(&m->rec[i].tuple, t, sizeof(*t)))
			return i;
	return -1;
}

static void tuple_of(uint8_t k, struct flow_tuple *t)
{
	memset(t, 0, sizeof(*t));
	t->family = k & 1 ? AF_INET6 : AF_INET;
	t->proto = k & 2 ? IPPROTO_UDP : IPPROTO_TCP;
	t->src[0] = 198, t->src[3] = (uint8_t)(k >> 2 & 3);
	t->dst[0] = 198, t->dst[3] = 2;
	t->sport = (uint16_t)(40000 + (k >> 4));
	t->dport = 80;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flow_join *j = join_new(CAP);
	struct model m = { 0 };

	if (!j)
		abort();
	for (size_t i = 0; i + 3 <= size; i += 3) {
		struct flow_tuple t;
		uint64_t ts = data[i + 2];

		tuple_of(data[i + 1] & 63, &t);
		if (data[i] & 1) {
			struct flow_record r = { .kind = FLOW_RECORD_FLOW, .tuple = t, .ts_ns = ts };
			int old = model_find(&m, &t);

			join_add(j, &r);
			if (old >= 0)
				m.live[old] = false;
			if (m.live[m.head])
				m.evicted++;
			m.rec[m.head] = r;
			m.live[m.head] = true;
			m.head = (m.head + 1) % CAP;
		} else {
			struct flow_record got;
			int at = model_find(&m, &t);
			bool want = at >= 0 && m.rec[at].ts_ns <= ts;

			FUZZ_ASSERT(join_take(j, &t, ts, &got) == want);
			if (want) {
				FUZZ_ASSERT(!memcmp(&got.tuple, &t, sizeof(t)) && got.ts_ns == m.rec[at].ts_ns);
				m.live[at] = false;
			}
		}
		FUZZ_ASSERT(join_evicted(j) == m.evicted);
	}
	join_free(j);
	return 0;
}
