/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket: a unix stream socket (mode 0600, root or the daemon's
 * own user only). A request is one line; the reply is text or JSON, and a
 * reply starting with "error: " is a refusal the client prints to stderr.
 */
#ifndef STEER_CONTROL_H
#define STEER_CONTROL_H

#include <ev.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>

#include "steer/strbuf.h"

#define CONTROL_MAX_REQUEST 4096

/* Handle one request line (without the newline); append the reply to out. */
typedef void (*control_handler)(void *ctx, const char *request, struct strbuf *out);

struct control;

/* Listen on path. Refuses if another daemon answers there. NULL + message on error. */
struct control *control_open(struct ev_loop *loop, const char *path, control_handler h, void *ctx);
/*
 * The same server over TCP for HTTP/1.x: the handler gets the request head
 * (request line and headers) and writes the whole response, status line
 * included. Anyone who can reach the address may ask (metrics are
 * read-only; the default address is loopback).
 */
struct control *control_listen_http(struct ev_loop *loop, const struct sockaddr_storage *addr, control_handler h,
				    void *ctx);

/*
 * Where the bytes received so far end a request: at the first newline (the
 * control socket) or blank line (HTTP). A NUL before that end is a bad
 * request: the handler takes a C string. DONE sets *req_len to the request's
 * length without its terminator.
 */
enum control_frame { CONTROL_FRAME_MORE, CONTROL_FRAME_DONE, CONTROL_FRAME_BAD, CONTROL_FRAME_TOO_LONG };
enum control_frame control_frame(const char *buf, size_t len, bool http, size_t *req_len);

/* Stop listening, drop clients, unlink the socket. Safe with NULL. */
void control_close(struct control *c);

/* Does a daemon answer on path? */
bool control_daemon_alive(const char *path);

/*
 * Client side: send request, copy the reply to out (or err for an
 * "error: " reply). Returns 0 on a good reply, 1 on a refusal, -1 when the
 * daemon cannot be reached (message printed).
 */
int control_request(const char *path, const char *request, FILE *out, FILE *err);

#endif
