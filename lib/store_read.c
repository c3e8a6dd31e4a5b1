/*
 * store_read.c - the reads of md-feed and md-status above the drivers.
 *
 * A feed page is one query: the driver fetches one row more than the
 * page holds, and that row, when it comes, says there is a next page,
 * whose cursor is the id of the page's last post (posts go newest first,
 * by creation time then id).  Storage keys are prefixed with base_url, ""
 * when none is given.
 *
 * md-status's figures are read in one snapshot, kind by kind in the order
 * of enum status_kind, each by one query of the driver; they are handed
 * to the caller only once all are read, so a read that fails (and is
 * replayed on a new connection) has printed nothing.
 */
#include "store.h"
#include "store_int.h"
#include "log.h"
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

struct page {
	feed_cb cb;
	void *arg;
	int limit, n, full;
	int64_t last, *next;
};

static int on_post(void *arg, const struct feed_row *row)
{
	struct page *p = arg;

	if (p->n == p->limit) {         /* the row after the page */
		*p->next = p->last;
		p->full = 1;
		return 1;
	}
	p->last = row->post_id;
	p->n++;
	return p->cb(p->arg, row);
}

int store_feed(struct store *s, const struct feed_query *q, feed_cb cb, void *arg,
	       int64_t *next)
{
	struct page p = { .cb = cb, .arg = arg, .limit = q->limit, .next = next };
	struct feed_query fq = *q;
	int rc;

	*next = 0;
	if (!fq.base_url)
		fq.base_url = "";
	rc = s->drv->feed_page(s, &fq, q->limit + 1, on_post, &p);
	return p.full ? 0 : rc;
}

int store_feed_version(struct store *s, int64_t *version)
{
	*version = 0;
	return s->drv->feed_version(s, version);
}

int store_feed_tags(struct store *s, const char *status, tag_cb cb, void *arg)
{
	return s->drv->feed_tags(s, status, cb, arg);
}

struct figures {
	int dead_limit;
	struct status_item *v;
	int n, alloc;
};

static char *dup0(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void figures_clear(struct figures *f)
{
	for (int i = 0; i < f->n; i++) {
		struct status_item *it = &f->v[i];

		free((char *)it->queue);
		free((char *)it->state);
		free((char *)it->profile);
		free((char *)it->media);
		free((char *)it->worker);
		free((char *)it->error);
		free((char *)it->at);
	}
	free(f->v);
	f->v = NULL;
	f->n = f->alloc = 0;
}

static int on_figure(void *arg, const struct status_item *it)
{
	struct figures *f = arg;
	struct status_item *c;

	if (f->n == f->alloc) {
		f->alloc = f->alloc ? f->alloc * 2 : 64;
		f->v = xrealloc(f->v, (size_t)f->alloc * sizeof(*f->v));
	}
	c = &f->v[f->n++];
	*c = *it;
	c->queue = dup0(it->queue);
	c->state = dup0(it->state);
	c->profile = dup0(it->profile);
	c->media = dup0(it->media);
	c->worker = dup0(it->worker);
	c->error = dup0(it->error);
	c->at = dup0(it->at);
	return 0;
}

static int status_body(struct store *s, void *arg)
{
	struct figures *f = arg;
	int rc = 0;

	figures_clear(f);
	for (int k = STATUS_JOBS; k <= STATUS_REPLICAS && !rc; k++)
		rc = s->drv->status_figure(s, (enum status_kind)k, f->dead_limit, on_figure, f);
	return rc;
}

int store_status(struct store *s, int dead_limit, status_cb cb, void *arg)
{
	struct figures f = { .dead_limit = dead_limit };
	int rc;

	if (!(rc = store_read_txn(s, status_body, &f)))
		for (int i = 0; i < f.n && !rc; i++)
			rc = cb(arg, &f.v[i]);
	figures_clear(&f);
	return rc;
}
