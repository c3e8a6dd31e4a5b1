/*
 * ref.h - the references that name a media to the tools: a post id (a
 * positive decimal number that fits int64), standing for the post's
 * media, or the media's SHA-256 (64 lowercase hex digits).
 *
 * ref_from_line() reads the reference in one line of md-enqueue's input,
 * the output of md-ingest in either form:
 *   - a TSV line: its first field, up to a tab or a space;
 *   - a JSON object: its top-level "post_id" when that is a number, else
 *     its top-level "media" when that is a hash.  Only the top level
 *     counts, so a file name or an error message quoted inside the record
 *     can never supply a reference.  An object without either (the
 *     record of a rejected input) is skipped, and so is a line that
 *     begins with '{' but is not a whole JSON object.
 * It reads len bytes (a NUL among them is a byte like any other: it makes
 * the field bad), allocates only the result and never exits short of
 * memory, so it can take any input.
 */
#ifndef MD_REF_H
#define MD_REF_H

#include <stddef.h>
#include <stdio.h>

enum ref_line {
	REF_BAD = -1,           /* *ref: the field that is no reference */
	REF_SKIP = 0,           /* nothing to do: *ref is NULL */
	REF_OK = 1,             /* *ref: a post id or a sha256 */
};

/* Is s a post id or a sha256? */
int ref_valid(const char *s);

/* The reference in line[len] (no newline); *ref malloc'd, caller frees. */
enum ref_line ref_from_line(const char *line, size_t len, char **ref);

/* The same for a job id (md-job's input): the first field of a TSV line
 * (md-job list, md-enqueue), or the top-level "job_id" of a JSON object. */
enum ref_line ref_job_from_line(const char *line, size_t len, char **ref);

/*
 * Every reference in the lines of f (ref_from_line, or ref_job_from_line
 * when jobs), appended to the array *v of *n (room for *cap, grown as
 * needed; each malloc'd).  A bad one is said on stderr and skipped.
 * Returns how many were bad.
 */
size_t ref_read(FILE *f, int jobs, char ***v, size_t *n, size_t *cap);

#endif
