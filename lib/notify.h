/*
 * notify.h - tell the service manager how a long-running tool is doing:
 * systemd's notification protocol (sd_notify(3)), without libsystemd.
 *
 * A message is one datagram of NEWLINE-separated VAR=value lines sent to
 * the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for an
 * abstract socket).  Without $NOTIFY_SOCKET (run by hand, by cron, by a
 * test that did not ask) every call here does nothing and succeeds, so the
 * tools call them unconditionally.
 *
 * What a long-running tool sends, and when:
 *   notify_ready(status)        READY=1 once it serves (connected, listening)
 *   notify_status(fmt, ...)     STATUS= whenever its state changes: a text
 *                               equal to the last one sent is not sent again
 *   notify_watchdog(now)        WATCHDOG=1 every notify_watchdog_every()
 *                               seconds (half $WATCHDOG_USEC), when due
 *   notify_reloading()          RELOADING=1 and MONOTONIC_USEC= on SIGHUP,
 *                               before the configuration is read again...
 *   notify_ready(status)        ...and READY=1 when it has been (or not)
 *   notify_stopping()           STOPPING=1 when it begins to stop
 *
 * The last STATUS text and the watchdog's clock live in this module: one
 * notifier per process, as there is one service manager.  Nothing here
 * logs; a datagram that cannot be sent is dropped (the service manager is
 * away or the socket full: systemd would rather miss a STATUS than have
 * the service block on it).
 */
#ifndef MD_NOTIFY_H
#define MD_NOTIFY_H

/* Send msg as one datagram; 0, or -1 with errno set.  0 when there is no
 * $NOTIFY_SOCKET. */
int notify_send(const char *msg);

/* READY=1, with STATUS=status when status is not NULL. */
void notify_ready(const char *status);

/* STATUS= the formatted text (at most 255 bytes), unless it is the text
 * sent last. */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* RELOADING=1 and MONOTONIC_USEC= now on CLOCK_MONOTONIC (systemd 253 and
 * later want both, to tell this reload from an older one). */
void notify_reloading(void);

/* STOPPING=1. */
void notify_stopping(void);

/* Seconds between two WATCHDOG=1, half of $WATCHDOG_USEC; 0 when there is
 * no watchdog (no $WATCHDOG_USEC, or $WATCHDOG_PID names another process). */
double notify_watchdog_every(void);

/* WATCHDOG=1 when one is due at now (monotonic seconds); a no-op without a
 * watchdog.  Returns the seconds until the next is due (a poll timeout's
 * bound), or -1 without a watchdog. */
double notify_watchdog(double now);

#endif
