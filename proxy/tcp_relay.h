/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The TCP relay pump: moves bytes between a connection's two sockets and
 * says what happened; the connection (conn.c) decides what to do about it.
 * It needs no event loop and no worker: a pipe pool and a bounce buffer.
 */
#ifndef STEER_PROXY_TCP_RELAY_H
#define STEER_PROXY_TCP_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/pipe_pool.h"

#define PIPE_GROW_AFTER      (256 << 10) /* bytes a direction splices before its pipe grows */
#define COPY_BUF             16384   /* per worker: small messages are copied, not spliced */
#define RELAY_ROUNDS         16      /* splice rounds per direction per wakeup */

/*
 * Sides and directions share their numbers: direction d reads side d and
 * writes side !d (DIR_UP: client -> upstream).
 */
enum { SIDE_CLI, SIDE_UP };
enum { DIR_UP, DIR_DOWN };

/* One direction: src socket -> pipe -> dst socket. */
struct relay_dir {
	struct relay_pipe pipe;
	size_t inpipe;  /* bytes sitting in the pipe */
	uint64_t bytes; /* bytes delivered to dst */
	bool src_eof;   /* src returned EOF */
	bool shut;      /* shutdown(dst, SHUT_WR) done: this direction is finished */
	bool spliced;   /* a read filled COPY_BUF: this direction splices from now on */
	bool bulk;      /* spliced PIPE_GROW_AFTER bytes: takes a big pipe */
};

struct relay {
	int fd[2]; /* [SIDE_CLI], [SIDE_UP]; -1 when none */
	struct relay_dir dir[2];
};

/* What the pump borrows from its worker. */
struct relay_env {
	struct pipe_pool *pool;
	char *buf; /* COPY_BUF bytes, the copy path's bounce buffer */
};

/*
 * Outcome flags of relay_run. Errors stop the run at once (the other
 * direction is not pumped) and come alone, with the errno in *err:
 * RELAY_ERR_CLI/RELAY_ERR_UP name the socket that failed, RELAY_ERR_PIPE a
 * pipe that could not be had or written. Otherwise the flags say which
 * directions are finished and what each socket waits for.
 */
enum relay_flags {
	RELAY_EOF_UP = 1u << 0,   /* client sent EOF and all of it was delivered upstream (shut for
				     writing, unless this ends both ways: close() sends the FIN) */
	RELAY_EOF_DOWN = 1u << 1, /* the same from the upstream to the client */
	RELAY_DONE = RELAY_EOF_UP | RELAY_EOF_DOWN,
	RELAY_READ_CLI = 1u << 2, /* waits for the client to be readable */
	RELAY_READ_UP = 1u << 3,
	RELAY_WRITE_CLI = 1u << 4, /* bytes wait in a pipe for the client to be writable */
	RELAY_WRITE_UP = 1u << 5,
	RELAY_ERR_CLI = 1u << 6,
	RELAY_ERR_UP = 1u << 7,
	RELAY_ERR_PIPE = 1u << 8,
};
#define RELAY_READ(side) (RELAY_READ_CLI << (side))
#define RELAY_WRITE(side) (RELAY_WRITE_CLI << (side))
#define RELAY_ERR(side) (RELAY_ERR_CLI << (side))
#define RELAY_ERRORS (RELAY_ERR_CLI | RELAY_ERR_UP | RELAY_ERR_PIPE)

/* A relay over two connected sockets, holding no pipe. */
void relay_init(struct relay *r, int cli, int up);
/* Pump the directions in mask (bit d = direction d) as far as the sockets allow. */
unsigned relay_run(const struct relay_env *env, struct relay *r, unsigned mask, int *err);
/* The pipes go back to the pool (closed if they hold bytes). The sockets stay. */
void relay_release(const struct relay_env *env, struct relay *r);

#endif
