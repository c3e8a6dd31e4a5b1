/*
 * ffval.h - the values of ffprobe's "-of flat" output, read strictly.
 *
 * What ffprobe prints comes from the file it read, and so from anyone:
 * every number is read without undefined conversions, out-of-range values
 * are clamped and junk ("N/A", "nan", text) reads as unknown.  The probe
 * at ingest (probe.h) and the source of a job (source.h) read ffprobe's
 * output with these.
 */
#ifndef MD_FFVAL_H
#define MD_FFVAL_H

#include <stddef.h>

/* Copy src into dst[n], cut short if need be. */
void ffval_copy(char *dst, size_t n, const char *src);
/* The value v of a flat-output line into out[n]: "..." unquoted, its
 * backslash escapes undone; cut short if need be. */
void ffval_unquote(const char *v, char *out, size_t n);
/* An integer clamped to [lo, hi]; dflt for "N/A" or junk. */
long long ffval_int(const char *v, long long lo, long long hi, long long dflt);
/* A finite, non-negative decimal ("12.345000"); 0 for "N/A" or junk. */
double ffval_real(const char *v);
/* A finite decimal of either sign below 1e12 in *x; 1, or 0 for junk. */
int ffval_time(const char *v, double *x);
/* A rate "30000/1001" or "25"; 0 when unknown ("0/0") or absurd. */
double ffval_rate(const char *r);

/*
 * One line "key=value" of the flat output, split in place: the key ends
 * at the '=', the value is unquoted into val[n].  0 for a line without
 * '=' (nothing to read), 1 otherwise.
 */
int ffval_line(char *line, char *val, size_t n);
/*
 * The stream a key "streams.stream.N.rest" is about: N, below max, with
 * *rest pointing at "rest"; -1 for any other key or a larger N.
 */
int ffval_stream(const char *key, int max, const char **rest);

#endif
