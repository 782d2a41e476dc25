/* SPDX-License-Identifier: GPL-2.0-only */
/* Crafted frames for the classifier tests: TCP/UDP/other over IPv4/IPv6, ICMP errors. */
#ifndef STEER_TESTS_CLASSIFIER_PACKETS_H
#define STEER_TESTS_CLASSIFIER_PACKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "steer/rules.h"

/* Every frame is built into a buffer this large. */
#define CT_PKT_MAX 1024

enum {
	EXT_HOP = 1,
	EXT_DST = 2,
	EXT_RT = 4,
	EXT_FRAG = 8,
	EXT_AH = 16,
};

#define F_SYN 0x02
#define F_ACK 0x10
#define F_FIN 0x01

struct spec {
	int family;        /* 4 or 6 */
	int proto;         /* IPPROTO_TCP, IPPROTO_UDP, other */
	const char *src, *dst;
	uint16_t sport, dport;
	uint8_t flags;     /* TCP flags */
	int vlan;          /* one 802.1Q tag */
	int qinq;          /* two tags */
	int ipopt;         /* IPv4 option bytes (multiple of 4) */
	uint16_t frag;     /* IPv4: frag_off field (host order); IPv6: frag header offset field */
	int ext;           /* IPv6 extension headers (EXT_*), in this order: hop, dst, rt, frag, ah */
};

/* A TCP segment src:40000 -> dst:dport with these flags. */
struct spec ct_tcp(int family, const char *src, const char *dst, uint16_t dport, uint8_t flags);
struct spec ct_syn4(const char *src, const char *dst, uint16_t dport);
struct spec ct_syn6(const char *src, const char *dst, uint16_t dport);
/* A TCP segment between two local sockets (loopback flows of the socket cases). */
struct spec ct_tcp_flow(int family, const char *src, uint16_t sport, const char *dst, uint16_t dport,
			uint8_t flags);
struct spec ct_udp(int family, const char *src, const char *dst, uint16_t sport, uint16_t dport);

void ct_put16(uint8_t *p, uint16_t v);
/* Build a well-formed frame into buf (CT_PKT_MAX bytes); returns its length. */
size_t ct_build(const struct spec *s, uint8_t *buf);
/* Offset of the IP header in a built frame. */
size_t ct_l3_off(const struct spec *s);
/* Set a built UDP/TCP frame's IPv4 id / IPv6 fragment id and (ulen != 0) the UDP length field. */
void ct_patch_frag(uint8_t *buf, const struct spec *s, uint32_t id, uint16_t ulen);

/* An ICMP/ICMPv6 error quoting a packet src:sport -> dst:dport (sent by a socket at src). */
struct icmp_spec {
	int family;
	uint8_t type, code;
	uint32_t info;         /* the header's second word (MTU for frag needed / packet too big) */
	int proto;             /* the quoted packet's protocol */
	const char *src, *dst; /* the quoted packet's addresses; the error goes to src */
	uint16_t sport, dport;
	int cut_ip;            /* quoted IP header cut to this many bytes (0: whole; negative: into the ICMP header) */
	int cut_l4;            /* quoted L4 header cut to this many bytes (0: 8) */
	uint16_t inner_frag;   /* v4: the quoted frag_off; v6: a quoted fragment header with this field */
	bool inner_fraghdr;    /* v6: quote a fragment header */
	uint16_t outer_frag;   /* v4: the error's own frag_off */
	int vlan;
};

size_t ct_build_icmp(const struct icmp_spec *s, uint8_t *buf);

/* "10.0.0.0/8", "2001:db8::5" (a host prefix without /len). */
struct prefix ct_pfx(const char *s);

#endif
