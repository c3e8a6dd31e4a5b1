#include "log.h"
#include "progress.h"
#include "quote.h"
#include "strbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CTX_MAX 8

static const char *tool = "memedroid";
static int json_format;
static int cur_level = LOG_INFO;
static struct { const char *key; char *val; } ctx[CTX_MAX];

static const char *level_names[] = { "error", "warn", "info", "debug" };

void log_init(const char *name)
{
	const char *slash = strrchr(name, '/');
	tool = slash ? slash + 1 : name;
}

const char *log_tool(void) { return tool; }
void log_set_json(int json) { json_format = json; }
void log_set_level(int level) { cur_level = level; }
int log_level(void) { return cur_level; }

int log_parse_level(const char *s, int *level)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, level_names[i])) {
			*level = i;
			return 0;
		}
	if (!strcmp(s, "warning")) {
		*level = LOG_WARN;
		return 0;
	}
	return -1;
}

void log_ctx_set(const char *key, const char *value)
{
	int i, free_slot = -1;

	for (i = 0; i < CTX_MAX; i++) {
		if (ctx[i].key && !strcmp(ctx[i].key, key)) {
			free(ctx[i].val);
			ctx[i].key = NULL;
			ctx[i].val = NULL;
		}
		if (!ctx[i].key && free_slot < 0)
			free_slot = i;
	}
	if (value && free_slot >= 0) {
		ctx[free_slot].key = key;
		ctx[free_slot].val = xstrdup(value);
	}
}

void log_ctx_clear(void)
{
	for (int i = 0; i < CTX_MAX; i++) {
		free(ctx[i].val);
		ctx[i].key = NULL;
		ctx[i].val = NULL;
	}
}

static void add_field(struct strbuf *sb, const char *key, const char *val)
{
	if (json_format) {
		sb_adds(sb, ",");
		json_add_str(sb, key);
		sb_addch(sb, ':');
		json_add_str(sb, val);
	} else {
		sb_addch(sb, ' ');
		sb_adds(sb, key);
		sb_addch(sb, '=');
		logfmt_add_val(sb, val);
	}
}

static void emit(int level, const char *msg, va_list kv)
{
	struct strbuf sb = STRBUF_INIT;
	struct timeval tv;
	struct tm tm;
	char ts[64];
	const char *k;

	if (level > cur_level)
		return;
	progress_clear();       /* a log line never lands in a progress line */
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	if (json_format) {
		sb_addf(&sb, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"tool\":",
			ts, (long)tv.tv_usec / 1000, level_names[level]);
		json_add_str(&sb, tool);
		sb_adds(&sb, ",\"msg\":");
		json_add_str(&sb, msg);
	} else {
		sb_addf(&sb, "time=%s.%03ldZ level=%s tool=", ts,
			(long)tv.tv_usec / 1000, level_names[level]);
		logfmt_add_val(&sb, tool);
		sb_adds(&sb, " msg=");
		logfmt_add_val(&sb, msg);
	}
	while ((k = va_arg(kv, const char *))) {
		const char *v = va_arg(kv, const char *);
		if (v)
			add_field(&sb, k, v);
	}
	for (int i = 0; i < CTX_MAX; i++)
		if (ctx[i].key)
			add_field(&sb, ctx[i].key, ctx[i].val);
	sb_adds(&sb, json_format ? "}\n" : "\n");
	/* one write(2) per line so concurrent writers do not interleave */
	ssize_t off = 0;
	while ((size_t)off < sb.len) {
		ssize_t n = write(STDERR_FILENO, sb.buf + off, sb.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += n;
	}
	sb_release(&sb);
}

static void emit_kv(int level, const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	emit(level, msg, ap);
	va_end(ap);
}

void logkv(int level, const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	emit(level, msg, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 0))) vlog(int level, const char *fmt, va_list ap)
{
	struct strbuf sb = STRBUF_INIT;

	if (level > cur_level)
		return;
	sb_vaddf(&sb, fmt, ap);
	emit_kv(level, sb.buf, (char *)NULL);
	sb_release(&sb);
}

#define DEFINE_LOGGER(name, level) \
	void name(const char *fmt, ...) \
	{ \
		va_list ap; \
		va_start(ap, fmt); \
		vlog(level, fmt, ap); \
		va_end(ap); \
	}

DEFINE_LOGGER(error, LOG_ERROR)
DEFINE_LOGGER(warning, LOG_WARN)
DEFINE_LOGGER(info, LOG_INFO)
DEFINE_LOGGER(debug, LOG_DEBUG)

void error_errno(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	sb_addf(&sb, ": %s", strerror(err));
	emit_kv(LOG_ERROR, sb.buf, (char *)NULL);
	sb_release(&sb);
}

void die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERROR, fmt, ap);
	va_end(ap);
	exit(code);
}
