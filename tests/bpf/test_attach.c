// SPDX-License-Identifier: GPL-2.0-only
/*
 * The classifier as a component (steer/classifier.h, bpf_classifier_ops):
 * attach and detach per interface, seen from outside with bpftool and tc,
 * and the kernel features it reports matching what it attached.
 */
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "steer/backend.h"

#include "steer/classifier.h"
#include "steer/config.h"
#include "tests/lib/classifier_runner.h"
#include "tests/lib/netns.h"

static uint64_t packets_counted(struct classifier *c)
{
	struct backend_counter cnt[64];
	size_t n = c->ops->counters(c, cnt, 64);
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		if (strcmp(cnt[i].name, "events_lost"))
			sum += cnt[i].value;
	return sum;
}

/*
 * Whether the classifier runs on ifname's ingress: a frame sent out of its
 * veth peer (ifname "p") arrives there, and every packet the classifier sees
 * moves one counter. Seen from outside, whatever bpftool version shows TCX.
 */
static bool attached(struct classifier *c, const char *ifname)
{
	unsigned char frame[64] = { 0 };
	char peer[IF_NAMESIZE];
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = ETH_ALEN };
	uint64_t before = packets_counted(c);
	int fd = socket(AF_PACKET, SOCK_RAW, 0);

	snprintf(peer, sizeof(peer), "%sp", ifname);
	to.sll_ifindex = (int)if_nametoindex(peer);
	if (fd < 0 || !to.sll_ifindex)
		ct_abort("cannot send a frame on the veth peer");
	memset(frame, 0xff, ETH_ALEN); /* broadcast, an ethertype no one parses: counted as not_ip */
	frame[12] = 0x88, frame[13] = 0xb5;
	if (sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&to, sizeof(to)) != sizeof(frame))
		ct_abort("sendto on the veth peer failed");
	close(fd);
	/* veth delivers to its peer's backlog: give the softirq a moment. */
	for (int i = 0; i < 100 && packets_counted(c) == before; i++)
		usleep(1000);
	return packets_counted(c) > before;
}

static bool has_clsact(const char *ifname)
{
	char cmd[96];
	char *out;
	bool found;

	snprintf(cmd, sizeof(cmd), "tc qdisc show dev %s", ifname);
	out = cmd_output(cmd, NULL);
	if (!out)
		ct_abort("cannot run tc");
	found = strstr(out, "clsact") != NULL;
	free(out);
	return found;
}

static void sh(const char *cmd)
{
	int status;
	char *out = cmd_output(cmd, &status);

	if (!out || status != 0) {
		fprintf(stderr, "%s: %s\n", cmd, out ? out : "cannot run");
		ct_abort("set-up command failed");
	}
	free(out);
}

static struct classifier *open_classifier(struct steer_config *cfg)
{
	struct classifier *c;

	/* Quiet links: IPv6 would send router solicitations and MLD reports of its own, counted too. */
	sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
	config_init(cfg);
	c = bpf_classifier_ops.open(cfg);
	if (!c)
		ct_abort("the classifier does not load");
	return c;
}

static void attach_detach(void)
{
	struct steer_config cfg;
	struct classifier *c = open_classifier(&cfg);
	struct classifier_features f;

	sh("ip link add sa0 type veth peer name sa0p && ip link set sa0 up && ip link set sa0p up && ip link add sa1 type veth peer name sa1p && ip link set sa1 up && ip link set sa1p up");
	ct_check("attach sa0 (client-facing)", c->ops->attach(c, "sa0", false) == 0, "failed");
	ct_check("attach sa1 (return)", c->ops->attach(c, "sa1", true) == 0, "failed");
	c->ops->features(c, &f);
	ct_check("features: the sk_lookup program is attached", f.sk_lookup, "not attached");
	ct_check("features: TCX link, or else a clsact qdisc on sa0", f.tcx != has_clsact("sa0"),
		 f.tcx ? "TCX reported, but a clsact qdisc was added" : "clsact reported, but no clsact qdisc");
	if (!getenv("STEER_BPF_NO_TCX"))
		ct_check("features: attached as TCX exactly where the kernel has TCX",
			 f.tcx == (f.kernel_tcx == FEATURE_YES), f.tcx ? "TCX without the kernel's" : "clsact");
	ct_check("sa0: the classifier sees its packets", attached(c, "sa0"), "not attached");
	ct_check("sa1: the classifier sees its packets", attached(c, "sa1"), "not attached");
	ct_check("detach sa0", c->ops->detach(c, "sa0") == 0, "failed");
	ct_check("sa0: nothing of steer left", !attached(c, "sa0"), "still attached");
	ct_check("sa1 untouched by detaching sa0", attached(c, "sa1"), "detached too");
	ct_check("detach sa0 again: nothing to do", c->ops->detach(c, "sa0") == 0, "failed");
	ct_check("attach sa0 again", c->ops->attach(c, "sa0", false) == 0, "failed");
	ct_check("sa0 attached again", attached(c, "sa0"), "not attached");
	c->ops->close(c);
	config_free(&cfg);
}

/* An interface deleted and created again under its name is a new ifindex: attach it anew. */
static void recreated_interface(void)
{
	struct steer_config cfg;
	struct classifier *c = open_classifier(&cfg);
	struct classifier_features f;

	sh("ip link add sa0 type veth peer name sa0p && ip link set sa0 up && ip link set sa0p up");
	ct_check("attach sa0", c->ops->attach(c, "sa0", false) == 0, "failed");
	c->ops->features(c, &f);
	sh("ip link del sa0 && ip link add sa0 type veth peer name sa0p && ip link set sa0 up && ip link set sa0p up");
	ct_check("the new sa0 starts without steer", !attached(c, "sa0"), "attached");
	ct_check("detach the deleted sa0: nothing to do", c->ops->detach(c, "sa0") == 0, "failed");
	ct_check("attach the new sa0", c->ops->attach(c, "sa0", false) == 0, "failed");
	ct_check("the new sa0 carries steer_ingress", attached(c, "sa0"), "not attached");
	c->ops->close(c);
	config_free(&cfg);
}

static const char *answer(enum feature_answer a)
{
	return a == FEATURE_YES ? "yes" : a == FEATURE_NO ? "no" : "unknown";
}

/*
 * The start probes answer (as root, the reuseport probe can always make its
 * namespace), and the mechanism for new flows follows the answer: through
 * the sk_lookup program exactly where the kernel refuses to assign a
 * reuseport listener (before Linux 6.6).
 */
static void kernel_probe(void)
{
	struct steer_config cfg;
	struct classifier *c;
	struct classifier_features f;

	unsetenv("STEER_BPF_ASSIGN");
	c = open_classifier(&cfg);
	c->ops->features(c, &f);
	printf("note: tcx %s, reuseport assign %s, sk_lookup %s\n", answer(f.kernel_tcx),
	       answer(f.reuseport_assign), f.sk_lookup ? "attached" : "not attached");
	ct_check("probe: the kernel's TCX answered", f.kernel_tcx != FEATURE_UNKNOWN, "unknown");
	ct_check("probe: bpf_sk_assign on a reuseport listener tried", f.reuseport_assign != FEATURE_UNKNOWN,
		 f.probe_note);
	ct_check("new flows through sk_lookup exactly where the kernel refuses the assign",
		 f.listener_via_lookup == (f.reuseport_assign == FEATURE_NO), "mechanism does not follow the probe");
	ct_check("probe: no note when the answer is known", f.probe_note[0] == '\0', f.probe_note);
	c->ops->close(c);
	config_free(&cfg);
}

/* STEER_BPF_ASSIGN=lookup takes the pre-6.6 path on any kernel, so the tests can cover it here. */
static void forced_lookup(void)
{
	struct steer_config cfg;
	struct classifier *c;
	struct classifier_features f;

	setenv("STEER_BPF_ASSIGN", "lookup", 1);
	c = open_classifier(&cfg);
	c->ops->features(c, &f);
	unsetenv("STEER_BPF_ASSIGN");
	ct_check("forced: new flows through sk_lookup", f.listener_via_lookup, "direct assign");
	ct_check("forced: the probe says it did not run, and why",
		 f.reuseport_assign == FEATURE_UNKNOWN && strstr(f.probe_note, "STEER_BPF_ASSIGN"), f.probe_note);
	c->ops->close(c);
	config_free(&cfg);
}

static void missing_interface(void)
{
	struct steer_config cfg;
	struct classifier *c = open_classifier(&cfg);

	ct_check("attach to an interface that does not exist fails", c->ops->attach(c, "nosuch0", false) < 0,
		 "succeeded");
	c->ops->close(c);
	config_free(&cfg);
}

CT_CASES({ "attach_detach", attach_detach }, { "recreated_interface", recreated_interface },
	 { "missing_interface", missing_interface }, { "kernel_probe", kernel_probe },
	 { "forced_lookup", forced_lookup })
