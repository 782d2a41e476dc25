/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `steer check --host` tries the kernel features the backends need, rather
 * than guessing them from a version, without touching the host: a child
 * process makes a network namespace of its own and there loads the
 * classifier (the verifier under this process's capabilities, the TCX and
 * reuseport-assign probes, the sk_lookup link) and installs the nftables
 * table with the configured rules. Both die with the namespace when the
 * child exits.
 *
 * A network namespace takes CAP_SYS_ADMIN; without it the child makes a user
 * namespace too, where nftables still works but the kernel refuses BPF (its
 * capabilities count only in the initial user namespace), so the classifier
 * is then reported as not tried.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "steer/backend.h"
#include "steer/classifier.h"
#include "steer/preflight.h"

static const char *answer(enum feature_answer a)
{
	return a == FEATURE_YES ? "yes" : a == FEATURE_NO ? "no" : "unknown";
}

static int try_classifier(const struct steer_config *cfg, bool in_userns, FILE *out)
{
	struct classifier_features f;
	struct classifier *c;

	if (in_userns) {
		printf("host: eBPF classifier: not tried (loading it in a throwaway network namespace "
		       "needs CAP_SYS_ADMIN); steer run loads it\n");
		return 0;
	}
	c = bpf_classifier_ops.open(cfg);
	if (!c) {
		fprintf(out, "steer: error: the eBPF classifier does not load here (above)%s\n",
			cfg->backend == BACKEND_AUTO ? ": backend auto will use nft" : "");
		return cfg->backend == BACKEND_EBPF || cfg->backend == BACKEND_SPLIT;
	}
	c->ops->features(c, &f);
	printf("host: eBPF classifier loads; TCX links: %s; bpf_sk_assign takes a SO_REUSEPORT listener: "
	       "%s%s%s; sk_lookup program: %s\n",
	       answer(f.kernel_tcx), answer(f.reuseport_assign), *f.probe_note ? " " : "", f.probe_note,
	       f.sk_lookup ? "attaches" : "does not attach");
	c->ops->close(c);
	return 0;
}

static int try_nft(const struct steer_config *cfg, FILE *out)
{
	struct backend_env env = { .cfg = cfg, .listeners = { .fd = { -1, -1, -1, -1 } } };
	struct backend *b = nft_backend_ops.install(&env);

	if (!b) {
		fprintf(out, "steer: error: the nftables table with tproxy rules is refused here (above)\n");
		return 1;
	}
	b->ops->remove(b);
	printf("host: nftables: table inet steer with tproxy rules accepted\n");
	return 0;
}

static int child(const struct steer_config *cfg, FILE *out)
{
	bool in_userns = false;
	int fatal = 0;

	if (unshare(CLONE_NEWNET)) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET)) {
			fprintf(out, "steer: warning: kernel features not tried: cannot make a network "
				     "namespace to try them in: %s\n", strerror(errno));
			return 0;
		}
		in_userns = true;
	}
	/* Every backend loads the classifier (under nft it records the flows for the audit log). */
	fatal += try_classifier(cfg, in_userns, out);
	if (cfg->backend != BACKEND_EBPF)
		fatal += try_nft(cfg, out);
	return fatal;
}

int preflight_kernel(const struct steer_config *cfg, FILE *out)
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(out);
	pid = fork();
	if (pid < 0) {
		fprintf(out, "steer: error: kernel features: cannot fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		int fatal = child(cfg, out);

		fflush(stdout);
		fflush(out);
		_exit(fatal > 100 ? 100 : fatal);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			fprintf(out, "steer: error: kernel features: %s\n", strerror(errno));
			return 1;
		}
	if (!WIFEXITED(status)) {
		fprintf(out, "steer: error: kernel features: the trial died (signal %d)\n", WTERMSIG(status));
		return 1;
	}
	return WEXITSTATUS(status);
}
