// SPDX-License-Identifier: GPL-2.0-only
/*
 * The netlink layer of nl.h. Requests and batches are answered inside
 * sendmsg() (rtnetlink and nfnetlink process them in the sender's context),
 * so their answers are read without blocking; a dump is read blocking until
 * NLMSG_DONE.
 */
#include "steer/nl.h"

#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* Larger than the biggest datagram the kernel builds for a dump (32 KiB). */
#define NL_BUFSZ (1 << 16)
/* How long answers that are not queued when sendmsg() returns may take. */
#define NL_ACK_WAIT_MS 2000

int nl_open(struct nl_sock *s, int bus, unsigned int groups, int flags)
{
	int one = 1;

	memset(s, 0, sizeof(*s));
	s->mnl = mnl_socket_open2(bus, SOCK_CLOEXEC | flags);
	if (!s->mnl)
		return -errno;
	if (mnl_socket_bind(s->mnl, groups, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		nl_close(s);
		return err;
	}
	/* Best effort: older kernels lack them, the ACK is still checked. */
	mnl_socket_setsockopt(s->mnl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(s->mnl, NETLINK_CAP_ACK, &one, sizeof(one));
	s->portid = mnl_socket_get_portid(s->mnl);
	s->seq = (uint32_t)time(NULL);
	return 0;
}

void nl_close(struct nl_sock *s)
{
	if (s->mnl)
		mnl_socket_close(s->mnl);
	s->mnl = NULL;
}

static void set_buf(int fd, int force_opt, int opt, size_t bytes)
{
	int v = (int)bytes;

	if (bytes && setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

void nl_set_bufs(struct nl_sock *s, size_t sndbuf, size_t rcvbuf)
{
	int fd = mnl_socket_get_fd(s->mnl);

	set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf);
	set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf);
}

uint32_t nl_next_seq(const struct nl_sock *s)
{
	return s->seq + 1;
}

static void reset_error(struct nl_sock *s)
{
	s->err_seq = 0;
	s->msg[0] = '\0';
	s->msg_from_kernel = false;
}

/* ---------------------------------------------------------------------------
 * Errors and their extended ACKs
 */

static int extack_attr_cb(const struct nlattr *attr, void *data)
{
	struct nl_sock *s = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
		snprintf(s->msg, sizeof(s->msg), "%s", mnl_attr_get_str(attr));
		/* drop a trailing newline some messages carry */
		s->msg[strcspn(s->msg, "\n")] = '\0';
		s->msg_from_kernel = true;
	}
	return MNL_CB_OK;
}

/*
 * Note an NLMSG_ERROR that reports a failure: its -errno, which message,
 * and the extended-ACK text. A later failure of an earlier message wins:
 * in a batch the first failure is the cause.
 */
static void record_error(struct nl_sock *s, int *err, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t plen = mnl_nlmsg_get_payload_len(nlh);

	if (*err && nlh->nlmsg_seq >= s->err_seq)
		return;
	*err = e->error < 0 ? e->error : -e->error;
	s->err_seq = nlh->nlmsg_seq;
	s->msg[0] = '\0';
	s->msg_from_kernel = false;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		size_t off = sizeof(*e);

		/* without NLM_F_CAPPED the request's body follows its header */
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len > sizeof(struct nlmsghdr) ?
				       e->msg.nlmsg_len - sizeof(struct nlmsghdr) : 0;
		off = MNL_ALIGN(off);
		if (off < plen)
			mnl_attr_parse_payload((const char *)e + off, plen - off, extack_attr_cb, s);
	}
}

static bool is_error_msg(const struct nlmsghdr *nlh)
{
	return nlh->nlmsg_type == NLMSG_ERROR &&
	       mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct nlmsgerr);
}

/* ---------------------------------------------------------------------------
 * Requests and batches
 */

int nl_send(struct nl_sock *s, const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int rem = (int)len;

	reset_error(s);
	if (mnl_socket_sendto(s->mnl, buf, len) < 0)
		return -errno;
	/* what nl_acks waits for: the numbers in buf */
	s->first_seq = nlh->nlmsg_seq;
	for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem))
		s->seq = nlh->nlmsg_seq;
	return 0;
}

static bool ours(const struct nl_sock *s, uint32_t seq)
{
	return seq - s->first_seq <= s->seq - s->first_seq;
}

struct tally {
	size_t acks;
	int err;
};

static void tally_answers(struct nl_sock *s, struct tally *t, const char *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int rem = (int)len;

	for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		if (!is_error_msg(nlh) || !ours(s, nlh->nlmsg_seq))
			continue;
		if (((const struct nlmsgerr *)mnl_nlmsg_get_payload(nlh))->error)
			record_error(s, &t->err, nlh);
		else
			t->acks++;
	}
}

int nl_acks(struct nl_sock *s, size_t nacks)
{
	int fd = mnl_socket_get_fd(s->mnl);
	struct tally t = { 0 };
	char *buf = malloc(NL_BUFSZ);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = recv(fd, buf, NL_BUFSZ, MSG_DONTWAIT);
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (n > 0) {
			tally_answers(s, &t, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			/* Answers were lost: no way to know which; a lost error would hide a failure. */
			t.err = t.err ? t.err : -ENOBUFS;
			snprintf(s->msg, sizeof(s->msg), "answers lost");
			s->msg_from_kernel = false;
			break;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			t.err = -errno;
			break;
		}
		if (t.err || t.acks >= nacks)
			break;
		if (poll(&p, 1, NL_ACK_WAIT_MS) <= 0) {
			t.err = -ETIMEDOUT;
			snprintf(s->msg, sizeof(s->msg), "%zu of %zu acknowledgements", t.acks, nacks);
			s->msg_from_kernel = false;
			break;
		}
	}
	free(buf);
	return t.err;
}

int nl_request(struct nl_sock *s, struct nlmsghdr *nlh)
{
	int err;

	nlh->nlmsg_seq = nl_next_seq(s);
	nlh->nlmsg_flags |= NLM_F_ACK;
	err = nl_send(s, nlh, nlh->nlmsg_len);
	return err ? err : nl_acks(s, 1);
}

/* ---------------------------------------------------------------------------
 * Dumps
 */

/* What the callbacks of one dump see. */
struct dump {
	struct nl_sock *s;
	mnl_cb_t data_cb;
	void *data;
	int err;
};

/* NLMSG_ERROR ends a dump that could not start; an ACK (0) ends it too. */
static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;

	if (!is_error_msg(nlh)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (((const struct nlmsgerr *)mnl_nlmsg_get_payload(nlh))->error == 0)
		return MNL_CB_STOP;
	record_error(d->s, &d->err, nlh);
	errno = -d->err;
	return MNL_CB_ERROR;
}

/* NLMSG_DONE ends a dump; it may carry the dump's error. */
static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)data;
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
		int e = *(const int *)mnl_nlmsg_get_payload(nlh);

		if (e < 0) {
			errno = -e;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

static int noop_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static int data_shim(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;

	return d->data_cb ? d->data_cb(nlh, d->data) : MNL_CB_OK;
}

static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
	[NLMSG_NOOP] = noop_cb,
	[NLMSG_ERROR] = error_cb,
	[NLMSG_DONE] = done_cb,
	[NLMSG_OVERRUN] = noop_cb,
};

static bool has_dump_end(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int rem = (int)len;

	for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem))
		if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR)
			return true;
	return false;
}

/* Discard the rest of a dump whose last datagram is in buf, so that the socket stays usable. */
static void drain_dump(struct nl_sock *s, char *buf, size_t len)
{
	while (!has_dump_end(buf, len)) {
		ssize_t r = mnl_socket_recvfrom(s->mnl, buf, NL_BUFSZ);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		len = (size_t)r;
	}
}

/* One run of the dump. 0 or -errno; -EINTR: interrupted, to be repeated. */
static int dump_once(struct nl_sock *s, struct nlmsghdr *nlh, char *buf, struct dump *d)
{
	uint32_t seq = nl_next_seq(s);

	nlh->nlmsg_seq = seq;
	reset_error(s);
	d->err = 0;
	if (mnl_socket_sendto(s->mnl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	s->first_seq = s->seq = seq;
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(s->mnl, buf, NL_BUFSZ);
		int ret;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* libmnl reports NLM_F_DUMP_INTR as MNL_CB_ERROR with errno EINTR */
		ret = mnl_cb_run2(buf, (size_t)len, seq, s->portid, data_shim, d, ctl_cbs,
				  NLMSG_MIN_TYPE);
		if (ret == MNL_CB_ERROR) {
			int err = -errno;

			drain_dump(s, buf, (size_t)len);
			return err;
		}
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

int nl_dump(struct nl_sock *s, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
	    void (*restart)(void *data))
{
	struct dump d = { s, cb, data, 0 };
	char *buf = malloc(NL_BUFSZ);
	int err = -EINTR;

	if (!buf)
		return -ENOMEM;
	for (int try = 0; try < NL_DUMP_TRIES && err == -EINTR; try++) {
		if (try && restart)
			restart(data);
		err = dump_once(s, nlh, buf, &d);
	}
	free(buf);
	return err;
}

/* ---------------------------------------------------------------------------
 * Notifications
 */

int nl_read_notifications(struct nl_sock *s, mnl_cb_t cb, void *data)
{
	bool overrun = false;
	char *buf = malloc(NL_BUFSZ);
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(s->mnl, buf, NL_BUFSZ);

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) { /* the kernel dropped notifications */
				overrun = true;
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				err = -errno;
			break;
		}
		if (len == 0)
			break;
		/* notifications: no sequence number or port to check */
		mnl_cb_run(buf, (size_t)len, 0, 0, cb, data);
	}
	free(buf);
	return err ? err : overrun ? -ENOBUFS : 0;
}
