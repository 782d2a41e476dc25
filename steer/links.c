// SPDX-License-Identifier: GPL-2.0-only
/*
 * Each configured interface is brought up to date by one function,
 * reconcile(), from what the kernel says now (if_nametoindex), never from
 * what a notification said: notifications only say which interfaces to look
 * at, so a late, repeated or lost one changes nothing. The daemon's loop is
 * the only thread here (status and metrics read it from the same loop).
 */
#include "steer/links.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "steer/log.h"
#include "steer/nl.h"

#define LINKS_MAX (2 * STEER_MAX_IFACES)

struct link_entry {
	struct link_info info;
	int failed_ifindex; /* attaching to it failed: tried again when it comes up */
	bool was_up;
	bool dirty; /* a notification named it */
};

struct links {
	struct nl_sock s;
	struct classifier *c;
	struct link_entry e[LINKS_MAX];
	size_t n;
	uint64_t rescans;
};

struct links *links_open(void)
{
	struct links *l = calloc(1, sizeof(*l));
	int err;

	if (!l) {
		fprintf(stderr, "steer: out of memory\n");
		return NULL;
	}
	err = nl_open(&l->s, NETLINK_ROUTE, RTMGRP_LINK, SOCK_NONBLOCK);
	if (err) {
		fprintf(stderr, "steer: cannot watch link changes: %s\n", strerror(-err));
		free(l);
		return NULL;
	}
	/* Every flag change of every interface is a notification: room against overruns, best effort. */
	nl_set_bufs(&l->s, 0, 1 << 20);
	return l;
}

static bool is_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool up = false;

	if (fd < 0)
		return false;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	up = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
	close(fd);
	return up;
}

static const char *role(const struct link_info *i)
{
	return i->ret ? "return-interface" : "interface";
}

/* The interface steer knew is gone: deleted, or renamed (then the classifier must leave it). */
static void lost(struct links *l, struct link_entry *e, time_t now)
{
	struct link_info *i = &e->info;
	char now_named[IF_NAMESIZE];

	if (l->c && i->attached)
		l->c->ops->detach(l->c, i->name);
	if (if_indextoname((unsigned)i->ifindex, now_named))
		fprintf(stderr, "steer: warning: %s %s (ifindex %d) was renamed to %s: not steered until an "
				"interface named %s appears\n", role(i), i->name, i->ifindex, now_named, i->name);
	else
		fprintf(stderr, "steer: warning: %s %s (ifindex %d) is gone: not steered until it reappears\n",
			role(i), i->name, i->ifindex);
	i->ifindex = 0;
	i->attached = false;
	i->losses++;
	i->since = now;
	e->failed_ifindex = 0;
}

static void attach(struct links *l, struct link_entry *e, time_t now)
{
	struct link_info *i = &e->info;
	struct classifier_attachment a;

	/* Drop the record of a vanished ifindex first: nothing of it is left in the kernel. */
	l->c->ops->detach(l->c, i->name);
	if (l->c->ops->attach(l->c, i->name, i->ret) < 0 || !l->c->ops->attachment(l->c, i->name, &a)) {
		if (e->failed_ifindex != i->ifindex)
			fprintf(stderr, "steer: %s %s (ifindex %d): the classifier could not be attached (above): "
					"not steered by it; tried again when the interface comes up\n",
				role(i), i->name, i->ifindex);
		e->failed_ifindex = i->ifindex;
		return;
	}
	i->attached = true;
	i->tcx = a.tcx;
	i->ifindex = a.ifindex;
	i->attaches++;
	i->since = now;
	e->failed_ifindex = 0;
	log_msg(LOG_INFO, "steer: %s %s (ifindex %d): classifier attached (%s), attach %llu\n", role(i),
		i->name, i->ifindex, i->tcx ? "tcx" : "clsact",
		(unsigned long long)i->attaches);
}

/* One interface as the kernel has it now. Returns whether anything changed. */
static bool reconcile(struct links *l, struct link_entry *e)
{
	struct link_info *i = &e->info;
	int now_index = (int)if_nametoindex(i->name);
	bool up = now_index && is_up(i->name), came_up = up && !e->was_up;
	int was_index = i->ifindex;
	uint64_t was_changes = i->attaches + i->losses;
	time_t now = time(NULL);

	e->was_up = up;
	if (i->ifindex && i->ifindex != now_index)
		lost(l, e, now);
	if (now_index && !i->ifindex) {
		i->ifindex = now_index;
		i->since = now;
		if (!l->c)
			log_msg(LOG_INFO, "steer: %s %s appeared (ifindex %d): nft matches it by name\n", role(i),
				i->name, i->ifindex);
	}
	if (l->c && i->ifindex && !i->attached && (e->failed_ifindex != i->ifindex || came_up))
		attach(l, e, now);
	return i->ifindex != was_index || i->attaches + i->losses != was_changes;
}

void links_start(struct links *l, const struct steer_config *cfg, struct classifier *c)
{
	time_t now = time(NULL);

	l->c = c;
	l->n = 0;
	for (int r = 0; r < 2; r++) {
		const char(*names)[IF_NAMESIZE] = r ? cfg->return_ifaces : cfg->ifaces;
		int n = r ? cfg->n_return_ifaces : cfg->n_ifaces;

		for (int k = 0; k < n && l->n < LINKS_MAX; k++) {
			struct link_entry *e = &l->e[l->n++];
			struct classifier_attachment a;

			memset(e, 0, sizeof(*e));
			snprintf(e->info.name, sizeof(e->info.name), "%s", names[k]);
			e->info.ret = r == 1;
			e->info.since = now;
			/* What steering_start attached counts as the first attach; reconcile checks it is current. */
			if (c && c->ops->attachment(c, e->info.name, &a)) {
				e->info.ifindex = a.ifindex;
				e->info.tcx = a.tcx;
				e->info.attached = true;
				e->info.attaches = 1;
			}
			e->was_up = is_up(e->info.name);
			reconcile(l, e);
		}
	}
}

int links_fd(const struct links *l)
{
	return mnl_socket_get_fd(l->s.mnl);
}

/* A notification names an interface by name and ifindex: either may be one of ours. */
static int on_link_msg(const struct nlmsghdr *nlh, void *data)
{
	struct links *l = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	const char *name = NULL;

	if ((nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*ifi))
		if (mnl_attr_get_type(attr) == IFLA_IFNAME && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			name = mnl_attr_get_str(attr);
	for (size_t k = 0; k < l->n; k++) {
		struct link_entry *e = &l->e[k];

		if ((name && !strcmp(name, e->info.name)) || (e->info.ifindex && e->info.ifindex == ifi->ifi_index))
			e->dirty = true;
	}
	return MNL_CB_OK;
}

int links_read(struct links *l)
{
	int err = nl_read_notifications(&l->s, on_link_msg, l), changed = 0;

	if (err == -ENOBUFS) {
		fprintf(stderr, "steer: warning: link notifications were lost (queue overrun): looking at every "
				"configured interface again\n");
		l->rescans++;
	} else if (err < 0) {
		fprintf(stderr, "steer: reading link notifications: %s\n", strerror(-err));
	}
	for (size_t k = 0; k < l->n; k++) {
		struct link_entry *e = &l->e[k];

		if (e->dirty || err == -ENOBUFS)
			changed += reconcile(l, e);
		e->dirty = false;
	}
	return changed;
}

const struct link_info *links_get(const struct links *l, size_t i)
{
	return l && i < l->n ? &l->e[i].info : NULL;
}

const char *link_state(const struct link_info *i)
{
	return i->attached ? "attached" : i->ifindex ? "unattached" : "waiting";
}

const char *link_role(const struct link_info *i)
{
	return i->ret ? "return" : "client";
}

uint64_t links_rescans(const struct links *l)
{
	return l ? l->rescans : 0;
}

void links_close(struct links *l)
{
	if (!l)
		return;
	nl_close(&l->s);
	free(l);
}

bool link_is_ethernet(const char *ifname, int *type)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), t = -1;

	if (fd >= 0) {
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
			t = ifr.ifr_hwaddr.sa_family;
		close(fd);
	}
	if (type)
		*type = t;
	return t < 0 || t == ARPHRD_ETHER || t == ARPHRD_LOOPBACK;
}
