#include "log.h"
#include "progress.h"
#include "quote.h"
#include "strbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CTX_MAX 8
#define FIELD_MAX 32

static const char *tool = "memedroid";
static int cur_format = LOG_FORMAT_TEXT;
static int cur_level = LOG_INFO;
static int journal;
static struct { const char *key; char *val; } ctx[CTX_MAX];

static const char *level_names[] = { "error", "warn", "info", "debug" };
static const char *format_names[] = { "auto", "text", "json", "human" };
/* sd-daemon(3): SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG */
static const char *priorities[] = { "<3>", "<4>", "<6>", "<7>" };

void log_init(const char *name)
{
	const char *slash = strrchr(name, '/');

	tool = slash ? slash + 1 : name;
	journal = log_journal_match(getenv("JOURNAL_STREAM"), STDERR_FILENO);
	log_set_format(LOG_FORMAT_AUTO);
}

const char *log_tool(void) { return tool; }
void log_set_level(int level) { cur_level = level; }
int log_level(void) { return cur_level; }

void log_set_format(int format)
{
	if (format == LOG_FORMAT_AUTO)
		format = isatty(STDERR_FILENO) ? LOG_FORMAT_HUMAN : LOG_FORMAT_TEXT;
	cur_format = format;
}

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

int log_parse_format(const char *s, int *format)
{
	/* "auto" is what no option says; it is not a value to give */
	for (int i = LOG_FORMAT_TEXT; i <= LOG_FORMAT_HUMAN; i++)
		if (!strcmp(s, format_names[i])) {
			*format = i;
			return 0;
		}
	return -1;
}

int log_journal_match(const char *stream, int fd)
{
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	if (!stream || *stream < '0' || *stream > '9')
		return 0;
	errno = 0;
	dev = strtoull(stream, &end, 10);
	if (errno || *end != ':' || end[1] < '0' || end[1] > '9')
		return 0;
	ino = strtoull(end + 1, &end, 10);
	if (errno || *end || fstat(fd, &st))
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* The key without its type marker. */
static const char *bare_key(const char *k)
{
	return *k == LOG_NUM[0] || *k == LOG_BOOL[0] ? k + 1 : k;
}

void log_ctx_set(const char *key, const char *value)
{
	int i, free_slot = -1;

	for (i = 0; i < CTX_MAX; i++) {
		if (ctx[i].key && !strcmp(bare_key(ctx[i].key), bare_key(key))) {
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

/* ---------- one line ---------- */

/* A JSON number (RFC 8259), the whole of s? */
static int json_number(const char *s)
{
#define DIGIT(c) ((c) >= '0' && (c) <= '9')
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (DIGIT(*s))
		while (DIGIT(*s))
			s++;
	else
		return 0;
	if (*s == '.') {
		if (!DIGIT(s[1]))
			return 0;
		for (s++; DIGIT(*s); s++)
			;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!DIGIT(*s))
			return 0;
		while (DIGIT(*s))
			s++;
	}
	return !*s;
#undef DIGIT
}

static void json_add_value(struct strbuf *sb, const struct log_field *f)
{
	if ((*f->key == LOG_NUM[0] && json_number(f->val)) ||
	    (*f->key == LOG_BOOL[0] && (!strcmp(f->val, "true") || !strcmp(f->val, "false"))))
		sb_adds(sb, f->val);
	else
		json_add_str(sb, f->val);
}

/*
 * s for a person's terminal: printable UTF-8 as it is; controls, DEL,
 * backslash, invalid bytes and the characters that reorder or break
 * a line (U+0080-U+009F, U+2028, U+2029, bidi controls) escaped.
 */
static void human_add(struct strbuf *sb, const char *s)
{
	while (*s) {
		unsigned c;
		size_t n = utf8_decode(s, &c);

		if (!n) {
			sb_addf(sb, "\\x%02x", (unsigned char)*s++);
			continue;
		}
		if (c == '\\')
			sb_adds(sb, "\\\\");
		else if (c == '\n')
			sb_adds(sb, "\\n");
		else if (c == '\t')
			sb_adds(sb, "\\t");
		else if (c == '\r')
			sb_adds(sb, "\\r");
		else if (c < 0x20 || c == 0x7f)
			sb_addf(sb, "\\x%02x", c);
		else if ((c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
			 (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
			sb_addf(sb, "\\u%04x", c);
		else
			sb_add(sb, s, n);
		s += n;
	}
}

struct human {
	const struct log_field *f[FIELD_MAX];
	size_t n;
	unsigned used;          /* bit i: f[i] written */
};

static const struct log_field *human_take(struct human *h, const char *key)
{
	for (size_t i = 0; i < h->n; i++)
		if (!(h->used & 1u << i) && !strcmp(bare_key(h->f[i]->key), key)) {
			h->used |= 1u << i;
			return h->f[i];
		}
	return NULL;
}

static int human_has(const struct human *h, const char *key)
{
	for (size_t i = 0; i < h->n; i++)
		if (!strcmp(bare_key(h->f[i]->key), key))
			return 1;
	return 0;
}

/* How a field reads in the human form: "job 68", "'name'", "key=value". */
static const struct { const char *key, *before, *after; } human_names[] = {
	{ "job_id", "job ", "" }, { "post_id", "post ", "" }, { "user", "user '", "'" },
	{ "path", "'", "'" }, { "media", "media ", "" }, { "attempt", "attempt ", "" },
};

static void human_field(struct strbuf *sb, const struct log_field *f)
{
	const char *k = bare_key(f->key);

	for (size_t i = 0; i < sizeof(human_names) / sizeof(human_names[0]); i++)
		if (!strcmp(k, human_names[i].key)) {
			sb_adds(sb, human_names[i].before);
			human_add(sb, f->val);
			sb_adds(sb, human_names[i].after);
			return;
		}
	sb_adds(sb, k);
	sb_addch(sb, '=');
	if (!*f->val || strchr(f->val, ' ')) {
		sb_addch(sb, '\'');
		human_add(sb, f->val);
		sb_addch(sb, '\'');
	} else {
		human_add(sb, f->val);
	}
}

/*
 * The message, with the id its first word names after that word:
 * "job failed" and job_id 68 (profile mp4) read "job 68 mp4 failed".
 */
static void human_msg(struct strbuf *sb, struct human *h, const char *msg)
{
	static const struct { const char *word, *key, *quote; } subjects[] = {
		{ "job", "job_id", "" }, { "post", "post_id", "" }, { "user", "user", "'" },
		{ "worker", "worker", "" },
	};
	const struct log_field *id = NULL, *profile = NULL;
	size_t len = 0, i;

	for (i = 0; i < sizeof(subjects) / sizeof(subjects[0]) && !id; i++) {
		len = strlen(subjects[i].word);
		if (!strncmp(msg, subjects[i].word, len) && msg[len] && strchr(" ,:", msg[len]))
			id = human_take(h, subjects[i].key);
	}
	if (!id) {
		human_add(sb, msg);
		return;
	}
	i--;
	sb_add(sb, msg, len);
	sb_addch(sb, ' ');
	sb_adds(sb, subjects[i].quote);
	human_add(sb, id->val);
	sb_adds(sb, subjects[i].quote);
	if (i == 0 && (profile = human_take(h, "profile"))) {
		sb_addch(sb, ' ');
		human_add(sb, profile->val);
	}
	human_add(sb, msg + len);
}

static void human_line(struct strbuf *sb, const struct log_line *l, struct human *h)
{
	const struct log_field *f, *err;
	int named = human_has(h, "job_id") || human_has(h, "post_id"), open = 0;

	sb_adds(sb, l->tool);
	sb_adds(sb, l->level == LOG_ERROR ? ": error: " : l->level == LOG_WARN ? ": warning: " : ": ");
	human_msg(sb, h, l->msg);
	if ((f = human_take(h, "path"))) {
		sb_addch(sb, ' ');
		human_field(sb, f);
	}
	if ((f = human_take(h, "seconds")) || (f = human_take(h, "retry_in"))) {
		sb_adds(sb, " in ");
		human_add(sb, f->val);
		sb_adds(sb, " s");
	}
	err = human_take(h, "error");
	human_take(h, "trace_id");
	human_take(h, "worker");
	if (named)
		human_take(h, "media");
	for (size_t i = 0; i < h->n; i++) {
		if (h->used & 1u << i)
			continue;
		sb_adds(sb, open++ ? ", " : " (");
		human_field(sb, h->f[i]);
	}
	if (open)
		sb_addch(sb, ')');
	if (err) {
		sb_adds(sb, ": ");
		human_add(sb, err->val);
	}
}

static int reserved_key(const char *k)
{
	return !*k || !strcmp(k, "time") || !strcmp(k, "level") || !strcmp(k, "tool") ||
	       !strcmp(k, "msg");
}

/* The fields of l a line writes: each key once, the first given wins. */
static size_t line_fields(const struct log_line *l, const struct log_field **out)
{
	size_t n = 0;

	for (size_t i = 0; i < l->nfields && n < FIELD_MAX; i++) {
		const char *k = bare_key(l->fields[i].key);
		size_t j;

		if (reserved_key(k))
			continue;
		for (j = 0; j < n && strcmp(bare_key(out[j]->key), k); j++)
			;
		if (j == n)
			out[n++] = &l->fields[i];
	}
	return n;
}

static void structured_line(struct strbuf *sb, const struct log_line *l,
			    const struct log_field **f, size_t n)
{
	int json = l->format == LOG_FORMAT_JSON;

	if (json) {
		sb_addch(sb, '{');
		if (l->time)
			sb_addf(sb, "\"time\":\"%s\",", l->time);
		sb_addf(sb, "\"level\":\"%s\",\"tool\":", level_names[l->level]);
		json_add_str(sb, l->tool);
		sb_adds(sb, ",\"msg\":");
		json_add_str(sb, l->msg);
	} else {
		if (l->time)
			sb_addf(sb, "time=%s ", l->time);
		sb_addf(sb, "level=%s tool=", level_names[l->level]);
		logfmt_add_val(sb, l->tool);
		sb_adds(sb, " msg=");
		logfmt_add_val(sb, l->msg);
	}
	for (size_t i = 0; i < n; i++) {
		const char *k = bare_key(f[i]->key);

		if (json) {
			sb_addch(sb, ',');
			json_add_str(sb, k);
			sb_addch(sb, ':');
			json_add_value(sb, f[i]);
		} else {
			sb_addch(sb, ' ');
			logfmt_add_val(sb, k);
			sb_addch(sb, '=');
			logfmt_add_val(sb, f[i]->val);
		}
	}
	if (json)
		sb_addch(sb, '}');
}

void log_format_line(struct strbuf *sb, const struct log_line *l)
{
	struct human h = { .n = 0, .used = 0 };

	h.n = line_fields(l, h.f);
	if (l->journal)
		sb_adds(sb, priorities[l->level]);
	if (l->format == LOG_FORMAT_HUMAN)
		human_line(sb, l, &h);
	else
		structured_line(sb, l, h.f, h.n);
	sb_addch(sb, '\n');
}

/* ---------- writing ---------- */

/* one write(2) per line so concurrent writers do not interleave */
static void write_line(const struct strbuf *sb)
{
	size_t off = 0;

	progress_clear();       /* a log line never lands in a progress line */
	while (off < sb->len) {
		ssize_t n = write(STDERR_FILENO, sb->buf + off, sb->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += n;
	}
}

static void emit(int level, const char *msg, va_list kv)
{
	struct log_field f[FIELD_MAX];
	struct log_line l = { .format = cur_format, .level = level, .journal = journal,
			      .tool = tool, .msg = msg, .fields = f };
	struct strbuf sb = STRBUF_INIT;
	char ts[64], when[96];
	struct timeval tv;
	struct tm tm;
	const char *k;

	if (level > cur_level)
		return;
	while ((k = va_arg(kv, const char *))) {
		const char *v = va_arg(kv, const char *);
		if (v && l.nfields < FIELD_MAX - CTX_MAX)
			f[l.nfields++] = (struct log_field){ k, v };
	}
	for (int i = 0; i < CTX_MAX; i++)
		if (ctx[i].key)
			f[l.nfields++] = (struct log_field){ ctx[i].key, ctx[i].val };
	/* journald stamps each line; a person at a terminal has no use for it */
	if (!journal && cur_format != LOG_FORMAT_HUMAN) {
		gettimeofday(&tv, NULL);
		gmtime_r(&tv.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		(void)snprintf(when, sizeof(when), "%s.%03ldZ", ts, (long)tv.tv_usec / 1000);
		l.time = when;
	}
	log_format_line(&sb, &l);
	write_line(&sb);
	sb_release(&sb);
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
	logkv(level, sb.buf, (char *)NULL);
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
	logkv(LOG_ERROR, sb.buf, (char *)NULL);
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
