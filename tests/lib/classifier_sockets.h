/* SPDX-License-Identifier: GPL-2.0-only */
/* Real sockets for the classifier tests: listeners, connected pairs, TIME_WAIT. Failures exit. */
#ifndef STEER_TESTS_CLASSIFIER_SOCKETS_H
#define STEER_TESTS_CLASSIFIER_SOCKETS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Fill ss with ip:port (v4 or v6 by the text); returns the address length. */
int ct_sa(struct sockaddr_storage *ss, const char *ip, uint16_t port);

/* A bound (and for TCP listening) socket, IP_TRANSPARENT when asked. */
int ct_sock(int type, const char *ip, uint16_t port, bool transparent);

/* A UDP socket bound to ip:port and connected to ip:peer. */
int ct_udp_connected(const char *ip, uint16_t port, uint16_t peer);

/* A connected TCP pair: client bound to cip:cport, connected to a listener at sip:sport. */
struct ct_pair {
	int client, accepted, listener;
};
struct ct_pair ct_tcp_pair(const char *cip, uint16_t cport, const char *sip, uint16_t sport);
void ct_pair_close(struct ct_pair *p);

/* A time-wait socket on the gateway side: 127.0.0.1:7777 <-> 127.0.0.1:peer (the peer closed last). */
void ct_time_wait(uint16_t peer);

/* The socket's SO_COOKIE. */
uint64_t ct_sock_cookie(int fd);

#endif
