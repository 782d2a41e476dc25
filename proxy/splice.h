/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Offload (docs/offload.md): what the proxy reads of a frozen TCP socket,
 * and the plan that joins two of them, the accepted one (A) and the upstream
 * one (B), into the per-direction translation the classifier applies.
 */
#ifndef STEER_PROXY_SPLICE_H
#define STEER_PROXY_SPLICE_H

#include <stdbool.h>
#include <stdint.h>

#include "proxy/proxy.h"

/* One socket in repair mode, as read at handoff. */
struct tcp_snapshot {
	uint32_t snd, rcv;       /* TCP_QUEUE_SEQ: the next byte it sends, the next it expects */
	uint32_t snd_wnd;        /* the peer's window (bytes) */
	uint32_t max_window;     /* the largest window the peer offered */
	uint32_t rcv_wnd, rcv_wup; /* the window it announced, and where that was from */
	uint8_t snd_wscale;      /* the shift of the windows the peer sends */
	uint8_t rcv_wscale;      /* the shift of the windows it sends */
	uint8_t options;         /* tcpi_options */
	uint32_t snd_mss;        /* the payload it sends per segment */
	uint32_t advmss;         /* the largest payload it told the peer to send (tcpi_advmss) */
	int64_t ts_clock_offset; /* its TSval clock minus CLOCK_MONOTONIC ms */
	uint64_t bytes_received; /* tcpi_bytes_received: what came in, in order */
};

/* A handoff in its grace: the translation written, the sockets frozen, as they were read. */
struct splice_hold {
	struct proxy_splice sp;
	struct tcp_snapshot a, b;
};

/* Why a flow past offload-after is not handed over now. */
enum splice_refusal {
	SPLICE_GO = 0,
	SPLICE_NOT_QUIET,      /* bytes unsent, unacknowledged or unread: try again later */
	SPLICE_EDGE,           /* a right edge would shrink: try again later */
	SPLICE_TIMESTAMPS,     /* on one leg only, or microsecond TSvals: never */
	SPLICE_ECN,            /* ECN on one leg only: never */
	SPLICE_WINDOW,         /* a window the other leg's scale cannot carry: never */
	SPLICE_MSS,            /* one leg sends larger segments than the other's peer takes: never */
	SPLICE_TAKEN,          /* not the plan's: the tuple's last offloaded flow still has its entries: later, uncounted */
};

/*
 * The translation for A (accepted: client <-> gateway) and B (upstream:
 * gateway <-> server), both quiet, into sp->dir[] (the tuple and byte
 * counts are the caller's). frozen: the classifier is dropping the peers'
 * data (a freeze). SPLICE_GO, or why not.
 */
enum splice_refusal splice_plan(const struct tcp_snapshot *a, const struct tcp_snapshot *b, bool frozen,
				struct proxy_splice *sp);
/*
 * The refusals that options, ECN and segment sizes decide (TCP_INFO alone:
 * no repair mode), which no wait changes: checked before a freeze, whose
 * cost would buy nothing. SPLICE_GO or the refusal; splice_plan makes them too.
 */
enum splice_refusal splice_options(const struct tcp_snapshot *a, const struct tcp_snapshot *b);

#endif
