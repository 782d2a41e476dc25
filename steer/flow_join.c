/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/flow_join.h"

#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

_Static_assert(sizeof(struct flow_tuple) == 2 + 2 * 16 + 2 * 2, "flow_tuple has padding: hash and compare would read it");

struct slot {
	struct flow_record rec; /* keyed by rec.tuple */
	uint32_t next; /* bucket chain */
	bool live;
};

struct flow_join {
	struct slot *slots; /* a FIFO: `head` is the next to reuse */
	uint32_t *buckets;
	uint32_t mask, head;
	uint64_t evicted;
};

/* Over every byte: a flow_tuple has no padding and its unused address bytes are zero. */
static uint32_t key_hash(const struct flow_tuple *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

struct flow_join *join_new(size_t capacity)
{
	struct flow_join *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->slots = calloc(capacity, sizeof(*j->slots));
	j->buckets = malloc(capacity * sizeof(*j->buckets));
	if (!j->slots || !j->buckets) {
		join_free(j);
		return NULL;
	}
	memset(j->buckets, 0xff, capacity * sizeof(*j->buckets));
	j->mask = (uint32_t)capacity - 1;
	return j;
}

void join_free(struct flow_join *j)
{
	if (!j)
		return;
	free(j->slots);
	free(j->buckets);
	free(j);
}

/* Find the live slot for k; *link points at the reference to it, for unlinking. */
static uint32_t find(struct flow_join *j, const struct flow_tuple *k, uint32_t **link)
{
	uint32_t *ref = &j->buckets[key_hash(k) & j->mask];

	while (*ref != NIL) {
		struct slot *s = &j->slots[*ref];

		if (!memcmp(&s->rec.tuple, k, sizeof(*k))) {
			*link = ref;
			return *ref;
		}
		ref = &s->next;
	}
	return NIL;
}

static void unlink_slot(struct flow_join *j, uint32_t idx)
{
	uint32_t *link;

	if (find(j, &j->slots[idx].rec.tuple, &link) == idx)
		*link = j->slots[idx].next;
	j->slots[idx].live = false;
}

void join_add(struct flow_join *j, const struct flow_record *r)
{
	uint32_t idx = j->head, *link, b;

	if (find(j, &r->tuple, &link) != NIL)
		unlink_slot(j, *link);
	if (j->slots[idx].live) {
		unlink_slot(j, idx);
		j->evicted++;
	}
	j->head = (j->head + 1) & j->mask;
	b = key_hash(&r->tuple) & j->mask;
	j->slots[idx] = (struct slot){ .rec = *r, .next = j->buckets[b], .live = true };
	j->buckets[b] = idx;
}

bool join_take(struct flow_join *j, const struct flow_tuple *t, uint64_t not_after, struct flow_record *out)
{
	uint32_t *link, idx;

	idx = find(j, t, &link);
	if (idx == NIL || j->slots[idx].rec.ts_ns > not_after)
		return false;
	*out = j->slots[idx].rec;
	*link = j->slots[idx].next;
	j->slots[idx].live = false;
	return true;
}

uint64_t join_evicted(const struct flow_join *j)
{
	return j->evicted;
}
