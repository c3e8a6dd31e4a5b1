/*
 * md-status - where things stand.
 *
 * Without arguments: jobs by queue and state, the age of the oldest job
 * due in each queue, the running jobs with their worker and elapsed time,
 * the newest dead jobs, posts by status, and jobs finished over the last
 * minute and hour; as TSV records, one JSON object (--json) or Prometheus
 * text (--prom, for node_exporter's textfile collector).
 *
 * With post ids or media hashes ('-': from stdin's lines, as md-ingest and
 * md-feed print them): each post (as md-feed prints it) and the jobs of
 * its media.
 *
 * --check: one line for a monitor (the Nagios/Icinga plugin
 * convention: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) against the
 * thresholds of --max-wait, --max-dead and --min-workers.
 */
#include "cli.h"
#include "emit.h"
#include "exits.h"
#include "hash.h"
#include "log.h"
#include "ref.h"
#include "rendition.h"
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char synopsis[] =
	"usage: md-status [common options] [--prom] [--dead N]\n"
	"       md-status [common options] --check [--max-wait WARN[,CRIT]]\n"
	"                 [--max-dead WARN[,CRIT]] [--min-workers WARN[,CRIT]]\n"
	"       md-status [common options] [--base-url URL] ID | SHA256... | -\n";

static const char operands[] =
	"  ID | SHA256           posts, or the posts of a media: each with its jobs\n"
	"  -                     the ids or hashes of stdin's lines (md-ingest, md-feed)\n";

enum { OPT_PROM = OPT_TOOL_BASE, OPT_DEAD, OPT_BASE_URL, OPT_CHECK, OPT_MAX_WAIT, OPT_MAX_DEAD,
       OPT_MIN_WORKERS };

static const struct cli_option options[] = {
	{ OPT_PROM, "prom", NULL, "Prometheus text format (node_exporter textfile collector)" },
	{ OPT_DEAD, "dead", "N", "list the N newest dead jobs (default 10; 0: none)" },
	{ OPT_CHECK, "check", NULL, "one line for monitoring; exit 0 OK, 1 WARNING, 2 CRITICAL, "
	  "3 UNKNOWN" },
	{ OPT_MAX_WAIT, "max-wait", "WARN[,CRIT]", "check: oldest job due waiting longer "
	  "(default 5m,30m)" },
	{ OPT_MAX_DEAD, "max-dead", "WARN[,CRIT]", "check: jobs dead in the last hour, at least "
	  "(default 1,10)" },
	{ OPT_MIN_WORKERS, "min-workers", "WARN[,CRIT]", "check: live workers, fewer than "
	  "(default 1,1)" },
	{ OPT_BASE_URL, "base-url", "URL", "make rendition URLs absolute (posts)" },
	CLI_OPTIONS_END
};

/* A threshold of --check: warning and critical levels */
struct limit {
	double warn, crit;
};

static struct cli cli;
static int prom, check, check_set, dead_limit = 10, dead_set, werr;
static struct limit max_wait = { 300, 1800 }, max_dead = { 1, 10 }, min_workers = { 1, 1 };
static char *base;

/* "WARN[,CRIT]" (one value: both), durations when dur, else counts; a
 * limit below which a figure is bad (below) has CRIT not above WARN */
static void parse_limit(const char *opt, const char *arg, int dur, int below, struct limit *l)
{
	char *comma = strchr(arg, ','), *w = xstrndup(arg, comma ? (size_t)(comma - arg) :
						       strlen(arg));
	const char *c = comma ? comma + 1 : w;
	long long v;
	int bad;

	if (dur)
		bad = parse_duration(w, &l->warn) || parse_duration(c, &l->crit);
	else
		bad = parse_int(w, 0, 1000000, &v) || (l->warn = (double)v, 0) ||
		      parse_int(c, 0, 1000000, &v) || (l->crit = (double)v, 0);
	free(w);
	if (bad || (below ? l->crit > l->warn : l->crit < l->warn))
		usage_error(&cli, "bad --%s '%s': WARN[,CRIT], %s", opt, arg, dur ?
			    "durations like 5m,30m, CRIT not below WARN" : below ?
			    "counts, CRIT not above WARN" : "counts, CRIT not below WARN");
	check_set = 1;
}

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
	case OPT_CHECK: check = 1; break;
	case OPT_MAX_WAIT: parse_limit("max-wait", arg, 1, 0, &max_wait); break;
	case OPT_MAX_DEAD: parse_limit("max-dead", arg, 0, 0, &max_dead); break;
	case OPT_MIN_WORKERS: parse_limit("min-workers", arg, 0, 1, &min_workers); break;
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

/* A standby of the PostgreSQL primary, or the standby itself */
struct replica_fig {
	char *name, *state;
	double lag;             /* seconds; -1: not known */
	int64_t bytes;          /* WAL not replayed yet; -1: not known */
};

/* A paused queue (md-job pause) */
struct pause_fig {
	char *queue, *by, *at;
	double seconds;
};

struct summary {
	struct queue_fig *q;
	int nq;
	struct pause_fig *p;
	int np;
	struct replica_fig *r;
	int nr;
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
	case STATUS_PAUSED:
		s->p = xrealloc(s->p, (s->np + 1) * sizeof(*s->p));
		s->p[s->np++] = (struct pause_fig){ xstrdup(it->queue), xstrdup(it->worker),
						    xstrdup(it->at), it->seconds };
		break;
	case STATUS_REPLICAS:
		s->r = xrealloc(s->r, (s->nr + 1) * sizeof(*s->r));
		s->r[s->nr++] = (struct replica_fig){ xstrdup(it->worker), xstrdup(it->state),
						      it->seconds, it->n };
		break;
	}
	return 0;
}

static int is_paused(const struct summary *s, const char *queue)
{
	for (int i = 0; i < s->np; i++)
		if (!strcmp(s->p[i].queue, queue))
			return 1;
	return 0;
}

/* Record i of a list ends: a TSV line, or a JSON array's element */
static void record_end(struct emit *e, struct strbuf *sb, int i)
{
	if (cli.json && i)
		sb_addch(sb, ',');
	sb_addch(&e->sb, cli.json ? '}' : '\n');
	sb_add(sb, e->sb.buf, e->sb.len);
	sb_release(&e->sb);
}

/* The paused queues' records, as TSV lines or a JSON array's elements */
static void paused_records(const struct summary *s, struct strbuf *sb)
{
	for (int i = 0; i < s->np; i++) {
		const struct pause_fig *p = &s->p[i];
		struct emit e;
		char secs[32];

		fmt_seconds(secs, sizeof(secs), p->seconds);
		emit_begin(&e, cli.json);
		if (!cli.json)
			emit_str(&e, "record", "paused");
		emit_str(&e, "queue", p->queue);
		emit_str(&e, "paused_by", p->by);
		emit_str(&e, "paused_at", p->at);
		emit_raw(&e, "age", secs, secs);
		record_end(&e, sb, i);
	}
}

/* The replicas' records, as TSV lines or a JSON array's elements */
static void replica_records(const struct summary *s, struct strbuf *sb)
{
	for (int i = 0; i < s->nr; i++) {
		const struct replica_fig *r = &s->r[i];
		struct emit e;
		char secs[32];

		fmt_seconds(secs, sizeof(secs), r->lag);
		emit_begin(&e, cli.json);
		if (!cli.json)
			emit_str(&e, "record", "replica");
		emit_str(&e, "replica", r->name);
		emit_str(&e, "state", r->state);
		if (r->lag >= 0)
			emit_raw(&e, "lag", secs, secs);
		else
			emit_raw(&e, "lag", NULL, "");
		if (r->bytes >= 0)
			emit_int(&e, "lag_bytes", r->bytes);
		else
			emit_raw(&e, "lag_bytes", NULL, "");
		record_end(&e, sb, i);
	}
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
	paused_records(s, &sb);
	out(&sb);
	out(&s->workers);
	sb_reset(&sb);
	replica_records(s, &sb);
	out(&sb);
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
	sb_adds(&sb, "},\"paused\":[");
	paused_records(s, &sb);
	sb_adds(&sb, "],\"workers\":[");
	sb_add(&sb, s->workers.buf, s->workers.len);
	sb_adds(&sb, "],\"replicas\":[");
	replica_records(s, &sb);
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
	prom_head(&sb, "memedroid_queue_paused", "Queues paused (md-job pause): 1 each.");
	for (int i = 0; i < s->np; i++) {
		sb_adds(&sb, "memedroid_queue_paused{queue=\"");
		prom_label(&sb, s->p[i].queue);
		sb_adds(&sb, "\"} 1\n");
	}
	prom_head(&sb, "memedroid_workers", "Workers whose heartbeat goes on.");
	sb_addf(&sb, "memedroid_workers %d\n", s->workers_live);
	prom_head(&sb, "memedroid_replica_lag_seconds",
		  "PostgreSQL standbys: seconds behind the primary in replaying its WAL.");
	for (int i = 0; i < s->nr; i++) {
		char secs[32];

		if (s->r[i].lag < 0)
			continue;
		fmt_seconds(secs, sizeof(secs), s->r[i].lag);
		sb_adds(&sb, "memedroid_replica_lag_seconds{replica=\"");
		prom_label(&sb, s->r[i].name);
		sb_addf(&sb, "\"} %s\n", secs);
	}
	prom_head(&sb, "memedroid_replica_lag_bytes",
		  "PostgreSQL standbys: bytes of WAL not replayed yet (where known).");
	for (int i = 0; i < s->nr; i++)
		if (s->r[i].bytes >= 0) {
			sb_adds(&sb, "memedroid_replica_lag_bytes{replica=\"");
			prom_label(&sb, s->r[i].name);
			sb_addf(&sb, "\"} %lld\n", (long long)s->r[i].bytes);
		}
	prom_head(&sb, "memedroid_running_jobs", "Jobs running now.");
	sb_addf(&sb, "memedroid_running_jobs %d\n", s->nrunning);
	prom_head(&sb, "memedroid_posts", "Posts by status.");
	for (int k = 0; k < POST_NSTATUSES; k++)
		sb_addf(&sb, "memedroid_posts{status=\"%s\"} %lld\n", post_statuses[k],
			(long long)s->posts[k]);
	out(&sb);
	sb_release(&sb);
}

/* ---------- --check ---------- */

enum { CHECK_OK, CHECK_WARNING, CHECK_CRITICAL, CHECK_UNKNOWN };
static const char *const check_names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

struct verdict {
	int code;
	struct strbuf why;      /* the findings, "; "-separated */
};

/* An age for people: 42s, 31m, 5h, 3d */
static void fmt_age(char *buf, size_t n, double s)
{
	if (s < 120)
		xsnprintf(buf, n, "%.0fs", s < 0 ? 0 : s);
	else if (s < 7200)
		xsnprintf(buf, n, "%.0fm", s / 60);
	else if (s < 172800)
		xsnprintf(buf, n, "%.0fh", s / 3600);
	else
		xsnprintf(buf, n, "%.0fd", s / 86400);
}

static void finding(struct verdict *v, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void finding(struct verdict *v, int level, const char *fmt, ...)
{
	va_list ap;

	if (level > v->code)
		v->code = level;
	if (v->why.len)
		sb_adds(&v->why, "; ");
	va_start(ap, fmt);
	sb_vaddf(&v->why, fmt, ap);
	va_end(ap);
}

/* The level a figure reaches: at least (or, when below, under) a limit;
 * a level of 0 is off */
static int level_of(double x, const struct limit *l, int below)
{
	if (l->crit > 0 && (below ? x < l->crit : x >= l->crit))
		return CHECK_CRITICAL;
	if (l->warn > 0 && (below ? x < l->warn : x >= l->warn))
		return CHECK_WARNING;
	return CHECK_OK;
}

/* The oldest wait of the queues not paused; *q its queue */
static double oldest_wait(const struct summary *s, const char **q)
{
	double oldest = 0;

	*q = NULL;
	for (int i = 0; i < s->nq; i++)
		if (s->q[i].oldest > oldest && !is_paused(s, s->q[i].name)) {
			oldest = s->q[i].oldest;
			*q = s->q[i].name;
		}
	return oldest;
}

static void judge(const struct summary *s, struct verdict *v, double oldest, const char *q,
		  int64_t dead)
{
	char a[32], b[32];
	int l;

	fmt_age(a, sizeof(a), oldest);
	fmt_age(b, sizeof(b), max_wait.warn);
	if ((l = oldest > max_wait.warn ? (oldest > max_wait.crit ? CHECK_CRITICAL : CHECK_WARNING) :
	     CHECK_OK))
		finding(v, l, "queue '%s': the oldest job due has waited %s (limit %s)", q, a,
			l == CHECK_CRITICAL ? (fmt_age(b, sizeof(b), max_wait.crit), b) : b);
	if ((l = level_of((double)dead, &max_dead, 0)))
		finding(v, l, "%lld job%s dead in the last hour", (long long)dead, dead == 1 ? "" : "s");
	if ((l = level_of(s->workers_live, &min_workers, 1)))
		finding(v, l, "%d live worker%s (fewer than %.0f)", s->workers_live,
			s->workers_live == 1 ? "" : "s", l == CHECK_CRITICAL ? min_workers.crit :
			min_workers.warn);
	for (int i = 0; i < s->np; i++) {
		fmt_age(a, sizeof(a), s->p[i].seconds);
		finding(v, CHECK_WARNING, "queue '%s' paused %s ago by %s", s->p[i].queue, a,
			s->p[i].by);
	}
}

/* The verdict's line (Nagios: STATUS: text | perfdata) or JSON object */
static void print_check(const struct summary *s, const struct verdict *v, double oldest,
			int64_t dead)
{
	struct strbuf sb = STRBUF_INIT;
	char a[32];

	fmt_age(a, sizeof(a), oldest);
	if (cli.json) {
		sb_adds(&sb, "{\"status\":");
		json_add_str(&sb, check_names[v->code]);
		sb_addf(&sb, ",\"code\":%d,\"message\":", v->code);
		json_add_str(&sb, v->why.len ? v->why.buf : "");
		sb_addf(&sb, ",\"oldest_wait\":%.1f,\"dead_1h\":%lld,\"workers\":%d,\"paused\":[",
			oldest, (long long)dead, s->workers_live);
		for (int i = 0; i < s->np; i++) {
			if (i)
				sb_addch(&sb, ',');
			json_add_str(&sb, s->p[i].queue);
		}
		sb_adds(&sb, "]}\n");
	} else {
		sb_addf(&sb, "memedroid %s: ", check_names[v->code]);
		if (v->why.len)
			sb_add(&sb, v->why.buf, v->why.len);
		else
			sb_addf(&sb, "%d live worker%s, oldest job due %s, %lld dead in the last hour",
				s->workers_live, s->workers_live == 1 ? "" : "s", a, (long long)dead);
		sb_addf(&sb, " | oldest_wait=%.1fs;%.0f;%.0f dead_1h=%lld;%.0f;%.0f "
			"workers=%d;%.0f:;%.0f:\n", oldest, max_wait.warn, max_wait.crit,
			(long long)dead, max_dead.warn, max_dead.crit, s->workers_live,
			min_workers.warn, min_workers.crit);
	}
	out(&sb);
	sb_release(&sb);
}

static int check_summary(const struct summary *s)
{
	struct verdict v = { CHECK_OK, STRBUF_INIT };
	int64_t dead = 0;
	const char *q;
	double oldest = oldest_wait(s, &q);
	int dk = name_index(job_states, JOB_NSTATES, "dead");

	for (int i = 0; i < s->nq && dk >= 0; i++)
		dead += s->q[i].done_1h[dk];
	judge(s, &v, oldest, q, dead);
	print_check(s, &v, oldest, dead);
	sb_release(&v.why);
	return v.code;
}

/* The verdict when there is none to give: what failed, and its exit */
static int check_unknown(const char *what, int rc)
{
	printf("memedroid UNKNOWN: %s (exit %d)\n", what, rc);
	return CHECK_UNKNOWN;
}

static int cmd_summary(struct store *db)
{
	struct summary s = { .running = STRBUF_INIT, .dead = STRBUF_INIT, .workers = STRBUF_INIT };
	int rc;

	/* --prom lists no jobs, but counts the running ones */
	rc = store_status(db, prom || check ? 0 : dead_limit, collect, &s);
	if (!rc) {
		if (check)
			rc = check_summary(&s);
		else if (prom)
			print_prom(&s);
		else if (cli.json)
			print_json(&s);
		else
			print_tsv(&s);
	} else if (check) {
		rc = check_unknown("cannot read the status", rc);
	}
	for (int i = 0; i < s.nq; i++)
		free(s.q[i].name);
	free(s.q);
	for (int i = 0; i < s.np; i++) {
		free(s.p[i].queue);
		free(s.p[i].by);
		free(s.p[i].at);
	}
	free(s.p);
	for (int i = 0; i < s.nr; i++) {
		free(s.r[i].name);
		free(s.r[i].state);
	}
	free(s.r);
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

static int cmd_posts(struct store *db, char **refs, int n, int nbad)
{
	int nok = 0, rc = 0;

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
	char **refs = argv + i;
	size_t nrefs = (size_t)(argc - i), cap = 0;
	int rc, nbad = 0, from_stdin = argc - i == 1 && !strcmp(argv[i], "-");

	for (int k = i; k < argc && !from_stdin; k++)
		if (!ref_valid(argv[k]))
			usage_error(&cli, "'%s' is neither a post id nor a sha256 ('-': from stdin)",
				    argv[k]);
	if (check && (prom || dead_set || i < argc))
		usage_error(&cli, "--check prints its own line: not with --prom, --dead or posts");
	if (check_set && !check)
		usage_error(&cli, "--max-wait, --max-dead and --min-workers are for --check");
	if (prom && i < argc)
		usage_error(&cli, "--prom prints the summary: no post ids or hashes with it");
	if (prom && cli.json)
		usage_error(&cli, "--prom or --json, not both");
	if (dead_set && i < argc)
		usage_error(&cli, "--dead is for the summary: not with post ids or hashes");
	if (base && i >= argc)
		usage_error(&cli, "--base-url is for posts: give post ids or hashes");
	if (from_stdin) {
		refs = NULL;
		nrefs = 0;
		nbad = (int)ref_read(stdin, 0, &refs, &nrefs, &cap);
	}
	if ((rc = store_open(cli.conf.db_url, 0, &db))) {
		if (check)
			rc = check_unknown("cannot open the database", rc);
		return cli_finish(&cli, rc);
	}
	rc = i < argc ? cmd_posts(db, refs, (int)nrefs, nbad) : cmd_summary(db);
	store_close(db);
	free(base);
	if (from_stdin) {
		for (size_t k = 0; k < nrefs; k++)
			free(refs[k]);
		free(refs);
	}
	if (!rc && werr)
		rc = MD_EXIT_IOERR;
	return cli_finish(&cli, rc);
}
