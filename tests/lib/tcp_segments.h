/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One TCP segment of a test flow as a frame (Ethernet, IPv4/IPv6, TCP with
 * options and payload, its checksum right), and what the offload's
 * translation must make of it, computed independently of the BPF code
 * (test_offload.c, test_splice.c).
 */
#ifndef STEER_TESTS_TCP_SEGMENTS_H
#define STEER_TESTS_TCP_SEGMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/steer_abi.h"

#define SEG_FRAME_MAX 4096 /* a GSO segment of the forwarding tests */

/* One TCP segment of the test flow, client 40112 -> server 80 (or back, with reverse). */
struct seg {
	int family;
	int reverse;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint8_t opt[40];
	size_t optlen;
	size_t payload;
	size_t trailer; /* bytes after the IP datagram (Ethernet padding) */
};

#define CLI4 "198.18.1.2"
#define SRV4 "198.18.2.2"
#define CLI6 "fd00:1::2"
#define SRV6 "fd00:2::2"

void seg_put16(uint8_t *p, uint16_t v);
void seg_put32(uint8_t *p, uint32_t v);
uint32_t seg_get32(const uint8_t *p);
void seg_addrs(const struct seg *s, uint8_t *src, uint8_t *dst);
uint16_t seg_l4_sum(int family, const uint8_t *l3, const uint8_t *l4, size_t l4len);
size_t seg_l3_len(int family);
size_t seg_build(const struct seg *s, uint8_t *f);
void seg_opt_ts(uint8_t *o, uint32_t tsval, uint32_t tsecr);
void seg_ts(struct seg *s, uint32_t tsval, uint32_t tsecr);
void seg_sack(struct seg *s, const uint32_t *edges, int n);
struct steer_flow_key seg_key(const struct seg *s);
const uint8_t *seg_tcp(const struct seg *s, const uint8_t *f);
int seg_csum_ok(const struct seg *s, const uint8_t *f);
uint16_t seg_window(uint16_t win, int in, int out);
struct seg seg_translated(const struct seg *s, const struct steer_offload_dir *d);

#endif
