/* SPDX-License-Identifier: GPL-2.0-only */
/* The command line: steer run, check, status, backend, reload, audit, cleanup, version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "steer/audit_verify.h"
#include "steer/build_info.h"
#include "steer/config.h"
#include "steer/control.h"
#include "steer/daemon.h"
#include "steer/kernel_report.h"
#include "steer/log.h"
#include "steer/preflight.h"
#include "steer/version.h"

/* What `steer run` reads without -c (the Makefile's SYSCONFDIR). */
#define DEFAULT_CONFIG STEER_SYSCONFDIR "/steer/steer.conf"

static const char usage_main[] =
	"usage: steer COMMAND [OPTIONS]\n"
	"\n"
	"  run [-c FILE] [--KEY VALUE]...  run the service in the foreground\n"
	"  check -c FILE [--host]          validate a config file (--host: and this host)\n"
	"  status [--json]                 what the running daemon does, with counters\n"
	"  backend [ebpf|nft|split P]      print or switch the running daemon's backend, live\n"
	"  reload                          re-read the config file and swap the rules, live\n"
	"  cleanup [-c FILE]               remove every kernel object steer installs\n"
	"  version                         versions of steer and its libraries, the kernel's features\n"
	"  audit verify [--key FILE] FILE...  check the audit log's chain (files oldest first)\n"
	"\n"
	"Every config directive is also a flag of run (--interface eth1, --steer 'tcp dport 80');\n"
	"flags win over the file. `steer COMMAND --help` for each command.\n";

static const char usage_run[] =
	"usage: steer run [-c FILE] [--KEY VALUE]...\n"
	"Run until SIGTERM/SIGINT; SIGHUP reopens the audit log. FILE defaults to\n"
	DEFAULT_CONFIG ". Keys are the config\n"
	"directives (see steer.conf(5)): --interface, --return-interface,\n"
	"--proxy-port, --upstream-source, --on-proxy-down, --mark, --route-table,\n"
	"--audit-log, --control-socket, --workers, --proxy, --backend, --steer, --bypass ...\n";
static const char usage_check[] =
	"usage: steer check -c FILE [--host]\n"
	"Validate the config file offline: FILE:LINE:COL for each error. --host also runs\n"
	"the whole preflight of steer run against this host, as the user it runs as:\n"
	"capabilities, interfaces, sysctls, the audit log's and control socket's directories,\n"
	"and the kernel features the backend needs (tried in a throwaway network namespace).\n"
	"It installs nothing.\n";
static const char usage_status[] = "usage: steer status [--json] [-c FILE] [--control-socket PATH]\n";
static const char usage_backend[] =
	"usage: steer backend [ebpf|nft|split PERCENT] [-c FILE] [--control-socket PATH]\n"
	"Without an argument, print the active backend. Switching is make-before-break:\n"
	"connections the proxy holds keep flowing.\n";
static const char usage_reload[] =
	"usage: steer reload [-c FILE] [--control-socket PATH]\n"
	"The daemon re-reads its config file (and re-applies its flags) and swaps the rules\n"
	"atomically; an invalid config is refused with its errors and the running rules stay.\n";
static const char usage_audit[] = "usage: steer audit verify [--key FILE] [--anchor SEQ:MAC] [--allow-new-chain] FILE...\n";
static const char usage_cleanup[] = "usage: steer cleanup [-c FILE] [--control-socket PATH]\n";

static bool is_help(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h");
}

/*
 * The daemon's commands (status, backend, reload, cleanup) read the default file
 * only when it is there: its control-socket is the one the service listens on.
 */
static const char *default_if_present(void)
{
	return access(DEFAULT_CONFIG, F_OK) == 0 ? DEFAULT_CONFIG : NULL;
}

/*
 * Load -c FILE (else dflt, if not NULL) and every --KEY VALUE (or --KEY=VALUE)
 * into cfg. Returns the error count; errors are printed as FILE:LINE:COL or
 * --key messages.
 */
static int load_config(struct steer_config *cfg, int argc, char **argv, bool *json, FILE *errs,
		       const char *dflt)
{
	const char *file = dflt;
	int errors = 0;

	config_init(cfg);
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) {
			if (i + 1 >= argc) {
				fprintf(errs, "steer: %s needs a file\n", argv[i]);
				return 1;
			}
			file = argv[++i];
		}
	if (file)
		errors += config_parse_file(cfg, file, errs);
	for (int i = 0; i < argc; i++) {
		char key[64];
		const char *val, *eq;

		if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) {
			i++;
			continue;
		}
		if (json && !strcmp(argv[i], "--json")) {
			*json = true;
			continue;
		}
		if (strncmp(argv[i], "--", 2) || !argv[i][2]) {
			fprintf(errs, "steer: unexpected argument '%s'\n", argv[i]);
			errors++;
			continue;
		}
		eq = strchr(argv[i], '=');
		if (eq) {
			snprintf(key, sizeof(key), "%.*s", (int)(eq - argv[i] - 2), argv[i] + 2);
			val = eq + 1;
		} else if (i + 1 < argc) {
			snprintf(key, sizeof(key), "%s", argv[i] + 2);
			val = argv[++i];
		} else {
			fprintf(errs, "steer: %s needs a value\n", argv[i]);
			errors++;
			continue;
		}
		errors += config_apply_flag(cfg, key, val, errs);
	}
	return errors;
}

struct run_args {
	int argc;
	char **argv;
};

/* `steer reload`: the same file and the same flags as at start. */
static int reload_config(struct steer_config *cfg, FILE *errs, void *ctx)
{
	struct run_args *a = ctx;

	return load_config(cfg, a->argc, a->argv, NULL, errs, DEFAULT_CONFIG);
}

static int cmd_run(int argc, char **argv)
{
	struct run_args args = { argc, argv };
	struct config_loader loader = { reload_config, &args };
	struct steer_config cfg;
	int ret = 1;

	if (argc && is_help(argv[0])) {
		fputs(usage_run, stdout);
		return 0;
	}
	if (load_config(&cfg, argc, argv, NULL, stderr, DEFAULT_CONFIG) == 0 && config_validate(&cfg, stderr) == 0)
		ret = daemon_run(&cfg, &loader);
	else
		fprintf(stderr, "steer: invalid configuration; nothing installed\n");
	config_free(&cfg);
	return ret;
}

static int cmd_check(int argc, char **argv)
{
	struct steer_config cfg;
	const char *file = NULL;
	bool host = false;
	int errors;

	if (argc && is_help(argv[0])) {
		fputs(usage_check, stdout);
		return 0;
	}
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--host") && !host) {
			host = true;
		} else if (!strcmp(argv[i], "-c") && !file && i + 1 < argc) {
			file = argv[++i];
		} else {
			fputs(usage_check, stderr);
			return 2;
		}
	}
	if (!file) {
		fputs(usage_check, stderr);
		return 2;
	}
	config_init(&cfg);
	errors = config_parse_file(&cfg, file, stderr);
	if (!errors)
		errors = config_validate(&cfg, stderr);
	if (!errors)
		printf("%s: ok: %zu rules, %d interfaces, backend %s\n", file, cfg.nrules, cfg.n_ifaces,
		       backend_kind_name(cfg.backend));
	if (!errors && host) {
		errors = preflight_host(&cfg, stderr);
		if (errors)
			fprintf(stderr, "steer: host: %d problem(s): steer run would refuse to start; nothing installed\n",
				errors);
		else
			printf("host: ok; nothing installed\n");
	}
	config_free(&cfg);
	return errors ? 1 : 0;
}

static int cmd_status(int argc, char **argv)
{
	struct steer_config cfg;
	bool json = false;
	int ret;

	if (argc && is_help(argv[0])) {
		fputs(usage_status, stdout);
		return 0;
	}
	if (load_config(&cfg, argc, argv, &json, stderr, default_if_present())) {
		config_free(&cfg);
		return 2;
	}
	ret = control_request(cfg.control_socket, json ? "status json" : "status", stdout, stderr);
	config_free(&cfg);
	return ret ? 1 : 0;
}

/* Send one request to the daemon named by -c/--control-socket in args. */
static int daemon_request(int argc, char **argv, const char *request)
{
	struct steer_config cfg;
	int ret;

	if (load_config(&cfg, argc, argv, NULL, stderr, default_if_present())) {
		config_free(&cfg);
		return 2;
	}
	ret = control_request(cfg.control_socket, request, stdout, stderr);
	config_free(&cfg);
	return ret ? 1 : 0;
}

static int cmd_backend(int argc, char **argv)
{
	char req[64] = "backend";
	int first = 0;

	if (argc && is_help(argv[0])) {
		fputs(usage_backend, stdout);
		return 0;
	}
	/* "split 30" may come as one argument or two. */
	while (first < argc && strncmp(argv[first], "-", 1)) {
		if (strlen(req) + strlen(argv[first]) + 2 > sizeof(req)) {
			fputs(usage_backend, stderr);
			return 2;
		}
		strcat(req, " ");
		strcat(req, argv[first++]);
	}
	return daemon_request(argc - first, argv + first, req);
}

static int cmd_reload(int argc, char **argv)
{
	if (argc && is_help(argv[0])) {
		fputs(usage_reload, stdout);
		return 0;
	}
	return daemon_request(argc, argv, "reload");
}

static int cmd_cleanup(int argc, char **argv)
{
	struct steer_config cfg;
	int ret;

	if (argc && is_help(argv[0])) {
		fputs(usage_cleanup, stdout);
		return 0;
	}
	if (load_config(&cfg, argc, argv, NULL, stderr, default_if_present())) {
		config_free(&cfg);
		return 2;
	}
	ret = daemon_cleanup(&cfg);
	config_free(&cfg);
	return ret;
}

static int cmd_audit(int argc, char **argv)
{
	if (argc && is_help(argv[0])) {
		fputs(usage_audit, stdout);
		return 0;
	}
	if (argc && !strcmp(argv[0], "verify"))
		return audit_verify_main(argc - 1, argv + 1);
	fputs(usage_audit, stderr);
	return 2;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	log_init();
	if (!cmd || is_help(cmd) || !strcmp(cmd, "help")) {
		fputs(usage_main, cmd ? stdout : stderr);
		return cmd ? 0 : 2;
	}
	argc -= 2;
	argv += 2;
	if (!strcmp(cmd, "run"))
		return cmd_run(argc, argv);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc, argv);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc, argv);
	if (!strcmp(cmd, "backend"))
		return cmd_backend(argc, argv);
	if (!strcmp(cmd, "reload"))
		return cmd_reload(argc, argv);
	if (!strcmp(cmd, "audit"))
		return cmd_audit(argc, argv);
	if (!strcmp(cmd, "cleanup"))
		return cmd_cleanup(argc, argv);
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version"))
		return print_version(stdout) | kernel_report_version(stdout);
	fprintf(stderr, "steer: unknown command '%s' (steer --help)\n", cmd);
	return 2;
}
