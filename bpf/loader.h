/* SPDX-License-Identifier: GPL-2.0-only */
/* The classifier's loader (bpf/classifier.c builds on it): skeleton lifecycle, attach, map updates. */
#ifndef STEER_BPF_LOADER_H
#define STEER_BPF_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "bpf/steer_abi.h"
#include "bpf/rules_compile.h"

struct steer_bpf;

struct bpf_settings {
	uint32_t mark;        /* OR-ed into skb->mark of steered packets */
	bool fail_closed;     /* on-proxy-down fail-closed */
	bool external_proxy;  /* find the listener by socket lookup on proxy_port */
	uint16_t proxy_port;  /* host byte order */
	uint32_t lpm_entries; /* max_entries of each LPM trie (0 = default) */
	uint32_t udp_idle_timeout_ms; /* a UDP flow idle this long is new again (0 = 60 s) */
	uint32_t events_bytes; /* size of the event ring (0 = STEER_EVENTS_BYTES); rounded
				  up to a power of two of at least a page */
	bool offload;          /* offload after BYTES: the offloaded flows' path is in the programs */
};

/*
 * Open and load the object with these settings, and attach the sk_lookup
 * program steer_lookup to the caller's network namespace (a link closed by
 * steer_bpf_destroy; a failure there is only a warning). Returns NULL and
 * prints a one-line reason to stderr (e.g. verifier rejected, not root).
 */
struct steer_bpf *steer_bpf_load(const struct bpf_settings *s);

/*
 * What steer_bpf_load found the kernel offers (bpf/probe.h's PROBE_*), and
 * the mechanism it chose: with via_lookup, new flows reach the listener
 * through steer_lookup (the kernel refuses to assign a SO_REUSEPORT listener).
 */
struct steer_bpf_features {
	int tcx;              /* TCX links (Linux >= 6.6); else clsact filters */
	int reuseport_assign; /* bpf_sk_assign takes a SO_REUSEPORT listener (>= 6.6) */
	bool sk_lookup;       /* steer_lookup is attached to the network namespace */
	bool via_lookup;      /* read live: the classifier may learn it at the first refusal */
	char probe_note[128]; /* why reuseport_assign is unknown */
	char lookup_error[64]; /* why sk_lookup is not attached */
};
void steer_bpf_features(struct steer_bpf *b, struct steer_bpf_features *out);

/* The built-in proxy is (not) at its connection limit: new flows meet on-proxy-down. Any thread. */
void steer_bpf_set_proxy_full(struct steer_bpf *b, bool full);

/* Install compiled rules into the idle generation, then flip to it. */
int steer_bpf_set_rules(struct steer_bpf *b, const struct compiled_rules *c);

/* Put a listener socket fd into a socket-map slot (enum steer_listen_slot). */
int steer_bpf_set_listener(struct steer_bpf *b, int slot, int fd);

/* Add/remove one of the gateway's own addresses (family 4 or 6). */
int steer_bpf_local_addr(struct steer_bpf *b, int family, const uint8_t *addr, bool add);

/*
 * Attach the client-facing program (ret=false) or the return-path program
 * (ret=true) to an interface's ingress: a TCX link where the kernel has
 * TCX, otherwise a clsact filter. Returns 0 or -errno (message printed).
 */
int steer_bpf_attach(struct steer_bpf *b, const char *ifname, bool ret);

/* Detach what steer_bpf_attach attached to an interface (both programs); 0 if nothing was. */
int steer_bpf_detach(struct steer_bpf *b, const char *ifname);

/* Whether the programs are attached as TCX links (false: clsact filters, or nothing attached). */
bool steer_bpf_attached_tcx(struct steer_bpf *b);

/*
 * What steer_bpf_attach attached under ifname: the ifindex it was (the
 * interface may have gone since) and whether as a TCX link. false: nothing.
 */
bool steer_bpf_attachment(struct steer_bpf *b, const char *ifname, int *ifindex, bool *tcx);

/* Sum the per-CPU counters into out[STEER_C_MAX]. */
int steer_bpf_counters(struct steer_bpf *b, uint64_t out[STEER_C_MAX]);
int steer_bpf_counter(struct steer_bpf *b, uint32_t idx, uint64_t *out);

/*
 * The kernel's run-time accounting of BPF programs (BPF_STATS_RUN_TIME), on
 * while b lives: 0 or -errno (it needs CAP_SYS_ADMIN and Linux >= 5.8).
 * It costs two clock reads per program run, so only the daemon asks.
 */
int steer_bpf_enable_stats(struct steer_bpf *b);
struct steer_bpf_run_stat {
	const char *program;
	uint64_t run_ns, runs;
};
/* Per program (steer_ingress, steer_return, steer_lookup); 0 while the accounting is off. */
size_t steer_bpf_run_stats(struct steer_bpf *b, struct steer_bpf_run_stat *out, size_t max);

/* Detach everything attached, then free. Safe with NULL. */
void steer_bpf_destroy(struct steer_bpf *b);

/*
 * Run mode (enum steer_mode), effective for the next packet: EBPF steers;
 * PROBE assigns nothing and only reports new flows (nft steers them); SPLIT
 * steers the new flows whose steer_flow_bucket() < split_percent (0..100;
 * ignored for the other modes). Returns 0 or -EINVAL (message printed).
 */
int steer_bpf_set_mode(struct steer_bpf *b, enum steer_mode mode, int split_percent);

/*
 * Flow events (struct steer_event, see steer_abi.h). events_open sets up the
 * reader; cb runs from steer_bpf_events_consume, once per record, in the
 * caller's thread. The kernel batches wakeups (only when a quarter of the
 * ring is full), so a consumer must watch events_fd (an epoll fd: readable
 * when woken) AND call consume on a short timer. consume never blocks and
 * returns the number of records handled, or -errno. Records the kernel could
 * not write are counted in STEER_C_EVENTS_LOST (steer_bpf_counters).
 * events_fd/consume return -EBADF before events_open; open twice is -EBUSY.
 */
typedef void (*steer_event_cb)(void *ctx, const struct steer_event *ev);
int steer_bpf_events_open(struct steer_bpf *b, steer_event_cb cb, void *ctx);
int steer_bpf_events_fd(struct steer_bpf *b);
int steer_bpf_events_consume(struct steer_bpf *b);

/* Used by the classifier tests: the program fds for BPF_PROG_TEST_RUN. */
int steer_bpf_prog_fd(struct steer_bpf *b, bool ret);
/* The sk_lookup program (steer_lookup), attached by steer_bpf_load to the
 * caller's network namespace; a map's fd by name (-ENOENT); whether the
 * sk_lookup link is in place (steer_bpf_load warns when it is not). */
int steer_bpf_lookup_prog_fd(struct steer_bpf *b);
int steer_bpf_map_fd(struct steer_bpf *b, const char *name);
bool steer_bpf_lookup_attached(struct steer_bpf *b);

/*
 * Offloaded flows in the steer_offload map (bpf/offload_ctl.c keeps it): the
 * classifier skips the map's lookup while it is 0. Any thread.
 */
void steer_bpf_offload_live(struct steer_bpf *b, int delta);

/*
 * Remove steer's filters left on every interface by a daemon that did not
 * exit cleanly (clsact fallback only; TCX links die with their process).
 * Returns the number removed, or -errno.
 */
int steer_bpf_cleanup_stale(void);

#endif
