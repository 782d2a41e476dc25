/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The proxy's counters, one row each, so that struct proxy_stats, the sum
 * over workers, `steer status` (text and JSON) and the metrics page cannot
 * drift apart. Columns, as X(field, type, metric, labels, help, line, text):
 *   field   the struct proxy_stats member and its `steer status --json` key;
 *   type    "counter" or "gauge" (a gauge can go down);
 *   metric  its Prometheus sample name, labels the sample's labels or NULL;
 *           rows with the same metric form one family, whose HELP is the
 *           help of its first row (NULL on the others);
 *   line    the `steer status` line it is printed on, text its name there.
 * The closed-by-reason array is not a row: it is indexed by enum
 * proxy_close_reason and printed by a loop over the reasons.
 */
#ifndef STEER_PROXY_STATS_H
#define STEER_PROXY_STATS_H

#define PROXY_STATS(X)                                                                                       \
	/* TCP connections */                                                                                \
	X(open, "gauge", "steer_proxy_connections_open", NULL, "TCP connections open now.", CONNECTIONS,     \
	  "open") /* accepted and not yet closed */                                                          \
	X(accepted, "counter", "steer_proxy_connections_accepted_total", NULL,                               \
	  "TCP connections the proxy accepted.", CONNECTIONS, "accepted")                                    \
	X(upstream_connected, "counter", "steer_proxy_upstream_connected_total", NULL,                       \
	  "Upstream TCP connections established.", CONNECTIONS, "connected upstream")                        \
	/* counted as delivered to the destination socket */                                                 \
	X(bytes_up, "counter", "steer_proxy_bytes_total", "proto=\"tcp\",direction=\"up\"",                  \
	  "Bytes relayed, by direction (up: client to server).", BYTES, "up")                                \
	X(bytes_down, "counter", "steer_proxy_bytes_total", "proto=\"tcp\",direction=\"down\"", NULL, BYTES, \
	  "down")                                                                                            \
	X(accept_errors, "counter", "steer_proxy_errors_total", "kind=\"accept\"", "Proxy errors by kind.",  \
	  ERRORS, "accept")                                                                                  \
	X(emfile, "counter", "steer_proxy_errors_total", "kind=\"emfile\"", NULL, ERRORS, "emfile")          \
	X(conn_limit_hits, "counter", "steer_proxy_errors_total", "kind=\"conn_limit\"", NULL, ERRORS,       \
	  "conn_limit")                                                                                      \
	/* upstream connect failures, by cause (the client is reset for each) */                             \
	X(connect_refused, "counter", "steer_proxy_errors_total", "kind=\"connect_refused\"", NULL, CONNECT, \
	  "refused") /* ECONNREFUSED */                                                                      \
	X(connect_unreachable, "counter", "steer_proxy_errors_total", "kind=\"connect_unreachable\"", NULL,  \
	  CONNECT, "unreachable") /* EHOSTUNREACH, ENETUNREACH, ... */                                       \
	X(connect_timeout, "counter", "steer_proxy_errors_total", "kind=\"connect_timeout\"", NULL, CONNECT, \
	  "timeout") /* connect_timeout_ms or ETIMEDOUT */                                                   \
	X(connect_other, "counter", "steer_proxy_errors_total", "kind=\"connect_other\"", NULL, CONNECT,     \
	  "other") /* any other errno */                                                                     \
	/* socket/setsockopt/bind of the upstream socket failed */                                           \
	X(upstream_errors, "counter", "steer_proxy_errors_total", "kind=\"upstream_socket\"", NULL, ERRORS,  \
	  "upstream_socket")                                                                                 \
	/* original destination port == proxy port */                                                        \
	X(loop_rejected, "counter", "steer_proxy_errors_total", "kind=\"loop_rejected\"", NULL, ERRORS,      \
	  "loop_rejected")                                                                                   \
	X(pipe_errors, "counter", "steer_proxy_errors_total", "kind=\"pipe\"", NULL, ERRORS,                 \
	  "pipe") /* pipe2() failed (connection reset) */                                                    \
	X(splice_errors, "counter", "steer_proxy_errors_total", "kind=\"splice\"", NULL, ERRORS,             \
	  "splice") /* unexpected splice() errno (connection reset) */                                       \
	X(resets_sent, "counter", "steer_proxy_resets_sent_total", NULL,                                     \
	  "Sockets the proxy closed with a reset (SO_LINGER 0).", RELAY, "resets sent")                      \
	X(pipes_created, "counter", "steer_proxy_pipes_total", "result=\"created\"",                         \
	  "Splice pipes connections took: new (pipe2) or from the worker's pool.", RELAY,                    \
	  "pipes created")                                                                                   \
	X(pipes_reused, "counter", "steer_proxy_pipes_total", "result=\"reused\"", NULL, RELAY, "reused")    \
	/* UDP relay */                                                                                      \
	X(udp_sessions_open, "gauge", "steer_proxy_udp_sessions_open", NULL, "UDP sessions open now.", UDP,  \
	  "sessions open")                                                                                   \
	X(udp_sessions_total, "counter", "steer_proxy_udp_sessions_total", NULL, "UDP sessions created.",    \
	  UDP, "total")                                                                                      \
	X(udp_expired, "counter", "steer_proxy_udp_sessions_ended_total", "reason=\"idle_timeout\"",         \
	  "UDP sessions ended, by cause.", UDP, "expired") /* ended by udp_idle_timeout_ms */                \
	X(udp_datagrams_up, "counter", "steer_proxy_udp_datagrams_total", "direction=\"up\"",                \
	  "UDP datagrams relayed, by direction.", UDP, "datagrams up")                                       \
	X(udp_datagrams_down, "counter", "steer_proxy_udp_datagrams_total", "direction=\"down\"", NULL, UDP, \
	  "down")                                                                                            \
	X(udp_bytes_up, "counter", "steer_proxy_bytes_total", "proto=\"udp\",direction=\"up\"", NULL, UDP,   \
	  "bytes up")                                                                                        \
	X(udp_bytes_down, "counter", "steer_proxy_bytes_total", "proto=\"udp\",direction=\"down\"", NULL,    \
	  UDP, "down")                                                                                       \
	/* datagrams dropped: the session bound was reached */                                               \
	X(udp_session_limit, "counter", "steer_proxy_udp_drops_total", "reason=\"session_limit\"",           \
	  "UDP datagrams dropped, by cause.", UDP_ERRORS, "session_limit")                                   \
	/* sessions ended by an ICMP error / unreachable upstream */                                         \
	X(udp_icmp_errors, "counter", "steer_proxy_udp_sessions_ended_total", "reason=\"icmp_error\"", NULL, \
	  UDP_ERRORS, "icmp")                                                                                \
	/* datagrams truncated by the receive buffer: dropped */                                             \
	X(udp_oversize, "counter", "steer_proxy_udp_drops_total", "reason=\"oversize\"", NULL, UDP_ERRORS,   \
	  "oversize")                                                                                        \
	/* datagrams dropped: send() failed (EAGAIN, ENOBUFS, ...) */                                        \
	X(udp_send_errors, "counter", "steer_proxy_udp_drops_total", "reason=\"send_error\"", NULL,          \
	  UDP_ERRORS, "send")                                                                                \
	/* socket/bind/connect of a new session failed: dropped */                                           \
	X(udp_session_errors, "counter", "steer_proxy_udp_drops_total", "reason=\"session_error\"", NULL,    \
	  UDP_ERRORS, "session")                                                                             \
	/* recvmmsg() errors, datagrams without an original destination */                                   \
	X(udp_recv_errors, "counter", "steer_proxy_udp_drops_total", "reason=\"recv_error\"", NULL,          \
	  UDP_ERRORS, "recv")                                                                                \
	/* datagrams of new flows that reached a draining proxy (proxy_drain): dropped */                    \
	X(udp_draining, "counter", "steer_proxy_udp_drops_total", "reason=\"draining\"", NULL, UDP_ERRORS,   \
	  "draining")                                                                                        \
	/* offload (offload after BYTES) */                                                                  \
	X(offloaded, "counter", "steer_proxy_offloaded_total", NULL,                                         \
	  "TCP connections handed to the classifier (offload): their sockets retired.", OFFLOAD,             \
	  "offloaded")                                                                                       \
	X(offload_races, "counter", "steer_proxy_offload_races_total", NULL,                                 \
	  "Handoffs undone because a socket moved after the translation was written (none expected).",     \
	  OFFLOAD, "races")                                                                                  \
	X(offload_aborted, "counter", "steer_proxy_offload_aborted_total", NULL,                             \
	  "Handoffs that could not be undone (a socket moved after segments were translated, or the count was unknown): "           \
	  "the TCP connection was reset (none expected).", OFFLOAD, "aborted")                              \
	X(offload_freezes, "counter", "steer_proxy_offload_freezes_total", NULL,                             \
	  "Freezes for a handoff (up to 3 per busy TCP connection): the classifier held back its data "   \
	  "while the proxy drained it.", OFFLOAD, "freezes")                                                 \
	X(offload_not_quiet, "counter", "steer_proxy_offload_refused_total", "reason=\"not_quiet\"",         \
	  "TCP connections past offload-after that stay proxied, by reason.", OFFLOAD_REFUSED, "not_quiet")  \
	X(offload_edge, "counter", "steer_proxy_offload_refused_total", "reason=\"shrinking_edge\"", NULL,   \
	  OFFLOAD_REFUSED, "shrinking_edge")                                                                 \
	X(offload_timestamps, "counter", "steer_proxy_offload_refused_total", "reason=\"timestamps\"", NULL, \
	  OFFLOAD_REFUSED, "timestamps")                                                                     \
	X(offload_ecn, "counter", "steer_proxy_offload_refused_total", "reason=\"ecn\"", NULL,               \
	  OFFLOAD_REFUSED, "ecn")                                                                            \
	X(offload_window, "counter", "steer_proxy_offload_refused_total", "reason=\"window_scale\"", NULL,   \
	  OFFLOAD_REFUSED, "window_scale")                                                                   \
	X(offload_mss, "counter", "steer_proxy_offload_refused_total", "reason=\"mss\"", NULL,               \
	  OFFLOAD_REFUSED, "mss")                                                                            \
	X(offload_repair_failed, "counter", "steer_proxy_offload_refused_total", "reason=\"repair_failed\"", \
	  NULL, OFFLOAD_REFUSED, "repair_failed")                                                            \
	X(offload_map_refused, "counter", "steer_proxy_offload_refused_total", "reason=\"classifier\"",      \
	  NULL, OFFLOAD_REFUSED, "classifier")

#endif
