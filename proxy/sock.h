/* SPDX-License-Identifier: GPL-2.0-only */
/* Socket helpers shared by the TCP and UDP relays. */
#ifndef STEER_PROXY_SOCK_H
#define STEER_PROXY_SOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proxy/proxy.h"

socklen_t sa_len(const struct sockaddr_storage *ss);
uint16_t sa_port(const struct sockaddr_storage *ss);
/* ::ffff:a.b.c.d -> a.b.c.d, in place. */
void unmap_v4(struct sockaddr_storage *ss);

/*
 * The data of m's first control message of level and type, when it holds at
 * least len bytes inside msg_controllen; NULL otherwise. A cmsg_len that runs
 * past msg_controllen (MSG_CTRUNC) or is too short ends the walk: nothing
 * after it can be located.
 */
const void *cmsg_find(const struct msghdr *m, int level, int type, size_t len);

int setopt_int(int fd, int level, int opt, int val);
/* IP(V6)_TRANSPARENT: bind to, and accept for, non-local addresses. */
int set_transparent(int fd, int family);
/* close() will then send RST and drop unsent data instead of FIN. */
void set_rst_on_close(int fd);

/* A source other than the gateway's is the client's: the families must match. */
bool upstream_source_fits(enum proxy_upstream_source src, const struct sockaddr_storage *client,
			  const struct sockaddr_storage *dst);
/*
 * Socket options and bind() of an upstream socket (type SOCK_STREAM or
 * SOCK_DGRAM) for upstream-source src. 0 or -1 (errno set).
 */
int upstream_bind(int fd, int type, enum proxy_upstream_source src,
		  const struct sockaddr_storage *client);

#endif
