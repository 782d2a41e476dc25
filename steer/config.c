// SPDX-License-Identifier: GPL-2.0-only
/*
 * steer.conf parser (grammar in README, Configuration), command-line overrides and the
 * whole-config checks. One table of directives serves both the file and the
 * flags, so `--KEY VALUE` accepts exactly what a `KEY VALUE` line accepts.
 *
 * Columns are 1-based byte offsets in the line (a tab counts as one).
 */
#include "steer/config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <syslog.h>

#include "steer/config_syntax.h"

/* ---- scalar directives ---- */

typedef int (*handler_fn)(struct steer_config *cfg, const struct token *dir, const struct token *args, int nargs,
			  struct diag *d);

static const char *const backend_names[] = { "ebpf", "nft", "auto", "split" };
static const char *const upstream_names[] = { "client", "client-ip", "gateway" };
static const char *const proxy_down_names[] = { "fail-open", "fail-closed" };
static const char *const proxy_mode_names[] = { "builtin", "external" };
static const char *const no_yes[] = { "no", "yes" };
/* What a program may log as (kern is the kernel's; syslog() turns it into user). */
static const char *const facility_names[] = { "auth",	"authpriv", "cron",   "daemon", "ftp",	  "lpr",
					      "mail",	"news",	    "syslog", "user",	"uucp",	  "local0",
					      "local1", "local2",   "local3", "local4", "local5", "local6",
					      "local7" };
static const int facility_values[] = { LOG_AUTH,   LOG_AUTHPRIV, LOG_CRON,   LOG_DAEMON, LOG_FTP,	 LOG_LPR,
				       LOG_MAIL,   LOG_NEWS,	 LOG_SYSLOG, LOG_USER,	 LOG_UUCP,	 LOG_LOCAL0,
				       LOG_LOCAL1, LOG_LOCAL2,	 LOG_LOCAL3, LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6,
				       LOG_LOCAL7 };
#define NFACILITIES (int)(sizeof(facility_names) / sizeof(facility_names[0]))

static int set_backend(struct steer_config *cfg, const struct token *dir, const struct token *args, int nargs,
		       struct diag *d)
{
	int b = cfg_word(d, &args[0], "backend", backend_names, 4);
	uint64_t pct;

	(void)dir;
	if (b < 0)
		return -1;
	if (b != BACKEND_SPLIT && nargs > 1) {
		cfg_report(d, args[1].col, "unexpected argument '%s'", CFG_Q(args[1].s));
		return -1;
	}
	if (b == BACKEND_SPLIT) {
		if (nargs < 2) {
			cfg_report(d, args[0].col, "'split' needs a PERCENT (0..100)");
			return -1;
		}
		/* "split 30%" reads naturally; take the sign off before the number. */
		size_t n = strlen(args[1].s);
		if (n > 1 && args[1].s[n - 1] == '%')
			args[1].s[n - 1] = '\0';
		if (cfg_ranged(d, &args[1], "percent", 0, 100, &pct) < 0)
			return -1;
		cfg->split_percent = (int)pct;
	}
	cfg->backend = (enum backend_kind)b;
	return 0;
}

static int set_proxy_port(struct steer_config *cfg, const struct token *dir, const struct token *args, int nargs,
			  struct diag *d)
{
	uint64_t v;

	(void)dir, (void)nargs;
	if (cfg_ranged(d, &args[0], "proxy-port", 1, 65535, &v) < 0)
		return -1;
	cfg->proxy_port = (uint16_t)v;
	return 0;
}

static int set_upstream_source(struct steer_config *cfg, const struct token *dir, const struct token *args,
			       int nargs, struct diag *d)
{
	int v = cfg_word(d, &args[0], "upstream-source", upstream_names, 3);

	(void)dir, (void)nargs;
	if (v < 0)
		return -1;
	cfg->upstream_source = (enum upstream_source)v;
	return 0;
}

static int set_on_proxy_down(struct steer_config *cfg, const struct token *dir, const struct token *args,
			     int nargs, struct diag *d)
{
	int v = cfg_word(d, &args[0], "on-proxy-down", proxy_down_names, 2);

	(void)dir, (void)nargs;
	if (v < 0)
		return -1;
	cfg->on_proxy_down = (enum on_proxy_down)v;
	return 0;
}

static int set_mark(struct steer_config *cfg, const struct token *dir, const struct token *args, int nargs,
		    struct diag *d)
{
	uint64_t v;

	(void)dir, (void)nargs;
	if (cfg_number(args[0].s, true, &v) < 0 || v == 0 || v > UINT32_MAX) {
		cfg_report(d, args[0].col, "bad mark '%s' (expected a nonzero 32-bit value, decimal or 0x hex)",
		       CFG_Q(args[0].s));
		return -1;
	}
	cfg->mark = (uint32_t)v;
	return 0;
}

static int set_route_table(struct steer_config *cfg, const struct token *dir, const struct token *args,
			   int nargs, struct diag *d)
{
	uint64_t v;

	(void)dir, (void)nargs;
	if (cfg_ranged(d, &args[0], "route-table", 1, UINT32_MAX, &v) < 0)
		return -1;
	/* The kernel's own tables: taking one over would break the host's routing. */
	if (v >= 253 && v <= 255) {
		cfg_report(d, args[0].col, "route-table %llu is reserved (253 default, 254 main, 255 local)",
		       (unsigned long long)v);
		return -1;
	}
	cfg->route_table = (uint32_t)v;
	return 0;
}

static int set_audit_log(struct steer_config *cfg, const struct token *dir, const struct token *args, int nargs,
			 struct diag *d)
{
	(void)dir, (void)nargs;
	return cfg_path(d, &args[0], cfg->audit_log, sizeof(cfg->audit_log));
}

static int set_audit_syslog_facility(struct steer_config *cfg, const struct token *dir, const struct token *args,
				     int nargs, struct diag *d)
{
	int v = cfg_word(d, &args[0], "facility", facility_names, NFACILITIES);

	(void)dir, (void)nargs;
	if (v < 0)
		return -1;
	cfg->audit_syslog_facility = facility_values[v];
	return 0;
}

static int set_audit_key(struct steer_config *cfg, const struct token *dir, const struct token *args, int nargs,
			 struct diag *d)
{
	(void)dir, (void)nargs;
	return cfg_path(d, &args[0], cfg->audit_key, sizeof(cfg->audit_key));
}

static int set_audit_anchor_interval(struct steer_config *cfg, const struct token *dir, const struct token *args,
				     int nargs, struct diag *d)
{
	uint64_t v;

	(void)dir, (void)nargs;
	if (cfg_ranged(d, &args[0], "audit-anchor-interval", 0, STEER_ANCHOR_INTERVAL_MAX, &v) < 0)
		return -1;
	cfg->audit_anchor_interval = (int)v;
	return 0;
}

static int set_control_socket(struct steer_config *cfg, const struct token *dir, const struct token *args,
			      int nargs, struct diag *d)
{
	/* It becomes a sockaddr_un, whose path is shorter than STEER_PATH_MAX. */
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path);

	(void)dir, (void)nargs;
	if (strlen(args[0].s) >= max) {
		cfg_report(d, args[0].col, "socket path too long (at most %zu bytes)", max - 1);
		return -1;
	}
	return cfg_path(d, &args[0], cfg->control_socket, sizeof(cfg->control_socket));
}

static int set_workers(struct steer_config *cfg, const struct token *dir, const struct token *args, int nargs,
		       struct diag *d)
{
	uint64_t v;

	(void)dir, (void)nargs;
	if (!strcmp(args[0].s, "per-cpu")) {
		cfg->workers = STEER_WORKERS_PER_CPU;
		return 0;
	}
	if (cfg_ranged(d, &args[0], "workers", 0, 1024, &v) < 0)
		return -1;
	cfg->workers = (int)v;
	return 0;
}

static int set_proxy(struct steer_config *cfg, const struct token *dir, const struct token *args, int nargs,
		     struct diag *d)
{
	int v = cfg_word(d, &args[0], "proxy", proxy_mode_names, 2);

	(void)dir, (void)nargs;
	if (v < 0)
		return -1;
	cfg->proxy = (enum proxy_mode)v;
	return 0;
}

static int set_udp_idle_timeout(struct steer_config *cfg, const struct token *dir, const struct token *args,
				int nargs, struct diag *d)
{
	uint64_t v;

	(void)dir, (void)nargs;
	if (cfg_ranged(d, &args[0], "udp-idle-timeout", 1, 86400, &v) < 0)
		return -1;
	cfg->udp_idle_timeout = (int)v;
	return 0;
}

/* Bounded: systemd's stop timeout has to cover it, and an hour is a long stop already. */
static int set_drain_timeout(struct steer_config *cfg, const struct token *dir, const struct token *args,
			     int nargs, struct diag *d)
{
	uint64_t v;

	(void)dir, (void)nargs;
	if (cfg_ranged(d, &args[0], "drain-timeout", 0, STEER_DRAIN_TIMEOUT_MAX, &v) < 0)
		return -1;
	cfg->drain_timeout = (int)v;
	return 0;
}

/* `off` or `after BYTES`, BYTES decimal with an optional K, M or G (powers of 1024). */
static int set_offload(struct steer_config *cfg, const struct token *dir, const struct token *args, int nargs,
		       struct diag *d)
{
	static const char *const forms[] = { "off", "after" };
	int v = cfg_word(d, &args[0], "offload", forms, 2);
	uint64_t n, unit = 1;
	char num[32];
	size_t len;

	(void)dir;
	if (v < 0)
		return -1;
	if (v == 1 && nargs == 1) {
		cfg_report(d, args[0].col, "offload after needs BYTES (offload after 65536, 64K, 1M)");
		return -1;
	}
	if (v == 0 && nargs == 2) {
		cfg_report(d, args[1].col, "unexpected argument '%s'", CFG_Q(args[1].s));
		return -1;
	}
	cfg->offload = v == 1;
	if (!cfg->offload)
		return 0;
	len = strlen(args[1].s);
	if (len > 0 && len < sizeof(num)) {
		const char *units = "KMG";
		const char *u = strchr(units, args[1].s[len - 1] & ~0x20);

		memcpy(num, args[1].s, len + 1);
		if (u) {
			num[len - 1] = '\0';
			unit = 1ull << (10 * (u - units + 1));
		}
	}
	if (len == 0 || len >= sizeof(num) || cfg_number(num, false, &n) < 0 || n > UINT64_MAX / unit) {
		cfg_report(d, args[1].col, "bad byte count '%s' (expected a number, K, M or G after it: 65536, 64K, 1M)",
			   CFG_Q(args[1].s));
		return -1;
	}
	cfg->offload_after = n * unit;
	return 0;
}

static int set_metrics_listen(struct steer_config *cfg, const struct token *dir, const struct token *args,
			      int nargs, struct diag *d)
{
	struct sockaddr_storage ss;
	const char *err = NULL;

	(void)dir, (void)nargs;
	/* "off" lets a flag switch off what the file switched on. */
	if (strcmp(args[0].s, "off") == 0) {
		cfg->metrics_enabled = false;
		return 0;
	}
	if (sockaddr_parse(args[0].s, &ss, &err) < 0) {
		cfg_report(d, args[0].col, "bad metrics-listen '%s': %s (expected IP:PORT or [IPv6]:PORT)", CFG_Q(args[0].s),
		       err);
		return -1;
	}
	cfg->metrics_addr = ss;
	cfg->metrics_enabled = true;
	return 0;
}

static int set_interface_wait(struct steer_config *cfg, const struct token *dir, const struct token *args,
			      int nargs, struct diag *d)
{
	int v = cfg_word(d, &args[0], "interface-wait", no_yes, 2);

	(void)dir, (void)nargs;
	if (v < 0)
		return -1;
	cfg->interface_wait = v == 1;
	return 0;
}

/* ---- interfaces ---- */

/* The kernel's dev_valid_name(), so a name accepted here can exist. */
static const char *ifname_problem(const char *s)
{
	if (strlen(s) >= IF_NAMESIZE)
		return "longer than 15 characters";
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return "not a valid name";
	if (strpbrk(s, "/:"))
		return "contains '/' or ':'";
	return NULL;
}

/* "line L" in the file being parsed, "FILE:L" in another: where an earlier setting was made. */
static const char *pos_text(const struct steer_config *cfg, const struct diag *d, const struct config_pos *p,
			    char *buf, size_t len)
{
	const char *here = d->nested ? d->file : NULL;

	if (p->file == here || (p->file && here && strcmp(p->file, here) == 0))
		snprintf(buf, len, "line %d", p->line);
	else
		snprintf(buf, len, "%s:%d", p->file ? p->file : cfg->path, p->line);
	return buf;
}

static int find_iface(char (*list)[IF_NAMESIZE], int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return i;
	return -1;
}

static int add_iface(struct steer_config *cfg, const struct token *t, bool ret, struct diag *d)
{
	char (*list)[IF_NAMESIZE] = ret ? cfg->return_ifaces : cfg->ifaces;
	struct config_pos *pos = ret ? cfg->return_iface_pos : cfg->iface_pos;
	int *n = ret ? &cfg->n_return_ifaces : &cfg->n_ifaces;
	const char *problem = ifname_problem(t->s);
	int i;

	if (problem) {
		cfg_report(d, t->col, "invalid interface name '%s': %s", CFG_Q(t->s), problem);
		return -1;
	}
	/* A flag's first use replaces what the file listed. */
	if (cfg_is_flag(d) && *n > 0 && pos[0].line != -1)
		*n = 0;
	i = find_iface(list, *n, t->s);
	if (i >= 0) {
		char at[STEER_PATH_MAX + 32];

		if (pos[i].line > 0 && !cfg_is_flag(d))
			cfg_report(d, t->col, "%s '%s' already given at %s", ret ? "return-interface" : "interface",
			       CFG_Q(t->s), pos_text(cfg, d, &pos[i], at, sizeof(at)));
		else
			cfg_report(d, t->col, "'%s' given twice", CFG_Q(t->s));
		return -1;
	}
	/* Flags may still replace the other list; config_validate checks them. */
	if (!cfg_is_flag(d)) {
		char (*other)[IF_NAMESIZE] = ret ? cfg->ifaces : cfg->return_ifaces;
		struct config_pos *opos = ret ? cfg->iface_pos : cfg->return_iface_pos;

		i = find_iface(other, ret ? cfg->n_ifaces : cfg->n_return_ifaces, t->s);
		if (i >= 0) {
			char at[STEER_PATH_MAX + 32];

			cfg_report(d, t->col, "'%s' is already %s (%s): an interface cannot be both", CFG_Q(t->s),
			       ret ? "an interface" : "a return-interface", pos_text(cfg, d, &opos[i], at, sizeof(at)));
			return -1;
		}
	}
	if (*n >= STEER_MAX_IFACES) {
		cfg_report(d, t->col, "too many %ss (at most %d)", ret ? "return-interface" : "interface",
		       STEER_MAX_IFACES);
		return -1;
	}
	strcpy(list[*n], t->s);
	pos[*n] = cfg_origin(d, t->col);
	(*n)++;
	return 0;
}

static int add_interface(struct steer_config *cfg, const struct token *dir, const struct token *args, int nargs,
			 struct diag *d)
{
	(void)dir, (void)nargs;
	return add_iface(cfg, &args[0], false, d);
}

static int add_return_interface(struct steer_config *cfg, const struct token *dir, const struct token *args,
				int nargs, struct diag *d)
{
	(void)dir, (void)nargs;
	return add_iface(cfg, &args[0], true, d);
}

/* ---- rules (grammar in config_rule.c) ---- */

static int add_steer(struct steer_config *cfg, const struct token *dir, const struct token *args, int nargs,
		     struct diag *d)
{
	return cfg_rule_directive(cfg, dir, args, nargs, d, false);
}

static int add_bypass(struct steer_config *cfg, const struct token *dir, const struct token *args, int nargs,
		      struct diag *d)
{
	return cfg_rule_directive(cfg, dir, args, nargs, d, true);
}

static int add_include(struct steer_config *cfg, const struct token *dir, const struct token *args, int nargs,
		       struct diag *d)
{
	(void)dir, (void)nargs;
	return cfg_include(cfg, &args[0], d);
}

/* ---- the directive table ---- */

struct directive {
	const char *name;
	int key; /* enum config_key for a scalar; -1 for a repeatable directive */
	int min_args, max_args;
	handler_fn fn;
};

static const struct directive directives[] = {
	{ "backend", CONFIG_KEY_BACKEND, 1, 2, set_backend },
	{ "interface", -1, 1, 1, add_interface },
	{ "return-interface", -1, 1, 1, add_return_interface },
	{ "proxy-port", CONFIG_KEY_PROXY_PORT, 1, 1, set_proxy_port },
	{ "upstream-source", CONFIG_KEY_UPSTREAM_SOURCE, 1, 1, set_upstream_source },
	{ "on-proxy-down", CONFIG_KEY_ON_PROXY_DOWN, 1, 1, set_on_proxy_down },
	{ "mark", CONFIG_KEY_MARK, 1, 1, set_mark },
	{ "route-table", CONFIG_KEY_ROUTE_TABLE, 1, 1, set_route_table },
	{ "audit-log", CONFIG_KEY_AUDIT_LOG, 1, 1, set_audit_log },
	{ "audit-syslog-facility", CONFIG_KEY_AUDIT_SYSLOG_FACILITY, 1, 1, set_audit_syslog_facility },
	{ "audit-key", CONFIG_KEY_AUDIT_KEY, 1, 1, set_audit_key },
	{ "audit-anchor-interval", CONFIG_KEY_AUDIT_ANCHOR_INTERVAL, 1, 1, set_audit_anchor_interval },
	{ "control-socket", CONFIG_KEY_CONTROL_SOCKET, 1, 1, set_control_socket },
	{ "workers", CONFIG_KEY_WORKERS, 1, 1, set_workers },
	{ "proxy", CONFIG_KEY_PROXY, 1, 1, set_proxy },
	{ "udp-idle-timeout", CONFIG_KEY_UDP_IDLE_TIMEOUT, 1, 1, set_udp_idle_timeout },
	{ "metrics-listen", CONFIG_KEY_METRICS_LISTEN, 1, 1, set_metrics_listen },
	{ "interface-wait", CONFIG_KEY_INTERFACE_WAIT, 1, 1, set_interface_wait },
	{ "drain-timeout", CONFIG_KEY_DRAIN_TIMEOUT, 1, 1, set_drain_timeout },
	{ "offload", CONFIG_KEY_OFFLOAD, 1, 2, set_offload },
	/* Rules count their own arguments: the fields are optional pairs. */
	{ "steer", -1, 0, MAX_TOKENS, add_steer },
	{ "bypass", -1, 0, MAX_TOKENS, add_bypass },
	{ "include", -1, 1, 1, add_include },
};

static const struct directive *find_directive(const char *name)
{
	for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++)
		if (strcmp(directives[i].name, name) == 0)
			return &directives[i];
	return NULL;
}

static const char *key_name(enum config_key k)
{
	for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++)
		if (directives[i].key == (int)k)
			return directives[i].name;
	return "?";
}

/* tok[0] is the directive, the rest its arguments. */
static void run_directive(struct steer_config *cfg, const struct directive *dv, struct token *tok, int ntok,
			  struct diag *d)
{
	const struct token *args = tok + 1;
	int nargs = ntok - 1;

	if (dv->key >= 0 && !cfg_is_flag(d) && cfg->key_pos[dv->key].line > 0) {
		char at[STEER_PATH_MAX + 32];

		cfg_report(d, tok[0].col, "'%s' already set at %s", dv->name,
			   pos_text(cfg, d, &cfg->key_pos[dv->key], at, sizeof(at)));
		return;
	}
	if (nargs < dv->min_args) {
		cfg_report(d, tok[0].col, "'%s' needs a value", dv->name);
		return;
	}
	if (nargs > dv->max_args) {
		cfg_report(d, args[dv->max_args].col, "unexpected argument '%s'", CFG_Q(args[dv->max_args].s));
		return;
	}
	if (dv->fn(cfg, &tok[0], tok + 1, nargs, d) == 0 && dv->key >= 0)
		cfg->key_pos[dv->key] = cfg_origin(d, args[0].col);
}

/*
 * Split a line (comments already cut) into NUL-terminated tokens in place.
 * Returns the number of tokens, which may exceed MAX_TOKENS: the caller
 * refuses such a line (at *overflow_col) without looking at the rest.
 */
static int tokenize(char *line, struct token *tok, int *overflow_col)
{
	int n = 0;
	char *p = line;

	*overflow_col = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p)
			return n;
		if (n < MAX_TOKENS)
			tok[n] = (struct token){ .s = p, .col = (int)(p - line) + 1 };
		else if (n == MAX_TOKENS)
			*overflow_col = (int)(p - line) + 1;
		n++;
		p += strcspn(p, " \t\r");
		if (*p)
			*p++ = '\0';
	}
}

static void parse_line(struct steer_config *cfg, char *line, struct diag *d)
{
	struct token tok[MAX_TOKENS];
	int overflow_col, n;

	n = tokenize(line, tok, &overflow_col);
	if (n == 0)
		return;
	const struct directive *dv = find_directive(tok[0].s);
	if (!dv) {
		cfg_report(d, tok[0].col, "unknown directive '%s'", CFG_Q(tok[0].s));
		return;
	}
	if (n > MAX_TOKENS) {
		cfg_report(d, overflow_col, "too many arguments");
		return;
	}
	run_directive(cfg, dv, tok, n, d);
}

/* The comment cut off; the length of what is left without trailing blanks. */
static size_t content_len(char *line)
{
	char *hash = strchr(line, '#');
	size_t n;

	if (hash)
		*hash = '\0';
	n = strlen(line);
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		n--;
	return n;
}

static int map_add(struct line_map *m, int start, int line, int col)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 8;
		struct line_piece *p = realloc(m->piece, cap * sizeof(*p));

		if (!p)
			return -1;
		m->piece = p;
		m->cap = cap;
	}
	m->piece[m->n++] = (struct line_piece){ .start = start, .line = line, .col = col };
	return 0;
}

/*
 * Lines are parsed one at a time; a line whose text (before any comment)
 * ends in a backslash goes on with the next one: the backslash, the line
 * break and the next line's leading blanks are dropped, so a list breaks
 * after a comma (`10.0.0.0/8,\`) and fields after a blank (`80 \`). The
 * joined line is built in place (it is never longer than what it is made
 * of), and the map turns its columns back into lines and columns.
 */
void cfg_parse_text(struct steer_config *cfg, char *text, size_t len, struct diag *d)
{
	struct line_map map = { 0 };
	const struct line_map *saved = d->map;
	char *p = text, *end = text + strlen(text);
	int lineno = 0;

	(void)len;
	while (p < end) {
		char *joined = p, *w = p;
		bool more = true;

		map.n = 0;
		while (more) {
			char *nl = strchr(p, '\n'), *next = nl ? nl + 1 : end, *bol = p;
			size_t n;

			if (nl)
				*nl = '\0';
			lineno++;
			if (w != joined)
				p += strspn(p, " \t");
			n = content_len(p);
			more = n > 0 && p[n - 1] == '\\';
			if (more)
				n--;
			if (map_add(&map, (int)(w - joined), lineno, (int)(p - bol) + 1) < 0) {
				d->line = lineno;
				d->map = NULL;
				cfg_report(d, 1, "out of memory");
				free(map.piece);
				d->map = saved;
				return;
			}
			memmove(w, p, n);
			w += n;
			if (more && next >= end) {
				d->line = lineno;
				d->map = NULL;
				cfg_report(d, (int)n + 1, "the last line ends in a backslash: nothing follows to continue it");
				more = false;
			}
			p = next;
		}
		*w = '\0';
		d->map = map.n > 1 ? &map : NULL;
		d->line = map.piece[0].line;
		parse_line(cfg, joined, d);
	}
	d->map = saved;
	free(map.piece);
}

/* ---- public ---- */

void config_init(struct steer_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->backend = BACKEND_EBPF;
	cfg->proxy_port = 15001;
	cfg->upstream_source = UPSTREAM_CLIENT;
	cfg->on_proxy_down = PROXY_DOWN_FAIL_OPEN;
	cfg->mark = 0x1000000;
	cfg->route_table = 100;
	strcpy(cfg->audit_log, "/var/log/steer/audit.jsonl");
	cfg->audit_syslog_facility = LOG_DAEMON;
	cfg->audit_anchor_interval = 60;
	strcpy(cfg->control_socket, "/run/steer/steer.sock");
	cfg->workers = 0;
	cfg->proxy = PROXY_BUILTIN;
	cfg->udp_idle_timeout = 60;
	cfg->drain_timeout = 30;
	cfg->metrics_enabled = false;
}

void config_free(struct steer_config *cfg)
{
	for (size_t i = 0; i < cfg->nrules; i++)
		cfg_rule_free(&cfg->rules[i]);
	free(cfg->rules);
	cfg->rules = NULL;
	cfg->nrules = 0;
	for (size_t i = 0; i < cfg->nfiles; i++)
		free(cfg->files[i]);
	free(cfg->files);
	cfg->files = NULL;
	cfg->nfiles = 0;
}

int config_parse_string(struct steer_config *cfg, const char *name, const char *text, FILE *errs)
{
	struct diag d = { .errs = errs, .file = name, .line = 0 };
	char *copy = strdup(text);

	snprintf(cfg->path, sizeof(cfg->path), "%s", name);
	if (!copy) {
		d.line = 1;
		cfg_report(&d, 1, "out of memory");
		return d.nerr;
	}
	cfg_parse_text(cfg, copy, strlen(copy), &d);
	free(copy);
	cfg_report_hidden(&d, name);
	return d.nerr;
}

int config_parse_file(struct steer_config *cfg, const char *path, FILE *errs)
{
	struct diag d = { .errs = errs, .file = path, .line = 1 };

	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	cfg_parse_file_at(cfg, path, &d, 1);
	cfg_report_hidden(&d, path);
	return d.nerr;
}

int config_apply_flag(struct steer_config *cfg, const char *key, const char *value, FILE *errs)
{
	struct diag d = { .errs = errs, .flag = key };
	const struct directive *dv = find_directive(key);
	struct token tok[MAX_TOKENS + 1];
	int overflow_col, n;

	if (!dv) {
		cfg_report(&d, 0, "unknown option");
		return d.nerr;
	}
	char *copy = strdup(value ? value : "");
	if (!copy) {
		cfg_report(&d, 0, "out of memory");
		return d.nerr;
	}
	/* Tokens start at index 1: slot 0 stands for the flag's name. */
	n = tokenize(copy, tok + 1, &overflow_col);
	tok[0] = (struct token){ .s = (char *)dv->name, .col = 0 };
	if (n > MAX_TOKENS)
		cfg_report(&d, 0, "too many arguments");
	else
		run_directive(cfg, dv, tok, n + 1, &d);
	free(copy);
	return d.nerr;
}

/* A diag labelled by a setting's origin: its file line, its flag, or (0) the top of the file. */
static struct diag diag_at(const struct steer_config *cfg, FILE *errs, struct config_pos pos, const char *key)
{
	return (struct diag){ .errs = errs, .file = pos.file ? pos.file : cfg->path, .flag = pos.line < 0 ? key : NULL,
			      .line = pos.line };
}

static void validate_return_ifaces(const struct steer_config *cfg, FILE *errs, int *nerr)
{
	struct config_pos pos = cfg->key_pos[CONFIG_KEY_UPSTREAM_SOURCE];
	struct diag d = diag_at(cfg, errs, pos, "upstream-source");

	if (cfg->upstream_source == UPSTREAM_GATEWAY || cfg->n_return_ifaces > 0)
		return;
	cfg_report(&d, pos.col, "upstream-source %s%s needs at least one return-interface",
	       upstream_source_name(cfg->upstream_source), pos.line == 0 ? " (the default)" : "");
	*nerr += d.nerr;
}

/* Only the built-in proxy's flows with the client's own ip:port upstream have one tuple to join. */
static void validate_offload(const struct steer_config *cfg, FILE *errs, int *nerr)
{
	struct config_pos pos = cfg->key_pos[CONFIG_KEY_OFFLOAD];
	struct diag d = diag_at(cfg, errs, pos, "offload");

	if (!cfg->offload)
		return;
	if (cfg->proxy != PROXY_BUILTIN)
		cfg_report(&d, pos.col, "offload needs the built-in proxy (proxy builtin)");
	else if (cfg->upstream_source != UPSTREAM_CLIENT)
		cfg_report(&d, pos.col, "offload needs upstream-source client (both legs must carry the client's ip:port)");
	*nerr += d.nerr;
}

/* The parser refuses these from the file; flags can still bring one list onto the other. */
static void validate_iface_overlap(const struct steer_config *cfg, FILE *errs, int *nerr)
{
	for (int i = 0; i < cfg->n_ifaces; i++) {
		int j = find_iface((char (*)[IF_NAMESIZE])cfg->return_ifaces, cfg->n_return_ifaces,
				   cfg->ifaces[i]);
		if (j < 0)
			continue;
		bool ret_later = cfg->return_iface_pos[j].line < 0 ||
				 (cfg->iface_pos[i].line >= 0 && cfg->return_iface_pos[j].line > cfg->iface_pos[i].line);
		struct config_pos pos = ret_later ? cfg->return_iface_pos[j] : cfg->iface_pos[i];
		struct diag d = diag_at(cfg, errs, pos, ret_later ? "return-interface" : "interface");

		cfg_report(&d, pos.col, "'%s' is both an interface and a return-interface", cfg->ifaces[i]);
		*nerr += d.nerr;
	}
}

/* Rules keep only their line (0 = a flag); column 1 is where a directive normally starts. */
static void validate_rules(const struct steer_config *cfg, FILE *errs, int *nerr)
{
	size_t nsteer = 0;

	for (size_t i = 0; i < cfg->nrules; i++)
		nsteer += !cfg->rules[i].bypass;
	if (nsteer == 0) {
		struct diag d = diag_at(cfg, errs, (struct config_pos){ .line = 0, .col = 1 }, NULL);

		cfg_report(&d, 1, "no 'steer' rule: nothing would be steered");
		*nerr += d.nerr;
	}
	if (cfg->nrules > CONFIG_MAX_RULES) {
		const struct rule *r = &cfg->rules[CONFIG_MAX_RULES];
		struct config_pos pos = { .line = r->line > 0 ? r->line : -1, .col = 1, .file = r->file };
		struct diag d = diag_at(cfg, errs, pos, r->bypass ? "bypass" : "steer");

		cfg_report(&d, 1, "too many rules: %zu (at most %d)", cfg->nrules, CONFIG_MAX_RULES);
		*nerr += d.nerr;
	}
}

/*
 * Each error points at the setting concerned: FILE:LINE:COL of its value when
 * the file set it, "--KEY: " when a flag did, and FILE:1:1 (or "config: "
 * without a file) for a default or a directive that is missing altogether,
 * since no line holds it.
 */
int config_validate(const struct steer_config *cfg, FILE *errs)
{
	int nerr = 0;

	if (cfg->n_ifaces == 0) {
		struct diag d = diag_at(cfg, errs, (struct config_pos){ .line = 0, .col = 1 }, NULL);

		cfg_report(&d, 1, "no 'interface': at least one client-facing interface is required");
		nerr += d.nerr;
	}
	validate_return_ifaces(cfg, errs, &nerr);
	validate_offload(cfg, errs, &nerr);
	validate_iface_overlap(cfg, errs, &nerr);
	validate_rules(cfg, errs, &nerr);
	if (cfg->backend == BACKEND_SPLIT && (cfg->split_percent < 0 || cfg->split_percent > 100)) {
		struct config_pos pos = cfg->key_pos[CONFIG_KEY_BACKEND];
		struct diag d = diag_at(cfg, errs, pos, key_name(CONFIG_KEY_BACKEND));

		cfg_report(&d, pos.col, "split percent %d out of range (0..100)", cfg->split_percent);
		nerr += d.nerr;
	}
	return nerr;
}

const char *backend_kind_name(enum backend_kind b)
{
	return (unsigned)b < sizeof(backend_names) / sizeof(backend_names[0]) ? backend_names[b] : "?";
}

const char *upstream_source_name(enum upstream_source u)
{
	return (unsigned)u < sizeof(upstream_names) / sizeof(upstream_names[0]) ? upstream_names[u] : "?";
}

const char *syslog_facility_name(int facility)
{
	for (int i = 0; i < NFACILITIES; i++)
		if (facility_values[i] == facility)
			return facility_names[i];
	return "?";
}

/* Two interface lists hold the same names in the same order. */
static bool same_ifaces(const char (*a)[IF_NAMESIZE], int na, const char (*b)[IF_NAMESIZE], int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++)
		if (strcmp(a[i], b[i]))
			return false;
	return true;
}

int config_diff_except_rules(const struct steer_config *run, const struct steer_config *next, FILE *errs)
{
	struct {
		const char *name;
		bool same;
	} keys[] = {
		{ "interface", same_ifaces(run->ifaces, run->n_ifaces, next->ifaces, next->n_ifaces) },
		{ "return-interface", same_ifaces(run->return_ifaces, run->n_return_ifaces, next->return_ifaces,
						  next->n_return_ifaces) },
		{ "proxy-port", run->proxy_port == next->proxy_port },
		{ "upstream-source", run->upstream_source == next->upstream_source },
		{ "on-proxy-down", run->on_proxy_down == next->on_proxy_down },
		{ "mark", run->mark == next->mark },
		{ "route-table", run->route_table == next->route_table },
		{ "audit-log", !strcmp(run->audit_log, next->audit_log) },
		{ "audit-syslog-facility", run->audit_syslog_facility == next->audit_syslog_facility },
		{ "audit-key", !strcmp(run->audit_key, next->audit_key) },
		{ "audit-anchor-interval", run->audit_anchor_interval == next->audit_anchor_interval },
		{ "control-socket", !strcmp(run->control_socket, next->control_socket) },
		{ "workers", run->workers == next->workers },
		{ "proxy", run->proxy == next->proxy },
		{ "udp-idle-timeout", run->udp_idle_timeout == next->udp_idle_timeout },
		{ "metrics-listen", run->metrics_enabled == next->metrics_enabled &&
					    (!run->metrics_enabled ||
					     !memcmp(&run->metrics_addr, &next->metrics_addr, sizeof(run->metrics_addr))) },
		{ "interface-wait", run->interface_wait == next->interface_wait },
		{ "offload", run->offload == next->offload && run->offload_after == next->offload_after },
	};
	int n = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!keys[i].same) {
			fprintf(errs, "%s: changed; reload swaps rules only (use `steer backend` for the backend, "
				      "restart for the rest)\n", keys[i].name);
			n++;
		}
	return n;
}
