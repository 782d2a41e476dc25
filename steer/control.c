/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/control.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * Seconds a client may take from its connect to the end of its request: our
 * own client and a Prometheus scrape send theirs at once. Short, so that idle
 * connections cannot hold the slots; see also evict_reader().
 */
#define REQUEST_TIMEOUT 1.0
#define CLIENT_TIMEOUT 2.0  /* seconds a client may take to read its reply */
#define MAX_CLIENTS 64      /* each holds a descriptor; see evict_reader() */
#define ACCEPT_PAUSE 0.1    /* seconds without accepting after EMFILE */

struct control_client {
	ev_io io;      /* first: the watcher's address is the client's */
	ev_timer timer;
	struct control *ctl;
	struct control_client *next, *prev;
	char req[CONTROL_MAX_REQUEST];
	size_t req_len;
	bool replying; /* the request is complete: no longer evictable */
	struct strbuf reply;
	size_t sent;
};

struct control {
	ev_io io;
	struct ev_loop *loop;
	bool http; /* a request ends at the blank line after its headers, not at a newline */
	ev_timer pause; /* accepting again after running out of descriptors */
	int nclients;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	control_handler handler;
	void *ctx;
	struct control_client *clients;
};

static void client_free(struct control_client *c)
{
	struct ev_loop *loop = c->ctl->loop;

	ev_io_stop(loop, &c->io);
	ev_timer_stop(loop, &c->timer);
	close(c->io.fd);
	c->ctl->nclients--;
	if (c->prev)
		c->prev->next = c->next;
	else
		c->ctl->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	sb_free(&c->reply);
	free(c);
}

/*
 * After the reply: read and discard until the client's EOF. Closing with
 * unread input would send a reset, and the client could lose the reply.
 */
static void client_drain(struct ev_loop *loop, ev_io *w, int revents)
{
	char buf[4096];
	ssize_t n;

	(void)loop;
	(void)revents;
	n = recv(w->fd, buf, sizeof(buf), 0);
	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return;
	client_free((struct control_client *)w);
}

static void client_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_client *c = (struct control_client *)w;

	(void)loop;
	(void)revents;
	while (c->sent < c->reply.len) {
		ssize_t n = send(w->fd, c->reply.s + c->sent, c->reply.len - c->sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return; /* the watcher fires again when there is room */
		if (n <= 0)
			break;
		c->sent += (size_t)n;
	}
	if (c->sent < c->reply.len || shutdown(w->fd, SHUT_WR) < 0) {
		client_free(c);
		return;
	}
	ev_io_stop(loop, &c->io);
	ev_io_init(&c->io, client_drain, w->fd, EV_READ);
	ev_io_start(loop, &c->io);
	ev_timer_again(loop, &c->timer);
}

/* Send c->reply; the client gets CLIENT_TIMEOUT from now to read it. */
static void start_reply(struct control_client *c)
{
	struct ev_loop *loop = c->ctl->loop;

	c->replying = true;
	ev_io_stop(loop, &c->io);
	ev_io_init(&c->io, client_write, c->io.fd, EV_WRITE);
	ev_io_start(loop, &c->io);
	/*
	 * The handler may take seconds (a reload of a 100k-prefix set): from the
	 * loop's cached time the client's timeout would already be over, and the
	 * reply dropped unsent.
	 */
	ev_now_update(loop);
	c->timer.repeat = CLIENT_TIMEOUT;
	ev_timer_again(loop, &c->timer);
}

static void client_respond(struct control_client *c)
{
	c->req[c->req_len] = '\0';
	c->ctl->handler(c->ctl->ctx, c->req, &c->reply);
	if (c->reply.oom) {
		sb_free(&c->reply);
		c->reply.oom = 0;
		sb_printf(&c->reply, "error: out of memory\n");
	}
	start_reply(c);
}

/* The request is refused before the handler sees it: an HTTP status, or the protocol's error line. */
static void refuse(struct control_client *c, const char *status, const char *why)
{
	if (c->ctl->http)
		sb_printf(&c->reply,
			  "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
			  "Connection: close\r\n\r\n%s\n",
			  status, strlen(why) + 1, why);
	else
		sb_printf(&c->reply, "error: %s\n", why);
	start_reply(c);
}

enum control_frame control_frame(const char *buf, size_t len, bool http, size_t *req_len)
{
	const char *nul = memchr(buf, '\0', len);
	size_t scan = nul ? (size_t)(nul - buf) : len;
	const char *end = http ? memmem(buf, scan, "\r\n\r\n", 4) : memchr(buf, '\n', scan);

	if (end) {
		*req_len = (size_t)(end - buf);
		return CONTROL_FRAME_DONE;
	}
	if (nul)
		return CONTROL_FRAME_BAD;
	if (len >= CONTROL_MAX_REQUEST - 1)
		return CONTROL_FRAME_TOO_LONG;
	return CONTROL_FRAME_MORE;
}

static void client_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_client *c = (struct control_client *)w;
	char why[64];
	size_t len;
	ssize_t n;

	(void)loop;
	(void)revents;
	n = recv(w->fd, c->req + c->req_len, sizeof(c->req) - 1 - c->req_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		client_free(c);
		return;
	}
	c->req_len += (size_t)n;
	switch (control_frame(c->req, c->req_len, c->ctl->http, &len)) {
	case CONTROL_FRAME_DONE:
		c->req_len = len;
		break;
	case CONTROL_FRAME_BAD:
		refuse(c, "400 Bad Request", "request holds a NUL byte");
		return;
	case CONTROL_FRAME_TOO_LONG:
		/* The refusal is the reply: the handler never sees a truncated request. */
		snprintf(why, sizeof(why), "request longer than %d bytes", CONTROL_MAX_REQUEST - 1);
		refuse(c, "431 Request Header Fields Too Large", why);
		return;
	case CONTROL_FRAME_MORE:
		if (n > 0)
			return; /* wait for the rest */
		break;      /* EOF after a partial request: answer what we have */
	}
	client_respond(c);
}

static void client_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	client_free((struct control_client *)((char *)w - offsetof(struct control_client, timer)));
}

/*
 * All slots taken: the oldest client still sending its request makes room.
 * Idle connections then cannot lock out a client that asks at once; a
 * request being answered is never cut. False if every client is being answered.
 */
static bool evict_reader(struct control *ctl)
{
	struct control_client *oldest = NULL;

	for (struct control_client *c = ctl->clients; c; c = c->next)
		if (!c->replying)
			oldest = c; /* the list is newest first */
	if (!oldest)
		return false;
	client_free(oldest);
	return true;
}

static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control *ctl = (struct control *)w;
	struct control_client *c;
	int fd;

	(void)revents;
	fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		/* Level-triggered: without a pause the loop would spin until a descriptor frees up. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			ev_io_stop(loop, &ctl->io);
			ev_timer_start(loop, &ctl->pause);
		}
		return;
	}
	if (ctl->nclients >= MAX_CLIENTS && !evict_reader(ctl)) {
		close(fd);
		return;
	}
	if (!ctl->http && !peer_allowed(fd)) {
		static const char msg[] = "error: permission denied\n";

		(void)!send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->ctl = ctl;
	ctl->nclients++;
	c->next = ctl->clients;
	if (c->next)
		c->next->prev = c;
	ctl->clients = c;
	ev_io_init(&c->io, client_read, fd, EV_READ);
	ev_timer_init(&c->timer, client_timeout, 0., REQUEST_TIMEOUT);
	ev_io_start(loop, &c->io);
	ev_timer_again(loop, &c->timer);
}

static void on_pause_end(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct control *ctl = (struct control *)((char *)w - offsetof(struct control, pause));

	(void)revents;
	ev_io_start(loop, &ctl->io);
}

static void start_listening(struct control *ctl, int fd)
{
	ev_io_init(&ctl->io, on_accept, fd, EV_READ);
	ev_timer_init(&ctl->pause, on_pause_end, ACCEPT_PAUSE, 0.);
	ev_io_start(ctl->loop, &ctl->io);
}

static int set_path(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun->sun_path, path);
	return 0;
}

static bool someone_listening(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool yes;

	if (fd < 0)
		return false;
	yes = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return yes;
}

static void make_parent_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
}

bool control_daemon_alive(const char *path)
{
	struct sockaddr_un sun;

	return set_path(&sun, path) == 0 && someone_listening(&sun);
}

struct control *control_open(struct ev_loop *loop, const char *path, control_handler h, void *ctx)
{
	struct sockaddr_un sun;
	struct control *ctl;
	mode_t old_mask;
	int fd;

	if (set_path(&sun, path) < 0) {
		fprintf(stderr, "steer: control socket %s: path too long\n", path);
		return NULL;
	}
	if (someone_listening(&sun)) {
		fprintf(stderr, "steer: control socket %s: another steer daemon is running\n", path);
		return NULL;
	}
	make_parent_dir(path);
	unlink(path); /* stale, from a daemon that did not exit cleanly */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* Created 0600 from the start: no window where others could connect. */
	old_mask = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		umask(old_mask);
		goto fail;
	}
	umask(old_mask);
	if (listen(fd, 64) < 0)
		goto fail;
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		goto fail;
	ctl->loop = loop;
	ctl->handler = h;
	ctl->ctx = ctx;
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	start_listening(ctl, fd);
	return ctl;
fail:
	fprintf(stderr, "steer: control socket %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return NULL;
}

struct control *control_listen_http(struct ev_loop *loop, const struct sockaddr_storage *addr, control_handler h,
				    void *ctx)
{
	socklen_t len = addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	struct control *ctl;
	int one = 1, fd;

	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)addr, len) < 0 || listen(fd, 64) < 0)
		goto fail;
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		goto fail;
	ctl->loop = loop;
	ctl->http = true;
	ctl->handler = h;
	ctl->ctx = ctx;
	start_listening(ctl, fd);
	return ctl;
fail:
	fprintf(stderr, "steer: metrics-listen: %s\n", strerror(errno));
	if (fd >= 0)
		close(fd);
	return NULL;
}

void control_close(struct control *ctl)
{
	if (!ctl)
		return;
	while (ctl->clients)
		client_free(ctl->clients);
	ev_io_stop(ctl->loop, &ctl->io);
	ev_timer_stop(ctl->loop, &ctl->pause);
	close(ctl->io.fd);
	if (!ctl->http)
		unlink(ctl->path);
	free(ctl);
}

int control_request(const char *path, const char *request, FILE *out, FILE *err)
{
	struct sockaddr_un sun;
	struct strbuf reply = { 0 };
	char buf[4096];
	size_t len = strlen(request);
	int fd, ret;
	ssize_t n;

	if (set_path(&sun, path) < 0 ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		fprintf(err, "steer: control socket %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(err, "steer: cannot reach the daemon at %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (send(fd, request, len, MSG_NOSIGNAL) != (ssize_t)len || send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		fprintf(err, "steer: control socket %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		sb_printf(&reply, "%.*s", (int)n, buf);
	close(fd);
	if (n < 0 || !reply.len) {
		fprintf(err, "steer: no reply from the daemon at %s\n", path);
		sb_free(&reply);
		return -1;
	}
	ret = strncmp(reply.s, "error: ", 7) == 0;
	if (ret)
		fprintf(err, "steer: %s", reply.s + 7);
	else
		fputs(reply.s, out);
	sb_free(&reply);
	return ret;
}
