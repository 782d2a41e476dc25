// SPDX-License-Identifier: GPL-2.0-only
/*
 * The nftables backend: the ruleset of ruleset.c, sent as one nfnetlink
 * batch per change, so the kernel applies all of it or none of it; every
 * message is acknowledged and every ACK checked. Counters are read back from
 * the rules themselves (NFT_MSG_GETRULE dump).
 *
 * The listeners are not needed: tproxy finds the proxy's listener by port,
 * so an external proxy works the same way. Local addresses neither: the
 * ruleset asks fib.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "nft/nft.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

#define DUMP_BUF (1 << 16)

struct nft_backend {
	struct backend base; /* first: the daemon's handle */
	/* Totals of the rules replaced so far: counters stay monotonic across reloads. */
	uint64_t base_counts[NFT_C_MAX];
};

/* ---- netlink ---- */

static uint32_t next_seq(void)
{
	static uint32_t seq;

	if (!seq)
		seq = (uint32_t)time(NULL);
	return seq += 1u << 20; /* room for a batch's messages between two calls */
}

static struct mnl_socket *nl_open(size_t sndbuf, size_t rcvbuf)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	int one = 1, fd, snd = (int)sndbuf, rcv = (int)rcvbuf;

	if (!nl) {
		fprintf(stderr, "steer: nft: netlink socket: %s\n", strerror(errno));
		return NULL;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		fprintf(stderr, "steer: nft: netlink bind: %s\n", strerror(errno));
		mnl_socket_close(nl);
		return NULL;
	}
	fd = mnl_socket_get_fd(nl);
	/* Extended ACK: the kernel's reason in words; capped ACK: no copy of a big request. */
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	/* A batch is one sendmsg(): the send buffer must hold all of it (FORCE: root may exceed wmem_max). */
	if (sndbuf && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	if (rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	return nl;
}

/* The kernel's extended-ACK message, if the error carries one. */
static const char *extack_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*err);
	const struct nlattr *a;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(err->msg);
	mnl_attr_for_each(a, nlh, off) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(a);
	}
	return NULL;
}

struct talk {
	const struct nft_batch *b;
	size_t acks;
	int err;          /* the first failure (lowest seq), as -errno */
	uint32_t err_seq;
	char msg[256];
};

static void record_error(struct talk *t, const struct nlmsghdr *nlh, const struct nlmsgerr *e)
{
	const char *ext;

	if (t->err && e->msg.nlmsg_seq >= t->err_seq)
		return;
	t->err = e->error;
	t->err_seq = e->msg.nlmsg_seq;
	ext = extack_msg(nlh);
	snprintf(t->msg, sizeof(t->msg), "%s", ext ? ext : "");
}

static void replies(struct talk *t, const char *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int n = (int)len;

	for (; mnl_nlmsg_ok(nlh, n); nlh = mnl_nlmsg_next(nlh, &n)) {
		const struct nlmsgerr *e;

		if (nlh->nlmsg_type != NLMSG_ERROR ||
		    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
			continue;
		e = mnl_nlmsg_get_payload(nlh);
		if (e->error)
			record_error(t, nlh, e);
		else
			t->acks++;
	}
}

/*
 * Send the batch and check its answers. nfnetlink handles a batch inside
 * sendmsg(), so every answer is queued when it returns; the wait below only
 * covers what cannot happen in practice. Returns 0 or -errno, with the
 * error printed as "steer: nft: WHAT: strerror (kernel's message)".
 */
static int batch_send(const struct nft_batch *b)
{
	size_t rcvbuf = (b->nacks + 16) * 1024 + (1 << 20);
	struct mnl_socket *nl = nl_open(b->len + (1 << 16), rcvbuf);
	struct talk t = { .b = b };
	char *buf;
	int fd;

	if (!nl)
		return -errno;
	buf = malloc(1 << 16);
	if (!buf) {
		mnl_socket_close(nl);
		return -ENOMEM;
	}
	fd = mnl_socket_get_fd(nl);
	if (mnl_socket_sendto(nl, b->buf, b->len) < 0) {
		int e = errno;

		fprintf(stderr, "steer: nft: send batch (%zu bytes): %s\n", b->len, strerror(e));
		free(buf);
		mnl_socket_close(nl);
		return -e;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, 1 << 16, MSG_DONTWAIT);

		if (n > 0) {
			replies(&t, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			/* Answers were lost: no way to know which; a lost error would hide a failure. */
			t.err = t.err ? t.err : -ENOBUFS;
			snprintf(t.msg, sizeof(t.msg), "answers lost");
			break;
		}
		if (t.err || t.acks >= b->nacks)
			break;
		/* Nothing queued yet and answers missing: wait a little. */
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 2000) <= 0) {
			t.err = -ETIMEDOUT;
			snprintf(t.msg, sizeof(t.msg), "%zu of %zu acknowledgements", t.acks, b->nacks);
			break;
		}
	}
	free(buf);
	mnl_socket_close(nl);
	if (!t.err)
		return 0;
	{
		const char *what = nft_batch_what(b, t.err_seq);

		if (!what[0])
			what = "commit";
		if (t.err == -EEXIST && strcmp(what, "add table inet " NFT_STEER_TABLE) == 0)
			fprintf(stderr, "steer: nft: table inet " NFT_STEER_TABLE " exists (run steer cleanup)\n");
		else if (t.msg[0])
			fprintf(stderr, "steer: nft: %s: %s (%s)\n", what, strerror(-t.err), t.msg);
		else
			fprintf(stderr, "steer: nft: %s: %s\n", what, strerror(-t.err));
	}
	return t.err;
}

/* A dump request; cb gets every message. Returns 0 or -errno (ENOENT: no table). */
static int dump(struct nlmsghdr *(*build)(char *buf, uint32_t seq), mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl = nl_open(0, 1 << 20);
	char *buf = malloc(DUMP_BUF);
	uint32_t seq = next_seq(), portid;
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!nl) {
		free(buf);
		return -EIO;
	}
	if (!buf)
		goto out;
	portid = mnl_socket_get_portid(nl);
	nlh = build(buf, seq);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, DUMP_BUF);

		if (n < 0) {
			ret = -errno;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (ret <= MNL_CB_STOP) {
			ret = ret < 0 ? -errno : 0;
			break;
		}
	}
out:
	free(buf);
	mnl_socket_close(nl);
	return ret;
}

/* ---- set names (replace deletes the named sets it finds) ---- */

static struct nlmsghdr *build_getset(char *buf, uint32_t seq)
{
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK, seq);
	struct nftnl_set *s = nftnl_set_alloc();

	if (s) {
		nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_STEER_TABLE);
		nftnl_set_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
	}
	return nlh;
}

static int set_name_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nft_names *names = data;
	struct nftnl_set *s = nftnl_set_alloc();
	const char *name;
	void *p;

	if (!s)
		return MNL_CB_ERROR;
	if (nftnl_set_nlmsg_parse(nlh, s) < 0)
		goto skip;
	name = nftnl_set_get_str(s, NFTNL_SET_NAME);
	if (!name || strcmp(nftnl_set_get_str(s, NFTNL_SET_TABLE), NFT_STEER_TABLE) != 0 ||
	    (nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS))
		goto skip; /* anonymous sets go with their rules */
	p = realloc(names->name, (names->n + 1) * sizeof(*names->name));
	if (!p) {
		nftnl_set_free(s);
		return MNL_CB_ERROR;
	}
	names->name = p;
	snprintf(names->name[names->n++], sizeof(names->name[0]), "%s", name);
skip:
	nftnl_set_free(s);
	return MNL_CB_OK;
}

/* ---- counters ---- */

static struct nlmsghdr *build_getrule(char *buf, uint32_t seq)
{
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK, seq);
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (r) {
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_STEER_TABLE);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, NFT_STEER_CHAIN);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nftnl_rule_free(r);
	}
	return nlh;
}

/* What a rule is, from its expressions (see ruleset.c for the rules). */
struct rule_shape {
	bool tproxy, socket, fib, pkttype, lookup, mark_load, counter;
	int verdict;
	uint64_t packets;
	bool has_verdict;
};

static int expr_cb(struct nftnl_expr *e, void *data)
{
	struct rule_shape *s = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	if (!strcmp(name, "tproxy"))
		s->tproxy = true;
	else if (!strcmp(name, "socket"))
		s->socket = true;
	else if (!strcmp(name, "fib"))
		s->fib = true;
	else if (!strcmp(name, "lookup"))
		s->lookup = true;
	else if (!strcmp(name, "counter")) {
		s->counter = true;
		s->packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
	} else if (!strcmp(name, "meta") && nftnl_expr_is_set(e, NFTNL_EXPR_META_DREG) &&
		   nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY) == NFT_META_MARK)
		s->mark_load = true;
	else if (!strcmp(name, "meta") && nftnl_expr_is_set(e, NFTNL_EXPR_META_DREG) &&
		 nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY) == NFT_META_PKTTYPE)
		s->pkttype = true;
	else if (!strcmp(name, "immediate") && nftnl_expr_is_set(e, NFTNL_EXPR_IMM_VERDICT)) {
		s->has_verdict = true;
		s->verdict = (int)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT);
	}
	return 0;
}

static int classify(const struct rule_shape *s)
{
	if (!s->counter)
		return -1;
	if (s->tproxy)
		return NFT_C_STEERED;
	if (s->socket)
		return s->lookup ? NFT_C_RETURN_MARKED : NFT_C_ESTABLISHED;
	if (s->fib || s->pkttype)
		return NFT_C_LOCAL_DST;
	if (s->has_verdict && s->verdict == NF_DROP)
		return NFT_C_NO_LISTENER_DROP;
	if (s->mark_load)
		return NFT_C_EBPF_MARKED;
	if (s->has_verdict && s->verdict == NF_ACCEPT)
		return NFT_C_BYPASSED;
	return -1;
}

static int rule_counter_cb(const struct nlmsghdr *nlh, void *data)
{
	uint64_t *totals = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct rule_shape s = { 0 };
	int c;

	if (!r)
		return MNL_CB_ERROR;
	if (nftnl_rule_nlmsg_parse(nlh, r) == 0) {
		nftnl_expr_foreach(r, expr_cb, &s);
		c = classify(&s);
		if (c >= 0)
			totals[c] += s.packets;
	}
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

static int read_counters(uint64_t *totals)
{
	memset(totals, 0, NFT_C_MAX * sizeof(*totals));
	return dump(build_getrule, rule_counter_cb, totals);
}

/* ---- the backend ---- */

static int run_batch(int (*fill)(struct nft_batch *, const struct steer_config *, const struct nft_names *),
		     const struct steer_config *cfg, const struct nft_names *names)
{
	struct nft_batch b;
	int ret;

	if (nft_batch_init(&b, next_seq()) < 0 || fill(&b, cfg, names) < 0 || b.oom) {
		fprintf(stderr, "steer: nft: building the batch: %s\n", strerror(ENOMEM));
		nft_batch_free(&b);
		return -ENOMEM;
	}
	ret = batch_send(&b);
	nft_batch_free(&b);
	return ret;
}

static int fill_install(struct nft_batch *b, const struct steer_config *cfg, const struct nft_names *n)
{
	(void)n;
	return nft_ruleset_install(b, cfg);
}

static int fill_replace(struct nft_batch *b, const struct steer_config *cfg, const struct nft_names *n)
{
	return nft_ruleset_replace(b, cfg, n);
}

static int fill_delete(struct nft_batch *b, const struct steer_config *cfg, const struct nft_names *n)
{
	(void)cfg;
	(void)n;
	return nft_ruleset_delete(b);
}

static struct backend *nft_install(const struct backend_env *env)
{
	const struct steer_config *cfg = env->cfg;
	struct nft_backend *b;

	if (cfg->nrules > CONFIG_MAX_RULES) {
		fprintf(stderr, "steer: nft: too many rules (at most %d)\n", CONFIG_MAX_RULES);
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->base.ops = &nft_backend_ops;
	if (run_batch(fill_install, cfg, NULL) < 0) {
		free(b);
		return NULL;
	}
	return &b->base;
}

static int nft_replace_rules(struct backend *base, const struct steer_config *cfg)
{
	struct nft_backend *b = (struct nft_backend *)base;
	struct nft_names names = { 0 };
	uint64_t before[NFT_C_MAX];
	bool have_before;
	int ret;

	if (cfg->nrules > CONFIG_MAX_RULES) {
		fprintf(stderr, "steer: nft: too many rules (at most %d)\n", CONFIG_MAX_RULES);
		return -EINVAL;
	}
	ret = dump(build_getset, set_name_cb, &names);
	if (ret < 0) {
		fprintf(stderr, "steer: nft: list sets of table inet " NFT_STEER_TABLE ": %s\n", strerror(-ret));
		free(names.name);
		return ret;
	}
	/* The counters die with the old rules: keep their totals (packets between this read and the commit are lost). */
	have_before = read_counters(before) == 0;
	ret = run_batch(fill_replace, cfg, &names);
	free(names.name);
	if (ret == 0 && have_before)
		for (int i = 0; i < NFT_C_MAX; i++)
			b->base_counts[i] += before[i];
	return ret;
}

static size_t nft_counters(const struct backend_env *env, struct backend *base, struct backend_counter *out,
			   size_t max)
{
	static const char *const names[] = NFT_COUNTER_NAMES;
	struct nft_backend *b = (struct nft_backend *)base;
	uint64_t now[NFT_C_MAX];
	size_t n = 0;

	_Static_assert(sizeof(names) / sizeof(names[0]) == NFT_C_MAX, "a counter has no name");
	(void)env;
	if (!b || read_counters(now) < 0)
		return 0;
	for (; n < NFT_C_MAX && n < max; n++) {
		out[n].name = names[n];
		out[n].value = b->base_counts[n] + now[n];
	}
	return n;
}

static int nft_remove(struct backend *base)
{
	if (!base)
		return 0;
	if (run_batch(fill_delete, NULL, NULL) < 0)
		return -1; /* the table still steers: keep the handle, so a retry can remove it */
	free(base);
	return 0;
}

/* Quietly: a missing table is the normal case. */
static int nft_cleanup_stale(void)
{
	struct nft_batch b;
	int ret;
	int saved;

	if (nft_batch_init(&b, next_seq()) < 0 || nft_ruleset_delete(&b) < 0 || b.oom) {
		nft_batch_free(&b);
		return -ENOMEM;
	}
	/* Probe first so that "no table" is not printed as an error. */
	{
		struct nft_names names = { 0 };

		saved = dump(build_getset, set_name_cb, &names);
		free(names.name);
	}
	if (saved == -ENOENT) {
		nft_batch_free(&b);
		return 0;
	}
	ret = batch_send(&b);
	nft_batch_free(&b);
	if (ret == -ENOENT)
		return 0;
	return ret < 0 ? ret : 1;
}

const struct backend_ops nft_backend_ops = {
	.name = "nft",
	.kind = BACKEND_NFT,
	.takes_remainder = true,
	.install = nft_install,
	.set_share = NULL, /* takes whatever the classifier leaves to it (unmarked packets) */
	.replace_rules = nft_replace_rules,
	.counters = nft_counters,
	.remove = nft_remove,
	.cleanup_stale = nft_cleanup_stale,
};
