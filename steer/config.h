/* SPDX-License-Identifier: GPL-2.0-only */
/* The parsed steer.conf (grammar in README, Configuration) and the command-line overrides. */
#ifndef STEER_CONFIG_H
#define STEER_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "steer/addr.h"

#define STEER_MAX_IFACES 32
/* Rules a config may hold: the width of the classifier's rule bitmaps (bpf/ asserts they agree). */
#define CONFIG_MAX_RULES 128
#define STEER_PATH_MAX 256
/* drain-timeout's bound in seconds (systemd's TimeoutStopSec must exceed the value used). */
#define STEER_DRAIN_TIMEOUT_MAX 3600
#define STEER_ANCHOR_INTERVAL_MAX 86400

enum backend_kind { BACKEND_EBPF, BACKEND_NFT, BACKEND_AUTO, BACKEND_SPLIT };
enum upstream_source { UPSTREAM_CLIENT, UPSTREAM_CLIENT_IP, UPSTREAM_GATEWAY };
enum on_proxy_down { PROXY_DOWN_FAIL_OPEN, PROXY_DOWN_FAIL_CLOSED };
enum proxy_mode { PROXY_BUILTIN, PROXY_EXTERNAL };

/*
 * Where a setting came from, so config_validate can point at it. line is a
 * line of file (NULL: cfg->path; else an included file), 0 for a default,
 * -1 for a command-line flag; col is the 1-based column of the value.
 */
struct config_pos {
	int line;
	int col;
	const char *file;
};

/* The scalar directives, indexing steer_config.key_pos. */
enum config_key {
	CONFIG_KEY_BACKEND,
	CONFIG_KEY_PROXY_PORT,
	CONFIG_KEY_UPSTREAM_SOURCE,
	CONFIG_KEY_ON_PROXY_DOWN,
	CONFIG_KEY_MARK,
	CONFIG_KEY_ROUTE_TABLE,
	CONFIG_KEY_AUDIT_LOG,
	CONFIG_KEY_AUDIT_KEY,
	CONFIG_KEY_AUDIT_ANCHOR_INTERVAL,
	CONFIG_KEY_CONTROL_SOCKET,
	CONFIG_KEY_WORKERS,
	CONFIG_KEY_PROXY,
	CONFIG_KEY_UDP_IDLE_TIMEOUT,
	CONFIG_KEY_METRICS_LISTEN,
	CONFIG_KEY_INTERFACE_WAIT,
	CONFIG_KEY_DRAIN_TIMEOUT,
	CONFIG_KEY_AUDIT_SYSLOG_FACILITY,
	CONFIG_KEY_OFFLOAD,
	CONFIG_KEY_MAX,
};

/* One `steer` or `bypass` line. Empty lists match everything. */
struct rule {
	bool bypass;
	uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP, or 0 (bypass only: any) */
	struct port_range *ports;
	size_t nports;
	struct prefix *dst;
	size_t ndst;
	struct prefix *src;
	size_t nsrc;
	int line; /* where it was defined (0 for a flag) */
	const char *file; /* the included file it is in; NULL: cfg->path */
};

/* workers per-cpu: one worker per CPU, pinned to it, a connection to the worker of its SYN's CPU. */
#define STEER_WORKERS_PER_CPU (-1)

struct steer_config {
	char path[STEER_PATH_MAX]; /* the file it came from ("" if none) */
	enum backend_kind backend;
	int split_percent; /* 0..100, BACKEND_SPLIT only */
	char ifaces[STEER_MAX_IFACES][IF_NAMESIZE];
	int n_ifaces;
	char return_ifaces[STEER_MAX_IFACES][IF_NAMESIZE];
	int n_return_ifaces;
	uint16_t proxy_port;
	enum upstream_source upstream_source;
	enum on_proxy_down on_proxy_down;
	uint32_t mark;
	uint32_t route_table;
	char audit_log[STEER_PATH_MAX];
	int audit_syslog_facility; /* LOG_DAEMON, LOG_LOCAL0, ...: audit-log syslog and journald */
	char audit_key[STEER_PATH_MAX]; /* "": records carry no mac */
	int audit_anchor_interval;      /* seconds; 0: an anchor at stop only */
	char control_socket[STEER_PATH_MAX];
	int workers; /* 0 = one per CPU; STEER_WORKERS_PER_CPU: one per CPU, pinned, by the SYN's CPU */
	enum proxy_mode proxy;
	int udp_idle_timeout; /* seconds */
	int drain_timeout;    /* seconds; 0: stop at once */
	bool offload;         /* offload after BYTES: hand relayed TCP flows to the classifier */
	uint64_t offload_after; /* BYTES, both directions together */
	bool metrics_enabled;
	struct sockaddr_storage metrics_addr;
	bool interface_wait; /* an interface missing at start is waited for, not an error */
	struct rule *rules; /* config order; bypass and steer mixed */
	size_t nrules;
	/* Origins for error messages; appended last, the fields above are unchanged. */
	struct config_pos key_pos[CONFIG_KEY_MAX];
	struct config_pos iface_pos[STEER_MAX_IFACES];
	struct config_pos return_iface_pos[STEER_MAX_IFACES];
	/* Names of the included and set files read, which positions and rules point at. */
	char **files;
	size_t nfiles;
};

/* The documented defaults (no interfaces, no rules). */
void config_init(struct steer_config *cfg);
void config_free(struct steer_config *cfg);

/*
 * Parse `text` as the contents of file `name`, adding to cfg. Each error is
 * printed to `errs` as "name:LINE:COL: message\n" (an included or set file's
 * errors with its own name), the first 20 of them, then how many
 * more there were. Returns the error count.
 */
int config_parse_string(struct steer_config *cfg, const char *name, const char *text, FILE *errs);

/* Read and parse a file; an unreadable file is one error. Returns the error count. */
int config_parse_file(struct steer_config *cfg, const char *path, FILE *errs);

/*
 * Apply a command-line override `--key value` (key without the dashes).
 * Flags win over the file: a scalar replaces the file's value, a repeatable
 * directive (interface, return-interface) replaces the file's list on its
 * first use and appends after that; `steer`/`bypass` flags append a rule.
 * Errors are printed as "--key: message". Returns the error count.
 */
int config_apply_flag(struct steer_config *cfg, const char *key, const char *value, FILE *errs);

/*
 * Whole-config checks that no single line can make (contradictions between
 * directives, a return-interface required by upstream-source, at least one
 * interface, rule count within CONFIG_MAX_RULES, ...). Errors point at the
 * line of the directive concerned, as config_parse_string does. Returns the
 * error count.
 */
int config_validate(const struct steer_config *cfg, FILE *errs);

/*
 * What `steer reload` cannot change live: every directive but the rules
 * (and `backend`, which `steer backend` switches). One line per difference
 * to errs; returns how many.
 */
int config_diff_except_rules(const struct steer_config *run, const struct steer_config *next, FILE *errs);

const char *backend_kind_name(enum backend_kind b);
const char *upstream_source_name(enum upstream_source u);
/* The audit-syslog-facility word for a LOG_* facility. */
const char *syslog_facility_name(int facility);

#endif
