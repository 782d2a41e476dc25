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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nft/nft.h"
#include "steer/nl.h"

struct nft_backend {
	struct backend base; /* first: the daemon's handle */
	/* Totals of the rules replaced so far: counters stay monotonic across reloads. */
	uint64_t base_counts[NFT_C_MAX];
};

/* ---- netlink (steer/nl.h) ---- */

/* A socket for one operation's dumps and batch; says why when there is none. */
static int nft_open(struct nl_sock *s)
{
	int err = nl_open(s, NETLINK_NETFILTER, 0, 0);

	if (err)
		fprintf(stderr, "steer: nft: netlink socket: %s\n", strerror(-err));
	else
		nl_set_bufs(s, 0, 1 << 20);
	return err;
}

/*
 * Send the batch and check its answers. Returns 0 or -errno, with the
 * error printed as "steer: nft: WHAT: strerror (kernel's message)".
 */
static int batch_send(struct nl_sock *s, const struct nft_batch *b)
{
	const char *what;
	int err;

	/* A batch is one sendmsg(): the send buffer must hold all of it, the receive buffer its answers. */
	nl_set_bufs(s, b->len + (1 << 16), (b->nacks + 16) * 1024 + (1 << 20));
	err = nl_send(s, b->buf, b->len);
	if (err) {
		fprintf(stderr, "steer: nft: send batch (%zu bytes): %s\n", b->len, strerror(-err));
		return err;
	}
	err = nl_acks(s, b->nacks);
	if (!err)
		return 0;
	what = nft_batch_what(b, s->err_seq);
	if (!what[0])
		what = "commit";
	if (err == -EEXIST && strcmp(what, "add table inet " NFT_STEER_TABLE) == 0)
		fprintf(stderr, "steer: nft: table inet " NFT_STEER_TABLE " exists (run steer cleanup)\n");
	else if (s->msg[0])
		fprintf(stderr, "steer: nft: %s: %s (%s)\n", what, strerror(-err), s->msg);
	else
		fprintf(stderr, "steer: nft: %s: %s\n", what, strerror(-err));
	return err;
}

/* ---- set names (replace deletes the named sets it finds) ---- */

/* The sequence number is nl_dump's. */
static struct nlmsghdr *build_getset(char *buf)
{
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK, 0);
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

/* An interrupted dump starts over: names from its first part would be deleted twice. */
static void names_restart(void *data)
{
	((struct nft_names *)data)->n = 0;
}

/* The named sets of the table. 0 or -errno (-ENOENT: no table). */
static int list_sets(struct nl_sock *s, struct nft_names *names)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	memset(buf, 0, sizeof(buf)); /* libmnl leaves the attributes' padding as it finds it */
	return nl_dump(s, build_getset(buf), set_name_cb, names, names_restart);
}

/* ---- counters ---- */

static struct nlmsghdr *build_getrule(char *buf)
{
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK, 0);
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
	bool ct_load, ct_set; /* the conntrack mark read; written */
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
	else if (!strcmp(name, "ct") && nftnl_expr_is_set(e, NFTNL_EXPR_CT_DREG))
		s->ct_load = true;
	else if (!strcmp(name, "ct"))
		s->ct_set = true;
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
	/* (5c) reads the connection's mark; a steer rule (7) also writes it */
	if (s->tproxy)
		return s->ct_load && !s->ct_set ? NFT_C_COOKIE_ACK : NFT_C_STEERED;
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

static void totals_restart(void *data)
{
	memset(data, 0, NFT_C_MAX * sizeof(uint64_t));
}

static int read_counters(struct nl_sock *s, uint64_t *totals)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	memset(buf, 0, sizeof(buf)); /* libmnl leaves the attributes' padding as it finds it */
	totals_restart(totals);
	return nl_dump(s, build_getrule(buf), rule_counter_cb, totals, totals_restart);
}

/* ---- the backend ---- */

typedef int (*batch_fill)(struct nft_batch *, const struct steer_config *, const struct nft_names *);

static int run_batch(struct nl_sock *s, batch_fill fill, const struct steer_config *cfg,
		     const struct nft_names *names)
{
	struct nft_batch b;
	int ret;

	if (nft_batch_init(&b, nl_next_seq(s)) < 0 || fill(&b, cfg, names) < 0 || b.oom) {
		fprintf(stderr, "steer: nft: building the batch: %s\n", strerror(ENOMEM));
		nft_batch_free(&b);
		return -ENOMEM;
	}
	ret = batch_send(s, &b);
	nft_batch_free(&b);
	return ret;
}

/* A batch on a socket of its own. */
static int run_batch_alone(batch_fill fill, const struct steer_config *cfg)
{
	struct nl_sock s;
	int ret = nft_open(&s);

	if (ret)
		return ret;
	ret = run_batch(&s, fill, cfg, NULL);
	nl_close(&s);
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
	if (run_batch_alone(fill_install, cfg) < 0) {
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
	struct nl_sock s;
	bool have_before;
	int ret;

	if (cfg->nrules > CONFIG_MAX_RULES) {
		fprintf(stderr, "steer: nft: too many rules (at most %d)\n", CONFIG_MAX_RULES);
		return -EINVAL;
	}
	ret = nft_open(&s);
	if (ret)
		return ret;
	ret = list_sets(&s, &names);
	if (ret < 0) {
		fprintf(stderr, "steer: nft: list sets of table inet " NFT_STEER_TABLE ": %s\n", strerror(-ret));
		goto out;
	}
	/* The counters die with the old rules: keep their totals (packets between this read and the commit are lost). */
	have_before = read_counters(&s, before) == 0;
	ret = run_batch(&s, fill_replace, cfg, &names);
	if (ret == 0 && have_before)
		for (int i = 0; i < NFT_C_MAX; i++)
			b->base_counts[i] += before[i];
out:
	free(names.name);
	nl_close(&s);
	return ret;
}

static size_t nft_counters(const struct backend_env *env, struct backend *base, struct backend_counter *out,
			   size_t max)
{
	static const char *const names[] = NFT_COUNTER_NAMES;
	struct nft_backend *b = (struct nft_backend *)base;
	uint64_t now[NFT_C_MAX];
	struct nl_sock s;
	size_t n = 0;
	int err;

	_Static_assert(sizeof(names) / sizeof(names[0]) == NFT_C_MAX, "a counter has no name");
	(void)env;
	if (!b || nft_open(&s) < 0)
		return 0;
	err = read_counters(&s, now);
	nl_close(&s);
	if (err < 0)
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
	if (run_batch_alone(fill_delete, NULL) < 0)
		return -1; /* the table still steers: keep the handle, so a retry can remove it */
	free(base);
	return 0;
}

/* Quietly: a missing table is the normal case. */
static int nft_cleanup_stale(void)
{
	struct nft_names names = { 0 };
	struct nft_batch b;
	struct nl_sock s;
	int ret = nft_open(&s);

	if (ret)
		return ret;
	/* Probe first so that "no table" is not printed as an error. */
	ret = list_sets(&s, &names);
	free(names.name);
	if (ret == -ENOENT)
		goto out;
	if (nft_batch_init(&b, nl_next_seq(&s)) < 0 || nft_ruleset_delete(&b) < 0 || b.oom) {
		nft_batch_free(&b);
		ret = -ENOMEM;
		goto out;
	}
	ret = batch_send(&s, &b);
	nft_batch_free(&b);
out:
	nl_close(&s);
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
