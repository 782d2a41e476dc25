/* SPDX-License-Identifier: GPL-2.0-only */
/* The command line of DESIGN.md. */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "control.h"
#include "daemon.h"

#ifndef STEER_VERSION
#define STEER_VERSION "0.1.0"
#endif
#ifndef LIBNFTNL_VERSION
#define LIBNFTNL_VERSION "unknown"
#endif

static const char usage_main[] =
	"usage: steer COMMAND [OPTIONS]\n"
	"\n"
	"  run [-c FILE] [--KEY VALUE]...  run the service in the foreground\n"
	"  check -c FILE                   validate a config file\n"
	"  status [--json]                 what the running daemon does, with counters\n"
	"  cleanup [-c FILE]               remove every kernel object steer installs\n"
	"  version                         versions of steer and its libraries\n"
	"\n"
	"Every config directive is also a flag of run (--interface eth1, --steer 'tcp dport 80');\n"
	"flags win over the file. `steer COMMAND --help` for each command.\n";

static const char usage_run[] =
	"usage: steer run [-c FILE] [--KEY VALUE]...\n"
	"Run until SIGTERM/SIGINT; SIGHUP reopens the audit log. Keys are the config\n"
	"directives (see steer.conf(5) in the README): --interface, --return-interface,\n"
	"--proxy-port, --upstream-source, --on-proxy-down, --mark, --route-table,\n"
	"--audit-log, --control-socket, --workers, --proxy, --backend, --steer, --bypass ...\n";
static const char usage_check[] = "usage: steer check -c FILE\n";
static const char usage_status[] = "usage: steer status [--json] [-c FILE] [--control-socket PATH]\n";
static const char usage_cleanup[] = "usage: steer cleanup [-c FILE] [--control-socket PATH]\n";

static bool is_help(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h");
}

/*
 * Load -c FILE and every --KEY VALUE (or --KEY=VALUE) into cfg. Returns the
 * error count; errors are printed as FILE:LINE:COL or --key messages.
 */
static int load_config(struct steer_config *cfg, int argc, char **argv, bool *json)
{
	const char *file = NULL;
	int errors = 0;

	config_init(cfg);
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "steer: %s needs a file\n", argv[i]);
				return 1;
			}
			file = argv[++i];
		}
	if (file)
		errors += config_parse_file(cfg, file, stderr);
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
			fprintf(stderr, "steer: unexpected argument '%s'\n", argv[i]);
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
			fprintf(stderr, "steer: %s needs a value\n", argv[i]);
			errors++;
			continue;
		}
		errors += config_apply_flag(cfg, key, val, stderr);
	}
	return errors;
}

static int cmd_run(int argc, char **argv)
{
	struct steer_config cfg;
	int ret = 1;

	if (argc && is_help(argv[0])) {
		fputs(usage_run, stdout);
		return 0;
	}
	if (load_config(&cfg, argc, argv, NULL) == 0 && config_validate(&cfg, stderr) == 0)
		ret = daemon_run(&cfg);
	else
		fprintf(stderr, "steer: invalid configuration; nothing installed\n");
	config_free(&cfg);
	return ret;
}

static int cmd_check(int argc, char **argv)
{
	struct steer_config cfg;
	int errors;

	if (argc && is_help(argv[0])) {
		fputs(usage_check, stdout);
		return 0;
	}
	if (argc != 2 || strcmp(argv[0], "-c")) {
		fputs(usage_check, stderr);
		return 2;
	}
	config_init(&cfg);
	errors = config_parse_file(&cfg, argv[1], stderr);
	if (!errors)
		errors = config_validate(&cfg, stderr);
	if (!errors)
		printf("%s: ok: %zu rules, %d interfaces, backend %s\n", argv[1], cfg.nrules, cfg.n_ifaces,
		       backend_kind_name(cfg.backend));
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
	if (load_config(&cfg, argc, argv, &json)) {
		config_free(&cfg);
		return 2;
	}
	ret = control_request(cfg.control_socket, json ? "status json" : "status", stdout, stderr);
	config_free(&cfg);
	return ret ? 1 : 0;
}

static int cmd_cleanup(int argc, char **argv)
{
	struct steer_config cfg;
	int ret;

	if (argc && is_help(argv[0])) {
		fputs(usage_cleanup, stdout);
		return 0;
	}
	if (load_config(&cfg, argc, argv, NULL)) {
		config_free(&cfg);
		return 2;
	}
	ret = daemon_cleanup(&cfg);
	config_free(&cfg);
	return ret;
}

static int cmd_version(void)
{
	printf("steer %s\nlibbpf %s\nlibnftnl %s\n", STEER_VERSION, libbpf_version_string(), LIBNFTNL_VERSION);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

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
	if (!strcmp(cmd, "cleanup"))
		return cmd_cleanup(argc, argv);
	if (!strcmp(cmd, "version"))
		return cmd_version();
	fprintf(stderr, "steer: unknown command '%s' (steer --help)\n", cmd);
	return 2;
}
