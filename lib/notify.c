#include "notify.h"
#include "clock.h"
#include "strbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define STATUS_MAX 256

static char last_status[STATUS_MAX];
static int status_sent;
static double next_watchdog;

int notify_send(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n;
	ssize_t w;
	int fd, e;

	if (!path || !*path)
		return 0;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(sa.sun_path, path, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	w = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	e = errno;
	close(fd);
	errno = e;
	return w < 0 ? -1 : 0;
}

void notify_ready(const char *status)
{
	char msg[STATUS_MAX + 32];

	if (!status) {
		notify_send("READY=1");
		return;
	}
	(void)snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	if (!notify_send(msg)) {
		(void)snprintf(last_status, sizeof(last_status), "%s", status);
		status_sent = 1;
	}
}

void notify_status(const char *fmt, ...)
{
	char text[STATUS_MAX], msg[STATUS_MAX + 8];
	va_list ap;

	if (!getenv("NOTIFY_SOCKET"))
		return;
	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (status_sent && !strcmp(text, last_status))
		return;
	xsnprintf(msg, sizeof(msg), "STATUS=%s", text);
	if (!notify_send(msg)) {
		memcpy(last_status, text, sizeof(text));
		status_sent = 1;
	}
}

void notify_reloading(void)
{
	char msg[64];

	xsnprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)(mono_now() * 1e6));
	notify_send(msg);
}

void notify_stopping(void)
{
	notify_send("STOPPING=1");
}

double notify_watchdog_every(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end;
	double v;

	if (!usec || !*usec || !getenv("NOTIFY_SOCKET"))
		return 0;
	/* the watchdog is the main process's: a child that inherited it is not watched */
	if (pid && *pid && strtoll(pid, &end, 10) != (long long)getpid())
		return 0;
	errno = 0;
	v = strtod(usec, &end);
	if (errno || *end || v <= 0)
		return 0;
	return v / 2e6;
}

double notify_watchdog(double now)
{
	double every = notify_watchdog_every();

	if (every <= 0)
		return -1;
	if (now >= next_watchdog) {
		notify_send("WATCHDOG=1");
		next_watchdog = now + every;
	}
	return next_watchdog - now;
}
