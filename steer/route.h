/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Policy routing for local delivery of steered packets, through rtnetlink
 * (libmnl): `ip rule fwmark MARK/MARK lookup TABLE pref STEER_RULE_PRIORITY`
 * and `local default dev lo table TABLE`, IPv4 and IPv6. Also the address
 * dump/monitor that keeps the classifier's list of own addresses current.
 */
#ifndef STEER_ROUTE_H
#define STEER_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#define STEER_RULE_PRIORITY 9050

/*
 * Install both rules and both routes. On failure removes what it added,
 * prints one "steer: ..." line on stderr and returns -errno (-EEXIST when an
 * identical rule or route is already there, -EINVAL for mark 0 or a reserved
 * table: 0, 253, 254, 255). Without kernel IPv6 support only IPv4 is installed.
 */
int route_install(uint32_t mark, uint32_t table);

/* Remove what route_install adds (missing pieces are not an error). 0 or -errno. */
int route_remove(uint32_t mark, uint32_t table);

/*
 * Remove every rule at STEER_RULE_PRIORITY that selects on a fwmark, and the
 * `local default dev lo` routes of their tables: what a crashed daemon left.
 * Returns the number of objects removed, or -errno.
 */
int route_cleanup_stale(void);

/* Called for each own address: family 4 or 6, addr in network order. */
typedef void (*addr_cb)(void *ctx, int family, const uint8_t *addr, bool add);

/* Dump all current addresses of the netns into cb (add=true). Returns the count or -errno. */
int addr_dump(addr_cb cb, void *ctx);

struct addr_monitor;
/* A netlink socket subscribed to address changes; poll its fd for readability. */
struct addr_monitor *addr_monitor_open(void);
int addr_monitor_fd(struct addr_monitor *m);
/*
 * Read pending notifications (non-blocking) and report them to cb. Returns the
 * number reported, or -ENOBUFS when the kernel dropped notifications (queue
 * overrun): the caller's set may be stale, rebuild it with addr_dump().
 */
int addr_monitor_read(struct addr_monitor *m, addr_cb cb, void *ctx);
void addr_monitor_close(struct addr_monitor *m);

#endif
