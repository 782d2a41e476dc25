// SPDX-License-Identifier: GPL-2.0-only
/*
 * steer/control.c as the /metrics server meets clients that do not play
 * along: idle connections in every slot, a NUL in the request head, and the
 * framing itself (control_frame). The server's loop runs in a thread of its
 * own; the clients are blocking sockets with receive timeouts, in a private
 * network namespace (needs root).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "steer/control.h"
#include "tests/lib/netns.h"

#define PORT 9187
#define SLOTS 64 /* control.c's MAX_CLIENTS */

static atomic_int handled;

static void handler(void *ctx, const char *request, struct strbuf *out)
{
	(void)ctx;
	(void)request;
	atomic_fetch_add(&handled, 1);
	sb_printf(out, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
}

struct server {
	struct ev_loop *loop;
	ev_async stop;
	struct control *ctl;
	pthread_t thread;
};

static void on_stop(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void *serve(void *arg)
{
	struct server *s = arg;

	ev_run(s->loop, 0);
	return NULL;
}

static int setup(void **state)
{
	static struct server s;
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;

	a->sin_family = AF_INET;
	a->sin_port = htons(PORT);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s.loop = ev_loop_new(EVFLAG_AUTO);
	if (!s.loop)
		return -1;
	ev_async_init(&s.stop, on_stop);
	ev_async_start(s.loop, &s.stop);
	s.ctl = control_listen_http(s.loop, &ss, handler, NULL);
	if (!s.ctl || pthread_create(&s.thread, NULL, serve, &s) != 0)
		return -1;
	atomic_store(&handled, 0);
	*state = &s;
	return 0;
}

static int teardown(void **state)
{
	struct server *s = *state;

	ev_async_send(s->loop, &s->stop);
	pthread_join(s->thread, NULL);
	control_close(s->ctl);
	ev_loop_destroy(s->loop);
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A client connected to the server, reads time out after 3 s. */
static int client(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	struct timeval tv = { .tv_sec = 3 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Send len bytes, read the reply until EOF into buf (NUL-terminated). */
static void ask(int fd, const char *req, size_t len, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
	shutdown(fd, SHUT_WR);
	while (got < cap - 1 && (n = recv(fd, buf + got, cap - 1 - got, 0)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
}

/* The server closed fd (EOF or reset) without a reply. */
static bool closed_by_server(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, 0);

	return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void test_frame(void **state)
{
	static char big[CONTROL_MAX_REQUEST];
	size_t len = 99;

	(void)state;
	memset(big, 'a', sizeof(big));
	assert_int_equal(control_frame("status\n", 7, false, &len), CONTROL_FRAME_DONE);
	assert_int_equal(len, 6);
	assert_int_equal(control_frame("status", 6, false, &len), CONTROL_FRAME_MORE);
	assert_int_equal(control_frame("sta\0tus\n", 8, false, &len), CONTROL_FRAME_BAD);
	assert_int_equal(control_frame("GET / HTTP/1.1\r\n\r\n", 18, true, &len), CONTROL_FRAME_DONE);
	assert_int_equal(len, 14);
	assert_int_equal(control_frame("GET / HTTP/1.1\r\n", 16, true, &len), CONTROL_FRAME_MORE);
	assert_int_equal(control_frame("GET /\0 HTTP/1.1\r\n\r\n", 20, true, &len), CONTROL_FRAME_BAD);
	/* a NUL after the end belongs to no request */
	assert_int_equal(control_frame("status\n\0", 8, false, &len), CONTROL_FRAME_DONE);
	assert_int_equal(control_frame(big, CONTROL_MAX_REQUEST - 1, true, &len), CONTROL_FRAME_TOO_LONG);
	assert_int_equal(control_frame(big, CONTROL_MAX_REQUEST - 2, true, &len), CONTROL_FRAME_MORE);
}

/* A NUL before the blank line: 400 at once, not after the request timeout; the handler never runs. */
static void test_nul_is_bad_request(void **state)
{
	static const char req[] = "GET /metrics\0 HTTP/1.1\r\nHost: x\r\n";
	char buf[512];
	int fd = client();
	double t0 = now();

	(void)state;
	ask(fd, req, sizeof(req) - 1, buf, sizeof(buf));
	close(fd);
	assert_true(now() - t0 < 0.5);
	assert_non_null(strstr(buf, "HTTP/1.1 400 Bad Request\r\n"));
	assert_non_null(strstr(buf, "request holds a NUL byte"));
	assert_int_equal(atomic_load(&handled), 0);
}

/*
 * Every slot held by a client that sends nothing: a scrape is still answered
 * at once (the oldest idle client makes room), and an idle client is cut
 * after the request timeout (1 s), not 2.
 */
static void test_idle_clients_do_not_lock_out(void **state)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\n\r\n";
	int idle[SLOTS], fd;
	char buf[512];
	double t0;

	(void)state;
	for (int i = 0; i < SLOTS; i++)
		idle[i] = client();
	usleep(100 * 1000); /* all accepted */
	t0 = now();
	fd = client();
	ask(fd, req, sizeof(req) - 1, buf, sizeof(buf));
	close(fd);
	assert_true(now() - t0 < 0.5);
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK"));
	assert_int_equal(atomic_load(&handled), 1);
	assert_true(closed_by_server(idle[0])); /* the oldest, evicted */
	t0 = now();
	assert_true(closed_by_server(idle[SLOTS - 1]));
	assert_true(now() - t0 < 1.5);
	for (int i = 0; i < SLOTS; i++)
		close(idle[i]);
}

/* A slow but complete request, sent in pieces, is still answered. */
static void test_request_in_pieces(void **state)
{
	char buf[512];
	int fd = client();

	(void)state;
	assert_int_equal(send(fd, "GET /metrics HT", 15, 0), 15);
	usleep(200 * 1000);
	ask(fd, "TP/1.1\r\n\r\n", 10, buf, sizeof(buf));
	close(fd);
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame),
		cmocka_unit_test_setup_teardown(test_nul_is_bad_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_clients_do_not_lock_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_in_pieces, setup, teardown),
	};

	if (netns_enter("test_control") != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
