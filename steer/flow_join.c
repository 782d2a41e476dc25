/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/flow_join.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

struct key {
	uint8_t proto, family;
	uint16_t sport, dport;
	uint8_t saddr[16], daddr[16];
};

struct slot {
	struct key key;
	struct steer_event ev;
	uint32_t next; /* bucket chain */
	bool live;
};

struct flow_join {
	struct slot *slots; /* a FIFO: `head` is the next to reuse */
	uint32_t *buckets;
	uint32_t mask, head;
	uint64_t evicted;
};

static uint32_t key_hash(const struct key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void key_of_event(const struct steer_event *ev, struct key *k)
{
	memset(k, 0, sizeof(*k));
	k->proto = ev->proto;
	k->family = ev->family;
	k->sport = ev->sport;
	k->dport = ev->dport;
	memcpy(k->saddr, ev->saddr, ev->family == 6 ? 16 : 4);
	memcpy(k->daddr, ev->daddr, ev->family == 6 ? 16 : 4);
}

/* From socket addresses; IPv4-mapped IPv6 never occurs (the listeners are v6only). */
static bool key_of_addrs(uint8_t proto, const struct sockaddr *c, const struct sockaddr *d, struct key *k)
{
	memset(k, 0, sizeof(*k));
	k->proto = proto;
	if (c->sa_family == AF_INET && d->sa_family == AF_INET) {
		const struct sockaddr_in *c4 = (const void *)c, *d4 = (const void *)d;

		k->family = 4;
		k->sport = ntohs(c4->sin_port);
		k->dport = ntohs(d4->sin_port);
		memcpy(k->saddr, &c4->sin_addr, 4);
		memcpy(k->daddr, &d4->sin_addr, 4);
		return true;
	}
	if (c->sa_family == AF_INET6 && d->sa_family == AF_INET6) {
		const struct sockaddr_in6 *c6 = (const void *)c, *d6 = (const void *)d;

		k->family = 6;
		k->sport = ntohs(c6->sin6_port);
		k->dport = ntohs(d6->sin6_port);
		memcpy(k->saddr, &c6->sin6_addr, 16);
		memcpy(k->daddr, &d6->sin6_addr, 16);
		return true;
	}
	return false;
}

void event_addrs(const struct steer_event *ev, struct sockaddr_storage *client, struct sockaddr_storage *dst)
{
	memset(client, 0, sizeof(*client));
	memset(dst, 0, sizeof(*dst));
	if (ev->family == 4) {
		struct sockaddr_in *c = (void *)client, *d = (void *)dst;

		c->sin_family = d->sin_family = AF_INET;
		c->sin_port = htons(ev->sport);
		d->sin_port = htons(ev->dport);
		memcpy(&c->sin_addr, ev->saddr, 4);
		memcpy(&d->sin_addr, ev->daddr, 4);
	} else {
		struct sockaddr_in6 *c = (void *)client, *d = (void *)dst;

		c->sin6_family = d->sin6_family = AF_INET6;
		c->sin6_port = htons(ev->sport);
		d->sin6_port = htons(ev->dport);
		memcpy(&c->sin6_addr, ev->saddr, 16);
		memcpy(&d->sin6_addr, ev->daddr, 16);
	}
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
static uint32_t find(struct flow_join *j, const struct key *k, uint32_t **link)
{
	uint32_t *ref = &j->buckets[key_hash(k) & j->mask];

	while (*ref != NIL) {
		struct slot *s = &j->slots[*ref];

		if (!memcmp(&s->key, k, sizeof(*k))) {
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

	if (find(j, &j->slots[idx].key, &link) == idx)
		*link = j->slots[idx].next;
	j->slots[idx].live = false;
}

void join_add(struct flow_join *j, const struct steer_event *ev)
{
	uint32_t idx = j->head, *link, b;
	struct key k;

	key_of_event(ev, &k);
	if (find(j, &k, &link) != NIL)
		unlink_slot(j, *link);
	if (j->slots[idx].live) {
		unlink_slot(j, idx);
		j->evicted++;
	}
	j->head = (j->head + 1) & j->mask;
	b = key_hash(&k) & j->mask;
	j->slots[idx] = (struct slot){ .key = k, .ev = *ev, .next = j->buckets[b], .live = true };
	j->buckets[b] = idx;
}

bool join_take(struct flow_join *j, uint8_t proto, const struct sockaddr *client, const struct sockaddr *dst,
	       uint64_t not_after, struct steer_event *out)
{
	uint32_t *link, idx;
	struct key k;

	if (!key_of_addrs(proto, client, dst, &k))
		return false;
	idx = find(j, &k, &link);
	if (idx == NIL || j->slots[idx].ev.ts_ns > not_after)
		return false;
	*out = j->slots[idx].ev;
	*link = j->slots[idx].next;
	j->slots[idx].live = false;
	return true;
}

uint64_t join_evicted(const struct flow_join *j)
{
	return j->evicted;
}
