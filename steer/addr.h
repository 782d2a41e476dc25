/* SPDX-License-Identifier: GPL-2.0-only */
/* Addresses, prefixes and port ranges: parsing and formatting. */
#ifndef STEER_ADDR_H
#define STEER_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct prefix {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t len;    /* prefix length in bits */
	uint8_t addr[16]; /* network byte order; IPv4 uses the first 4 bytes */
};

struct port_range {
	uint16_t lo, hi; /* inclusive, host byte order, 1..65535 */
};

/* Longest formatted "[v6addr]:port" plus NUL. */
#define ADDR_STR_MAX 64

/*
 * Parse "ADDR/LEN" or a bare address (full-length prefix). Host bits set
 * beyond LEN are an error. On error returns -1 and points *err at a static
 * message; *errpos is the offset in s where the problem starts.
 */
int prefix_parse(const char *s, struct prefix *out, const char **err, size_t *errpos);

/* Parse "N" or "LO-HI" (1..65535, LO <= HI). Same error convention. */
int port_range_parse(const char *s, struct port_range *out, const char **err, size_t *errpos);

/* Does prefix p contain the address addr (of p->family)? */
bool prefix_contains(const struct prefix *p, const uint8_t *addr);

/* "IP:PORT" or "[IP6]:PORT" from a sockaddr_in/in6; returns buf. */
char *sockaddr_format(const struct sockaddr *sa, char *buf, size_t len);

/* "ADDR/LEN" */
char *prefix_format(const struct prefix *p, char *buf, size_t len);

/*
 * Parse "IP:PORT" or "[IP6]:PORT" into a sockaddr_storage. Returns 0 or -1
 * (with a static message in *err).
 */
int sockaddr_parse(const char *s, struct sockaddr_storage *out, const char **err);

#endif
