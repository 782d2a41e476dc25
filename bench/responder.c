// SPDX-License-Identifier: GPL-2.0-only
/*
 * A minimal HTTP responder for the benchmark: per thread, its own epoll loop
 * and SO_REUSEPORT listeners (IPv4 and IPv6); every connection gets a fixed
 * response to its first request and is closed. With -t the listeners are
 * transparent (IP_TRANSPARENT), so steer (`proxy external`) can steer flows
 * for any destination to it: the steering cost with no upstream at all.
 * Connections that send nothing are held (the idle-connection sink).
 *
 *   responder -p PORT [-t] [-T THREADS]     runs until SIGTERM/SIGINT
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_THREADS 16

static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
static int port, transparent, nthreads = 1;
static volatile sig_atomic_t stop;

static int listen_on(int family)
{
	int one = 1, fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_storage ss;
	socklen_t len;

	if (fd < 0)
		return -1;
	memset(&ss, 0, sizeof(ss));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)port);
		len = sizeof(*s);
		if (transparent && setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) < 0)
			goto fail;
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons((uint16_t)port);
		len = sizeof(*s);
		setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (transparent && setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one)) < 0)
			goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4096) < 0)
		goto fail;
	return fd;
fail:
	perror("responder: listener");
	close(fd);
	return -1;
}

/* Read the request; answer and close once its header is complete. */
static void serve(int fd)
{
	char buf[2048];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && errno == EAGAIN)
		return;
	if (n > 0 && write(fd, resp, sizeof(resp) - 1) < 0)
		n = -1;
	close(fd);
}

static void *run(void *arg)
{
	int lfd[2] = { listen_on(AF_INET), listen_on(AF_INET6) };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event evs[256];

	(void)arg;
	if (lfd[0] < 0) {
		fprintf(stderr, "responder: no IPv4 listener on %d\n", port);
		exit(1);
	}
	for (int i = 0; i < 2; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = -1 - i };

		if (lfd[i] >= 0)
			epoll_ctl(ep, EPOLL_CTL_ADD, lfd[i], &ev);
	}
	while (!stop) {
		int k = epoll_wait(ep, evs, 256, 200);

		for (int i = 0; i < k; i++) {
			int fd = evs[i].data.fd;

			if (fd >= 0) {
				serve(fd);
				continue;
			}
			for (;;) {
				int c = accept4(lfd[-1 - fd], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				struct epoll_event ev = { .events = EPOLLIN };

				if (c < 0)
					break;
				ev.data.fd = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
			}
		}
	}
	return NULL;
}

static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

int main(int argc, char **argv)
{
	pthread_t t[MAX_THREADS];
	struct rlimit rl;
	int o;

	while ((o = getopt(argc, argv, "p:tT:")) != -1) {
		switch (o) {
		case 'p': port = atoi(optarg); break;
		case 't': transparent = 1; break;
		case 'T': nthreads = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (port <= 0 || nthreads < 1 || nthreads > MAX_THREADS)
		goto usage;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, run, NULL);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	return 0;
usage:
	fprintf(stderr, "usage: responder -p PORT [-t] [-T THREADS]\n");
	return 2;
}
