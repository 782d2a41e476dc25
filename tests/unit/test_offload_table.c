/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The offloaded flows' table (steer/offload.c) over a classifier whose
 * splice_end answers what each case needs: when a flow ends (both FINs and
 * the linger, an RST either way, silence), with which reason and bytes, and
 * that a packet translated while the reap runs is not silence.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>

#include "steer/offload.h"
#include "tests/lib/netns.h"

static struct classifier_splice_end fake_end;
static int fake_rc, removed, added;
static struct proxy_conn_event got[4];
static int ngot;

static int fake_add(struct classifier *c, const struct proxy_splice *sp)
{
	(void)c, (void)sp;
	added++;
	return 0;
}

static int fake_splice_end(struct classifier *c, const struct proxy_splice *sp, bool remove,
			   struct classifier_splice_end *out)
{
	(void)c, (void)sp;
	*out = fake_end;
	removed += remove && fake_rc == 0;
	return fake_rc;
}

static const struct classifier_ops fake_ops = { .splice_add = fake_add, .splice_end = fake_splice_end };
static struct classifier fake = { .ops = &fake_ops };

static void on_close(void *ctx, const struct proxy_conn_event *ev)
{
	(void)ctx;
	if (ngot < 4)
		got[ngot] = *ev;
	ngot++;
}

static uint64_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* A table holding one handed-off flow: 100 bytes up and 200 down before the handoff. */
static struct offload_table *one_flow(uint64_t idle_ns)
{
	struct offload_table *t = offload_table_new(on_close, NULL, idle_ns);
	struct proxy_splice sp = { .flow = 7, .bytes_up = 100, .bytes_down = 200, .accept_ns = now() - 5000000000ull,
				   .handoff_ns = now() - 4000000000ull };

	sp.dir[SPLICE_UP].next_seq = 0xfffffff0u; /* the count wraps */
	sp.dir[SPLICE_DOWN].next_seq = 1000;
	/* 198.18.1.2:40000 -> 198.18.2.2:80 */
	*(struct sockaddr_in *)&sp.client = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(40000),
								  .sin_addr.s_addr = htonl(0xc6120102) };
	*(struct sockaddr_in *)&sp.dst = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(80),
							       .sin_addr.s_addr = htonl(0xc6120202) };
	offload_set_classifier(t, &fake);
	assert_int_equal(offload_splice_add(t, &sp), 0);
	offload_on_splice(t, &sp);
	memset(&fake_end, 0, sizeof(fake_end));
	fake_rc = removed = ngot = 0;
	return t;
}

static void test_fins_then_linger(void **state)
{
	struct offload_table *t = one_flow(300000000000ull);

	(void)state;
	fake_end.dir[SPLICE_UP].fin = fake_end.dir[SPLICE_DOWN].fin = true;
	fake_end.dir[SPLICE_UP].end_seq = 0x10; /* 0x20 bytes after 0xfffffff0 */
	fake_end.dir[SPLICE_UP].bytes = 0x20;
	fake_end.dir[SPLICE_DOWN].end_seq = 1000 + 5000;
	fake_end.dir[SPLICE_DOWN].bytes = 5000;
	fake_end.dir[SPLICE_UP].last_ns = fake_end.dir[SPLICE_DOWN].last_ns = now() - 500000000ull;
	assert_int_equal(offload_reap(t), 1); /* both FINs, but the linger is not over */
	assert_int_equal(ngot, 0);
	fake_end.dir[SPLICE_UP].last_ns = fake_end.dir[SPLICE_DOWN].last_ns = now() - 2500000000ull;
	assert_int_equal(offload_reap(t), 0);
	assert_int_equal(ngot, 1);
	assert_int_equal(removed, 1);
	assert_int_equal(got[0].reason, CLOSE_EOF);
	assert_int_equal(got[0].flow, 7);
	assert_false(got[0].open);
	assert_int_equal(got[0].bytes_up, 100 + 0x20);
	assert_int_equal(got[0].bytes_down, 200 + 5000);
	offload_table_free(t);
}

static void test_resets(void **state)
{
	struct offload_table *t = one_flow(0);

	(void)state;
	fake_end.dir[SPLICE_DOWN].rst = true;
	fake_end.dir[SPLICE_DOWN].end_seq = 1000 + 64;
	fake_end.dir[SPLICE_DOWN].bytes = 64;
	assert_int_equal(offload_reap(t), 0);
	assert_int_equal(got[0].reason, CLOSE_UPSTREAM_RESET);
	assert_int_equal(got[0].bytes_down, 200 + 64);
	assert_int_equal(got[0].bytes_up, 100); /* no FIN or RST up: nothing counted after the handoff */
	offload_table_free(t);

	/* An RST may carry a sequence number before the handoff's: it counts nothing, never 4 GiB. */
	t = one_flow(0);
	fake_end.dir[SPLICE_UP].rst = true;
	fake_end.dir[SPLICE_UP].end_seq = 0xffffffe0u;
	assert_int_equal(offload_reap(t), 0);
	assert_int_equal(got[0].reason, CLOSE_CLIENT_RESET);
	assert_int_equal(got[0].bytes_up, 100);
	offload_table_free(t);
}

/*
 * Past 4 GiB the sequence numbers wrap: the payload the classifier
 * translated (retransmissions included) gives the multiples of 4 GiB.
 */
static void test_more_than_4_gib(void **state)
{
	struct offload_table *t = one_flow(0);

	(void)state;
	fake_end.dir[SPLICE_UP].fin = fake_end.dir[SPLICE_DOWN].fin = true;
	fake_end.dir[SPLICE_UP].end_seq = 0x10;             /* 0x20 after 0xfffffff0, and 3 times 4 GiB more */
	fake_end.dir[SPLICE_UP].bytes = 0x300000020ull + 7000; /* 7000 sent twice */
	fake_end.dir[SPLICE_DOWN].end_seq = 1000 + 0xc0000000u; /* 3 GiB: negative as a 32-bit difference */
	fake_end.dir[SPLICE_DOWN].bytes = 0xc0000000ull;
	fake_end.dir[SPLICE_UP].syn = true; /* ends it now */
	assert_int_equal(offload_reap(t), 0);
	assert_int_equal(got[0].bytes_up, 100 + 0x300000020ull);
	assert_int_equal(got[0].bytes_down, 200 + 0xc0000000ull);
	offload_table_free(t);

	/* Less payload than the sequence numbers say (fragments after the first are not seen whole): those count. */
	t = one_flow(0);
	fake_end.dir[SPLICE_DOWN].rst = true;
	fake_end.dir[SPLICE_DOWN].end_seq = 1000 + 3000;
	fake_end.dir[SPLICE_DOWN].bytes = 1500;
	assert_int_equal(offload_reap(t), 0);
	assert_int_equal(got[0].bytes_down, 200 + 3000);
	offload_table_free(t);

	/* An RST's sequence number from before the handoff still counts nothing, payload or not. */
	t = one_flow(0);
	fake_end.dir[SPLICE_DOWN].rst = true;
	fake_end.dir[SPLICE_DOWN].end_seq = 1000 - 64;
	fake_end.dir[SPLICE_DOWN].bytes = 300;
	assert_int_equal(offload_reap(t), 0);
	assert_int_equal(got[0].bytes_down, 200);
	offload_table_free(t);
}

/*
 * A SYN on the tuple (the client reuses its port): the flow is over at once,
 * without the linger; eof after both FINs, else the client left it.
 */
static void test_new_connection_on_the_tuple(void **state)
{
	struct offload_table *t = one_flow(0);

	(void)state;
	fake_end.dir[SPLICE_UP].fin = fake_end.dir[SPLICE_DOWN].fin = true;
	fake_end.dir[SPLICE_UP].end_seq = 0x10;
	fake_end.dir[SPLICE_DOWN].end_seq = 1000 + 5000;
	fake_end.dir[SPLICE_UP].last_ns = fake_end.dir[SPLICE_DOWN].last_ns = now();
	fake_end.dir[SPLICE_UP].syn = true;
	assert_int_equal(offload_reap(t), 0);
	assert_int_equal(ngot, 1);
	assert_int_equal(removed, 1);
	assert_int_equal(got[0].reason, CLOSE_EOF);
	assert_int_equal(got[0].bytes_up, 100 + 0x20);
	offload_table_free(t);

	t = one_flow(0);
	fake_end.dir[SPLICE_UP].syn = true;
	fake_end.dir[SPLICE_UP].last_ns = now();
	assert_int_equal(offload_reap(t), 0);
	assert_int_equal(got[0].reason, CLOSE_CLIENT_RESET);
	offload_table_free(t);
}

/* The reap reads the clock, then the entries: a packet translated in between is newer than "now". */
static void test_packet_during_reap(void **state)
{
	struct offload_table *t = one_flow(1000000ull); /* 1 ms of silence ends it */

	(void)state;
	fake_end.dir[SPLICE_UP].last_ns = now() + 50000000ull;
	assert_int_equal(offload_reap(t), 1);
	assert_int_equal(ngot, 0);
	assert_int_equal(removed, 0);
	fake_end.dir[SPLICE_UP].last_ns = now() - 2000000ull;
	assert_int_equal(offload_reap(t), 0);
	assert_int_equal(got[0].reason, CLOSE_IDLE_TIMEOUT);
	offload_table_free(t);
}

static void test_entries_gone_and_stop(void **state)
{
	struct offload_table *t = one_flow(0);

	(void)state;
	fake_rc = -ENOENT;
	assert_int_equal(offload_reap(t), 0);
	assert_int_equal(got[0].reason, CLOSE_ERROR);
	offload_table_free(t);

	/* A stop ends what is left with its reason and forgets the classifier. */
	t = one_flow(0);
	offload_end_all(t, CLOSE_DRAIN_TIMEOUT);
	assert_int_equal(ngot, 1);
	assert_int_equal(removed, 1);
	assert_int_equal(got[0].reason, CLOSE_DRAIN_TIMEOUT);
	assert_int_equal(offload_splice_add(t, &(struct proxy_splice){ 0 }), -ENODEV);
	offload_table_free(t);
	assert_int_equal(ngot, 1);
}

/* The conntrack entries of one_flow's tuple in this namespace. */
static int ct_entries(void)
{
	char *out = cmd_output("conntrack -L -p tcp --sport 40000 --dport 80 2>/dev/null | grep -c 'sport=40000'", NULL);
	int n = out ? atoi(out) : -1;

	free(out);
	return n;
}

/*
 * The daemon's table deletes an ended flow's conntrack entry (a real one,
 * made with the conntrack tool in a private namespace), but not when a SYN on
 * the tuple ended the flow: conntrack took the new connection into that entry.
 */
static void test_conntrack_entry(void **state)
{
	const char *make = "conntrack -I -p tcp -s 198.18.1.2 -d 198.18.2.2 --sport 40000 --dport 80 "
			   "--state ESTABLISHED -t 600 -u ASSURED 2>/dev/null";
	struct offload_table *t;
	int status;

	(void)state;
	assert_int_equal(netns_enter("test_offload_table"), 0);
	free(cmd_output(make, &status));
	assert_int_equal(status, 0);
	assert_int_equal(ct_entries(), 1);

	t = one_flow(0);
	offload_forget_conntrack(t);
	fake_end.dir[SPLICE_UP].syn = true;
	assert_int_equal(offload_reap(t), 0);
	assert_int_equal(ngot, 1);
	assert_int_equal(ct_entries(), 1); /* the new connection's now */
	offload_table_free(t);

	t = one_flow(0);
	offload_forget_conntrack(t);
	fake_end.dir[SPLICE_UP].rst = true;
	fake_end.dir[SPLICE_UP].end_seq = 0x10;
	assert_int_equal(offload_reap(t), 0);
	assert_int_equal(ngot, 1);
	assert_int_equal(ct_entries(), 0);
	offload_table_free(t);

	/* none left: no error, nothing printed */
	t = one_flow(0);
	offload_forget_conntrack(t);
	fake_end.dir[SPLICE_UP].rst = true;
	assert_int_equal(capture_stderr_begin(), 0);
	assert_int_equal(offload_reap(t), 0);
	{
		char *err = capture_stderr_end();

		assert_non_null(err);
		assert_string_equal(err, "");
		free(err);
	}
	offload_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fins_then_linger),
		cmocka_unit_test(test_resets),
		cmocka_unit_test(test_more_than_4_gib),
		cmocka_unit_test(test_new_connection_on_the_tuple),
		cmocka_unit_test(test_packet_during_reap),
		cmocka_unit_test(test_entries_gone_and_stop),
		cmocka_unit_test(test_conntrack_entry), /* last: it moves the process into its own namespace */
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
