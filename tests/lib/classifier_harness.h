/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Classifier tests: crafted packets through BPF_PROG_TEST_RUN against the
 * real object loaded by steer_bpf_load, with rules compiled by
 * rules_compile, in a private network namespace with real sockets.
 *
 * Every case asserts the verdict (retval), the skb mark (ctx_out) and that
 * exactly one counter moved, by one, and which.
 *
 * bpf_sk_assign under BPF_PROG_TEST_RUN: verified on this kernel (6.18) that
 * the helper refuses the socket there (the test-run skb is not "at tc
 * ingress"), so a packet that reaches the assign step ends in
 * STEER_C_ASSIGN_FAILED with the fail-open/fail-closed verdict and the mark
 * untouched. The tests therefore prove that the program got to the assign
 * step with a socket (a listener from the sockmap or from the external-proxy
 * lookup, or the flow's own established socket): every other outcome has its
 * own counter. If a kernel ever accepts the assign in test-run, the same
 * cases accept the success outcome instead (counter STEERED_*, mark set) and
 * say so. The real delivery is proven by the network-namespace tests.
 *
 * Flow events: every run drains the event ring, and every case also checks
 * that at most one event came out, that it fits the counter that moved
 * (steered → FLOW/EBPF, probed → FLOW/NFT, fail-closed drop → DROP with the
 * counter as reason, nothing else reports) and that its time lies within the
 * run. The ct_expect_*_ev variants also check the exact count and the tuple.
 *
 * Marked-only outcomes (a TIME_WAIT SYN, whose steering is finished by the
 * kernel's listener lookup; fragments of steered UDP datagrams) need no
 * assign and are asserted exactly (X_MARK).
 */
#ifndef STEER_TESTS_CLASSIFIER_HARNESS_H
#define STEER_TESTS_CLASSIFIER_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/loader.h"
#include "bpf/rules_compile.h"
#include "tests/lib/classifier_packets.h"
#include "tests/lib/classifier_runner.h"
#include "tests/lib/classifier_sockets.h"

#define MARK 0x1000000u
#define PROXY_PORT 15001

extern const char *const ct_counter_names[STEER_C_MAX];

/* One loaded object, its two classifier programs and the listeners it holds. */
struct inst {
	struct steer_bpf *b;
	int fd[2];
	int fail_closed;
	bool no_drain; /* leave events in the ring (ring-full case) */
	int lfd[STEER_LISTEN_MAX]; /* ct_set_listeners' sockets, closed by ct_destroy */
};

/* Load with MARK and PROXY_PORT, events open. */
struct inst ct_load(bool fail_closed, bool external);
/* Load with these settings; events open only when asked. */
struct inst ct_load_settings(struct bpf_settings s, bool events);
/* ct_load(false, false), the rules A installed (check "name"), the four listeners in the sockmap. */
struct inst ct_ready(const char *name);
/* Destroy the object and close the listeners ct_set_listeners made. */
void ct_destroy(struct inst *in);

/*
 * Rules A:
 *   0: steer tcp dport 80,8000-8999 dst 10.0.0.0/8,2001:db8::/32 src 192.168.0.0/16,fd00::/8
 *   1: steer udp dport 53
 *   2: bypass dst 10.0.2.5/32,2001:db8::5/128
 *   3: steer tcp dport 7777 dst 127.0.0.0/8       (TIME_WAIT cases)
 *   4: steer tcp dport 443 src 172.16.0.0/12      (a v4-only src: v6 never matches it)
 */
#define CT_RULES_A_N 5
const struct rule *ct_rules_a(void);
/* Rules B: only tcp dport 81. */
#define CT_RULES_B_N 1
const struct rule *ct_rules_b(void);
/* Compile and install; 0 or -1. */
int ct_install(struct inst *in, const struct rule *r, size_t n);
/* ct_install of rules A, checked under this name. */
void ct_install_rules_a(struct inst *in, const char *name);

/* TCP4, TCP6, UDP4, UDP6 transparent sockets on PROXY_PORT into the sockmap (one check each). */
void ct_set_listeners(struct inst *in);
/* Every sockmap slot emptied (the sockets stay open). */
void ct_clear_listeners(struct inst *in);

/* Events drained after the last run. */
#define CT_MAX_EV 1024
extern struct steer_event ct_evs[CT_MAX_EV];
extern int ct_nev;
void ct_ev_cb(void *ctx, const struct steer_event *e);
int ct_drain(struct inst *in);
uint64_t ct_mono_ns(void);
bool ct_counters(struct inst *in, uint64_t c[STEER_C_MAX]);

enum {
	X_STEER = 1000, /* reached the listener assign step (see header comment) */
	X_STEER_TW,     /* same, via the TIME_WAIT SYN path */
	X_EST,          /* reached assign with the flow's own socket (client program) */
	X_RET,          /* reached assign with the upstream socket (return program) */
	X_EINVAL,       /* the kernel refuses the input in test-run */
	X_MARK = 2000,  /* X_MARK + counter: that counter, verdict OK, the mark set (no assign needed) */
};

/* One test run of a frame: the verdict, the mark and the counters' deltas. 0 or -errno. */
int ct_run_pkt(struct inst *in, bool ret, const uint8_t *pkt, size_t len, uint32_t mark_in, int *retval,
	       uint32_t *mark_out, uint64_t delta[STEER_C_MAX]);
/* Does ev carry this spec's tuple? */
bool ct_ev_tuple_is(const struct steer_event *e, const struct spec *s);

/* The frame through the client program (ret=false) or the return program moves counter/outcome want. */
void ct_expect(struct inst *in, bool ret, const char *name, const uint8_t *pkt, size_t len, int want);
void ct_expect_spec(struct inst *in, bool ret, const char *name, const struct spec *s, int want);
/* ct_expect_spec, and exactly nwant events (the one with the spec's tuple); nwant -1: not checked. */
void ct_expect_ev(struct inst *in, bool ret, const char *name, const struct spec *s, int want, int nwant);
/* A table of specs, each through the client program. */
struct ct_match {
	const char *name;
	struct spec s;
	int want;
};
void ct_expect_matches(struct inst *in, const struct ct_match *m, size_t n);
#define CT_EXPECT_ALL(in, m) ct_expect_matches(in, m, sizeof(m) / sizeof((m)[0]))
/* A fragment: the built spec with this IP id and (ulen != 0) UDP length. */
void ct_expect_frag(struct inst *in, bool ret, const char *name, struct spec s, uint32_t id, uint16_t ulen,
		    int want);
void ct_expect_frag_ev(struct inst *in, bool ret, const char *name, struct spec s, uint32_t id, uint16_t ulen,
		       int want, int nwant);
/* An ICMP error (never a new flow: no event); _both on the client program, then the return program. */
void ct_expect_icmp(struct inst *in, bool ret, const char *name, const struct icmp_spec *s, int want);
void ct_expect_icmp_both(struct inst *in, const char *name, const struct icmp_spec *s, int want);

/* Every sockmap slot emptied: v4/v6 TCP and v4 UDP new flows move want; an unmatched SYN still passes. */
void ct_expect_no_listener(struct inst *in, const char *tag, int want);

/* The user-space split bucket of a spec's tuple (steer_abi.h's hash). */
uint32_t ct_bucket(const struct spec *s);
/*
 * Tuple number i of 400: v4 tcp, v6 tcp, v4 udp, v6 udp (100 each), all
 * matching rules A; sbuf/dbuf (64 bytes) hold its addresses; salt: other ports.
 */
struct spec ct_split_tuple(int i, char *sbuf, char *dbuf, int salt);

#endif
