/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * steering_set over fake backends: make-before-break order, rollback of a
 * failed install, a removal failure, auto, and split shares given by the
 * backend that takes the remainder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "steer/steering.h"

/* What the fakes were asked to do, in order: "install A;share A 30;remove B;" */
static char calls[512];
/* Backend names whose install / remove fails. */
static const char *fail_install, *fail_remove;

static void record_call(const char *fmt, ...)
{
	size_t n = strlen(calls);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(calls + n, sizeof(calls) - n, fmt, ap);
	va_end(ap);
}

static struct backend *install_as(const struct backend_ops *ops)
{
	struct backend *b;

	record_call("install %s;", ops->name);
	if (fail_install && !strcmp(fail_install, ops->name))
		return NULL;
	b = malloc(sizeof(*b));
	b->ops = ops;
	return b;
}

static int fake_share(struct backend *b, int percent)
{
	record_call("share %s %d;", b->ops->name, percent);
	return 0;
}

static int fake_remove(struct backend *b)
{
	record_call("remove %s;", b->ops->name);
	if (fail_remove && !strcmp(fail_remove, b->ops->name))
		return -1;
	free(b);
	return 0;
}

/* One counter: 1 while installed, so the tests see which handles steering holds. */
static size_t fake_counters(const struct backend_env *env, struct backend *b, struct backend_counter *out, size_t max)
{
	(void)env;
	if (!max)
		return 0;
	out[0] = (struct backend_counter){ .name = "installed", .value = b != NULL };
	return 1;
}

static const struct backend_ops ops_n, ops_e, ops_x;

static struct backend *install_n(const struct backend_env *env)
{
	(void)env;
	return install_as(&ops_n);
}

static struct backend *install_e(const struct backend_env *env)
{
	(void)env;
	return install_as(&ops_e);
}

static struct backend *install_x(const struct backend_env *env)
{
	(void)env;
	return install_as(&ops_x);
}

/* The remainder taker first: shares follow the property, not the position. */
static const struct backend_ops ops_n = { .name = "N", .kind = BACKEND_NFT, .takes_remainder = true,
					  .install = install_n, .set_share = fake_share,
					  .counters = fake_counters, .remove = fake_remove };
static const struct backend_ops ops_e = { .name = "E", .kind = BACKEND_EBPF, .install = install_e,
					  .set_share = fake_share, .counters = fake_counters, .remove = fake_remove };
/* A backend no `backend` setting selects but a kind of its own (the rollback test's bystander). */
#define KIND_X ((enum backend_kind)42)
static const struct backend_ops ops_x = { .name = "X", .kind = KIND_X, .install = install_x,
					  .counters = fake_counters, .remove = fake_remove };

static const struct backend_ops *const two[] = { &ops_n, &ops_e, NULL };
static const struct backend_ops *const three[] = { &ops_e, &ops_n, &ops_x, NULL };

static int closed;

static void fake_close(struct classifier *c)
{
	(void)c;
	closed++;
}

static const struct classifier_ops fake_classifier_ops = { .close = fake_close };

struct fixture {
	struct steer_config cfg;
	struct backend_listeners l;
	struct strbuf err;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	config_init(&f->cfg);
	for (int i = 0; i < LISTEN_SLOTS; i++)
		f->l.fd[i] = -1;
	calls[0] = '\0';
	fail_install = fail_remove = NULL;
	closed = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	config_free(&f->cfg);
	sb_free(&f->err);
	free(f);
	return 0;
}

static struct steering *make(struct fixture *f, const struct backend_ops *const *all, struct classifier *c)
{
	struct steering *s = steering_new(&f->cfg, &f->l, all, c);

	assert_non_null(s);
	return s;
}

/* Which backends steering holds a handle for, by name: "N E " */
static const char *held(struct steering *s)
{
	static char out[64];
	struct counter_group g[4];
	size_t n = steering_counters(s, g, 4);

	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (g[i].n && g[i].c[0].value)
			strcat(strcat(out, g[i].backend), " ");
	return out;
}

static void test_make_before_break(void **state)
{
	struct fixture *f = *state;
	struct steering *s = make(f, two, NULL);
	char desc[32];

	assert_int_equal(steering_set(s, BACKEND_NFT, 0, &f->err), 0);
	assert_string_equal(calls, "install N;share N 100;");
	calls[0] = '\0';
	assert_int_equal(steering_set(s, BACKEND_EBPF, 0, &f->err), 0);
	/* The new one installed, then the shares moved (the leaving one to 0), then the old one removed. */
	assert_string_equal(calls, "install E;share N 0;share E 100;remove N;");
	assert_string_equal(held(s), "E ");
	steering_describe(s, desc, sizeof(desc));
	assert_string_equal(desc, "ebpf");
	calls[0] = '\0';
	steering_stop(s);
	assert_string_equal(calls, "remove E;");
}

static void test_install_failure_rolls_back(void **state)
{
	struct fixture *f = *state;
	struct steering *s = make(f, three, NULL);

	assert_int_equal(steering_set(s, KIND_X, 0, &f->err), 0);
	assert_string_equal(held(s), "X ");
	calls[0] = '\0';
	fail_install = "N";
	assert_int_equal(steering_set(s, BACKEND_SPLIT, 30, &f->err), -1);
	assert_non_null(strstr(f->err.s, "cannot install backend N"));
	/* E was added and is removed again; X, running, is neither re-shared nor removed. */
	assert_string_equal(calls, "install E;install N;remove E;");
	assert_string_equal(held(s), "X ");
	fail_install = NULL;
	steering_stop(s);
}

static void test_remove_failure_keeps_handle(void **state)
{
	struct fixture *f = *state;
	struct steering *s = make(f, two, NULL);

	assert_int_equal(steering_set(s, BACKEND_NFT, 0, &f->err), 0);
	calls[0] = '\0';
	fail_remove = "N";
	assert_int_equal(steering_set(s, BACKEND_EBPF, 0, &f->err), -1);
	assert_non_null(strstr(f->err.s, "backend N could not be removed"));
	assert_string_equal(calls, "install E;share N 0;share E 100;remove N;");
	/* The handle stays: the next switch retries with it. */
	assert_string_equal(held(s), "N E ");
	calls[0] = '\0';
	fail_remove = NULL;
	assert_int_equal(steering_set(s, BACKEND_EBPF, 0, &f->err), 0);
	assert_string_equal(calls, "share N 0;share E 100;remove N;");
	assert_string_equal(held(s), "E ");
	steering_stop(s);
}

static void test_auto(void **state)
{
	struct fixture *f = *state;
	struct classifier fake = { .ops = &fake_classifier_ops };
	struct steering *s = make(f, two, NULL);

	/* Without a classifier auto means nft... */
	assert_int_equal(steering_set(s, BACKEND_AUTO, 0, &f->err), 0);
	assert_string_equal(held(s), "N ");
	steering_stop(s);
	assert_int_equal(closed, 0);
	/* ...with one, ebpf; steering owns the classifier and closes it. */
	s = make(f, two, &fake);
	assert_int_equal(steering_set(s, BACKEND_AUTO, 0, &f->err), 0);
	assert_string_equal(held(s), "E ");
	steering_stop(s);
	assert_int_equal(closed, 1);
}

static void test_split_shares(void **state)
{
	struct fixture *f = *state;
	struct steering *s = make(f, two, NULL);
	char desc[32];

	assert_int_equal(steering_set(s, BACKEND_SPLIT, 30, &f->err), 0);
	/* PERCENT to the backend with a share of its own, the rest to the one that takes the remainder. */
	assert_string_equal(calls, "install N;install E;share N 70;share E 30;");
	steering_describe(s, desc, sizeof(desc));
	assert_string_equal(desc, "split 30");
	steering_stop(s);
}

/* A list steering cannot compose is refused before anything is installed. */
static void test_backend_list_checked(void **state)
{
	struct fixture *f = *state;
	static const struct backend_ops ops_e2 = { .name = "E2", .kind = BACKEND_EBPF, .install = install_e };
	const struct backend_ops *const twice[] = { &ops_n, &ops_e, &ops_e2, NULL };
	const struct backend_ops *const five[] = { &ops_n, &ops_n, &ops_n, &ops_n, &ops_n, NULL };
	const struct backend_ops *const fine[] = { &ops_n, &ops_e, &ops_x, NULL };
	struct steering *s;

	assert_null(steering_new(&f->cfg, &f->l, twice, NULL));
	assert_null(steering_new(&f->cfg, &f->l, five, NULL));
	s = steering_new(&f->cfg, &f->l, fine, NULL);
	assert_non_null(s);
	steering_stop(s);
}

static void test_split_needs_both(void **state)
{
	static const struct backend_ops *const only_e[] = { &ops_e, NULL };
	struct fixture *f = *state;
	struct steering *s = make(f, only_e, NULL);

	assert_int_equal(steering_set(s, BACKEND_SPLIT, 30, &f->err), -1);
	assert_non_null(strstr(f->err.s, "not available"));
	assert_string_equal(calls, "");
	steering_stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_make_before_break, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_failure_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_failure_keeps_handle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_shares, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_needs_both, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_list_checked, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
