/* SPDX-License-Identifier: GPL-2.0-only */
/* Socket helpers shared by the TCP and UDP relays, and the upstream-source bind. */
#include "proxy/sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

socklen_t sa_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

uint16_t sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* Cannot happen on a v6only socket; addresses from elsewhere may be mapped. */
void unmap_v4(struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in sin;

	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = sin6->sin6_port;
	memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &sin, sizeof(sin));
}

const void *cmsg_find(const struct msghdr *m, int level, int type, size_t len)
{
	const unsigned char *p = m->msg_control;
	size_t room = p ? m->msg_controllen : 0;

	while (room >= sizeof(struct cmsghdr)) {
		const struct cmsghdr *c = (const struct cmsghdr *)p;
		size_t clen = c->cmsg_len, step;

		if (clen < CMSG_LEN(0) || clen > room)
			return NULL;
		if (c->cmsg_level == level && c->cmsg_type == type)
			return clen >= CMSG_LEN(len) ? CMSG_DATA(c) : NULL;
		step = CMSG_ALIGN(clen);
		if (step >= room)
			return NULL;
		p += step;
		room -= step;
	}
	return NULL;
}

int setopt_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val));
}

int set_transparent(int fd, int family)
{
	if (family == AF_INET)
		return setopt_int(fd, SOL_IP, IP_TRANSPARENT, 1);
	return setopt_int(fd, SOL_IPV6, IPV6_TRANSPARENT, 1);
}

void set_rst_on_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

bool upstream_source_fits(enum proxy_upstream_source src, const struct sockaddr_storage *client,
			  const struct sockaddr_storage *dst)
{
	return src == PROXY_SRC_GATEWAY || client->ss_family == dst->ss_family;
}

/*
 * client:    IP_TRANSPARENT + SO_REUSEADDR, bind(client ip:port)
 * client-ip: IP_TRANSPARENT, bind(client ip:0). TCP sets
 *            IP_BIND_ADDRESS_NO_PORT: the port is chosen at connect() time
 *            against the full 4-tuple. UDP picks its port at bind() and sets
 *            SO_REUSEADDR as for client.
 * gateway:   no bind; the routing table picks the source
 */
int upstream_bind(int fd, int type, enum proxy_upstream_source src,
		  const struct sockaddr_storage *client)
{
	struct sockaddr_storage ss = *client;
	bool tcp = type == SOCK_STREAM;

	switch (src) {
	case PROXY_SRC_GATEWAY:
		return 0;
	case PROXY_SRC_CLIENT:
		if (set_transparent(fd, ss.ss_family) < 0 || setopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0)
			return -1;
		break;
	case PROXY_SRC_CLIENT_IP:
		if (set_transparent(fd, ss.ss_family) < 0 ||
		    (tcp ? setopt_int(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
			 : setopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1)) < 0)
			return -1;
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = 0;
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = 0;
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	return bind(fd, (struct sockaddr *)&ss, sa_len(&ss));
}
