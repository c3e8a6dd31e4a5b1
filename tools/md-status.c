/*
 * md-status - where things stand.
 *
 * Without arguments: jobs by queue and state, the age of the oldest job
 * due in each queue, the running jobs with their worker and elapsed time,
 * the newest dead jobs, posts by status, and jobs finished over the last
 * minute and hour; as TSV records, one JSON object (--json) or Prometheus
 * text (--prom, for node_exporter's textfile collector).
 *
 * With post ids or media hashes: each post (as md-feed prints it) and the
 * jobs of its media.
 */
#include "cli.h"
#include "emit.h"
#include "exits.h"
#include "hash.h"
#include "log.h"
#include "rendition.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char synopsis[] =
	"usage: md-status [common options] [--prom] [--dead N] [--base-url URL]\n"
	"                 [ID | SHA256]...\n";

static const char operands[] =
	"  ID | SHA256           posts, or the posts of a media: each with its jobs\n";

enum { OPT_PROM = OPT_TOOL_BASE, OPT_DEAD, OPT_BASE_URL };

static const struct cli_option options[] = {
	{ OPT_PROM, "prom", NULL, "Prometheus text format (node_exporter textfile collector)" },
	{ OPT_DEAD, "dead", "N", "list the N newest dead jobs (default 10; 0: none)" },
	{ OPT_BASE_URL, "base-url", "URL", "make rendition URLs absolute (posts)" },
	CLI_OPTIONS_END
};

static struct cli cli;
static int prom, dead_limit = 10, dead_set, werr;
static char *base;

static int on_opt(void *ctx, int o, const char *arg)
{
	long long v;

	switch (o) {
	case OPT_PROM: prom = 1; break;
	case OPT_DEAD:
		if (parse_int(arg, 0, 10000, &v))
			usage_error(&cli, "bad --dead '%s': 0 to 10000", arg);
		dead_limit = (int)v;
		dead_set = 1;
		break;
	case OPT_BASE_URL:
		free(base);
		base = base_url_prefix(arg);
		break;
	default: return -1;
	}
	return 0;
}

/* ---------- the summary ---------- */

struct queue_fig {
	char *name;
	int64_t n[JOB_NSTATES], done_1m[JOB_NSTATES], done_1h[JOB_NSTATES];
	double oldest;          /* seconds; 0: nothing due */
};

struct summary {
	struct queue_fig *q;
	int nq;
	int64_t posts[POST_NSTATUSES];
	struct strbuf running, dead, workers;    /* records, as printed */
	int nrunning, ndead, nworkers, workers_live;
};

static struct queue_fig *queue_of(struct summary *s, const char *name)
{
	for (int i = 0; i < s->nq; i++)
		if (!strcmp(s->q[i].name, name))
			return &s->q[i];
	s->q = xrealloc(s->q, (s->nq + 1) * sizeof(*s->q));
	memset(&s->q[s->nq], 0, sizeof(*s->q));
	s->q[s->nq].name = xstrdup(name);
	return &s->q[s->nq++];
}

static void fmt_seconds(char *buf, size_t n, double s)
{
	xsnprintf(buf, n, "%.1f", s < 0 ? 0 : s);
}

/* A worker's record: kept until the end, like the running jobs. */
static void collect_worker(struct summary *s, const struct status_item *it)
{
	struct emit e;
	char secs[32];

	fmt_seconds(secs, sizeof(secs), it->seconds);
	emit_begin(&e, cli.json);
	if (!cli.json)
		emit_str(&e, "record", "worker");
	emit_str(&e, "worker", it->worker);
	emit_str(&e, "state", it->state);
	emit_str(&e, "queues", it->queue && *it->queue ? it->queue : "*");
	emit_int(&e, "slots", it->n);
	emit_int(&e, "running", it->id);
	emit_raw(&e, "heartbeat_age", secs, secs);
	emit_str(&e, "started_at", it->at);
	emit_str(&e, "version", it->profile);
	if (cli.json) {
		sb_addch(&e.sb, '}');
		if (s->nworkers)
			sb_addch(&s->workers, ',');
	} else {
		sb_addch(&e.sb, '\n');
	}
	s->nworkers++;
	s->workers_live += it->state && !strcmp(it->state, "running");
	sb_add(&s->workers, e.sb.buf, e.sb.len);
	sb_release(&e.sb);
}

static int collect(void *arg, const struct status_item *it)
{
	struct summary *s = arg;
	struct emit e;
	char secs[32];
	int k;

	switch (it->kind) {
	case STATUS_JOBS:
		if ((k = name_index(job_states, JOB_NSTATES, it->state)) < 0)
			break;
		struct queue_fig *qf = queue_of(s, it->queue);
		qf->n[k] = it->n;
		qf->done_1m[k] = it->done_1m;
		qf->done_1h[k] = it->done_1h;
		break;
	case STATUS_WAITING:
		queue_of(s, it->queue)->oldest = it->seconds;
		break;
	case STATUS_RUNNING:
	case STATUS_DEAD:
		emit_begin(&e, cli.json);
		if (!cli.json)
			emit_str(&e, "record", it->kind == STATUS_RUNNING ? "running" : "dead");
		emit_int(&e, "job_id", it->id);
		emit_str(&e, "queue", it->queue);
		emit_str(&e, "profile", it->profile);
		if (it->kind == STATUS_RUNNING) {
			fmt_seconds(secs, sizeof(secs), it->seconds);
			emit_str(&e, "worker", it->worker);
			emit_raw(&e, "elapsed", secs, secs);
			emit_str(&e, "media", it->media);
			if (it->progress >= 0) {
				char p[32];

				xsnprintf(p, sizeof(p), "%.3f", it->progress);
				emit_raw(&e, "progress", p, p);
			} else {
				emit_raw(&e, "progress", NULL, "");
			}
		} else {
			emit_str(&e, "media", it->media);
			emit_str(&e, "finished_at", it->at);
			emit_str(&e, "last_error", it->error);
		}
		/* kept until the end: TSV lines, or JSON array elements */
		struct strbuf *sb = it->kind == STATUS_RUNNING ? &s->running : &s->dead;
		int *n = it->kind == STATUS_RUNNING ? &s->nrunning : &s->ndead;
		if (cli.json) {
			sb_addch(&e.sb, '}');
			if ((*n)++)
				sb_addch(sb, ',');
		} else {
			sb_addch(&e.sb, '\n');
			(*n)++;
		}
		sb_add(sb, e.sb.buf, e.sb.len);
		sb_release(&e.sb);
		break;
	case STATUS_POSTS:
		if ((k = name_index(post_statuses, POST_NSTATUSES, it->state)) >= 0)
			s->posts[k] = it->n;
		break;
	case STATUS_WORKERS:
		collect_worker(s, it);
		break;
	}
	return 0;
}

static void out(const struct strbuf *sb)
{
	if (fwrite(sb->buf, 1, sb->len, stdout) != sb->len)
		werr = 1;
}

static void print_tsv(const struct summary *s)
{
	struct strbuf sb = STRBUF_INIT;
	int64_t t[2][2] = { { 0 } };

	for (int i = 0; i < s->nq; i++) {
		const struct queue_fig *q = &s->q[i];
		char secs[32];

		for (int k = 0; k < JOB_NSTATES; k++) {
			sb_adds(&sb, "jobs\t");
			tsv_add(&sb, q->name);
			sb_addf(&sb, "\t%s\t%lld\n", job_states[k], (long long)q->n[k]);
		}
		fmt_seconds(secs, sizeof(secs), q->oldest);
		sb_adds(&sb, "waiting\t");
		tsv_add(&sb, q->name);
		sb_addf(&sb, "\t%lld\t%s\n", (long long)q->n[0], secs);
		t[0][0] += q->done_1m[2];
		t[0][1] += q->done_1m[3];
		t[1][0] += q->done_1h[2];
		t[1][1] += q->done_1h[3];
	}
	out(&sb);
	out(&s->workers);
	out(&s->running);
	out(&s->dead);
	sb_reset(&sb);
	for (int k = 0; k < POST_NSTATUSES; k++)
		sb_addf(&sb, "posts\t%s\t%lld\n", post_statuses[k], (long long)s->posts[k]);
	sb_addf(&sb, "finished\t1m\t%lld\t%lld\n", (long long)t[0][0], (long long)t[0][1]);
	sb_addf(&sb, "finished\t1h\t%lld\t%lld\n", (long long)t[1][0], (long long)t[1][1]);
	out(&sb);
	sb_release(&sb);
}

static void print_json(const struct summary *s)
{
	struct strbuf sb = STRBUF_INIT;
	int64_t t[2][2] = { { 0 } };

	sb_adds(&sb, "{\"jobs\":{");
	for (int i = 0; i < s->nq; i++) {
		if (i)
			sb_addch(&sb, ',');
		json_add_str(&sb, s->q[i].name);
		sb_addch(&sb, ':');
		for (int k = 0; k < JOB_NSTATES; k++)
			sb_addf(&sb, "%c\"%s\":%lld", k ? ',' : '{', job_states[k],
				(long long)s->q[i].n[k]);
		sb_addch(&sb, '}');
		t[0][0] += s->q[i].done_1m[2];
		t[0][1] += s->q[i].done_1m[3];
		t[1][0] += s->q[i].done_1h[2];
		t[1][1] += s->q[i].done_1h[3];
	}
	sb_adds(&sb, "},\"oldest_waiting\":{");
	for (int i = 0; i < s->nq; i++) {
		char secs[32];

		fmt_seconds(secs, sizeof(secs), s->q[i].oldest);
		if (i)
			sb_addch(&sb, ',');
		json_add_str(&sb, s->q[i].name);
		sb_addf(&sb, ":%s", secs);
	}
	sb_adds(&sb, "},\"workers\":[");
	sb_add(&sb, s->workers.buf, s->workers.len);
	sb_adds(&sb, "],\"running\":[");
	sb_add(&sb, s->running.buf, s->running.len);
	sb_adds(&sb, "],\"dead\":[");
	sb_add(&sb, s->dead.buf, s->dead.len);
	sb_adds(&sb, "],\"posts\":{");
	for (int k = 0; k < POST_NSTATUSES; k++)
		sb_addf(&sb, "%s\"%s\":%lld", k ? "," : "", post_statuses[k],
			(long long)s->posts[k]);
	sb_addf(&sb, "},\"finished\":{\"1m\":{\"succeeded\":%lld,\"dead\":%lld},"
		"\"1h\":{\"succeeded\":%lld,\"dead\":%lld}}}\n",
		(long long)t[0][0], (long long)t[0][1], (long long)t[1][0], (long long)t[1][1]);
	out(&sb);
	sb_release(&sb);
}

/* A label value: backslash, double quote and newline escaped. */
static void prom_label(struct strbuf *sb, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			sb_addch(sb, '\\');
		if (*v == '\n')
			sb_adds(sb, "\\n");
		else
			sb_addch(sb, *v);
	}
}

static void prom_head(struct strbuf *sb, const char *name, const char *help)
{
	sb_addf(sb, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void print_prom(const struct summary *s)
{
	struct strbuf sb = STRBUF_INIT;

	prom_head(&sb, "memedroid_jobs", "Jobs in the job table, by queue and state.");
	for (int i = 0; i < s->nq; i++)
		for (int k = 0; k < JOB_NSTATES; k++) {
			sb_adds(&sb, "memedroid_jobs{queue=\"");
			prom_label(&sb, s->q[i].name);
			sb_addf(&sb, "\",state=\"%s\"} %lld\n", job_states[k], (long long)s->q[i].n[k]);
		}
	prom_head(&sb, "memedroid_oldest_waiting_seconds",
		  "Age of the oldest job due to run, by queue (0: none).");
	for (int i = 0; i < s->nq; i++) {
		char secs[32];

		fmt_seconds(secs, sizeof(secs), s->q[i].oldest);
		sb_adds(&sb, "memedroid_oldest_waiting_seconds{queue=\"");
		prom_label(&sb, s->q[i].name);
		sb_addf(&sb, "\"} %s\n", secs);
	}
	prom_head(&sb, "memedroid_jobs_finished",
		  "Jobs that finished over the window, by queue and outcome.");
	for (int w = 0; w < 2; w++)
		for (int i = 0; i < s->nq; i++)
			for (int k = 2; k <= 3; k++) {
				sb_adds(&sb, "memedroid_jobs_finished{queue=\"");
				prom_label(&sb, s->q[i].name);
				sb_addf(&sb, "\",state=\"%s\",window=\"%s\"} %lld\n", job_states[k],
					w ? "1h" : "1m",
					(long long)(w ? s->q[i].done_1h[k] : s->q[i].done_1m[k]));
			}
	prom_head(&sb, "memedroid_workers", "Workers whose heartbeat goes on.");
	sb_addf(&sb, "memedroid_workers %d\n", s->workers_live);
	prom_head(&sb, "memedroid_running_jobs", "Jobs running now.");
	sb_addf(&sb, "memedroid_running_jobs %d\n", s->nrunning);
	prom_head(&sb, "memedroid_posts", "Posts by status.");
	for (int k = 0; k < POST_NSTATUSES; k++)
		sb_addf(&sb, "memedroid_posts{status=\"%s\"} %lld\n", post_statuses[k],
			(long long)s->posts[k]);
	out(&sb);
	sb_release(&sb);
}

static int cmd_summary(struct store *db)
{
	struct summary s = { .running = STRBUF_INIT, .dead = STRBUF_INIT, .workers = STRBUF_INIT };
	int rc;

	/* --prom lists no jobs, but counts the running ones */
	rc = store_status(db, prom ? 0 : dead_limit, collect, &s);
	if (!rc) {
		if (prom)
			print_prom(&s);
		else if (cli.json)
			print_json(&s);
		else
			print_tsv(&s);
	}
	for (int i = 0; i < s.nq; i++)
		free(s.q[i].name);
	free(s.q);
	sb_release(&s.running);
	sb_release(&s.dead);
	sb_release(&s.workers);
	return rc;
}

/* ---------- posts ---------- */

struct post_ctx {
	struct store *db;
	int seen;
	int rc;
};

static int collect_job(void *arg, const struct job_info *j)
{
	struct strbuf *sb = arg;
	struct emit e;

	emit_begin(&e, cli.json);
	if (!cli.json)
		emit_str(&e, "record", "job");
	emit_int(&e, "job_id", j->id);
	emit_str(&e, "profile", j->profile);
	emit_str(&e, "queue", j->queue);
	emit_str(&e, "state", j->state);
	emit_int(&e, "attempts", j->attempts);
	emit_int(&e, "max_attempts", j->max_attempts);
	emit_str(&e, "last_error", j->last_error);
	if (cli.json) {
		if (sb->len)
			sb_addch(sb, ',');
		sb_addch(&e.sb, '}');
	} else {
		sb_addch(&e.sb, '\n');
	}
	sb_add(sb, e.sb.buf, e.sb.len);
	sb_release(&e.sb);
	return 0;
}

/* A "rendition" record (TSV): what md-feed's rendition_list shows. */
static int print_rendition(void *arg, const struct rendition_view *v)
{
	char num[32];
	struct emit e;

	emit_begin(&e, 0);
	emit_str(&e, "record", "rendition");
	emit_str(&e, "profile", v->profile);
	emit_str(&e, "url", v->url);
	emit_int(&e, "bytes", v->bytes);
	(void)snprintf(num, sizeof(num), "%ld", v->width);
	emit_str(&e, "width", v->width ? num : NULL);
	(void)snprintf(num, sizeof(num), "%ld", v->height);
	emit_str(&e, "height", v->height ? num : NULL);
	(void)snprintf(num, sizeof(num), "%.3f", v->duration);
	emit_str(&e, "duration", v->duration >= 0 ? num : NULL);
	(void)snprintf(num, sizeof(num), "%.0f", v->frames);
	emit_str(&e, "frames", v->frames >= 0 ? num : NULL);
	emit_str(&e, "placeholder", v->placeholder);
	werr |= emit_end(&e, stdout);
	return 0;
}

static int print_post(void *arg, const struct feed_row *r)
{
	struct post_ctx *c = arg;
	struct job_query jq = { .media = r->media };
	struct strbuf jobs = STRBUF_INIT;
	struct emit e;
	int rc;

	c->seen++;
	if ((rc = store_jobs(c->db, &jq, collect_job, &jobs)))
		goto out;
	emit_begin(&e, cli.json);
	if (!cli.json)
		emit_str(&e, "record", "post");
	emit_post_row(&e, r);
	if (cli.json) {
		sb_adds(&e.sb, ",\"jobs\":[");
		sb_add(&e.sb, jobs.buf, jobs.len);
		sb_addch(&e.sb, ']');
	}
	werr |= emit_end(&e, stdout);
	if (!cli.json) {
		rendition_each(r->rendition_list_json, print_rendition, NULL);
		out(&jobs);
	}
out:
	sb_release(&jobs);
	return rc;
}

static int cmd_posts(struct store *db, char **refs, int n)
{
	int nok = 0, nbad = 0, rc = 0;

	for (int i = 0; i < n && !rc; i++) {
		struct post_ctx c = { .db = db };
		struct feed_query fq = { .limit = 1000, .base_url = base ? base : "" };
		int64_t id, next = 0;

		if (ref_is_post_id(refs[i], &id)) {
			fq.post_ids = &id;
			fq.npost_ids = 1;
		} else {
			fq.media = refs[i];
		}
		/* every post of the media, page by page */
		do {
			next = 0;
			if ((rc = store_feed(db, &fq, print_post, &c, &next)))
				break;
			fq.before = next;
		} while (next);
		if (rc)
			break;
		if (c.seen) {
			nok++;
		} else {
			nbad++;
			logkv(LOG_ERROR, "no such post or media", "ref", refs[i], (char *)NULL);
		}
	}
	return rc ? rc : md_exit_for(nok, nbad);
}

int main(int argc, char **argv)
{
	int i = cli_start_table(&cli, argc, argv, "md-status", synopsis, operands, options,
				on_opt, NULL);
	struct store *db;
	int rc;

	for (int k = i; k < argc; k++) {
		int64_t id;
		if (!ref_is_post_id(argv[k], &id) && !hash_is_hex(argv[k]))
			usage_error(&cli, "'%s' is neither a post id nor a sha256", argv[k]);
	}
	if (prom && i < argc)
		usage_error(&cli, "--prom prints the summary: no post ids or hashes with it");
	if (prom && cli.json)
		usage_error(&cli, "--prom or --json, not both");
	if (dead_set && i < argc)
		usage_error(&cli, "--dead is for the summary: not with post ids or hashes");
	if (base && i >= argc)
		usage_error(&cli, "--base-url is for posts: give post ids or hashes");
	if ((rc = store_open(cli.conf.db_url, 0, &db)))
		return cli_finish(&cli, rc);
	rc = i < argc ? cmd_posts(db, argv + i, argc - i) : cmd_summary(db);
	store_close(db);
	free(base);
	if (!rc && werr)
		rc = MD_EXIT_IOERR;
	return cli_finish(&cli, rc);
}
