// SPDX-License-Identifier: GPL-2.0-only
/*
 * Checks before anything is installed. Reads sysctls from /proc/sys (of the
 * caller's network namespace), never changes them.
 *
 * Why src_valid_mark matters: steered packets carry steer's fwmark and are
 * delivered by `fwmark MARK lookup TABLE` -> `local default dev lo`. Because
 * that table holds a custom local route, the kernel validates the source of
 * every input packet with a full FIB lookup (whatever rp_filter says). With
 * src_valid_mark=1 that reverse lookup uses the packet's mark, hits our table,
 * finds the source "local" and drops the packet as a martian. Only
 * accept_local=1 together with rp_filter 0 or 2 lets it through. The marked
 * packets are the client's (on client-facing interfaces) and, when the
 * upstream connection uses the client's address, the server's replies (on
 * return interfaces). Without src_valid_mark the reverse lookup ignores the
 * mark and strict rp_filter behaves as usual (replies from a server arrive on
 * the interface that routes back to it), so rp_filter alone is not flagged.
 */
#include "steer/preflight.h"

#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read an integer sysctl; returns false if it does not exist or is unreadable. */
static bool sysctl_int(const char *path, long *out)
{
	char buf[64];
	char *end;
	FILE *f = fopen(path, "re");
	bool ok = false;

	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f)) {
		errno = 0;
		*out = strtol(buf, &end, 10);
		ok = errno == 0 && end != buf;
	}
	fclose(f);
	return ok;
}

static long conf_int(const char *dev, const char *key, long dflt)
{
	char path[128];
	long v;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/%s", dev, key);
	return sysctl_int(path, &v) ? v : dflt;
}

static void check_forwarding(FILE *out)
{
	long v;

	if (sysctl_int("/proc/sys/net/ipv4/ip_forward", &v) && v == 0)
		fprintf(out, "steer: warning: net.ipv4.ip_forward is 0: non-steered IPv4 traffic "
			     "will not be forwarded\n");
	if (sysctl_int("/proc/sys/net/ipv6/conf/all/forwarding", &v) && v == 0)
		fprintf(out, "steer: warning: net.ipv6.conf.all.forwarding is 0: non-steered IPv6 "
			     "traffic will not be forwarded\n");
}

/* See the comment at the top: marked packets arriving on dev are dropped as martians. */
static void check_src_valid_mark(FILE *out, const char *dev, const char *role)
{
	long svm_all = conf_int("all", "src_valid_mark", 0);
	long svm_dev = conf_int(dev, "src_valid_mark", 0);
	long rp = conf_int("all", "rp_filter", 0), rp_dev = conf_int(dev, "rp_filter", 0);
	bool accept_local = conf_int("all", "accept_local", 0) || conf_int(dev, "accept_local", 0);
	char fix[160];

	if (!svm_all && !svm_dev)
		return; /* effective value is all OR interface */
	if (rp_dev > rp)
		rp = rp_dev; /* effective value is the maximum */
	if (accept_local && rp != 1)
		return;
	if (svm_all && svm_dev)
		snprintf(fix, sizeof(fix), "net.ipv4.conf.all.src_valid_mark=0 and "
					   "net.ipv4.conf.%s.src_valid_mark=0", dev);
	else
		snprintf(fix, sizeof(fix), "net.ipv4.conf.%s.src_valid_mark=0",
			 svm_all ? "all" : dev);
	fprintf(out,
		"steer: warning: src_valid_mark=1 on %s interface %s (rp_filter=%ld) drops steered "
		"(fwmark) packets as martians; set %s, or accept_local=1 with rp_filter 0 or 2\n",
		role, dev, rp, fix);
}

int preflight_run(const struct steer_config *cfg, FILE *out)
{
	int fatal = 0;
	bool marked_replies = cfg->upstream_source != UPSTREAM_GATEWAY;

	if (geteuid() != 0) {
		fprintf(out, "steer: error: must run as root (CAP_NET_ADMIN and CAP_BPF needed)\n");
		fatal++;
	}
	for (int i = 0; i < cfg->n_ifaces; i++) {
		if (!if_nametoindex(cfg->ifaces[i])) {
			fprintf(out, "steer: error: interface %s does not exist\n", cfg->ifaces[i]);
			fatal++;
		}
	}
	for (int i = 0; i < cfg->n_return_ifaces; i++) {
		if (!if_nametoindex(cfg->return_ifaces[i])) {
			fprintf(out, "steer: error: return-interface %s does not exist\n",
				cfg->return_ifaces[i]);
			fatal++;
		}
	}

	check_forwarding(out);
	for (int i = 0; i < cfg->n_ifaces; i++)
		if (if_nametoindex(cfg->ifaces[i]))
			check_src_valid_mark(out, cfg->ifaces[i], "client-facing");
	if (marked_replies)
		for (int i = 0; i < cfg->n_return_ifaces; i++)
			if (if_nametoindex(cfg->return_ifaces[i]))
				check_src_valid_mark(out, cfg->return_ifaces[i], "return");
	return fatal;
}
