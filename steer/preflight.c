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
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "steer/audit_journal.h"
#include "steer/audit_chain.h"
#include "steer/links.h"

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

/*
 * What each capability is for. The kernel lets CAP_SYS_ADMIN stand in for
 * CAP_BPF and CAP_PERFMON (bpf_capable(), perfmon_capable()). CAP_NET_RAW is
 * not here: IP_TRANSPARENT and SO_MARK take CAP_NET_ADMIN as well, and steer
 * opens no raw socket.
 */
enum cap_use { CAP_ALWAYS, CAP_FOR_BPF, CAP_FOR_LOW_PORTS };
static const struct {
	int cap;
	const char *name;
	enum cap_use use;
	const char *what;
} caps_needed[] = {
	{ CAP_NET_ADMIN, "CAP_NET_ADMIN", CAP_ALWAYS,
	  "policy routing, the nftables table, attaching the classifier, IP_TRANSPARENT sockets" },
	{ CAP_BPF, "CAP_BPF", CAP_FOR_BPF, "loading the eBPF classifier and creating its maps" },
	{ CAP_PERFMON, "CAP_PERFMON", CAP_FOR_BPF,
	  "the verifier refuses the classifier's pointer arithmetic without it" },
	{ CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE", CAP_FOR_LOW_PORTS, "binding ports below " },
};

/* The effective set, or false when the kernel will not say. */
static bool caps_effective(uint64_t *eff)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	/* zeroed: valgrind knows capget() to fill one struct, not the two of version 3 */
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { { 0 } };

	if (syscall(SYS_capget, &hdr, data) != 0)
		return false;
	*eff = (uint64_t)data[1].effective << 32 | data[0].effective;
	return true;
}

static bool has_cap(uint64_t eff, int cap)
{
	return eff >> cap & 1;
}

static uint16_t addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/*
 * Why cfg binds ports below `start` (net.ipv4.ip_unprivileged_port_start),
 * or NULL; *certain is false when only some flows may. The built-in proxy
 * binds each UDP session's reply socket to the server's address and port,
 * and with upstream-source client each upstream socket to the client's
 * address and port (below 1024 only for a few clients: a warning).
 */
static const char *low_port_use(const struct steer_config *cfg, long start, bool *certain)
{
	static char buf[64];

	*certain = true;
	if (cfg->proxy_port < start) {
		snprintf(buf, sizeof(buf), "proxy-port %u", cfg->proxy_port);
		return buf;
	}
	if (cfg->metrics_enabled && addr_port(&cfg->metrics_addr) < start) {
		snprintf(buf, sizeof(buf), "metrics-listen port %u", addr_port(&cfg->metrics_addr));
		return buf;
	}
	if (cfg->proxy != PROXY_BUILTIN)
		return NULL;
	for (size_t i = 0; i < cfg->nrules; i++) {
		const struct rule *r = &cfg->rules[i];
		bool low = r->nports == 0;

		for (size_t j = 0; j < r->nports; j++)
			low |= r->ports[j].lo < start;
		if (!r->bypass && r->proto == IPPROTO_UDP && low)
			return "UDP sessions to a steered port below it bind the server's port";
	}
	*certain = false;
	if (cfg->upstream_source == UPSTREAM_CLIENT)
		return "upstream-source client binds the client's port: flows from client ports below it "
		       "will fail";
	return NULL;
}

/*
 * The capabilities the config needs, not the uid: root in a container
 * without them is refused, a user that holds them is not. Without the eBPF
 * ones, backend auto and nft start anyway (without the classifier).
 */
static int check_caps(const struct steer_config *cfg, FILE *out)
{
	bool need_bpf = cfg->backend == BACKEND_EBPF || cfg->backend == BACKEND_SPLIT;
	long start = 1024;
	const char *low;
	bool sys_admin, certain;
	uint64_t eff;
	int fatal = 0;

	if (!caps_effective(&eff)) {
		fprintf(out, "steer: error: cannot read this process's capabilities: %s\n", strerror(errno));
		return 1;
	}
	sys_admin = has_cap(eff, CAP_SYS_ADMIN);
	sysctl_int("/proc/sys/net/ipv4/ip_unprivileged_port_start", &start);
	low = low_port_use(cfg, start, &certain);
	for (size_t i = 0; i < sizeof(caps_needed) / sizeof(caps_needed[0]); i++) {
		const char *name = caps_needed[i].name, *what = caps_needed[i].what;

		if (has_cap(eff, caps_needed[i].cap) || (caps_needed[i].use == CAP_FOR_BPF && sys_admin))
			continue;
		if (caps_needed[i].use == CAP_FOR_LOW_PORTS) {
			if (low)
				fprintf(out, "steer: %s: missing capability %s: %s%ld: %s\n",
					certain ? "error" : "warning", name, what, start, low);
			fatal += low && certain;
		} else if (caps_needed[i].use == CAP_FOR_BPF && !need_bpf) {
			fprintf(out, "steer: warning: missing capability %s (%s): backend %s runs without the "
				     "classifier (nft steers; no steer_us in the audit log)\n",
				name, what, backend_kind_name(cfg->backend));
		} else {
			fprintf(out, "steer: error: missing capability %s: %s\n", name, what);
			fatal++;
		}
	}
	return fatal;
}

/* The classifier parses Ethernet frames: on an L3 device (tun, WireGuard, ppp) it cannot steer. */
static int check_link_type(const struct steer_config *cfg, const char *dev, FILE *out)
{
	int type;

	if (link_is_ethernet(dev, &type))
		return 0;
	if (cfg->backend == BACKEND_EBPF || cfg->backend == BACKEND_SPLIT) {
		fprintf(out, "steer: error: interface %s is not Ethernet (link type %d): the eBPF classifier "
			     "cannot steer it; use backend nft\n", dev, type);
		return 1;
	}
	fprintf(out, "steer: warning: interface %s is not Ethernet (link type %d): the eBPF classifier "
		     "cannot attach to it (backend %s steers it with nft, without steer_us)\n",
		dev, type, backend_kind_name(cfg->backend));
	return 0;
}

/* A missing interface is an error, or with interface-wait yes one line saying steer waits for it. */
static int check_exists(const struct steer_config *cfg, const char *key, const char *dev, FILE *out)
{
	if (if_nametoindex(dev))
		return 0;
	if (cfg->interface_wait) {
		fprintf(out, "steer: warning: %s %s does not exist yet: steer attaches it when it appears "
			     "(interface-wait yes)\n", key, dev);
		return 0;
	}
	fprintf(out, "steer: error: %s %s does not exist\n", key, dev);
	return 1;
}

/* Not an error: a `--audit-log FILE` run of a syslog config should still start. */
static void check_facility_used(const struct steer_config *cfg, FILE *out)
{
	if (cfg->key_pos[CONFIG_KEY_AUDIT_SYSLOG_FACILITY].line == 0 || !strcmp(cfg->audit_log, "syslog") ||
	    !strcmp(cfg->audit_log, "journald"))
		return;
	fprintf(out, "steer: warning: audit-syslog-facility %s has no effect: audit-log is %s, not syslog or journald\n",
		syslog_facility_name(cfg->audit_syslog_facility), cfg->audit_log);
}

/* The audit key as audit_open will read it: the same refusals, before anything is installed. */
static int check_audit_key(const struct steer_config *cfg, FILE *out)
{
	unsigned char key[AUDIT_KEY_MAX];
	size_t len;
	int ret;

	if (!cfg->audit_key[0])
		return 0;
	ret = audit_key_load(cfg->audit_key, true, key, &len, out) < 0;
	OPENSSL_cleanse(key, sizeof(key));
	return ret;
}

int preflight_run(const struct steer_config *cfg, FILE *out)
{
	int fatal = check_caps(cfg, out) + check_audit_key(cfg, out);
	bool marked_replies = cfg->upstream_source != UPSTREAM_GATEWAY;

	for (int i = 0; i < cfg->n_ifaces; i++)
		fatal += check_exists(cfg, "interface", cfg->ifaces[i], out);
	for (int i = 0; i < cfg->n_return_ifaces; i++)
		fatal += check_exists(cfg, "return-interface", cfg->return_ifaces[i], out);

	check_forwarding(out);
	for (int i = 0; i < cfg->n_ifaces; i++)
		if (if_nametoindex(cfg->ifaces[i])) {
			fatal += check_link_type(cfg, cfg->ifaces[i], out);
			check_src_valid_mark(out, cfg->ifaces[i], "client-facing");
		}
	if (marked_replies)
		for (int i = 0; i < cfg->n_return_ifaces; i++)
			if (if_nametoindex(cfg->return_ifaces[i]))
				check_src_valid_mark(out, cfg->return_ifaces[i], "return");
	check_facility_used(cfg, out);
	return fatal;
}

/*
 * Whether the running user may create path: its directory exists and is
 * writable, or (steer makes it) the directory's parent is.
 */
static int check_writable(const char *key, const char *path, FILE *out)
{
	char dir[STEER_PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == 0)
		return 0;
	if (errno == ENOENT && strcmp(dir, "/")) {
		slash = strrchr(dir, '/');
		if (slash)
			*(slash == dir ? slash + 1 : slash) = '\0';
		if (slash && faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == 0)
			return 0;
	}
	fprintf(out, "steer: error: %s %s: cannot create it as uid %u: %s\n", key, path, (unsigned)geteuid(),
		strerror(errno));
	return 1;
}

/* What sd_journal_send() writes to; without it every record would be lost. */
static int check_journal(FILE *out)
{
	struct stat st;
	const char *why = "not a socket";

	if (stat(AUDIT_JOURNAL_SOCKET, &st) < 0)
		why = strerror(errno);
	else if (S_ISSOCK(st.st_mode))
		return 0;
	fprintf(out, "steer: error: audit-log journald: %s: %s (is systemd-journald running?)\n", AUDIT_JOURNAL_SOCKET,
		why);
	return 1;
}

int preflight_host(const struct steer_config *cfg, FILE *out)
{
	int fatal = preflight_run(cfg, out);
	const char *a = cfg->audit_log;

	if (!strcmp(a, "journald"))
		fatal += check_journal(out);
	else if (strcmp(a, "-") && strcmp(a, "syslog"))
		fatal += check_writable("audit-log", a, out);
	fatal += check_writable("control-socket", cfg->control_socket, out);
	return fatal + preflight_kernel(cfg, out);
}
