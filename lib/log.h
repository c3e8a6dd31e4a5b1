/*
 * log.h - diagnostics and structured logs on stderr.
 *
 * Every line is one record, in one of three forms:
 *
 *   human  for a person at a terminal, git style, no time:
 *            md-work: job 68 mp4 succeeded in 2.1 s
 *            md-work: warning: job 68 mp4 failed, will retry in 4 s (attempt 2): REASON
 *          the default when stderr is a terminal;
 *   text   logfmt: time=... level=... tool=... msg="..." key=value ...;
 *          the default otherwise (pipes, files, journald);
 *   json   one JSON object per line, fields typed (see LOG_NUM).
 *
 * --log-format (or the config's log.format) names the form and always
 * wins over the terminal test.
 *
 * Fields: the message is the event ("job failed, will retry"), never the
 * ids it is about; those are fields (job_id=68), given to logkv() or set
 * as ambient context with log_ctx_set().  A line holds each key once:
 * a key given to logkv() wins over the context's, the first of two
 * logkv() keys wins, and time, level, tool and msg cannot be given.
 * Fields come in logkv() order, then the context's in the order set.
 *
 * The human form composes them: a message that begins with "job",
 * "post", "user" or "worker" takes the id after that word ("job 68 mp4
 * failed"); a path follows the message, seconds and retry_in read
 * "in N s", error follows a colon at the end, other fields go between
 * parentheses ("attempt 2", "key=value").  It leaves out trace_id and
 * worker, and media when a job or post is named.
 *
 * Whatever the form, values are escaped so that a hostile file name
 * cannot forge a line or reach the terminal: in the human form control
 * characters, backslash and invalid UTF-8 are written \n \t \r \\ \xNN
 * \u0085; logfmt and JSON quote as quote.h says.
 *
 * journald: when JOURNAL_STREAM names stderr's device and inode (as
 * systemd sets it for a service whose stderr is the journal), each line
 * begins with its syslog priority, <3> error, <4> warn, <6> info,
 * <7> debug (sd-daemon(3)), and the time field is left out: journald
 * stamps every line itself.
 *
 * Call order: log_init(tool) first thing in main(); log_set_format() and
 * log_set_level() once the options and config are known.  Nothing here
 * fails: a log line that cannot be written is lost, never fatal.
 *
 * Messages follow git's style: lowercase, no final period, names in
 * single quotes: "cannot open 'x': No such file or directory".
 */
#ifndef MD_LOG_H
#define MD_LOG_H

#include <stddef.h>

#include "strbuf.h"

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* AUTO: human when stderr is a terminal, else text. */
enum log_format { LOG_FORMAT_AUTO, LOG_FORMAT_TEXT, LOG_FORMAT_JSON, LOG_FORMAT_HUMAN };

/*
 * Type markers, put before a key: logkv(LOG_INFO, "job succeeded",
 * LOG_NUM "seconds", "2.1", NULL).  Values are strings all the same; in
 * JSON a LOG_NUM value that is a JSON number is written bare, a LOG_BOOL
 * value "true" or "false" too; anything else stays a string, so a wrong
 * value never makes a wrong line.  Unmarked values are strings.
 */
#define LOG_NUM "\001"
#define LOG_BOOL "\002"

void log_init(const char *tool);
const char *log_tool(void);
/* One of enum log_format; AUTO is settled here, by isatty(2). */
void log_set_format(int format);
void log_set_level(int level);
int log_level(void);
/* Parse "error|warn|info|debug"; returns 0 and sets *level, or -1. */
int log_parse_level(const char *s, int *level);
/* Parse "human|text|json"; returns 0 and sets *format, or -1. */
int log_parse_format(const char *s, int *format);

/*
 * Ambient fields added to every following line until cleared
 * (trace_id, job_id, media, profile, worker...).  Keys are static strings,
 * a type marker allowed; values are copied.  A NULL value removes the key.
 */
void log_ctx_set(const char *key, const char *value);
void log_ctx_clear(void);

/* One record with extra key/value string pairs, NULL-terminated; a NULL
 * value leaves its key out. */
void logkv(int level, const char *msg, ...);
/* printf-style messages without extra fields. */
void error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* error() with strerror(errno) appended as ": <text>". */
void error_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* error() then exit(code). */
void die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* ---- the parts below, for tests ---- */

struct log_field {
	const char *key;        /* may begin with LOG_NUM or LOG_BOOL */
	const char *val;        /* not NULL */
};

struct log_line {
	int format;             /* LOG_FORMAT_TEXT, _JSON or _HUMAN */
	int level;
	int journal;            /* begin with <priority> */
	const char *tool, *msg;
	const char *time;       /* NULL: no time field */
	const struct log_field *fields;
	size_t nfields;         /* repeated and reserved keys are dropped */
};

/* Append the line l, newline included, to sb. */
void log_format_line(struct strbuf *sb, const struct log_line *l);
/*
 * Does stream, a JOURNAL_STREAM value ("DEVICE:INODE", decimal), name the
 * file open on fd?  1 or 0 (also for NULL or a malformed value).
 */
int log_journal_match(const char *stream, int fd);

#endif
