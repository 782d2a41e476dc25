/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One worker per CPU (proxy_settings.per_cpu): worker i runs on the i-th CPU
 * the process may use, and a new TCP connection goes to the worker of the CPU
 * whose softirq took its SYN, so that its accept, both of its sockets and
 * their packets stay on one CPU (no cross-CPU wakeup per connection).
 */
#ifndef STEER_PROXY_PER_CPU_H
#define STEER_PROXY_PER_CPU_H

#include <stdbool.h>

/* The CPUs this process may run on, in order, into cpus[max]: their number, or -1. */
int per_cpu_list(int *cpus, int max);

/*
 * A classic BPF program on fd's SO_REUSEPORT group: a SYN that arrives on
 * cpus[i] goes to the group's i-th socket (the order they joined it), any
 * other CPU to the kernel's hash. 0 or -1 with errno. A socket that leaves
 * the group moves the last one into its place: the order holds only while
 * all stay, as the proxy's listeners do until its drain stops new flows.
 */
int per_cpu_reuseport(int fd, const int *cpus, int n);

/* The calling thread pinned to cpu: 0 or an errno value. */
int per_cpu_pin(int cpu);

#endif
