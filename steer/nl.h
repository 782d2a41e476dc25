/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one netlink layer (libmnl) under the routing code and the nftables
 * backend: a socket of one netlink family with its port id and sequence
 * numbers, requests and batches whose every ACK is checked, dumps that are
 * repeated when the kernel reports them interrupted, and notifications.
 *
 * Error convention: every function returns 0 (or what its comment says) on
 * success and -errno on failure; nothing is printed, the caller says what
 * failed. After a failure s->msg holds the kernel's extended-ACK message
 * (NLMSGERR_ATTR_MSG) when it sent one, or the helper's note on answers that
 * never came, "" otherwise; s->err_seq is the sequence number of the message
 * that failed. Both are reset by the next request, batch or dump.
 */
#ifndef STEER_NL_H
#define STEER_NL_H

#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Tries of one dump in all when the kernel keeps interrupting it. */
#define NL_DUMP_TRIES 5

struct nl_sock {
	struct mnl_socket *mnl;
	uint32_t portid;
	uint32_t seq;       /* the last sequence number sent */
	uint32_t first_seq; /* the first of the last request or batch */
	uint32_t err_seq;   /* the message that failed (the first one, in a batch) */
	char msg[256];
	bool msg_from_kernel; /* msg is the kernel's extended ACK, not a note of ours */
};

/*
 * Open and bind a socket of family bus (NETLINK_ROUTE, NETLINK_NETFILTER),
 * joined to the multicast groups (0: none); flags are socket(2) type flags
 * (SOCK_NONBLOCK), SOCK_CLOEXEC always. Extended and capped ACKs are asked
 * for where the kernel has them.
 */
int nl_open(struct nl_sock *s, int bus, unsigned int groups, int flags);
void nl_close(struct nl_sock *s);

/*
 * Socket buffer sizes in bytes (0: leave as is); beyond the system maximum
 * where the caller may (root). Best effort: a batch larger than the send
 * buffer then fails in nl_send.
 */
void nl_set_bufs(struct nl_sock *s, size_t sndbuf, size_t rcvbuf);

/* The sequence number the next message should carry (a batch's first). */
uint32_t nl_next_seq(const struct nl_sock *s);

/*
 * Send one request and wait for its ACK (NLM_F_ACK is set here, and the
 * sequence number). 0 or the kernel's -errno.
 */
int nl_request(struct nl_sock *s, struct nlmsghdr *nlh);

/*
 * Send buf (len bytes: messages numbered from nl_next_seq(), as built) in one
 * sendmsg(), so that nfnetlink applies the batch all or nothing.
 */
int nl_send(struct nl_sock *s, const void *buf, size_t len);

/*
 * Collect the answers to what the last nl_send sent: nacks ACKs are due.
 * Returns 0, or the error of the first message that failed (lowest sequence
 * number, s->err_seq); -ENOBUFS when answers were lost, -ETIMEDOUT when some
 * never came (s->msg says which).
 */
int nl_acks(struct nl_sock *s, size_t nacks);

/*
 * Run the dump request nlh (the caller sets NLM_F_DUMP; the sequence number
 * is set here): cb sees each data message with data. When the kernel marks
 * the dump interrupted (NLM_F_DUMP_INTR: the table changed meanwhile), the
 * rest is read and dropped, restart(data) (if not NULL) undoes what cb
 * collected, and the dump is sent again, NL_DUMP_TRIES times in all, then
 * -EINTR. Returns 0 or -errno (an NLMSG_ERROR, or the error NLMSG_DONE
 * carries, or errno of a cb that returned MNL_CB_ERROR).
 */
int nl_dump(struct nl_sock *s, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
	    void (*restart)(void *data));

/*
 * Read every queued notification without blocking (the socket was opened
 * with SOCK_NONBLOCK) and hand each message to cb. 0, -ENOBUFS when the
 * kernel dropped some (the queue overran: what the caller keeps may be
 * stale), or -errno.
 */
int nl_read_notifications(struct nl_sock *s, mnl_cb_t cb, void *data);

#endif
