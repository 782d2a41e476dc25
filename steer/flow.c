/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/flow.h"

#include <netinet/in.h>
#include <string.h>

bool flow_tuple_from_bytes(struct flow_tuple *t, int family, uint8_t proto, const uint8_t *src, uint16_t sport,
			   const uint8_t *dst, uint16_t dport)
{
	size_t len = family == AF_INET ? 4 : 16;

	memset(t, 0, sizeof(*t));
	if (family != AF_INET && family != AF_INET6)
		return false;
	t->family = (uint8_t)family;
	t->proto = proto;
	memcpy(t->src, src, len);
	memcpy(t->dst, dst, len);
	t->sport = sport;
	t->dport = dport;
	return true;
}

bool flow_tuple_from_sockaddrs(struct flow_tuple *t, uint8_t proto, const struct sockaddr *client,
			       const struct sockaddr *dst)
{
	if (client->sa_family == AF_INET && dst->sa_family == AF_INET) {
		const struct sockaddr_in *c = (const void *)client, *d = (const void *)dst;

		return flow_tuple_from_bytes(t, AF_INET, proto, (const uint8_t *)&c->sin_addr, ntohs(c->sin_port),
					     (const uint8_t *)&d->sin_addr, ntohs(d->sin_port));
	}
	if (client->sa_family == AF_INET6 && dst->sa_family == AF_INET6) {
		const struct sockaddr_in6 *c = (const void *)client, *d = (const void *)dst;

		return flow_tuple_from_bytes(t, AF_INET6, proto, (const uint8_t *)&c->sin6_addr,
					     ntohs(c->sin6_port), (const uint8_t *)&d->sin6_addr, ntohs(d->sin6_port));
	}
	memset(t, 0, sizeof(*t));
	return false;
}

void flow_tuple_to_sockaddrs(const struct flow_tuple *t, struct sockaddr_storage *client,
			     struct sockaddr_storage *dst)
{
	memset(client, 0, sizeof(*client));
	memset(dst, 0, sizeof(*dst));
	if (t->family == AF_INET) {
		struct sockaddr_in *c = (void *)client, *d = (void *)dst;

		c->sin_family = d->sin_family = AF_INET;
		c->sin_port = htons(t->sport);
		d->sin_port = htons(t->dport);
		memcpy(&c->sin_addr, t->src, 4);
		memcpy(&d->sin_addr, t->dst, 4);
	} else {
		struct sockaddr_in6 *c = (void *)client, *d = (void *)dst;

		c->sin6_family = d->sin6_family = AF_INET6;
		c->sin6_port = htons(t->sport);
		d->sin6_port = htons(t->dport);
		memcpy(&c->sin6_addr, t->src, 16);
		memcpy(&d->sin6_addr, t->dst, 16);
	}
}
