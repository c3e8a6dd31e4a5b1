#include "progress.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_COLS 512

/* the one line of the process, and whether it is on the screen */
static struct progress *active;
static volatile sig_atomic_t shown;

static void put(const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(STDERR_FILENO, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

int progress_wanted(int quiet)
{
	const char *term = getenv("TERM");

	return !quiet && isatty(STDERR_FILENO) && !(term && !strcmp(term, "dumb"));
}

void progress_start(struct progress *p, const char *unit, int quiet)
{
	*p = (struct progress){ .unit = unit, .total = -1, .bytes = -1, .total_bytes = -1,
				.start = mono_now(), .on = progress_wanted(quiet),
				.out_tty = isatty(STDOUT_FILENO) };
	if (p->on)
		active = p;
}

/* Columns of the terminal on standard error, 80 when it does not say. */
static int term_cols(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) || !ws.ws_col)
		return 80;
	return ws.ws_col;
}

static void draw(struct progress *p, double now)
{
	char line[LINE_MAX_COLS + 8];
	size_t n;

	line[0] = '\r';
	n = progress_format(p, log_tool(), now - p->start, term_cols(), line + 1,
			    LINE_MAX_COLS + 1);
	memcpy(line + 1 + n, "\033[K", 3);
	put(line, n + 4);
	shown = 1;
	p->drawn = now;
}

/* Redraw when the line is older than a tenth of a second. */
static void maybe_draw(struct progress *p)
{
	double now;

	if (!p->on || active != p)
		return;
	now = mono_now();
	if (p->drawn && now - p->drawn < 1.0 / PROGRESS_HZ)
		return;
	draw(p, now);
}

void progress_total(struct progress *p, long long items, long long bytes)
{
	p->total = items;
	p->total_bytes = bytes;
	maybe_draw(p);
}

void progress_add(struct progress *p, long long items, long long bytes, long long failed)
{
	p->done += items;
	p->failed += failed;
	if (bytes > 0)
		p->bytes = (p->bytes < 0 ? 0 : p->bytes) + bytes;
	maybe_draw(p);
}

void progress_tick(struct progress *p)
{
	maybe_draw(p);
}

void progress_clear(void)
{
	if (!shown)
		return;
	shown = 0;
	put("\r\033[K", 4);
}

void progress_clear_out(void)
{
	if (active && active->out_tty)
		progress_clear();
}

void progress_end(struct progress *p)
{
	if (active == p) {
		progress_clear();
		active = NULL;
	}
	p->on = 0;
}

/* ---------- the text ---------- */

/* n per second, as "3.1" or "42". */
static void add_rate(char *b, size_t size, double r)
{
	(void)snprintf(b, size, r < 9.95 ? "%.1f" : "%.0f", r);
}

/* bytes per second, with a binary unit: "512 B/s", "12.5 MiB/s". */
static void add_bytes_rate(char *b, size_t size, double r)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (r >= 1024 && u < 4) {
		r /= 1024;
		u++;
	}
	(void)snprintf(b, size, u && r < 99.95 ? "%.1f %s/s" : "%.0f %s/s", r, units[u]);
}

/* seconds as "m:ss" or "h:mm:ss"; "?" beyond 100 days. */
static void add_eta(char *b, size_t size, double s)
{
	long long t = (long long)(s + 0.5);

	if (s > 100 * 86400.0)
		(void)snprintf(b, size, "?");
	else if (t >= 3600)
		(void)snprintf(b, size, "%lld:%02lld:%02lld", t / 3600, t / 60 % 60, t % 60);
	else
		(void)snprintf(b, size, "%lld:%02lld", t / 60, t % 60);
}

/* Seconds left at the average rate so far, or < 0 when not known. */
static double eta(const struct progress *p, double elapsed)
{
	if (elapsed <= 0)
		return -1;
	if (p->total_bytes > 0 && p->bytes > 0 && p->bytes <= p->total_bytes)
		return (double)(p->total_bytes - p->bytes) * elapsed / (double)p->bytes;
	if (p->total >= 0 && p->done > 0 && p->done <= p->total)
		return (double)(p->total - p->done) * elapsed / (double)p->done;
	return -1;
}

/*
 * The line so far, as pieces joined by ", "; ends[] is where each piece
 * ends, so that a line too wide loses whole pieces from its end.
 */
struct line {
	char *buf;
	size_t size, len;
	size_t ends[8];
	int n;
};

static void append(struct line *l, const char *piece)
{
	int n = snprintf(l->buf + l->len, l->size - l->len, "%s%s", l->n ? ", " : "", piece);

	if (n < 0)
		return;
	l->len += (size_t)n;
	if (l->len >= l->size)
		l->len = l->size - 1;
	if (l->n < 8)
		l->ends[l->n++] = l->len;
}

/* The count, the failures, the rates and the ETA, each a piece. */
static void pieces(struct line *l, const struct progress *p, const char *label, double elapsed)
{
	char piece[96], num[48];
	double left = eta(p, elapsed);

	if (p->total >= 0)
		(void)snprintf(piece, sizeof(piece), "%s: %lld/%lld %s (%lld%%)", label, p->done,
			       p->total, p->unit, p->total ? p->done * 100 / p->total : 100);
	else
		(void)snprintf(piece, sizeof(piece), "%s: %lld %s", label, p->done, p->unit);
	append(l, piece);
	if (p->failed) {
		(void)snprintf(piece, sizeof(piece), "%lld failed", p->failed);
		append(l, piece);
	}
	if (elapsed > 0 && p->done > 0) {
		add_rate(num, sizeof(num), (double)p->done / elapsed);
		(void)snprintf(piece, sizeof(piece), "%s %s/s", num, p->unit);
		append(l, piece);
	}
	if (elapsed > 0 && p->bytes > 0) {
		add_bytes_rate(num, sizeof(num), (double)p->bytes / elapsed);
		append(l, num);
	}
	if (left >= 0 && p->done < p->total) {
		add_eta(num, sizeof(num), left);
		(void)snprintf(piece, sizeof(piece), "ETA %s", num);
		append(l, piece);
	}
}

size_t progress_format(const struct progress *p, const char *label, double elapsed, int cols,
		       char *buf, size_t size)
{
	struct line l = { .buf = buf, .size = size };
	/* the last column is left free: some terminals wrap on it */
	size_t max = cols > 1 ? (size_t)cols - 1 : 0;
	int k;

	if (!size)
		return 0;
	buf[0] = '\0';
	pieces(&l, p, label, elapsed);
	if (l.len > max) {
		/* whole pieces, or else the first one cut */
		for (k = l.n - 1; k >= 0 && l.ends[k] > max; k--)
			;
		l.len = k >= 0 ? l.ends[k] : max;
		buf[l.len] = '\0';
	}
	return l.len;
}
