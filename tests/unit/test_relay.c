// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for proxy/tcp_relay.c: the pump between a connection's two
 * sockets, driven here with poll() instead of a worker's libev loop.
 *
 * Each test holds four sockets: the client's end and the relay's client
 * socket (one pair), the relay's upstream socket and the server's end
 * (another pair). Small messages and half-close use AF_UNIX socketpairs.
 * The bulk transfer and the resets use loopback TCP pairs: the splice path
 * runs on TCP sockets in the proxy (AF_UNIX splices through other kernel
 * code), and only TCP has a reset (SO_LINGER {1,0}) to report.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/tcp_relay.h"

struct fixture {
	int cli_peer, up_peer; /* the client's and the server's ends */
	struct relay r;
	struct proxy_stats st;
	struct pipe_pool pool;
	char buf[COPY_BUF];
	struct relay_env env;
};

static void nonblock(int fd)
{
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
}

static void unix_pair(int *a, int *b)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	*a = sv[0];
	*b = sv[1];
}

/* A connected loopback TCP pair, both ends non-blocking. */
static void tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	*a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(*a >= 0);
	assert_int_equal(connect(*a, (struct sockaddr *)&sin, sizeof(sin)), 0);
	*b = accept(l, NULL, NULL);
	assert_true(*b >= 0);
	close(l);
	nonblock(*a);
	nonblock(*b);
}

static struct fixture *fixture_new(void (*pair)(int *, int *))
{
	struct fixture *f = calloc(1, sizeof(*f));
	int cli, up;

	assert_non_null(f);
	pair(&f->cli_peer, &cli);
	pair(&up, &f->up_peer);
	relay_init(&f->r, cli, up);
	f->pool.st = &f->st;
	f->env = (struct relay_env){ .pool = &f->pool, .buf = f->buf };
	return f;
}

static int setup_unix(void **state)
{
	*state = fixture_new(unix_pair);
	return 0;
}

static int setup_tcp(void **state)
{
	*state = fixture_new(tcp_pair);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	relay_release(&f->env, &f->r);
	pipe_pool_drain(&f->pool);
	for (int s = 0; s < 2; s++)
		if (f->r.fd[s] >= 0)
			close(f->r.fd[s]);
	close(f->cli_peer);
	close(f->up_peer);
	free(f);
	return 0;
}

/* Pump both directions once, as a worker does right after the connect. */
static unsigned run(struct fixture *f)
{
	int err = 0;
	unsigned fl = relay_run(&f->env, &f->r, 1u << DIR_UP | 1u << DIR_DOWN, &err);

	assert_int_equal(fl & RELAY_ERRORS, 0);
	return fl;
}

/* Read exactly n bytes (or up to EOF when n == 0: returns 0 bytes, EOF seen). */
static void expect(int fd, const char *want, size_t n)
{
	char got[256];
	size_t have = 0;

	assert_true(n <= sizeof(got));
	while (have < n || n == 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t m;

		assert_int_equal(poll(&p, 1, 2000), 1);
		m = recv(fd, got + have, sizeof(got) - have, 0);
		assert_true(m >= 0);
		if (m == 0) {
			assert_int_equal(n, 0);
			return;
		}
		have += (size_t)m;
		assert_true(have <= n);
	}
	assert_memory_equal(got, want, n);
}

static void test_small_messages_copied_both_ways(void **state)
{
	struct fixture *f = *state;
	unsigned fl;

	assert_int_equal(send(f->cli_peer, "GET / HTTP/1.0\r\n\r\n", 18, 0), 18);
	fl = run(f);
	expect(f->up_peer, "GET / HTTP/1.0\r\n\r\n", 18);
	assert_int_equal(fl, RELAY_READ_CLI | RELAY_READ_UP);

	assert_int_equal(send(f->up_peer, "HTTP/1.0 200 OK\r\n", 17, 0), 17);
	fl = run(f);
	expect(f->cli_peer, "HTTP/1.0 200 OK\r\n", 17);
	assert_int_equal(fl, RELAY_READ_CLI | RELAY_READ_UP);

	assert_int_equal(f->r.dir[DIR_UP].bytes, 18);
	assert_int_equal(f->r.dir[DIR_DOWN].bytes, 17);
	/* the copy path: no splicing, no pipe taken */
	assert_false(f->r.dir[DIR_UP].spliced);
	assert_false(f->r.dir[DIR_DOWN].spliced);
	assert_int_equal(f->st.pipes_created, 0);
	assert_int_equal(f->r.dir[DIR_UP].pipe.rd, -1);
}

static void test_half_close(void **state)
{
	struct fixture *f = *state;
	unsigned fl;

	/* The client's last bytes and its EOF: both reach the server. */
	assert_int_equal(send(f->cli_peer, "bye", 3, 0), 3);
	assert_int_equal(shutdown(f->cli_peer, SHUT_WR), 0);
	fl = run(f);
	expect(f->up_peer, "bye", 3);
	expect(f->up_peer, NULL, 0);
	assert_int_equal(fl, RELAY_EOF_UP | RELAY_READ_UP);
	assert_true(f->r.dir[DIR_UP].shut);

	/* The other way still flows. */
	assert_int_equal(send(f->up_peer, "late reply", 10, 0), 10);
	fl = run(f);
	expect(f->cli_peer, "late reply", 10);
	assert_int_equal(fl, RELAY_EOF_UP | RELAY_READ_UP);

	assert_int_equal(shutdown(f->up_peer, SHUT_WR), 0);
	fl = run(f);
	assert_int_equal(fl, RELAY_DONE);
	assert_int_equal(f->r.dir[DIR_UP].bytes, 3);
	assert_int_equal(f->r.dir[DIR_DOWN].bytes, 10);
}

static unsigned char pattern(size_t i, unsigned seed)
{
	return (unsigned char)((i * 131u + (i >> 9) + seed) & 0xff);
}

/* One end of a bulk stream: what it has written, what its peer end has read. */
struct stream {
	int wfd, rfd;
	size_t total, sent, got;
	unsigned seed;
	bool eof; /* the reading end saw EOF */
};

static void stream_write(struct stream *s)
{
	unsigned char chunk[65536];
	size_t n = s->total - s->sent < sizeof(chunk) ? s->total - s->sent : sizeof(chunk);
	ssize_t m;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		chunk[i] = pattern(s->sent + i, s->seed);
	m = send(s->wfd, chunk, n, MSG_NOSIGNAL);
	assert_true(m > 0 || errno == EAGAIN);
	if (m > 0)
		s->sent += (size_t)m;
	if (s->sent == s->total)
		assert_int_equal(shutdown(s->wfd, SHUT_WR), 0);
}

/* Read what arrived, at most max bytes, or EOF. Every byte must be the one written. */
static void stream_read(struct stream *s, size_t max)
{
	unsigned char chunk[65536];
	ssize_t m = recv(s->rfd, chunk, max < sizeof(chunk) ? max : sizeof(chunk), 0);

	if (m < 0) {
		assert_int_equal(errno, EAGAIN);
		return;
	}
	for (ssize_t i = 0; i < m; i++)
		assert_int_equal(chunk[i], pattern(s->got + (size_t)i, s->seed));
	s->got += (size_t)m;
	s->eof = m == 0;
}

/* One wakeup of the relay: poll its sockets for what it waits for (as epoll would), pump. */
static unsigned relay_wakeup(struct fixture *f, struct pollfd *p, unsigned fl)
{
	unsigned mask = 0;
	int err = 0;

	for (int s = 0; s < 2; s++) {
		if (p[s].revents & (POLLIN | POLLHUP | POLLERR))
			mask |= 1u << s;
		if (p[s].revents & POLLOUT)
			mask |= 1u << !s;
	}
	if (!mask)
		return fl;
	fl = relay_run(&f->env, &f->r, mask, &err);
	assert_int_equal(fl & RELAY_ERRORS, 0);
	return fl;
}

static int held_pipe(const struct fixture *f, int max)
{
	for (int d = 0; d < 2; d++)
		if (f->r.dir[d].pipe.rd >= 0 && f->r.dir[d].pipe.size > max)
			max = f->r.dir[d].pipe.size;
	return max;
}

/* Both ends of the relay close (the connection does that at RELAY_DONE); the peers read the rest. */
static void finish_streams(struct fixture *f, struct stream *up, struct stream *down)
{
	for (int s = 0; s < 2; s++) {
		close(f->r.fd[s]);
		f->r.fd[s] = -1;
	}
	for (int n = 0; n < 2; n++) {
		struct stream *st = n ? down : up;

		while (!st->eof) {
			struct pollfd p = { .fd = st->rfd, .events = POLLIN };

			assert_int_equal(poll(&p, 1, 2000), 1);
			stream_read(st, SIZE_MAX);
		}
		assert_int_equal(st->got, st->total);
	}
}

static void test_bulk_transfer_splices(void **state)
{
	struct fixture *f = *state;
	struct stream up = { .wfd = f->cli_peer, .rfd = f->up_peer, .total = 8u << 20, .seed = 1 };
	struct stream down = { .wfd = f->up_peer, .rfd = f->cli_peer, .total = 1u << 20, .seed = 7 };
	unsigned fl = RELAY_READ_CLI | RELAY_READ_UP, seen = 0;
	int max_pipe = 0, small = 65536;

	/* A slow server behind small buffers: bytes wait in the relay's pipe. */
	assert_int_equal(setsockopt(f->r.fd[SIDE_UP], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	assert_int_equal(setsockopt(f->up_peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	while (fl != RELAY_DONE) {
		struct pollfd p[4] = {
			[2] = { .fd = f->cli_peer, .events = POLLIN | (up.sent < up.total ? POLLOUT : 0) },
			[3] = { .fd = f->up_peer, .events = POLLIN | (down.sent < down.total ? POLLOUT : 0) },
		};

		for (int s = 0; s < 2; s++) {
			short ev = (fl & RELAY_READ(s) ? POLLIN : 0) | (fl & RELAY_WRITE(s) ? POLLOUT : 0);

			p[s] = (struct pollfd){ .fd = ev ? f->r.fd[s] : -1, .events = ev };
		}
		assert_true(poll(p, 4, 2000) > 0);
		if (p[2].revents & POLLOUT)
			stream_write(&up);
		if (p[3].revents & POLLOUT)
			stream_write(&down);
		fl = relay_wakeup(f, p, fl);
		seen |= fl;
		max_pipe = held_pipe(f, max_pipe);
		if ((p[2].revents & POLLIN) && !down.eof)
			stream_read(&down, SIZE_MAX);
		if ((p[3].revents & POLLIN) && !up.eof)
			stream_read(&up, 16384);
	}
	finish_streams(f, &up, &down);
	assert_int_equal(f->r.dir[DIR_UP].bytes, up.total);
	assert_int_equal(f->r.dir[DIR_DOWN].bytes, down.total);
	/* a full COPY_BUF read turned both directions to splicing, bulk grew the pipe */
	assert_true(f->r.dir[DIR_UP].spliced);
	assert_true(f->r.dir[DIR_DOWN].spliced);
	assert_true(f->r.dir[DIR_UP].bulk);
	assert_int_equal(max_pipe, PIPE_BIG);
	assert_true(f->st.pipes_created >= 1);
	/* backpressure: bytes waited in a pipe for the server to read */
	assert_true(seen & RELAY_WRITE_UP);
	/* finished: the pipes went back to the pool, grown ones shrunk */
	assert_int_equal(f->r.dir[DIR_UP].pipe.rd, -1);
	assert_int_equal(f->r.dir[DIR_DOWN].pipe.rd, -1);
	assert_true(f->pool.n >= 1);
	for (int i = 0; i < f->pool.n; i++)
		assert_int_equal(f->pool.idle[i].size, PIPE_SMALL);
}

/* close() with SO_LINGER {1,0}: the other end reads ECONNRESET. */
static void reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(fd);
}

/*
 * The peer of `side` resets its connection; once the RST has arrived, pump
 * the directions in mask. The outcome must name `side` with ECONNRESET (or
 * EPIPE, when writing to it is what failed).
 */
static unsigned reset_and_run(struct fixture *f, int side, unsigned mask, int *err)
{
	int *peer = side == SIDE_CLI ? &f->cli_peer : &f->up_peer;
	struct pollfd p = { .fd = f->r.fd[side], .events = POLLIN };

	reset(*peer);
	*peer = open("/dev/null", O_RDONLY); /* for teardown */
	assert_int_equal(poll(&p, 1, 2000), 1);
	return relay_run(&f->env, &f->r, mask, err);
}

static void test_upstream_reset(void **state)
{
	struct fixture *f = *state;
	int err = 0;

	assert_int_equal(reset_and_run(f, SIDE_UP, 1u << DIR_DOWN, &err), RELAY_ERR_UP);
	assert_int_equal(err, ECONNRESET);
}

static void test_client_reset(void **state)
{
	struct fixture *f = *state;
	int err = 0;

	assert_int_equal(reset_and_run(f, SIDE_CLI, 1u << DIR_UP | 1u << DIR_DOWN, &err), RELAY_ERR_CLI);
	assert_int_equal(err, ECONNRESET);
}

/* Writing to a reset client: the error names the client, the destination. */
static void test_write_to_reset_client(void **state)
{
	struct fixture *f = *state;
	int err = 0;

	struct pollfd p = { .fd = f->r.fd[SIDE_UP], .events = POLLIN };

	assert_int_equal(send(f->up_peer, "reply", 5, 0), 5);
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(reset_and_run(f, SIDE_CLI, 1u << DIR_DOWN, &err), RELAY_ERR_CLI);
	assert_true(err == ECONNRESET || err == EPIPE);
	assert_int_equal(f->r.dir[DIR_DOWN].bytes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_small_messages_copied_both_ways, setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_half_close, setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_bulk_transfer_splices, setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_upstream_reset, setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_client_reset, setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_write_to_reset_client, setup_tcp, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
