/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Community ID v1 (github.com/corelight/community-id-spec): a flow's
 * direction-free identifier that Zeek, Suricata and flow collectors compute
 * the same way, so an audit record joins with their records by string.
 */
#ifndef STEER_COMMUNITY_ID_H
#define STEER_COMMUNITY_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "steer/flow.h"

/* "1:" + base64 of a 20-byte SHA-1 + NUL. */
#define COMMUNITY_ID_LEN 31

/*
 * The tuple's Community ID v1 with seed, in out ("1:<base64>"). An IPv6 tuple
 * whose two addresses are IPv4-mapped is hashed as the IPv4 flow it is, so
 * the ID equals the one a monitor computes from the packets. False (out
 * empty) for a family or protocol other than TCP and UDP over IPv4 or IPv6,
 * or when out is shorter than COMMUNITY_ID_LEN.
 */
bool community_id_v1(const struct flow_tuple *t, uint16_t seed, char *out, size_t len);

#endif
