// SPDX-License-Identifier: GPL-2.0-only
/* The offload's two map entries per flow, written at handoff and read at its end (offload_ctl.h). */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "bpf/offload_ctl.h"

/* The tuple as a packet from src to dst carries it (steer_flow_key: family 4/6, ports in host order). */
static int flow_key(const struct sockaddr_storage *src, const struct sockaddr_storage *dst, struct steer_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->proto = IPPROTO_TCP;
	if (src->ss_family == AF_INET && dst->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)src, *d = (const void *)dst;

		k->family = 4;
		memcpy(k->saddr, &s->sin_addr, 4);
		memcpy(k->daddr, &d->sin_addr, 4);
		k->sport = ntohs(s->sin_port);
		k->dport = ntohs(d->sin_port);
		return 0;
	}
	if (src->ss_family == AF_INET6 && dst->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)src, *d = (const void *)dst;
		/* Mapped addresses: the packets on the wire are IPv4. */
		int v4 = IN6_IS_ADDR_V4MAPPED(&s->sin6_addr) && IN6_IS_ADDR_V4MAPPED(&d->sin6_addr);

		k->family = v4 ? 4 : 6;
		memcpy(k->saddr, s->sin6_addr.s6_addr + (v4 ? 12 : 0), v4 ? 4 : 16);
		memcpy(k->daddr, d->sin6_addr.s6_addr + (v4 ? 12 : 0), v4 ? 4 : 16);
		k->sport = ntohs(s->sin6_port);
		k->dport = ntohs(d->sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

/*
 * The map's fd, and the flow's keys: [SPLICE_UP] keyed client -> dst,
 * [SPLICE_DOWN] dst -> client. -errno when either cannot be had.
 */
static int flow_keys(struct steer_bpf *b, const struct proxy_splice *sp, struct steer_flow_key k[2])
{
	int fd = steer_bpf_map_fd(b, "steer_offload");

	if (fd < 0) {
		fprintf(stderr, "steer: offload of flow %llu: the classifier has no offload map\n",
			(unsigned long long)sp->flow);
		return fd;
	}
	if (flow_key(&sp->client, &sp->dst, &k[SPLICE_UP])) {
		fprintf(stderr, "steer: offload of flow %llu: the client's and the destination's address families "
				"differ or are not IP\n", (unsigned long long)sp->flow);
		return -EAFNOSUPPORT;
	}
	flow_key(&sp->dst, &sp->client, &k[SPLICE_DOWN]);
	return fd;
}

/* Whether the flow's entries are its freeze (both: the proxy writes them together). */
static bool frozen(int fd, const struct steer_flow_key k[2])
{
	struct steer_offload_dir d;

	return bpf_map_lookup_elem(fd, &k[0], &d) == 0 && (d.flags & STEER_OFL_F_FREEZE) &&
	       bpf_map_lookup_elem(fd, &k[1], &d) == 0 && (d.flags & STEER_OFL_F_FREEZE);
}

/*
 * A freeze's entries, or the translation: new, or in place of the flow's
 * freeze (an update replaces an entry at once: a segment sees one or the
 * other). steer_offload_live counts flows with entries, frozen or not.
 */
int steer_bpf_splice_add(struct steer_bpf *b, const struct proxy_splice *sp)
{
	struct steer_flow_key k[2];
	struct steer_offload_dir d[2];
	int fd = flow_keys(b, sp, k), err, i;
	bool replace;

	if (fd < 0)
		return fd;
	replace = !sp->freeze && frozen(fd, k);
	for (i = 0; i < 2; i++) {
		const struct proxy_splice_dir *s = &sp->dir[i];

		d[i] = sp->freeze ? (struct steer_offload_dir){ .flags = STEER_OFL_F_FREEZE }
				  : (struct steer_offload_dir){
					    .seq_delta = s->seq_delta,
					    .ack_delta = s->ack_delta,
					    .wscale_in = s->wscale_in,
					    .wscale_out = s->wscale_out,
					    .flags = sp->timestamps ? STEER_OFL_F_TS : 0,
					    .ts_clock_offset = s->ts_clock_offset,
				    };
	}
	for (i = 0; i < 2; i++) {
		if (bpf_map_update_elem(fd, &k[i], &d[i], replace ? BPF_EXIST : BPF_NOEXIST) == 0)
			continue;
		err = errno == E2BIG ? -ENOSPC : -errno;
		/* A translation half written over a freeze: the caller's splice_del removes both. */
		if (i == 1 && !replace)
			bpf_map_delete_elem(fd, &k[0]);
		/* The tuple's last flow, offloaded, lingers until its reap: the proxy tries again later. */
		if (err != -EEXIST)
			fprintf(stderr, "steer: offload of flow %llu: %s\n", (unsigned long long)sp->flow,
				strerror(-err));
		return err;
	}
	if (!replace)
		steer_bpf_offload_live(b, 1);
	return 0;
}

/* Look up and delete key's entry, at once where the kernel can. 0 or -errno. */
static int take(int fd, const struct steer_flow_key *key, struct steer_offload_dir *d)
{
	int rc = bpf_map_lookup_and_delete_elem(fd, key, d);

	if (rc == 0 || rc == -ENOENT)
		return rc;
	/* an older kernel's "not for this map type" (EINVAL, ENOTSUPP): the two calls */
	rc = bpf_map_lookup_elem(fd, key, d);
	return rc ? rc : bpf_map_delete_elem(fd, key);
}

int steer_bpf_splice_end(struct steer_bpf *b, const struct proxy_splice *sp, bool remove,
			 struct classifier_splice_end *out)
{
	struct steer_flow_key k[2];
	int fd = flow_keys(b, sp, k), found = 0;

	if (fd < 0)
		return fd;
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < 2; i++) {
		struct steer_offload_dir d;

		/*
		 * Removed in the same call when the kernel can (Linux 5.14+ for a
		 * hash): a segment translated between a lookup and a delete would
		 * be missing from the count the proxy's undo goes by.
		 */
		if (remove ? take(fd, &k[i], &d) : bpf_map_lookup_elem(fd, &k[i], &d))
			continue;
		found++;
		out->dir[i].fin = d.state & STEER_OFL_S_FIN;
		out->dir[i].rst = d.state & STEER_OFL_S_RST;
		out->dir[i].syn = d.state & STEER_OFL_S_SYN;
		out->dir[i].end_seq = d.end_seq;
		out->dir[i].last_ns = d.last_ns;
		out->dir[i].packets = d.packets;
		out->dir[i].bytes = d.bytes;
	}
	if (!found)
		return -ENOENT;
	if (remove)
		steer_bpf_offload_live(b, -1);
	return 0;
}
