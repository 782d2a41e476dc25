// SPDX-License-Identifier: GPL-2.0-only
#include "tests/lib/classifier_lookup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

void ct_flow_key(struct steer_flow_key *k, int fam, int proto, const char *src, const char *dst, uint16_t sport,
		 uint16_t dport)
{
	memset(k, 0, sizeof(*k));
	k->family = fam;
	k->proto = proto;
	k->sport = sport;
	k->dport = dport;
	inet_pton(fam == 4 ? AF_INET : AF_INET6, src, k->saddr);
	inet_pton(fam == 4 ? AF_INET : AF_INET6, dst, k->daddr);
}

int ct_redirect_slot(struct inst *in, int fam, int proto, const char *src, const char *dst, uint16_t sport,
		     uint16_t dport)
{
	struct steer_flow_key k;
	struct steer_redirect_val v;

	ct_flow_key(&k, fam, proto, src, dst, sport, dport);
	if (bpf_map_lookup_elem(steer_bpf_map_fd(in->b, "steer_redirect"), &k, &v))
		return -1;
	return v.slot;
}

/* One lookup through steer_lookup: the selected socket's cookie (0: none), its retval, the counters' deltas. */
static int run_lookup(struct inst *in, int fam, int proto, const char *rip, uint16_t rport, const char *lip,
		      uint16_t lport, uint64_t *cookie, int *retval, uint64_t d[STEER_C_MAX])
{
	struct bpf_sk_lookup ctx;
	uint64_t c0[STEER_C_MAX], c1[STEER_C_MAX];
	int err;

	memset(&ctx, 0, sizeof(ctx));
	ctx.family = fam == 4 ? AF_INET : AF_INET6;
	ctx.protocol = proto;
	ctx.remote_port = htons(rport);
	ctx.local_port = lport;
	if (fam == 4) {
		inet_pton(AF_INET, rip, &ctx.remote_ip4);
		inet_pton(AF_INET, lip, &ctx.local_ip4);
	} else {
		inet_pton(AF_INET6, rip, ctx.remote_ip6);
		inet_pton(AF_INET6, lip, ctx.local_ip6);
	}
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .ctx_out = &ctx,
		    .ctx_size_out = sizeof(ctx), .repeat = 1);
	if (steer_bpf_counters(in->b, c0))
		return -EIO;
	err = bpf_prog_test_run_opts(steer_bpf_lookup_prog_fd(in->b), &o);
	if (err)
		return -errno;
	if (steer_bpf_counters(in->b, c1))
		return -EIO;
	for (int i = 0; i < STEER_C_MAX; i++)
		d[i] = c1[i] - c0[i];
	*cookie = ctx.cookie;
	*retval = o.retval;
	return 0;
}

void ct_expect_lookup(struct inst *in, const char *name, int fam, int proto, const char *rip, uint16_t rport,
		      const char *lip, uint16_t lport, int want_fd, int want_c)
{
	uint64_t d[STEER_C_MAX], cookie = 0, want_cookie = want_fd >= 0 ? ct_sock_cookie(want_fd) : 0;
	int rv = -1, err, nmoved = 0, moved = -1;

	err = run_lookup(in, fam, proto, rip, rport, lip, lport, &cookie, &rv, d);
	if (err) {
		ct_fail(name, "sk_lookup test-run: %s", strerror(-err));
		return;
	}
	for (int i = 0; i < STEER_C_MAX; i++)
		if (d[i]) {
			nmoved++;
			moved = i;
		}
	if (rv != 1 /* SK_PASS */)
		ct_fail(name, "retval %d, expected SK_PASS", rv);
	else if (cookie != want_cookie)
		ct_fail(name, "selected socket cookie %llu, expected %llu", (unsigned long long)cookie,
			(unsigned long long)want_cookie);
	else if (want_c < 0 ? nmoved != 0 : (nmoved != 1 || moved != want_c || d[moved] != 1))
		ct_fail(name, "counters: %d moved (%s), expected %s", nmoved, moved >= 0 ? ct_counter_names[moved] : "-",
			want_c >= 0 ? ct_counter_names[want_c] : "none");
	else
		ct_ok(name);
}
