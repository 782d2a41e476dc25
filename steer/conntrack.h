/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The conntrack entry of a flow that left the gateway's stacks (an offloaded
 * flow, docs/offload.md section 5): no packet the stack sees ends it any
 * more, so its end is told to conntrack over ctnetlink. Left alone it would
 * stay an established entry for nf_conntrack_tcp_timeout_established (5 days
 * by default), one per offloaded flow, until the table is full.
 */
#ifndef STEER_CONNTRACK_H
#define STEER_CONNTRACK_H

#include <sys/socket.h>

#include "steer/nl.h"

/*
 * Delete the entry whose original direction is TCP src -> dst (the client's
 * first packet; IPv4-mapped addresses are IPv4), in zone 0. s: a
 * NETLINK_NETFILTER socket (nl_open). 0, -ENOENT when there is none (not
 * tracked, or conntrack not loaded), or another -errno.
 */
int ct_forget_tcp(struct nl_sock *s, const struct sockaddr_storage *src, const struct sockaddr_storage *dst);

#endif
