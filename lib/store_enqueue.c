/*
 * store_enqueue.c - md-enqueue above the drivers: what a batch of refs
 * (post ids or media hashes) and profiles becomes.  Ref by ref, profile
 * by profile, each pair is one output record:
 *
 *   error      the ref names no post and no media
 *   skipped    the profile does not apply to the media's kind
 *   available, running, succeeded
 *              without --force, the newest live job of the same media and
 *              profile, reused; the repeats of a pair in the batch (the
 *              same media through another ref, a profile named twice)
 *              share the job made for its first
 *   available  a new job on the queue asked for, else the profile's, with
 *              the max attempts of job_max_attempts() and the trace id
 *              asked for, else the post's (for a hash, its newest post's)
 *
 * One transaction of a few statements whatever the size of the batch:
 * resolve every ref, look up every live job, insert every new job, wake
 * the workers of their queues; the records go out after COMMIT.
 */
#include "store.h"
#include "store_int.h"
#include "log.h"
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

/* Strings that live as long as the batch, in chunks that never move. */
struct chunk {
	struct chunk *next;
	size_t used, size;
	char buf[];
};

static const char *keep(struct chunk **a, const char *s)
{
	size_t len;
	char *p;

	if (!s)
		return NULL;
	len = strlen(s) + 1;
	if (!*a || (*a)->size - (*a)->used < len) {
		size_t size = len > 65536 ? len : 65536;
		struct chunk *c = xmalloc(sizeof(*c) + size);

		c->next = *a;
		c->used = 0;
		c->size = size;
		*a = c;
	}
	p = memcpy((*a)->buf + (*a)->used, s, len);
	(*a)->used += len;
	return p;
}

static void keep_free(struct chunk **a)
{
	while (*a) {
		struct chunk *next = (*a)->next;

		free(*a);
		*a = next;
	}
}

enum { ENQ_ERROR, ENQ_SKIPPED, ENQ_LIVE, ENQ_NEW, ENQ_REPEAT };

/* A batch this big sets its transaction up for big statements
 * (bulk_begin); a smaller one saves the round trip. */
#define BULK_REFS 1000

/* A pair's job: live in the database, or made by a row of the batch. */
struct live {
	int64_t id;
	const char *queue, *state;      /* state NULL: no live job */
	int made;               /* 1 + the row that made its job; 0: none */
};

/* Ref i as resolved; media NULL: it names nothing. */
struct ref {
	const char *media, *trace;
	unsigned kind;
	int m;                  /* index of its media in the distinct ones */
};

struct enq_row {
	int ref, prof;          /* refs[ref], profiles[prof] (-1: none) */
	int what;               /* ENQ_* */
	int link;               /* ENQ_LIVE: its pair in e->live; ENQ_NEW: its
				 * job_row; ENQ_REPEAT: the row that made its job */
};

struct enq {
	char *const *refs;
	int nrefs;
	const struct enqueue_opts *o;
	char **names;           /* the distinct names of the profiles */
	int nnames;
	int *pname;             /* profile k is names[pname[k]] */
	/* from scratch on each try */
	struct chunk *strs;
	struct ref *rv;
	char **media;           /* the distinct media of the batch */
	int nmedia;
	struct live *live;      /* by pair: m * nnames + pname[k] */
	struct enq_row *rows;
	int nrows;
	struct job_row *jobs;
	int njobs;
};

static const char *enq_queue(const struct enq *e, int prof)
{
	return e->o->queue ? e->o->queue : e->o->profiles[prof]->queue;
}

static void enq_clear(struct enq *e)
{
	keep_free(&e->strs);
	free(e->rv);
	free(e->media);
	free(e->live);
	free(e->rows);
	free(e->jobs);
	e->rv = NULL;
	e->media = NULL;
	e->live = NULL;
	e->rows = NULL;
	e->jobs = NULL;
	e->nmedia = e->nrows = e->njobs = 0;
}

static void on_ref(void *arg, int i, const char *media, unsigned kind, const char *trace)
{
	struct enq *e = arg;

	if (i < 0 || i >= e->nrefs)
		return;
	e->rv[i].media = keep(&e->strs, media);
	e->rv[i].trace = keep(&e->strs, trace);
	e->rv[i].kind = kind;
}

/* Each ref to its media, kind and trace id. */
static int enq_resolve(struct store *s, struct enq *e)
{
	int64_t *pids = xcalloc((size_t)e->nrefs, sizeof(*pids));
	int rc;

	for (int i = 0; i < e->nrefs; i++)
		if (!ref_is_post_id(e->refs[i], &pids[i]))
			pids[i] = 0;
	e->rv = xcalloc((size_t)e->nrefs, sizeof(*e->rv));
	rc = s->drv->refs_resolve(s, e->refs, pids, e->nrefs, !e->o->trace_id, on_ref, e);
	free(pids);
	return rc;
}

static const struct ref *cmp_base;

static int cmp_media(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return strcmp(cmp_base[x].media, cmp_base[y].media);
}

/* The distinct media of the resolved refs, each ref's index among them. */
static void enq_distinct(struct enq *e)
{
	int *by = xcalloc((size_t)e->nrefs + 1, sizeof(*by)), n = 0;

	for (int i = 0; i < e->nrefs; i++)
		if (e->rv[i].media)
			by[n++] = i;
	cmp_base = e->rv;
	qsort(by, (size_t)n, sizeof(*by), cmp_media);
	e->media = xcalloc((size_t)n + 1, sizeof(*e->media));
	for (int i = 0; i < n; i++) {
		struct ref *r = &e->rv[by[i]];

		if (!e->nmedia || strcmp(e->media[e->nmedia - 1], r->media))
			e->media[e->nmedia++] = (char *)r->media;
		r->m = e->nmedia - 1;
	}
	free(by);
}

static void on_live(void *arg, int m, int p, int64_t id, const char *queue, const char *state)
{
	struct enq *e = arg;
	struct live *l;

	if (m < 0 || m >= e->nmedia || p < 0 || p >= e->nnames)
		return;
	l = &e->live[(size_t)m * e->nnames + p];
	l->id = id;
	l->queue = keep(&e->strs, queue);
	l->state = keep(&e->strs, state);
}

/* The live job of every pair of the batch, asked once for all. */
static int enq_live(struct store *s, struct enq *e)
{
	enq_distinct(e);
	e->live = xcalloc((size_t)e->nmedia * e->nnames + 1, sizeof(*e->live));
	if (!e->nmedia)
		return 0;
	return s->drv->jobs_live(s, e->media, e->nmedia, e->names, e->nnames, on_live, e);
}

/* A new job for row r, of ref i and profile k. */
static void enq_new(struct enq *e, struct enq_row *r, int i, int k)
{
	const struct profile *p = e->o->profiles[k];
	struct job_row *j = &e->jobs[e->njobs];

	j->media = e->rv[i].media;
	j->profile = p->name;
	j->queue = enq_queue(e, k);
	j->trace_id = e->o->trace_id ? e->o->trace_id : e->rv[i].trace;
	j->max_attempts = job_max_attempts(e->o->max_attempts, p, e->o->default_attempts);
	j->id = 0;
	r->what = ENQ_NEW;
	r->link = e->njobs++;
}

/*
 * The record of each (ref, profile), in input order.  Without --force, a
 * pair with a live job reuses it, and the first row of a pair without one
 * makes the job its repeats share.
 */
static void enq_plan(struct enq *e)
{
	int np = e->o->nprofiles;

	e->rows = xcalloc((size_t)e->nrefs * (np ? np : 1), sizeof(*e->rows));
	e->jobs = xcalloc((size_t)e->nrefs * (np ? np : 1), sizeof(*e->jobs));
	for (int i = 0; i < e->nrefs; i++) {
		if (!e->rv[i].media) {
			e->rows[e->nrows++] = (struct enq_row){ .ref = i, .prof = -1, .what = ENQ_ERROR };
			continue;
		}
		for (int k = 0; k < np; k++) {
			struct enq_row *r = &e->rows[e->nrows++];
			struct live *l = e->live ? &e->live[(size_t)e->rv[i].m * e->nnames +
							    e->pname[k]] : NULL;

			*r = (struct enq_row){ .ref = i, .prof = k, .what = ENQ_SKIPPED };
			if (!(e->o->profiles[k]->kinds & e->rv[i].kind))
				continue;
			if (l && (l->state || l->made)) {
				r->what = l->state ? ENQ_LIVE : ENQ_REPEAT;
				r->link = l->state ? (int)(l - e->live) : l->made - 1;
				continue;
			}
			enq_new(e, r, i, k);
			if (l)
				l->made = (int)(r - e->rows) + 1;
		}
	}
}

/* The queues that got jobs, each once, in the order of the profiles. */
static int enq_notify(struct store *s, struct enq *e)
{
	char **qv;
	int n = 0, rc;

	if (!s->drv->jobs_notify || !e->njobs)
		return 0;
	qv = xcalloc((size_t)e->o->nprofiles, sizeof(*qv));
	for (int k = 0; k < e->o->nprofiles; k++) {
		const char *qn = enq_queue(e, k);
		int used = 0, seen = 0;

		for (int i = 0; i < e->nrows && !used; i++)
			used = e->rows[i].what == ENQ_NEW && e->rows[i].prof == k;
		for (int j = 0; j < n && !seen; j++)
			seen = !strcmp(qv[j], qn);
		if (used && !seen)
			qv[n++] = (char *)qn;
	}
	rc = s->drv->jobs_notify(s, qv, n);
	free(qv);
	return rc;
}

/* A profile named twice is one profile: its jobs are the same. */
static void enq_names(struct enq *e)
{
	int np = e->o->nprofiles;

	e->names = xcalloc((size_t)np + 1, sizeof(*e->names));
	e->pname = xcalloc((size_t)np + 1, sizeof(*e->pname));
	for (int k = 0; k < np; k++) {
		const char *name = e->o->profiles[k]->name;
		int j = 0;

		while (j < e->nnames && strcmp(e->names[j], name))
			j++;
		if (j == e->nnames)
			e->names[e->nnames++] = (char *)name;
		e->pname[k] = j;
	}
}

static int enqueue_body(struct store *s, void *arg)
{
	struct enq *e = arg;
	int rc;

	enq_clear(e);
	if ((e->nrefs >= BULK_REFS && s->drv->bulk_begin && (rc = s->drv->bulk_begin(s))) ||
	    /* one enqueue at a time looks for live jobs */
	    (!e->o->force && s->drv->jobs_lock && (rc = s->drv->jobs_lock(s))) ||
	    (rc = enq_resolve(s, e)) || (!e->o->force && (rc = enq_live(s, e))))
		return rc;
	enq_plan(e);
	if (e->njobs && (rc = s->drv->jobs_insert(s, e->jobs, e->njobs, e->o->priority,
						  e->o->run_at)))
		return rc;
	return enq_notify(s, e);
}

static void enq_report(const struct enq *e, enqueue_cb cb, void *arg)
{
	for (int i = 0; i < e->nrows; i++) {
		const struct enq_row *r = &e->rows[i];
		const char *ref = e->refs[r->ref], *media = e->rv[r->ref].media;
		const char *profile = r->prof >= 0 ? e->o->profiles[r->prof]->name : NULL;
		const struct live *l;
		char *why;

		switch (r->what) {
		case ENQ_ERROR:
			cb(arg, ref, 0, NULL, NULL, NULL, "error", "no such post or media");
			break;
		case ENQ_SKIPPED:
			why = xstrfmt("profile '%s' does not apply to %s media", profile,
				      kind_name(e->rv[r->ref].kind));
			cb(arg, ref, 0, media, profile, NULL, "skipped", why);
			free(why);
			break;
		case ENQ_LIVE:
			l = &e->live[r->link];
			cb(arg, ref, l->id, media, profile, l->queue, l->state, NULL);
			break;
		case ENQ_REPEAT:
			cb(arg, ref, e->jobs[e->rows[r->link].link].id, media, profile,
			   enq_queue(e, r->prof), "available", NULL);
			break;
		default:
			cb(arg, ref, e->jobs[r->link].id, media, profile, enq_queue(e, r->prof),
			   "available", NULL);
		}
	}
}

int store_enqueue(struct store *s, char *const *refs, int nrefs,
		  const struct enqueue_opts *o, enqueue_cb cb, void *arg)
{
	struct enq e = { .refs = refs, .nrefs = nrefs, .o = o };
	int rc;

	if (nrefs <= 0)
		return 0;
	enq_names(&e);
	if (!(rc = store_txn(s, enqueue_body, &e)))
		enq_report(&e, cb, arg);
	enq_clear(&e);
	free(e.names);
	free(e.pname);
	return rc;
}
