/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The classifier: the TC program on every configured interface, loaded with
 * the current rules in every mode, as the eBPF backend's mechanism or as the
 * probe that records the flows nft steers. steer/ uses it through these ops
 * alone; bpf/classifier.c implements them over the loader.
 */
#ifndef STEER_CLASSIFIER_H
#define STEER_CLASSIFIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/proxy.h"
#include "steer/config.h"
#include "steer/flow_events.h"
#include "steer/strbuf.h"

struct backend_counter;

/* Which of the proxy's transparent listeners a socket is. */
enum listen_slot {
	LISTEN_TCP4 = 0,
	LISTEN_TCP6,
	LISTEN_UDP4,
	LISTEN_UDP6,
	LISTEN_SLOTS,
};

/*
 * What the classifier does with a new matching flow: EBPF steers it;
 * PROBE only records it (nft steers it); SPLIT steers a percentage of the
 * new flows (by a hash of the tuple) and probes the others.
 */
enum classifier_mode {
	CLASSIFIER_EBPF = 0,
	CLASSIFIER_PROBE,
	CLASSIFIER_SPLIT,
};

/* A kernel feature, as tried at start: yes, no, or not known (the try could not run). */
enum feature_answer {
	FEATURE_UNKNOWN = 0,
	FEATURE_NO,
	FEATURE_YES,
};

struct classifier_run_stat {
	const char *program;
	uint64_t run_ns, runs;
};

struct classifier_features {
	bool tcx;       /* attached as TCX links (else clsact filters) */
	bool sk_lookup; /* the sk_lookup program is attached to the network namespace */
	enum feature_answer kernel_tcx;       /* the kernel has TCX links (Linux >= 6.6) */
	enum feature_answer reuseport_assign; /* bpf_sk_assign takes a SO_REUSEPORT listener (>= 6.6) */
	/*
	 * New flows reach the proxy's listener through the sk_lookup program,
	 * because the kernel refuses to assign a reuseport listener (or was
	 * told to, for tests). May turn true while running: the classifier
	 * learns it at the first refusal when the start probe could not tell.
	 */
	bool listener_via_lookup;
	char probe_note[128]; /* why reuseport_assign is unknown ("" otherwise) */
};

struct classifier {
	const struct classifier_ops *ops;
};

/* One interface's attachment, as made: its ifindex then, and the mechanism. */
struct classifier_attachment {
	int ifindex;
	bool tcx; /* a TCX link (else a clsact filter) */
};

/* What the classifier noted of an offloaded flow, per direction. */
struct classifier_splice_end {
	struct {
		bool fin, rst;    /* a FIN / an RST went this way */
		bool syn;         /* a SYN went this way: a new connection on the tuple, the flow is over */
		uint32_t end_seq; /* untranslated: after the last FIN or RST segment's payload */
		uint64_t last_ns; /* CLOCK_MONOTONIC of the last packet translated (0: none yet) */
		uint64_t packets; /* taken for translation (a segment that failed to translate too) */
		uint64_t bytes;   /* payload translated, retransmissions included */
	} dir[2];
};

/* Each returns 0 or -errno (a message printed) unless said otherwise. */
struct classifier_ops {
	/*
	 * Load for cfg's settings (mark, proxy port, on-proxy-down, ...) in
	 * probe mode, nothing attached, no rules. NULL with a message printed.
	 */
	struct classifier *(*open)(const struct steer_config *cfg);
	/* Start classifying an interface's ingress, as a client-facing (ret=false) or return interface. */
	int (*attach)(struct classifier *c, const char *ifname, bool ret);
	/*
	 * Stop classifying an interface (everything attached to it); 0 if
	 * nothing was. An interface that is gone leaves nothing to remove (its
	 * filters and TCX links went with it): only the record is dropped.
	 */
	int (*detach)(struct classifier *c, const char *ifname);
	/* What is attached under ifname (the interface may have gone since); false: nothing. */
	bool (*attachment)(struct classifier *c, const char *ifname, struct classifier_attachment *out);
	/* Swap to these rules atomically; -1 with a reason in err, the old rules stay. */
	int (*set_rules)(struct classifier *c, const struct rule *rules, size_t nrules, struct strbuf *err);
	/* percent (0..100) is read for CLASSIFIER_SPLIT only. */
	int (*set_mode)(struct classifier *c, enum classifier_mode mode, int percent);
	/*
	 * The built-in proxy is (not) at its connection limit: new flows meet
	 * on-proxy-down instead of its listeners. Safe from any thread.
	 */
	void (*set_proxy_full)(struct classifier *c, bool full);
	/* The proxy's listener for a slot; fd -1 empties it. */
	int (*set_listener)(struct classifier *c, enum listen_slot slot, int fd);
	/* One of the gateway's own addresses (family 4 or 6), never steered. */
	int (*local_addr)(struct classifier *c, int family, const uint8_t *addr, bool add);
	/* Fill up to max named counters; returns how many (0 when they cannot be read). */
	size_t (*counters)(struct classifier *c, struct backend_counter *out, size_t max);
	/* The flow records, opened on the first call; NULL with a message printed. */
	struct flow_events *(*events)(struct classifier *c);
	void (*features)(struct classifier *c, struct classifier_features *out);
	/*
	 * The programs' own run time: run_stats_enable starts the kernel's
	 * accounting (0 or -errno; may be NULL), run_stats fills up to max
	 * programs and returns how many (0 while the accounting is off).
	 */
	int (*run_stats_enable)(struct classifier *c);
	size_t (*run_stats)(struct classifier *c, struct classifier_run_stat *out, size_t max);
	/*
	 * Offload (docs/offload.md): install the two entries (one per
	 * direction, keyed by the packet's own tuple) that make the classifier
	 * translate an offloaded flow's packets and forward them itself. Both
	 * or neither: -EEXIST (an entry for the tuple exists), -ENOSPC, ...
	 * Safe from any thread.
	 */
	int (*splice_add)(struct classifier *c, const struct proxy_splice *sp);
	/*
	 * Read what the classifier noted of the flow's end ([SPLICE_UP],
	 * [SPLICE_DOWN]); with remove, delete both entries too. -ENOENT when
	 * there are none.
	 */
	int (*splice_end)(struct classifier *c, const struct proxy_splice *sp, bool remove,
			  struct classifier_splice_end *out);
	/* Detach everything, then free. */
	void (*close)(struct classifier *c);
};

/* The eBPF classifier (bpf/classifier.c). */
extern const struct classifier_ops bpf_classifier_ops;

#endif
