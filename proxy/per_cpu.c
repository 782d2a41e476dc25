/* SPDX-License-Identifier: GPL-2.0-only */
/* One worker per CPU: the CPU list, the reuseport program, the pinning (per_cpu.h). */
#include <errno.h>
#include <linux/filter.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "proxy/per_cpu.h"

/* Classic BPF caps a program at 4096 instructions: two per CPU. */
#define PER_CPU_MAX 2000

int per_cpu_list(int *cpus, int max)
{
	cpu_set_t set;
	int n = 0;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -1;
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

int per_cpu_reuseport(int fd, const int *cpus, int n)
{
	struct sock_filter *f;
	struct sock_fprog prog;
	int k = 0, rc;

	if (n < 1 || n > PER_CPU_MAX) {
		errno = EINVAL;
		return -1;
	}
	f = calloc((size_t)(2 * n + 2), sizeof(*f));
	if (!f)
		return -1;
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (__u32)(SKF_AD_OFF + SKF_AD_CPU));
	for (int i = 0; i < n; i++) {
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)cpus[i], 0, 1);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, (__u32)i);
	}
	/* An index past the group: the kernel selects by the flow's hash. */
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffffffffu);
	prog = (struct sock_fprog){ .len = (unsigned short)k, .filter = f };
	rc = setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog));
	free(f);
	return rc;
}

int per_cpu_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}
