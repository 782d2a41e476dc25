// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the kernel offers the classifier, found by trying it, never by
 * reading a version string.
 *
 * Whether bpf_sk_assign takes a SO_REUSEPORT listener (Linux >= 6.6) shows
 * only on a real packet at TC ingress: BPF_PROG_TEST_RUN's packets are not
 * "at ingress", and the helper refuses them before it looks at the socket.
 * So a child process makes a network namespace of its own (CLONE_NEWNET, or,
 * without CAP_SYS_ADMIN, together with a user namespace), attaches
 * steer_probe to that namespace's loopback, and connects once to a reuseport
 * listener there; steer_probe assigns the SYN to the listener and leaves the
 * helper's answer in steer_probe_rc, a global the child and we share through
 * the skeleton's MAP_SHARED mapping. Nothing of the host is touched and the
 * namespace dies with the child.
 */
#include "bpf/probe.h"

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* The TCX attach type (Linux >= 6.6; the installed UAPI headers predate it). */
#define PROBE_TCX_INGRESS 46

/* The child's exit status: the step that failed. */
enum probe_step {
	STEP_OK = 0,
	STEP_NETNS,
	STEP_LOOPBACK,
	STEP_LISTENER,
	STEP_SOCKMAP,
	STEP_ATTACH,
	STEP_CONNECT,
	STEP_MAX,
};

static const char *const step_what[STEP_MAX] = {
	[STEP_OK] = "",
	[STEP_NETNS] = "cannot create a network namespace for it",
	[STEP_LOOPBACK] = "cannot bring up the probe namespace's loopback",
	[STEP_LISTENER] = "cannot open the probe listener",
	[STEP_SOCKMAP] = "cannot put the probe listener into its socket map",
	[STEP_ATTACH] = "cannot attach the probe program",
	[STEP_CONNECT] = "the probe connection did not complete",
};

/* How long the child may take in all: a few milliseconds are usual. */
#define PROBE_TIMEOUT_MS 3000

static int own_netns(void)
{
	if (unshare(CLONE_NEWNET) == 0)
		return 0;
	/* No CAP_SYS_ADMIN (a unit with only steer's four capabilities). */
	return unshare(CLONE_NEWUSER | CLONE_NEWNET);
}

static int loopback_up(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return rc;
}

/* A SO_REUSEPORT listener on 127.0.0.1; its address in *sin. */
static int reuseport_listener(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)sin, sizeof(*sin)) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)sin, &len)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int attach_loopback(int prog_fd)
{
	int ifindex = if_nametoindex("lo");
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd);

	if (!ifindex)
		return -1;
	if (bpf_tc_hook_create(&hook) && errno != EEXIST)
		return -1;
	return bpf_tc_attach(&hook, &opts) ? -1 : 0;
}

static int connect_once(const struct sockaddr_in *sin)
{
	struct pollfd p = { .events = POLLOUT };
	int rc;

	p.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p.fd < 0)
		return -1;
	rc = connect(p.fd, (const struct sockaddr *)sin, sizeof(*sin));
	if (rc && errno == EINPROGRESS)
		rc = poll(&p, 1, 1000) == 1 ? 0 : -1;
	close(p.fd);
	return rc;
}

static enum probe_step child(int prog_fd, int map_fd)
{
	struct sockaddr_in sin;
	uint32_t key = 0;
	uint64_t val; /* the map's value is 8 bytes wide */
	int lfd;

	/* Another thread may have held stderr's lock at the fork: libbpf stays silent here. */
	libbpf_set_print(NULL);
	if (own_netns())
		return STEP_NETNS;
	if (loopback_up())
		return STEP_LOOPBACK;
	lfd = reuseport_listener(&sin);
	if (lfd < 0)
		return STEP_LISTENER;
	val = (uint64_t)lfd;
	if (bpf_map_update_elem(map_fd, &key, &val, BPF_ANY))
		return STEP_SOCKMAP;
	if (attach_loopback(prog_fd))
		return STEP_ATTACH;
	if (connect_once(&sin))
		return STEP_CONNECT;
	return STEP_OK;
}

/* Wait for pid up to PROBE_TIMEOUT_MS, then kill it; its exit status or -1. */
static int reap(pid_t pid)
{
	struct timespec tick = { 0, 5 * 1000 * 1000 };
	int status, waited;

	for (waited = 0; waited < PROBE_TIMEOUT_MS; waited += 5) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (r < 0 && errno != EINTR)
			return -1;
		nanosleep(&tick, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

int probe_reuseport_assign(int prog_fd, int map_fd, volatile int32_t *rc, char *why, size_t whylen)
{
	pid_t pid;
	int st;

	*rc = 1;
	pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "cannot fork the probe: %s", strerror(errno));
		return PROBE_UNKNOWN;
	}
	if (pid == 0)
		_exit(child(prog_fd, map_fd));
	st = reap(pid);
	if (*rc == 0)
		return PROBE_YES;
	if (*rc == -ESOCKTNOSUPPORT)
		return PROBE_NO;
	if (st > 0 && st < STEP_MAX)
		snprintf(why, whylen, "%s", step_what[st]);
	else if (st < 0)
		snprintf(why, whylen, "the probe did not finish");
	else if (*rc == 1)
		snprintf(why, whylen, "the probe's packet never reached its program");
	else
		snprintf(why, whylen, "bpf_sk_assign answered %s", strerror((int)-*rc));
	return PROBE_UNKNOWN;
}

int probe_tcx(void)
{
	LIBBPF_OPTS(bpf_prog_query_opts, q);
	int lo = if_nametoindex("lo");

	/* Any interface will do: a kernel without TCX does not know the attach type. */
	if (!lo)
		return PROBE_UNKNOWN;
	if (bpf_prog_query_opts(lo, PROBE_TCX_INGRESS, &q) == 0)
		return PROBE_YES;
	return errno == EINVAL ? PROBE_NO : PROBE_UNKNOWN;
}

int probe_helpers(char *missing, size_t len)
{
	static const struct {
		enum bpf_prog_type type;
		enum bpf_func_id id;
		const char *name;
	} need[] = {
		{ BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_sk_assign, "bpf_sk_assign (Linux 5.7)" },
		{ BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_skc_lookup_tcp, "bpf_skc_lookup_tcp (Linux 5.2)" },
		{ BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_ringbuf_reserve, "the BPF ring buffer (Linux 5.8)" },
		{ BPF_PROG_TYPE_SK_LOOKUP, BPF_FUNC_sk_assign, "sk_lookup programs (Linux 5.9)" },
	};
	size_t i;

	/* A probe that cannot load (no CAP_BPF: < 0) proves nothing: the load itself will say why. */
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (libbpf_probe_bpf_helper(need[i].type, need[i].id, NULL) == 0) {
			snprintf(missing, len, "%s", need[i].name);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}
