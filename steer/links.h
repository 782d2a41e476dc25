/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The configured interfaces as the kernel has them now. A TC program or TCX
 * link is attached to an ifindex and dies with its interface; an interface
 * deleted and created again under its name (a VLAN, PPP or veth whose link
 * restarts) is a new ifindex without it. So steer follows the link
 * notifications (RTM_NEWLINK, RTM_DELLINK) and attaches the classifier to a
 * configured interface whenever it (re)appears, logs it and counts it. nft
 * needs none of this: its sets hold names.
 */
#ifndef STEER_LINKS_H
#define STEER_LINKS_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "steer/classifier.h"
#include "steer/config.h"

/*
 * Whether ifname carries Ethernet frames (or is the loopback), which the
 * classifier parses; *type (if not NULL): its ARPHRD_* link type, -1 when it
 * cannot be read, which counts as yes (attach, and let the counters speak).
 */
bool link_is_ethernet(const char *ifname, int *type);

struct link_info {
	char name[IF_NAMESIZE];
	bool ret;          /* a return-interface (else client-facing) */
	int ifindex;       /* 0: it does not exist now (waited for) */
	bool attached;     /* the classifier is on this ifindex */
	bool tcx;          /* attached as a TCX link (else a clsact filter) */
	time_t since;      /* when ifindex or attached last changed (start, attach, loss) */
	uint64_t attaches; /* times the classifier was attached to it, the start's included */
	uint64_t losses;   /* times it went away (deleted, or renamed) after steer had seen it */
};

struct links;

/*
 * Subscribe to link notifications: before the classifier attaches, so that
 * no change falls between. NULL with a message printed.
 */
struct links *links_open(void);

/*
 * Take cfg's interfaces (reload cannot change them) and
 * what classifier c (NULL: none loaded) attached at start, then bring every
 * interface up to date: attach where the classifier is missing.
 */
void links_start(struct links *l, const struct steer_config *cfg, struct classifier *c);

/* Poll it for readability, then call links_read. */
int links_fd(const struct links *l);

/*
 * Act on the pending notifications (non-blocking). When the kernel dropped
 * some, every configured interface is looked at again. Returns how many
 * interfaces changed.
 */
int links_read(struct links *l);

/* The configured interfaces, client-facing first; NULL past the last. */
const struct link_info *links_get(const struct links *l, size_t i);

/* "attached", "waiting" (it does not exist) or "unattached" (it exists, the classifier is not on it). */
const char *link_state(const struct link_info *i);

/* "client" or "return" */
const char *link_role(const struct link_info *i);

/* Times notifications were lost and every interface was looked at again. */
uint64_t links_rescans(const struct links *l);

/* Safe with NULL. Detaches nothing: the classifier's close does. */
void links_close(struct links *l);

#endif
