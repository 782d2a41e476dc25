// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a daemon that did not exit cleanly left of the classifier, found and
 * removed by `steer cleanup`: TCX links die with their process, but clsact
 * filters and the clsact qdisc that carried them stay. A filter is steer's
 * when it sits at steer's fixed handle and priorities and runs a program
 * whose name starts with "steer". The qdisc is removed only when nothing
 * else is attached to it (no filter of anyone's, ingress or egress): an
 * empty clsact does nothing, and one that holds another tool's filters is
 * that tool's.
 */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/loader.h"
#include "bpf/tc.h"
#include "steer/nl.h"
/*
 * 1 when program id is steer's, 0 when not, -EPERM when this process may
 * not look: turning an id into a descriptor takes CAP_SYS_ADMIN, which a
 * daemon user holding only steer's capabilities lacks.
 */
static int prog_is_steer(uint32_t id)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);
	int r = 0;

	if (fd < 0)
		return errno == EPERM ? -EPERM : 0;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		r = strncmp(info.name, "steer", 5) == 0;
	close(fd);
	return r;
}

static int count_filter(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWTFILTER)
		(*(int *)data)++;
	return MNL_CB_OK;
}

/* How many filters (anyone's) hang off ifindex's clsact at parent; -errno if it cannot tell. */
static int filters_at(struct nl_sock *n, int ifindex, uint32_t parent)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tcmsg *tcm;
	int count = 0, err;

	nlh->nlmsg_type = RTM_GETTFILTER;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	/* an interrupted dump is counted again from zero */
	err = nl_dump(n, nlh, count_filter, &count, NULL);
	if (err == 0)
		return count;
	return err;
}

/* After steer's stale filters left ifindex: its clsact qdisc too, when nothing else uses it. */
static void remove_empty_clsact(struct nl_sock *n, const char *ifname, int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int in = filters_at(n, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS));
	int out = filters_at(n, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS));
	int err;

	if (in != 0 || out != 0)
		return; /* another tool's filters, or cannot tell: leave it */
	libbpf_quiet_add(1);
	err = bpf_tc_hook_destroy(&hook);
	libbpf_quiet_add(-1);
	if (err && err != -ENOENT && err != -EINVAL)
		fprintf(stderr, "steer: removing the clsact qdisc from %s: %s\n", ifname, strerror(-err));
}

/*
 * Remove steer's filters from one interface's ingress; how many were. A
 * filter whose program this process may not name is left, counted in
 * *unknown, with one line.
 */
static int remove_filters(const struct if_nameindex *i, int *unknown)
{
	static const uint32_t prios[] = { STEER_TC_PRIO_INGRESS, STEER_TC_PRIO_RETURN };
	int removed = 0;

	for (size_t p = 0; p < sizeof(prios) / sizeof(prios[0]); p++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = i->if_index, .attach_point = BPF_TC_INGRESS);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, q, .handle = STEER_TC_HANDLE, .priority = prios[p]);
		int err;

		libbpf_quiet_add(1);
		err = bpf_tc_query(&hook, &q);
		libbpf_quiet_add(-1);
		if (err)
			continue; /* no clsact, or no filter there */
		err = prog_is_steer(q.prog_id);
		if (err == -EPERM) {
			fprintf(stderr, "steer: cleanup: the tc filter at steer's handle on %s runs program %u, "
					"which only CAP_SYS_ADMIN may name: left in place (run steer cleanup as root)\n",
				i->if_name, q.prog_id);
			(*unknown)++;
		}
		if (err != 1)
			continue; /* another program there, or cannot tell */
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, d, .handle = STEER_TC_HANDLE, .priority = prios[p]);
		libbpf_quiet_add(1);
		err = bpf_tc_detach(&hook, &d);
		libbpf_quiet_add(-1);
		if (err && err != -ENOENT) {
			fprintf(stderr, "steer: removing stale tc filter from %s: %s\n", i->if_name, strerror(-err));
			continue;
		}
		removed++;
	}
	return removed;
}

int steer_bpf_cleanup_stale(void)
{
	struct if_nameindex *ifs, *i;
	struct nl_sock n;
	int removed = 0, unknown = 0, r, err;

	libbpf_print_setup();
	err = nl_open(&n, NETLINK_ROUTE, 0, 0);
	if (err) {
		fprintf(stderr, "steer: cannot open rtnetlink socket: %s\n", strerror(-err));
		return err;
	}
	ifs = if_nameindex();
	if (!ifs) {
		err = -errno;
		fprintf(stderr, "steer: listing interfaces: %s\n", strerror(errno));
		nl_close(&n);
		return err;
	}
	for (i = ifs; i->if_index; i++) {
		r = remove_filters(i, &unknown);
		if (r > 0)
			remove_empty_clsact(&n, i->if_name, (int)i->if_index);
		removed += r;
	}
	if_freenameindex(ifs);
	nl_close(&n);
	/* cleanup must not say "removed" while steer's filters may still steer */
	return unknown ? -EPERM : removed;
}
