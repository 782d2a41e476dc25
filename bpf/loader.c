// SPDX-License-Identifier: GPL-2.0-only
/*
 * The classifier's loader: skeleton lifecycle, attach (TCX link, clsact
 * fallback), rule generations, listeners, local addresses, counters, run
 * mode, flow events.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/steer_abi.h"

/*
 * The skeleton's object struct is also called "steer_bpf" (the Makefile
 * names it so); loader.h's struct steer_bpf is our wrapper around it.
 */
#define steer_bpf steer_bpf_skel
#include "bpf/steer.skel.h"
#undef steer_bpf

#include "bpf/loader.h"
#include "bpf/probe.h"
#include "bpf/tc.h"
#include "steer/links.h"

/* The sk_lookup attach type (Linux >= 5.9; named BPF_SK_LOOKUP in the UAPI). */
#define STEER_BPF_SK_LOOKUP 36

/* TCX attach type (Linux >= 6.6; the installed UAPI headers predate it). */
#define STEER_BPF_TCX_INGRESS 46


struct attachment {
	int ifindex;
	bool ret;
	bool tcx;
	int link_fd;         /* tcx */
	bool created_qdisc;  /* clsact: we created the qdisc */
	char ifname[IF_NAMESIZE];
};

/* What one generation holds in the maps, so it can be cleared cheaply. */
struct gen_record {
	uint32_t *port_idx;
	size_t nports;
	struct steer_lpm6_key *lpm[4]; /* dst4, src4, dst6, src6 (v4 keys stored as v6-sized) */
	size_t nlpm[4];
};

struct steer_bpf {
	struct steer_bpf_skel *skel;
	struct attachment *att;
	size_t natt;
	struct gen_record rec[STEER_GENERATIONS];
	struct ring_buffer *rb; /* steer_bpf_events_open */
	int lookup_link; /* steer_lookup attached to the network namespace, or -1 */
	struct steer_bpf_features feat; /* probed by steer_bpf_load */
	steer_event_cb ev_cb;
	void *ev_ctx;
	int stats_fd; /* bpf_enable_stats(BPF_STATS_RUN_TIME): run-time accounting while it is open; -1 off */
	bool stats_on; /* ours (stats_fd) or the host's sysctl: run_time_ns is counted */
};

/* Set around calls whose failure is expected and handled (tc queries, EEXIST). */
static __thread int libbpf_quiet;

static int libbpf_print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || libbpf_quiet)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void libbpf_print_setup(void)
{
	static bool done;

	if (!done) {
		libbpf_set_print(libbpf_print_fn);
		done = true;
	}
}

void libbpf_quiet_add(int delta)
{
	libbpf_quiet += delta;
}

/*
 * How new flows reach the listener. Where the kernel refuses to assign a
 * SO_REUSEPORT listener (before 6.6), steer_lookup must give it to their
 * socket lookups, and without that program the classifier cannot steer at
 * all: refused with one line. STEER_BPF_ASSIGN=lookup takes that path on any
 * kernel, =direct skips the probe (tests). Returns 0 or -EOPNOTSUPP.
 */
static int probe_kernel(struct steer_bpf *b)
{
	struct steer_bpf_features *f = &b->feat;
	const char *force = getenv("STEER_BPF_ASSIGN");

	f->tcx = probe_tcx();
	f->sk_lookup = b->lookup_link >= 0;
	if (force && (!strcmp(force, "lookup") || !strcmp(force, "direct"))) {
		/* direct: as when the probe cannot run; the classifier learns at the first refusal */
		f->reuseport_assign = PROBE_UNKNOWN;
		snprintf(f->probe_note, sizeof(f->probe_note), "not probed: STEER_BPF_ASSIGN=%s", force);
		b->skel->bss->steer_assign_via_lookup = !strcmp(force, "lookup");
	} else {
		f->reuseport_assign = probe_reuseport_assign(bpf_program__fd(b->skel->progs.steer_probe),
							     bpf_map__fd(b->skel->maps.steer_probe_listen),
							     &b->skel->data->steer_probe_rc, f->probe_note,
							     sizeof(f->probe_note));
		b->skel->bss->steer_assign_via_lookup = f->reuseport_assign == PROBE_NO;
	}
	/*
	 * Without steer_lookup, a kernel that refuses the assign (known now, or
	 * learnt at the first flow when the probe could not tell) would have new
	 * flows marked for a lookup nobody answers: refuse rather than black-hole.
	 */
	if (f->reuseport_assign != PROBE_YES && !f->sk_lookup) {
		fprintf(stderr, "steer: %s and the sk_lookup program could not be attached (%s): the eBPF "
				"backend cannot steer; use backend nft\n",
			f->reuseport_assign == PROBE_NO ? "this kernel refuses to assign SO_REUSEPORT listeners "
							  "(Linux before 6.6)"
							: "whether this kernel assigns SO_REUSEPORT listeners is unknown",
			f->lookup_error);
		return -EOPNOTSUPP;
	}
	if (!f->sk_lookup)
		fprintf(stderr, "steer: attaching the sk_lookup program to the network namespace: %s "
				"(SYNs that meet a TIME_WAIT socket and fragmented UDP datagrams "
				"will not reach the proxy)\n", f->lookup_error);
	return 0;
}

struct steer_bpf *steer_bpf_load(const struct bpf_settings *s)
{
	struct steer_bpf *b;
	struct steer_bpf_skel *skel;
	uint32_t lpm = s->lpm_entries ? s->lpm_entries : STEER_LPM_DEFAULT_ENTRIES;
	uint64_t idle_ms = s->udp_idle_timeout_ms ? s->udp_idle_timeout_ms : 60000;
	uint32_t ev_bytes = s->events_bytes ? s->events_bytes : STEER_EVENTS_BYTES;
	long page = sysconf(_SC_PAGESIZE);
	char missing[64];
	int err;

	libbpf_print_setup();
	if (probe_helpers(missing, sizeof(missing))) {
		fprintf(stderr, "steer: this kernel lacks %s, which the eBPF backend needs: use backend nft\n",
			missing);
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		fprintf(stderr, "steer: out of memory\n");
		return NULL;
	}
	skel = steer_bpf__open();
	if (!skel) {
		fprintf(stderr, "steer: cannot open the BPF object: %s\n", strerror(errno));
		free(b);
		return NULL;
	}
	b->skel = skel;
	b->lookup_link = -1;
	b->stats_fd = -1;
	skel->rodata->steer_mark = s->mark;
	skel->rodata->steer_fail_closed = s->fail_closed;
	skel->rodata->steer_external_proxy = s->external_proxy;
	skel->rodata->steer_proxy_port = s->proxy_port;
	skel->rodata->steer_offload_on = s->offload;
	skel->rodata->steer_udp_idle_ns = idle_ms * 1000000ull;

	/* A ring buffer is a power of two, at least a page. */
	if (page <= 0)
		page = 4096;
	if (ev_bytes < (uint32_t)page)
		ev_bytes = page;
	if (ev_bytes > (1u << 30)) {
		fprintf(stderr, "steer: event ring of %u bytes is too large (max 1 GiB)\n", ev_bytes);
		steer_bpf_destroy(b);
		return NULL;
	}
	while (ev_bytes & (ev_bytes - 1))
		ev_bytes = (ev_bytes | (ev_bytes - 1)) + 1;
	skel->rodata->steer_events_wake = ev_bytes / 4;
	if (bpf_map__set_max_entries(skel->maps.steer_events, ev_bytes)) {
		fprintf(stderr, "steer: cannot size the event ring to %u bytes\n", ev_bytes);
		steer_bpf_destroy(b);
		return NULL;
	}

	if (bpf_map__set_max_entries(skel->maps.steer_dst4, lpm) ||
	    bpf_map__set_max_entries(skel->maps.steer_src4, lpm) ||
	    bpf_map__set_max_entries(skel->maps.steer_dst6, lpm) ||
	    bpf_map__set_max_entries(skel->maps.steer_src6, lpm)) {
		fprintf(stderr, "steer: cannot size the LPM maps to %u entries\n", lpm);
		steer_bpf_destroy(b);
		return NULL;
	}

	err = steer_bpf__load(skel);
	if (err) {
		if (err == -EPERM || errno == EPERM)
			fprintf(stderr, "steer: loading the BPF program needs CAP_BPF, CAP_PERFMON and "
					"CAP_NET_ADMIN (steer(8), PRIVILEGES): %s\n", strerror(-err));
		else
			fprintf(stderr, "steer: loading the BPF program failed: %s\n", strerror(-err));
		steer_bpf_destroy(b);
		return NULL;
	}

	/*
	 * steer_lookup on the caller's network namespace: the kernel's listener
	 * lookups of TIME_WAIT SYNs and the socket lookups of reassembled UDP
	 * datagrams reach the proxy through it, and before Linux 6.6 those of
	 * every new flow. The link dies with its fd (steer_bpf_destroy, or the
	 * process).
	 */
	{
		int ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

		if (ns < 0) {
			err = -errno;
		} else {
			b->lookup_link = bpf_link_create(bpf_program__fd(skel->progs.steer_lookup), ns,
							 STEER_BPF_SK_LOOKUP, NULL);
			err = b->lookup_link < 0 ? b->lookup_link : 0;
			close(ns);
		}
		if (err) {
			b->lookup_link = -1;
			snprintf(b->feat.lookup_error, sizeof(b->feat.lookup_error), "%s", strerror(-err));
		}
	}
	if (probe_kernel(b)) {
		steer_bpf_destroy(b);
		return NULL;
	}
	return b;
}

/* ---- rules ---- */

static void lpm_key_make(struct steer_lpm6_key *k, int v6, uint8_t gen, uint8_t len, const uint8_t *addr)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 8 + len;
	k->gen = gen;
	memcpy(k->addr, addr, v6 ? 16 : 4);
}

static struct bpf_map *lpm_map(struct steer_bpf *b, int i)
{
	struct bpf_map *m[4] = { b->skel->maps.steer_dst4, b->skel->maps.steer_src4,
				 b->skel->maps.steer_dst6, b->skel->maps.steer_src6 };
	return m[i];
}

static int lpm_map_fd(struct steer_bpf *b, int i)
{
	return bpf_map__fd(lpm_map(b, i));
}

/* Remove what a generation holds. Returns 0 or -errno (record kept on error). */
static int gen_clear(struct steer_bpf *b, int gen)
{
	struct gen_record *r = &b->rec[gen];
	struct steer_mask zero = { 0 };
	int pfd = bpf_map__fd(b->skel->maps.steer_ports);
	size_t i;
	int j;

	for (i = 0; i < r->nports; i++) {
		if (bpf_map_update_elem(pfd, &r->port_idx[i], &zero, BPF_ANY)) {
			int e = -errno;

			fprintf(stderr, "steer: clearing port map entry: %s\n", strerror(errno));
			return e;
		}
	}
	free(r->port_idx);
	r->port_idx = NULL;
	r->nports = 0;

	for (j = 0; j < 4; j++) {
		int fd = lpm_map_fd(b, j);

		for (i = 0; i < r->nlpm[j]; i++) {
			if (bpf_map_delete_elem(fd, &r->lpm[j][i]) && errno != ENOENT) {
				int e = -errno;

				fprintf(stderr, "steer: clearing prefix map entry: %s\n", strerror(errno));
				return e;
			}
		}
		free(r->lpm[j]);
		r->lpm[j] = NULL;
		r->nlpm[j] = 0;
	}
	return 0;
}

static int write_lpm(struct steer_bpf *b, int gen, int j, const struct lpm_entry *e, size_t n)
{
	struct gen_record *r = &b->rec[gen];
	int fd = lpm_map_fd(b, j), v6 = j >= 2;
	size_t i;

	r->lpm[j] = calloc(n ? n : 1, sizeof(*r->lpm[j]));
	if (!r->lpm[j])
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct steer_lpm6_key k;

		if (e[i].len > (v6 ? 128 : 32)) {
			fprintf(stderr, "steer: bad prefix length %u\n", e[i].len);
			return -EINVAL;
		}
		lpm_key_make(&k, v6, gen, e[i].len, e[i].addr);
		if (bpf_map_update_elem(fd, &k, &e[i].mask, BPF_ANY)) {
			int err = -errno;

			if (errno == E2BIG || errno == ENOSPC)
				fprintf(stderr, "steer: writing prefix map entry: %s (each prefix map holds %u "
						"entries, the running rules and the new ones together)\n",
					strerror(errno), bpf_map__max_entries(lpm_map(b, j)));
			else
				fprintf(stderr, "steer: writing prefix map entry: %s\n", strerror(errno));
			return err;
		}
		r->lpm[j][r->nlpm[j]++] = k;
	}
	return 0;
}

int steer_bpf_set_rules(struct steer_bpf *b, const struct compiled_rules *c)
{
	struct steer_bpf_skel *skel = b->skel;
	uint32_t cur = __atomic_load_n(&skel->bss->steer_gen, __ATOMIC_ACQUIRE) & 1;
	uint32_t idle = cur ^ 1;
	struct gen_record *r = &b->rec[idle];
	int pfd = bpf_map__fd(skel->maps.steer_ports);
	size_t i;
	int err;

	err = gen_clear(b, idle);
	if (err)
		return err;

	r->port_idx = calloc(c->nports ? c->nports : 1, sizeof(*r->port_idx));
	if (!r->port_idx) {
		fprintf(stderr, "steer: out of memory\n");
		return -ENOMEM;
	}
	for (i = 0; i < c->nports; i++) {
		const struct port_entry *p = &c->ports[i];
		uint32_t idx;

		if (p->proto_idx >= STEER_PROTO_MAX) {
			fprintf(stderr, "steer: bad protocol slot %u in compiled rules\n", p->proto_idx);
			return -EINVAL;
		}
		/* Before the flip: a flow steered by this generation finds its bit. */
		if (p->proto_idx == STEER_PROTO_TCP &&
		    ((p->mask.w[0] & ~c->ruleset.bypass.w[0]) | (p->mask.w[1] & ~c->ruleset.bypass.w[1])))
			__atomic_fetch_or(&skel->bss->steer_tcp_ports_seen[p->port / 64],
					  1ull << (p->port % 64), __ATOMIC_RELAXED);
		idx = steer_port_index(idle, p->proto_idx, p->port);
		if (bpf_map_update_elem(pfd, &idx, &p->mask, BPF_ANY)) {
			err = -errno;
			fprintf(stderr, "steer: writing port map entry: %s\n", strerror(errno));
			return err;
		}
		r->port_idx[r->nports++] = idx;
	}
	if ((err = write_lpm(b, idle, 0, c->dst4, c->ndst4)) ||
	    (err = write_lpm(b, idle, 1, c->src4, c->nsrc4)) ||
	    (err = write_lpm(b, idle, 2, c->dst6, c->ndst6)) ||
	    (err = write_lpm(b, idle, 3, c->src6, c->nsrc6))) {
		if (err == -ENOMEM)
			fprintf(stderr, "steer: out of memory\n");
		return err;
	}

	skel->bss->steer_rulesets[idle] = c->ruleset;
	/* Release: the idle generation's map entries and ruleset are visible first. */
	__atomic_store_n(&skel->bss->steer_gen, idle, __ATOMIC_RELEASE);
	return 0;
}

/* ---- listeners, local addresses, counters ---- */

int steer_bpf_set_listener(struct steer_bpf *b, int slot, int fd)
{
	uint32_t key = slot;
	int mfd = bpf_map__fd(b->skel->maps.steer_listen);

	if (slot < 0 || slot >= STEER_LISTEN_MAX) {
		fprintf(stderr, "steer: bad listener slot %d\n", slot);
		return -EINVAL;
	}
	if (fd < 0) {
		/* An empty sockmap slot answers EINVAL (the slot number is valid). */
		if (bpf_map_delete_elem(mfd, &key) && errno != ENOENT && errno != EINVAL) {
			int e = -errno;

			fprintf(stderr, "steer: clearing listener slot %d: %s\n", slot, strerror(errno));
			return e;
		}
		return 0;
	}
	uint64_t v = fd;

	if (bpf_map_update_elem(mfd, &key, &v, BPF_ANY)) {
		int e = -errno;

		fprintf(stderr, "steer: putting listener into slot %d: %s\n", slot, strerror(errno));
		return e;
	}
	return 0;
}

int steer_bpf_local_addr(struct steer_bpf *b, int family, const uint8_t *addr, bool add)
{
	struct steer_local_key k;
	uint8_t one = 1;
	int fd = bpf_map__fd(b->skel->maps.steer_local);

	if (family != 4 && family != 6) {
		fprintf(stderr, "steer: bad address family %d\n", family);
		return -EINVAL;
	}
	memset(&k, 0, sizeof(k));
	k.family = family;
	memcpy(k.addr, addr, family == 4 ? 4 : 16);
	if (add ? bpf_map_update_elem(fd, &k, &one, BPF_ANY) : bpf_map_delete_elem(fd, &k)) {
		if (!add && errno == ENOENT)
			return 0;
		int e = -errno;

		fprintf(stderr, "steer: %s local address: %s\n", add ? "adding" : "removing", strerror(errno));
		return e;
	}
	return 0;
}

/* Counter idx summed over CPUs, with v[ncpu] as scratch. Returns 0 or -errno. */
static int counter_sum(int fd, uint32_t idx, uint64_t *v, int ncpu, uint64_t *out)
{
	if (bpf_map_lookup_elem(fd, &idx, v))
		return -errno;
	*out = 0;
	for (int j = 0; j < ncpu; j++)
		*out += v[j];
	return 0;
}

int steer_bpf_counters(struct steer_bpf *b, uint64_t out[STEER_C_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(b->skel->maps.steer_counters);
	uint64_t *v;
	int err = 0;

	if (ncpu <= 0) {
		fprintf(stderr, "steer: cannot count CPUs\n");
		return ncpu ? ncpu : -EINVAL;
	}
	v = calloc(ncpu, sizeof(*v));
	if (!v) {
		fprintf(stderr, "steer: out of memory\n");
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < STEER_C_MAX && !err; i++) {
		err = counter_sum(fd, i, v, ncpu, &out[i]);
		if (err)
			fprintf(stderr, "steer: reading counters: %s\n", strerror(-err));
	}
	free(v);
	return err;
}

/* One counter, summed over CPUs: a single map lookup (the audit's loss check). */
int steer_bpf_counter(struct steer_bpf *b, uint32_t idx, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v;
	int err;

	if (ncpu <= 0 || idx >= STEER_C_MAX)
		return -EINVAL;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	err = counter_sum(bpf_map__fd(b->skel->maps.steer_counters), idx, v, ncpu, out);
	free(v);
	return err;
}

/* ---- run mode ---- */

int steer_bpf_set_mode(struct steer_bpf *b, enum steer_mode mode, int split_percent)
{
	if (mode != STEER_MODE_EBPF && mode != STEER_MODE_PROBE && mode != STEER_MODE_SPLIT) {
		fprintf(stderr, "steer: bad run mode %d\n", (int)mode);
		return -EINVAL;
	}
	if (mode == STEER_MODE_SPLIT && (split_percent < 0 || split_percent > 100)) {
		fprintf(stderr, "steer: split percentage %d is not in 0..100\n", split_percent);
		return -EINVAL;
	}
	/* The percentage first: a packet that sees SPLIT sees its percentage. */
	if (mode == STEER_MODE_SPLIT)
		__atomic_store_n(&b->skel->bss->steer_split_percent, (uint32_t)split_percent, __ATOMIC_RELEASE);
	__atomic_store_n(&b->skel->bss->steer_mode, (uint32_t)mode, __ATOMIC_RELEASE);
	return 0;
}

/* ---- flow events ---- */

static int event_sample(void *ctx, void *data, size_t size)
{
	struct steer_bpf *b = ctx;

	if (size < sizeof(struct steer_event))
		return 0; /* not ours: skip it */
	b->ev_cb(b->ev_ctx, data);
	return 0;
}

int steer_bpf_events_open(struct steer_bpf *b, steer_event_cb cb, void *ctx)
{
	int err;

	if (!cb) {
		fprintf(stderr, "steer: flow events need a callback\n");
		return -EINVAL;
	}
	if (b->rb) {
		fprintf(stderr, "steer: flow events already open\n");
		return -EBUSY;
	}
	b->ev_cb = cb;
	b->ev_ctx = ctx;
	b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.steer_events), event_sample, b, NULL);
	if (!b->rb) {
		err = -errno;
		fprintf(stderr, "steer: opening the flow event ring: %s\n", strerror(errno));
		return err ? err : -EINVAL;
	}
	return 0;
}

int steer_bpf_events_fd(struct steer_bpf *b)
{
	if (!b->rb)
		return -EBADF;
	return ring_buffer__epoll_fd(b->rb);
}

int steer_bpf_events_consume(struct steer_bpf *b)
{
	int n;

	if (!b->rb)
		return -EBADF;
	n = ring_buffer__consume(b->rb);
	if (n < 0)
		fprintf(stderr, "steer: reading flow events: %s\n", strerror(-n));
	return n;
}

int steer_bpf_prog_fd(struct steer_bpf *b, bool ret)
{
	return bpf_program__fd(ret ? b->skel->progs.steer_return : b->skel->progs.steer_ingress);
}

int steer_bpf_lookup_prog_fd(struct steer_bpf *b)
{
	return bpf_program__fd(b->skel->progs.steer_lookup);
}

int steer_bpf_map_fd(struct steer_bpf *b, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(b->skel->obj, name);

	return m ? bpf_map__fd(m) : -ENOENT;
}

bool steer_bpf_lookup_attached(struct steer_bpf *b)
{
	return b->lookup_link >= 0;
}

void steer_bpf_set_proxy_full(struct steer_bpf *b, bool full)
{
	*(volatile __u32 *)&b->skel->bss->steer_proxy_full = full;
}

void steer_bpf_offload_live(struct steer_bpf *b, int delta)
{
	__atomic_add_fetch(&b->skel->bss->steer_offload_live, (__u32)delta, __ATOMIC_RELAXED);
}

void steer_bpf_features(struct steer_bpf *b, struct steer_bpf_features *out)
{
	*out = b->feat;
	/* The classifier sets it at the first refusal when the probe could not tell. */
	out->via_lookup = *(volatile __u32 *)&b->skel->bss->steer_assign_via_lookup != 0;
}

/* ---- attach / detach ---- */

static int tc_attach(struct attachment *a, int prog_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = STEER_TC_HANDLE,
			    .priority = a->ret ? STEER_TC_PRIO_RETURN : STEER_TC_PRIO_INGRESS,
			    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int err;

	libbpf_quiet_add(1);
	err = bpf_tc_hook_create(&hook);
	libbpf_quiet_add(-1);
	if (err && err != -EEXIST) {
		fprintf(stderr, "steer: creating clsact qdisc on %s: %s\n", a->ifname, strerror(-err));
		return err;
	}
	a->created_qdisc = err == 0;
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		fprintf(stderr, "steer: attaching tc filter on %s: %s\n", a->ifname, strerror(-err));
		if (a->created_qdisc) {
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&hook);
			a->created_qdisc = false;
		}
		return err;
	}
	return 0;
}

/*
 * The classifier parses an Ethernet header first: on an L3 device (tun,
 * wireguard, ppp, gre) it would count every packet as not IP and steer
 * nothing, silently. Refuse those instead.
 */
static int check_link_type(const char *ifname)
{
	int type;

	if (link_is_ethernet(ifname, &type))
		return 0;
	fprintf(stderr, "steer: interface %s is not Ethernet (link type %d): the classifier parses Ethernet frames\n",
		ifname, type);
	return -EPROTONOSUPPORT;
}

int steer_bpf_attach(struct steer_bpf *b, const char *ifname, bool ret)
{
	struct attachment a, *n;
	int prog_fd = steer_bpf_prog_fd(b, ret);
	const char *nt;
	int fd, err;

	memset(&a, 0, sizeof(a));
	a.ifindex = if_nametoindex(ifname);
	if (!a.ifindex) {
		err = -errno;
		fprintf(stderr, "steer: interface %s: %s\n", ifname, strerror(errno));
		return err;
	}
	err = check_link_type(ifname);
	if (err < 0)
		return err;
	snprintf(a.ifname, sizeof(a.ifname), "%s", ifname);
	a.ret = ret;
	a.link_fd = -1;

	n = realloc(b->att, (b->natt + 1) * sizeof(*b->att));
	if (!n) {
		fprintf(stderr, "steer: out of memory\n");
		return -ENOMEM;
	}
	b->att = n;

	/* STEER_BPF_NO_TCX=1 forces the clsact path (tests, or tc-only tooling). */
	nt = getenv("STEER_BPF_NO_TCX");
	if (nt && *nt && strcmp(nt, "0") != 0)
		fd = -EOPNOTSUPP;
	else
		fd = bpf_link_create(prog_fd, a.ifindex, STEER_BPF_TCX_INGRESS, NULL);
	if (fd >= 0) {
		a.tcx = true;
		a.link_fd = fd;
	} else if (fd == -EINVAL || fd == -EOPNOTSUPP || fd == -ENOTSUP) {
		err = tc_attach(&a, prog_fd);
		if (err)
			return err;
	} else {
		fprintf(stderr, "steer: attaching to %s (tcx): %s\n", ifname, strerror(-fd));
		return fd;
	}
	b->att[b->natt++] = a;
	return 0;
}

static void detach_one(struct attachment *a)
{
	if (a->tcx) {
		close(a->link_fd);
		return;
	}
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = STEER_TC_HANDLE,
			    .priority = a->ret ? STEER_TC_PRIO_RETURN : STEER_TC_PRIO_INGRESS);
	int err;

	libbpf_quiet_add(1);
	err = bpf_tc_detach(&hook, &opts);
	libbpf_quiet_add(-1);
	if (err && err != -ENOENT && err != -ENODEV)
		fprintf(stderr, "steer: removing tc filter from %s: %s\n", a->ifname, strerror(-err));
}

/* The clsact qdisc a created, if it did; call once no filter of ours is left on it. */
static void remove_qdisc(const struct attachment *a)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err;

	if (a->tcx || !a->created_qdisc)
		return;
	libbpf_quiet_add(1);
	err = bpf_tc_hook_destroy(&hook);
	libbpf_quiet_add(-1);
	if (err && err != -ENOENT && err != -ENODEV && err != -EINVAL)
		fprintf(stderr, "steer: removing clsact qdisc from %s: %s\n", a->ifname, strerror(-err));
}

int steer_bpf_detach(struct steer_bpf *b, const char *ifname)
{
	size_t i, kept = 0;

	for (i = b->natt; i-- > 0;)
		if (!strcmp(b->att[i].ifname, ifname))
			detach_one(&b->att[i]);
	for (i = 0; i < b->natt; i++) {
		if (strcmp(b->att[i].ifname, ifname))
			b->att[kept++] = b->att[i];
		else
			remove_qdisc(&b->att[i]);
	}
	b->natt = kept;
	return 0;
}

bool steer_bpf_attached_tcx(struct steer_bpf *b)
{
	for (size_t i = 0; i < b->natt; i++)
		if (b->att[i].tcx)
			return true;
	return false;
}

bool steer_bpf_attachment(struct steer_bpf *b, const char *ifname, int *ifindex, bool *tcx)
{
	for (size_t i = 0; i < b->natt; i++)
		if (!strcmp(b->att[i].ifname, ifname)) {
			*ifindex = b->att[i].ifindex;
			*tcx = b->att[i].tcx;
			return true;
		}
	return false;
}

/* The operator may have turned the accounting on for the whole host (sysctl kernel.bpf_stats_enabled). */
static bool stats_enabled_by_sysctl(void)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "re");
	int on = 0;

	if (f) {
		if (fscanf(f, "%d", &on) != 1)
			on = 0;
		fclose(f);
	}
	return on == 1;
}

int steer_bpf_enable_stats(struct steer_bpf *b)
{
	int err;

	if (b->stats_on)
		return 0;
	b->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	err = errno;
	b->stats_on = b->stats_fd >= 0 || stats_enabled_by_sysctl();
	return b->stats_on ? 0 : -err;
}

size_t steer_bpf_run_stats(struct steer_bpf *b, struct steer_bpf_run_stat *out, size_t max)
{
	const struct bpf_program *progs[] = { b->skel->progs.steer_ingress, b->skel->progs.steer_return,
					      b->skel->progs.steer_lookup };
	size_t n = 0;

	if (!b->stats_on)
		return 0;
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]) && n < max; i++) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(bpf_program__fd(progs[i]), &info, &len))
			continue;
		out[n++] = (struct steer_bpf_run_stat){ bpf_program__name(progs[i]), info.run_time_ns, info.run_cnt };
	}
	return n;
}

void steer_bpf_destroy(struct steer_bpf *b)
{
	size_t i;
	int g;

	if (!b)
		return;
	if (b->lookup_link >= 0)
		close(b->lookup_link);
	if (b->stats_fd >= 0)
		close(b->stats_fd);
	for (i = b->natt; i-- > 0;)
		detach_one(&b->att[i]);
	/* Remove the clsact qdiscs we created, after all our filters are gone. */
	for (i = 0; i < b->natt; i++)
		remove_qdisc(&b->att[i]);
	free(b->att);
	ring_buffer__free(b->rb);
	for (g = 0; g < STEER_GENERATIONS; g++) {
		free(b->rec[g].port_idx);
		for (i = 0; i < 4; i++)
			free(b->rec[g].lpm[i]);
	}
	steer_bpf__destroy(b->skel);
	free(b);
}
