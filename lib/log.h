/*
 * log.h - diagnostics and structured logs on stderr.
 *
 * Every line is one record: logfmt by default (time=... level=... tool=...
 * msg="..." key=value ...) or one JSON object with --log-format json.
 * Fields given to logkv() and the ambient context (log_ctx_set) are added;
 * values are quoted and escaped so a hostile file name cannot forge a line.
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

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_init(const char *tool);
const char *log_tool(void);
void log_set_json(int json);
void log_set_level(int level);
int log_level(void);
/* Parse "error|warn|info|debug"; returns 0 and sets *level, or -1. */
int log_parse_level(const char *s, int *level);

/*
 * Ambient fields added to every following line until cleared
 * (trace_id, job_id, media, profile, worker...).  Keys are static strings;
 * values are copied.  A NULL value removes the key.
 */
void log_ctx_set(const char *key, const char *value);
void log_ctx_clear(void);

/* One record with extra key/value string pairs, NULL-terminated. */
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

#endif
