/*
 * store.c - the store's public face: opening and the schema gate, the
 * transaction runner every write of the policy goes through, and the
 * operations still handed whole to a driver (store_int.h says which).
 */
#include "store.h"
#include "store_int.h"
#include "exits.h"
#include "log.h"
#include "strbuf.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static int is_pg_url(const char *url)
{
	return !strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13) ||
	       (strchr(url, '=') && strncmp(url, "sqlite:", 7));
}

int store_schema_wanted(const struct store *s)
{
	return *s->drv->nmigrations;
}

int store_schema_newer(const struct store *s, int version)
{
	error("database '%s' has schema version %d, newer than this tool knows (%d): "
	      "upgrade memedroid", s->where, version, store_schema_wanted(s));
	return MD_EXIT_CONFIG;
}

/* The tools work only on a database at exactly the version they know. */
static int schema_gate(struct store *s)
{
	int version = 0, want = store_schema_wanted(s);
	int rc = s->drv->schema_version(s, &version);

	if (rc > 1)
		return rc;
	if (rc == 1 || version < want) {
		error("database '%s' is not migrated (schema version %d of %d): "
		      "run 'md-db migrate'", s->where, version, want);
		return MD_EXIT_CONFIG;
	}
	if (version > want)
		return store_schema_newer(s, version);
	return 0;
}

int store_open(const char *url, int flags, struct store **out)
{
	int rc;

	*out = NULL;
	if (!url || !*url) {
		error("no database URL");
		return MD_EXIT_CONFIG;
	}
	if (is_pg_url(url))
		rc = store_pg_open(url, flags, out);
	else if (!strncmp(url, "sqlite://", 9))
		rc = store_sqlite_open(url + 9, flags, out);
	else if (!strncmp(url, "sqlite:", 7))
		rc = store_sqlite_open(url + 7, flags, out);
	else
		rc = store_sqlite_open(url, flags, out);
	if (!rc && !(flags & STORE_NO_SCHEMA) && (rc = schema_gate(*out))) {
		store_close(*out);
		*out = NULL;
	}
	return rc;
}

static int txn_run(struct store *s, int (*begin)(struct store *, int),
		   int (*body)(struct store *, void *), void *arg)
{
	int rc;

	for (int try = 1;; try++) {
		int last = try >= STORE_TRIES;

		if (!(rc = begin(s, last))) {
			rc = body(s, arg);
			if (rc == STORE_ROLLBACK) {
				s->drv->rollback(s);
				return 0;
			}
			if (!rc)
				rc = s->drv->commit(s);
			if (rc)
				s->drv->rollback(s);
		}
		if (!rc || last || !s->drv->again || !s->drv->again(s))
			return rc;
	}
}

int store_txn(struct store *s, int (*body)(struct store *, void *), void *arg)
{
	return txn_run(s, s->drv->begin, body, arg);
}

int store_read_txn(struct store *s, int (*body)(struct store *, void *), void *arg)
{
	return txn_run(s, s->drv->read_begin, body, arg);
}

void store_close(struct store *s)
{
	if (s)
		s->drv->close(s);
}

void store_quiet(struct store *s, int on)
{
	if (s->drv->quiet)
		s->drv->quiet(s, on);
}

const char *store_backend(const struct store *s)
{
	return s->drv->name;
}

char *store_redact_url(const char *url)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p;

	if (!strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13)) {
		const char *auth = strstr(url, "://") + 3;
		const char *at = strchr(auth, '@');
		const char *colon = strchr(auth, ':');
		if (at && colon && colon < at) {
			sb_add(&sb, url, (size_t)(colon - url) + 1);
			sb_adds(&sb, "***");
			sb_adds(&sb, at);
		} else {
			sb_adds(&sb, url);
		}
		/* password=... in the query string */
		char *q = strstr(sb.buf, "password=");
		if (q) {
			char *end = strchr(q, '&');
			struct strbuf t = STRBUF_INIT;
			sb_add(&t, sb.buf, (size_t)(q - sb.buf) + 9);
			sb_adds(&t, "***");
			if (end)
				sb_adds(&t, end);
			sb_release(&sb);
			sb = t;
		}
		return sb_detach(&sb, NULL);
	}
	if ((p = strstr(url, "password="))) {
		/* keyword string: password=secret or password='se cret' */
		sb_add(&sb, url, (size_t)(p - url) + 9);
		sb_adds(&sb, "***");
		p += 9;
		if (*p == '\'') {
			for (p++; *p && *p != '\''; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p)
				p++;
		} else {
			while (*p && *p != ' ')
				p++;
		}
		sb_adds(&sb, p);
		return sb_detach(&sb, NULL);
	}
	return xstrdup(url);
}

int store_queue_counts(struct store *s, char *const *queues, int nqueues,
		       int64_t *available_now, int64_t *running, double *next_run)
{
	*available_now = *running = 0;
	*next_run = 0;
	return s->drv->queue_counts(s, queues, nqueues, available_now, running, next_run);
}

int store_listen(struct store *s, char *const *queues, int nqueues)
{
	return s->drv->listen ? s->drv->listen(s, queues, nqueues) : 0;
}

int store_notify_fd(struct store *s)
{
	return s->drv->notify_fd ? s->drv->notify_fd(s) : -1;
}

int store_consume_notify(struct store *s)
{
	return s->drv->consume_notify ? s->drv->consume_notify(s) : 0;
}

void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->profile);
	free(j->queue);
	free(j->trace_id);
	free(j->format);
	free(j->source);
	free(j->ext);
	memset(j, 0, sizeof(*j));
}

void finalized_release(struct finalized *f)
{
	for (int i = 0; i < f->nposts; i++) {
		free(f->post_status[i]);
		free(f->post_trace[i]);
	}
	free(f->post_status);
	free(f->post_trace);
	free(f->post_ids);
	memset(f, 0, sizeof(*f));
}

int ref_is_post_id(const char *ref, int64_t *id)
{
	char *end;
	long long v;

	if (!*ref || strlen(ref) > 18)
		return 0;
	for (const char *p = ref; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	errno = 0;
	v = strtoll(ref, &end, 10);
	if (errno || *end || v <= 0)
		return 0;
	*id = v;
	return 1;
}

double retry_delay(double base, double max, int attempts)
{
	double d = base * pow(2, attempts > 1 ? attempts - 1 : 0);
	unsigned r;

	if (d > max)
		d = max;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned)rand();
	return d * (0.8 + 0.4 * (r / (double)UINT32_MAX));
}

void trace_id_new(char out[33])
{
	static const char d[] = "0123456789abcdef";
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		for (int i = 0; i < 16; i++)
			b[i] = (unsigned char)rand();
	b[0] |= 1;    /* never all zeros */
	for (int i = 0; i < 16; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[32] = '\0';
}

int trace_id_valid(const char *s)
{
	int nonzero = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
		if (s[i] != '0')
			nonzero = 1;
	}
	return i == 32 && nonzero;
}

const char *const job_states[JOB_NSTATES] = { "available", "running", "succeeded", "dead",
					      "cancelled" };
const char *const post_statuses[POST_NSTATUSES] = { "pending", "processing", "completed",
						    "failed" };

int name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (s && !strcmp(names[i], s))
			return i;
	return -1;
}
