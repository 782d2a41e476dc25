/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A flow's tuple, the one form user space keeps it in: the rule matcher
 * reads it, the audit joins kernel records with the proxy's connections on
 * it and formats it. Its converters are the only place a tuple changes form.
 */
#ifndef STEER_FLOW_H
#define STEER_FLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * Addresses in network byte order, an IPv4 address in the first 4 bytes
 * and the rest zero, so that equal flows compare equal byte for byte.
 */
struct flow_tuple {
	uint8_t family; /* AF_INET, AF_INET6 */
	uint8_t proto;  /* IPPROTO_TCP, IPPROTO_UDP */
	uint8_t src[16], dst[16];
	uint16_t sport, dport; /* host byte order */
};

/* From raw address bytes (4 for AF_INET, 16 for AF_INET6); false for another family. */
bool flow_tuple_from_bytes(struct flow_tuple *t, int family, uint8_t proto, const uint8_t *src, uint16_t sport,
			   const uint8_t *dst, uint16_t dport);

/*
 * From a connection's socket addresses (client = source); false unless both
 * are AF_INET or both AF_INET6 (IPv4-mapped IPv6 never occurs: the
 * listeners are v6only).
 */
bool flow_tuple_from_sockaddrs(struct flow_tuple *t, uint8_t proto, const struct sockaddr *client,
			       const struct sockaddr *dst);

/* The tuple as socket addresses (client = source). */
void flow_tuple_to_sockaddrs(const struct flow_tuple *t, struct sockaddr_storage *client,
			     struct sockaddr_storage *dst);

#endif
