// SPDX-License-Identifier: GPL-2.0-only
#include "tests/lib/classifier_sockets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

int ct_sa(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		inet_pton(AF_INET6, ip, &a->sin6_addr);
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	inet_pton(AF_INET, ip, &a->sin_addr);
	return sizeof(*a);
}

int ct_sock(int type, const char *ip, uint16_t port, bool transparent)
{
	struct sockaddr_storage ss;
	int len = ct_sa(&ss, ip, port), one = 1;
	int fam = ss.ss_family;
	int s = socket(fam, type, 0);

	if (s < 0)
		goto err;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fam == AF_INET6)
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (transparent &&
	    setsockopt(s, fam == AF_INET ? SOL_IP : SOL_IPV6, fam == AF_INET ? IP_TRANSPARENT : IPV6_TRANSPARENT,
		       &one, sizeof(one)) < 0)
		goto err;
	if (bind(s, (struct sockaddr *)&ss, len) < 0)
		goto err;
	if (type == SOCK_STREAM && listen(s, 64) < 0)
		goto err;
	return s;
err:
	fprintf(stderr, "socket %s:%u: %s\n", ip, port, strerror(errno));
	exit(1);
}

int ct_udp_connected(const char *ip, uint16_t port, uint16_t peer)
{
	struct sockaddr_storage ss;
	int u = ct_sock(SOCK_DGRAM, ip, port, false);
	int len = ct_sa(&ss, ip, peer);

	if (connect(u, (struct sockaddr *)&ss, len) < 0)
		perror("udp connect");
	return u;
}

struct ct_pair ct_tcp_pair(const char *cip, uint16_t cport, const char *sip, uint16_t sport)
{
	struct sockaddr_storage ss;
	struct ct_pair p;
	int len, one = 1;

	p.listener = ct_sock(SOCK_STREAM, sip, sport, false);
	len = ct_sa(&ss, cip, cport);
	p.client = socket(ss.ss_family, SOCK_STREAM, 0);
	setsockopt(p.client, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(p.client, (struct sockaddr *)&ss, len) < 0) {
		perror("bind client");
		exit(1);
	}
	len = ct_sa(&ss, sip, sport);
	if (connect(p.client, (struct sockaddr *)&ss, len) < 0) {
		perror("connect");
		exit(1);
	}
	p.accepted = accept(p.listener, NULL, NULL);
	if (p.accepted < 0) {
		perror("accept");
		exit(1);
	}
	return p;
}

void ct_pair_close(struct ct_pair *p)
{
	close(p->client);
	close(p->accepted);
	close(p->listener);
}

void ct_time_wait(uint16_t peer)
{
	struct ct_pair p = ct_tcp_pair("127.0.0.1", 7777, "127.0.0.1", peer);
	char tmp[16];

	close(p.client);
	while (read(p.accepted, tmp, sizeof(tmp)) > 0)
		;
	close(p.accepted);
	close(p.listener);
	usleep(100 * 1000);
}

uint64_t ct_sock_cookie(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len);
	return c;
}
