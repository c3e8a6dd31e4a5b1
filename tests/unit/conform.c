/*
 * conform - the store drivers' conformance suite, TAP output.
 *
 *	conform URL
 *
 * Runs the same scenarios, with the same assertions, against whichever
 * driver URL selects (store.h): every primitive of the driver table in
 * store_int.h is called on a real database and what it did is read back
 * through other primitives or the public store API.  URL must name an
 * empty database (a fresh SQLite file, or a PostgreSQL database just
 * made by createdb); tests/16-store-conform.t runs it on both.
 *
 * Nothing waits on time: an expired lease is a lease given in the past
 * (a negative lease), a retry later is a run_at in the future, and an
 * age of 0 makes anything written before now old enough for the janitor
 * (after a tick of the clock: see tick).  The removal primitives
 * (md-post del, md-user del, md-job drop) run last.
 */
#include "exits.h"
#include "rendition.h"
#include "source.h"
#include "store.h"
#include "store_int.h"
#include "strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int ntests, failed;
static struct store *S;
static const struct store_driver *D;

static void ok(int cond, const char *name)
{
	ntests++;
	if (!cond)
		failed++;
	printf("%sok %d - %s: %s\n", cond ? "" : "not ", ntests, D ? D->name : "store", name);
}

static void is_int(int64_t got, int64_t want, const char *name)
{
	ok(got == want, name);
	if (got != want)
		printf("#   got: %lld\n#   want: %lld\n", (long long)got, (long long)want);
}

static void is_str(const char *got, const char *want, const char *name)
{
	int c = got && want ? !strcmp(got, want) : got == want;

	ok(c, name);
	if (!c)
		printf("#   got: '%s'\n#   want: '%s'\n", got ? got : "(null)",
		       want ? want : "(null)");
}

static void has(const char *hay, const char *needle, const char *name)
{
	ok(hay && strstr(hay, needle), name);
	if (!hay || !strstr(hay, needle))
		printf("#   got: '%s'\n#   missing: '%s'\n", hay ? hay : "(null)", needle);
}

static char *dup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* ---- reading back ---- */

struct jrow {
	int found;
	char state[16], profile[32], queue[32];
	int priority, attempts, max_attempts;
	int leased, finalized, locked;
	char error[128];
};

static int jrow_cb(void *arg, const struct job_info *j)
{
	struct jrow *r = arg;

	r->found = 1;
	(void)snprintf(r->state, sizeof(r->state), "%s", j->state);
	(void)snprintf(r->profile, sizeof(r->profile), "%s", j->profile);
	(void)snprintf(r->queue, sizeof(r->queue), "%s", j->queue);
	(void)snprintf(r->error, sizeof(r->error), "%s", j->last_error ? j->last_error : "");
	r->priority = j->priority;
	r->attempts = j->attempts;
	r->max_attempts = j->max_attempts;
	r->leased = j->lease_until != NULL;
	r->finalized = j->finalized_at != NULL;
	r->locked = j->locked_by != NULL;
	return 0;
}

static struct jrow job_get(int64_t id)
{
	struct jrow r = { 0 };
	struct job_query q = { .ids = &id, .nids = 1 };

	if (D->jobs(S, &q, jrow_cb, &r))
		r.found = -1;
	return r;
}

static int count_cb(void *arg, const struct job_info *j)
{
	(void)j;
	++*(int *)arg;
	return 0;
}

static int jobs_of(const char *media)
{
	int n = 0;
	struct job_query q = { .media = media };

	return D->jobs(S, &q, count_cb, &n) ? -1 : n;
}

struct frow {
	int n;
	char status[16], caption[32];
	char *tags, *renditions, *error, *list;
	char traces[2][33];     /* the first two rows' trace ids, by post id */
	int64_t ids[2];
};

static int frow_cb(void *arg, const struct feed_row *row)
{
	struct frow *f = arg;

	if (f->n < 2) {
		f->ids[f->n] = row->post_id;
		(void)snprintf(f->traces[f->n], sizeof(f->traces[0]), "%s",
			       row->trace_id ? row->trace_id : "");
	}
	f->n++;
	(void)snprintf(f->status, sizeof(f->status), "%s", row->status);
	(void)snprintf(f->caption, sizeof(f->caption), "%s", row->caption ? row->caption : "");
	free(f->tags);
	free(f->renditions);
	free(f->error);
	f->tags = dup0(row->tags_json);
	f->renditions = dup0(row->renditions_json);
	f->error = dup0(row->error);
	free(f->list);
	f->list = dup0(row->rendition_list_json);
	return 0;
}

static struct frow feed_of(const char *media)
{
	struct frow f = { 0 };
	struct feed_query q = { .media = media, .limit = 10, .base_url = "" };
	if (D->feed_page(S, &q, 10, frow_cb, &f))
		f.n = -1;
	return f;
}

static void frow_free(struct frow *f)
{
	free(f->tags);
	free(f->renditions);
	free(f->error);
	free(f->list);
}

static int64_t feed_version(void)
{
	int64_t v = -1;

	return D->feed_version(S, &v) ? -1 : v;
}

/* ---- fixtures ---- */

static struct profile P_THUMB = { .name = "thumb", .kinds = MD_KIND_ALL, .queue = "q1" };

static struct media_info media(char c)
{
	struct media_info m = {
		.kind = MD_KIND_IMAGE, .mime = "image/png", .format = "png_pipe", .ext = "png",
		.bytes = 100, .width = 10, .height = 10, .probe_json = "{}",
	};

	memset(m.sha, c, 64);
	m.sha[64] = '\0';
	return m;
}

/* A post of a new media (c), without jobs. */
static int64_t post(char c)
{
	struct media_info m = media(c);
	struct ingest_req rq = { .media = &m, .user = "ann", .caption = "x",
				 .trace_id = "0123456789abcdef0123456789abcdef" };
	struct ingest_res rs;

	if (store_ingest(S, &rq, &rs))
		return -1;
	return rs.post_id;
}

struct enq {
	int64_t id;
	char state[16];
};

static void enq_cb(void *arg, const char *ref, int64_t job_id, const char *media,
		   const char *profile, const char *queue, const char *state, const char *reason)
{
	struct enq *e = arg;

	(void)ref, (void)media, (void)profile, (void)queue, (void)reason;
	e->id = job_id;
	(void)snprintf(e->state, sizeof(e->state), "%s", state);
}

/* A thumb job of a new media (c) on queue q; its id. */
static int64_t job_new(char c, const char *queue, int priority, double run_at, int max_attempts)
{
	struct media_info m = media(c);
	const struct profile *pp[] = { &P_THUMB };
	struct enqueue_opts o = {
		.profiles = pp, .nprofiles = 1, .priority = priority, .run_at = run_at,
		.max_attempts = max_attempts, .default_attempts = 3, .queue = queue,
	};
	char *ref[] = { m.sha };
	struct enq e = { -1, "" };

	if (post(c) < 0 || store_enqueue(S, ref, 1, &o, enq_cb, &e) || strcmp(e.state, "available"))
		return -1;
	return e.id;
}

/* The last claim of each job claim1 claimed: its run and attempts. */
static struct job claims[64];
static int nclaims;

static struct job last_claim(int64_t id)
{
	for (int i = nclaims - 1; i >= 0; i--)
		if (claims[i].id == id)
			return claims[i];
	return (struct job){ .id = id };
}

static struct fence run_of(int64_t id)
{
	struct job j = last_claim(id);

	return (struct fence){ j.id, j.claim };
}

/* store_job_fail of the job's last run: new_state "" unless the row changed. */
static int jfail(int64_t id, const char *err, int permanent, double delay, char st[16])
{
	struct job j = last_claim(id);

	return store_job_fail(S, &j, err, permanent, delay, st);
}

/* Whether claim1's job came with its media's source (source.h). */
static int claim1_source;

/* Claim at most one job of queue q for worker w with lease; its id, 0 if none. */
static int64_t claim1(const char *w, const char *queue, double lease)
{
	char *qs[] = { (char *)queue };
	struct job *jv = NULL;
	int n = 0;
	int64_t id;

	if (D->claim(S, w, qs, 1, 1, lease, &jv, &n))
		return -1;
	id = n ? jv[0].id : 0;
	claim1_source = n && jv[0].source;
	if (n && nclaims < 64)
		claims[nclaims++] = (struct job){ .id = jv[0].id, .claim = jv[0].claim,
						  .attempts = jv[0].attempts,
						  .max_attempts = jv[0].max_attempts };
	for (int i = 0; i < n; i++)
		job_free(&jv[i]);
	free(jv);
	return id;
}

/* ---- migrations and the schema gate ---- */

static void applied_cb_n(void *arg, int version, const char *at)
{
	(void)version;
	if (at)
		++*(int *)arg;
}

static int applied_count(void)
{
	int n = 0;

	return D->migrations_applied(S, applied_cb_n, &n) ? -1 : n;
}

static void t_migrate(const char *url)
{
	int v = -1, n = -1, want;

	is_int(store_open(url, STORE_CREATE | STORE_NO_SCHEMA, &S), 0, "open an empty database");
	if (!S)
		exit(1);
	D = S->drv;
	want = D->migrations[*D->nmigrations - 1].version;
	is_int(D->schema_version(S, &v), 1, "schema_version: no schema_migrations table yet");
	is_int(applied_count(), 0, "migrations_applied: none on an empty database");
	is_int(store_migrate(S, &n), 0, "migrate an empty database");
	is_int(n, *D->nmigrations, "every migration applied");
	is_int(D->schema_version(S, &v), 0, "schema_version after migrating");
	is_int(v, want, "schema_version is the last migration's");
	is_int(store_schema_wanted(S), want, "the version wanted is the last migration's");
	is_int(applied_count(), *D->nmigrations, "migrations_applied lists each");
	is_int(store_migrate(S, &n), 0, "migrate again");
	is_int(n, 0, "nothing is applied twice");
	store_close(S);
	S = NULL;
	is_int(store_open(url, 0, &S), 0, "a migrated database passes the schema gate");
	if (!S)
		exit(1);
	D = S->drv;
}

/* ---- users ---- */

struct uw {
	enum user_op op;
	const char *name, *email, *hash;
	int64_t exists, taken, posts, id;
};

static int uw_body(struct store *s, void *arg)
{
	struct uw *u = arg;
	int rc;

	if (D->users_lock && (rc = D->users_lock(s)))
		return rc;
	if ((rc = D->user_facts(s, u->name, u->email, &u->exists, &u->taken, &u->posts)))
		return rc;
	return D->user_write(s, u->op, u->name, u->email, u->hash);
}

static int facts_body(struct store *s, void *arg)
{
	struct uw *u = arg;

	return D->user_facts(s, u->name, u->email, &u->exists, &u->taken, &u->posts);
}

static int uid_body(struct store *s, void *arg)
{
	struct uw *u = arg;

	return D->user_id(s, u->name, &u->id);
}

struct urow {
	int n;
	char names[64], email[32], hash[32];
};

static int urow_cb(void *arg, const struct user_info *u)
{
	struct urow *r = arg;
	size_t l = strlen(r->names);

	r->n++;
	(void)snprintf(r->names + l, sizeof(r->names) - l, "%s ", u->name);
	(void)snprintf(r->email, sizeof(r->email), "%s", u->email ? u->email : "");
	(void)snprintf(r->hash, sizeof(r->hash), "%s", u->password_hash ? u->password_hash : "");
	return 0;
}

static struct urow users(const char *name)
{
	struct urow r = { 0 };

	if (D->users(S, name, urow_cb, &r))
		r.n = -1;
	return r;
}

static void t_users(void)
{
	struct uw u = { .op = USER_ADD, .name = "bea", .email = "bea@example.org", .hash = "h1" };
	struct urow r;
	int64_t id;

	is_int(store_txn(S, uw_body, &u), 0, "users_lock, user_facts, user_write(add)");
	is_int(u.exists, 0, "user_facts: a new name does not exist");
	r = users("bea");
	is_int(r.n, 1, "users: the added user");
	is_str(r.email, "bea@example.org", "users: the email written");
	is_str(r.hash, "h1", "users: the hash written");
	u = (struct uw){ .op = USER_PASSWD, .name = "bea", .email = "bea@example.com", .hash = "h2" };
	is_int(store_txn(S, uw_body, &u), 0, "user_write(passwd)");
	ok(u.exists == 1 && u.taken == 0 && u.posts == 0,
	   "user_facts: exists, own email not taken, no posts");
	r = users("bea");
	ok(!strcmp(r.hash, "h2") && !strcmp(r.email, "bea@example.com"),
	   "passwd sets the hash and the email");
	u = (struct uw){ .name = "bea" };
	is_int(store_txn(S, uid_body, &u), 0, "user_id of an existing user");
	id = u.id;
	is_int(store_txn(S, uid_body, &u), 0, "user_id again");
	ok(id > 0 && u.id == id, "user_id is stable");
	u = (struct uw){ .name = "ann" };
	is_int(store_txn(S, uid_body, &u), 0, "user_id of a new name adds it");
	ok(u.id > 0 && u.id != id, "the new user has its own id");
	r = users(NULL);
	is_str(r.names, "ann bea ", "users: every user, by name");
	u = (struct uw){ .op = USER_DEL, .name = "bea" };
	is_int(store_txn(S, uw_body, &u), 0, "user_write(del)");
	is_int(users("bea").n, 0, "the deleted user is gone");
	u = (struct uw){ .op = USER_ADD, .name = "dan", .email = "dan@example.org", .hash = "h" };
	is_int(store_txn(S, uw_body, &u), 0, "add a user with an email");
	u = (struct uw){ .name = "carl", .email = "dan@example.org" };
	is_int(store_txn(S, facts_body, &u), 0, "user_facts of a new name, another's email");
	ok(u.exists == 0 && u.taken == 1, "user_facts: another's email is taken");
}

/* ---- transactions ---- */

struct rb {
	int ret;
};

static int rb_body(struct store *s, void *arg)
{
	int rc = D->user_write(s, USER_ADD, "eve", NULL, "h");

	return rc ? rc : ((struct rb *)arg)->ret;
}

static void t_txn(void)
{
	struct rb r = { STORE_ROLLBACK };

	is_int(store_txn(S, rb_body, &r), 0, "begin, a write, rollback (a refusal)");
	is_int(users("eve").n, 0, "rollback undid the write");
	r.ret = MD_EXIT_SOFTWARE;
	is_int(store_txn(S, rb_body, &r), MD_EXIT_SOFTWARE, "a failing body's exit code");
	is_int(users("eve").n, 0, "its write is rolled back");
	r.ret = 0;
	is_int(store_txn(S, rb_body, &r), 0, "begin, a write, commit");
	is_int(users("eve").n, 1, "commit kept the write");
}

/* ---- media, posts and their jobs (an ingest's steps) ---- */

static char MEDIA_A[65];
static int64_t POST_A;

struct ing {
	struct media_info m;
	int is_new, added;
	int64_t owner, post;
};

static int ing_body(struct store *s, void *arg)
{
	struct ing *g = arg;
	struct new_job v[] = { { "thumb", "q1", 3 }, { "mp4", "q2", 3 } };
	char *tags[] = { "cat", "dog" };
	int rc;

	if ((rc = D->media_add(s, &g->m, &g->is_new)) || (rc = D->user_id(s, "ann", &g->owner)))
		return rc;
	if ((rc = D->post_add(s, g->owner, g->m.sha, "a cat", "pending", NULL,
			      "0123456789abcdef0123456789abcdef", &g->post)))
		return rc;
	if ((rc = D->tags_add(s, g->post, tags, 2)))
		return rc;
	if ((rc = D->jobs_add_missing(s, g->m.sha, v, 2, "0123456789abcdef0123456789abcdef",
				      &g->added)))
		return rc;
	return D->feed_bump(s);
}

struct verdict {
	const char *media;
	int64_t jobs, unfinalized;
	char *dead;
};

static int verdict_body(struct store *s, void *arg)
{
	struct verdict *v = arg;

	free(v->dead);
	v->dead = NULL;
	return D->media_verdict(s, v->media, &v->jobs, &v->unfinalized, &v->dead);
}

static void t_ingest(void)
{
	struct ing g = { .m = media('a') };
	struct verdict v = { .media = g.m.sha };
	struct frow f;
	int64_t fv = feed_version();

	/* what the ingest's probe keeps for the worker (source.h) */
	g.m.probe_json = "{\"format\":\"png_pipe\",\"source\":{\"duration\":0.5,"
		"\"bit_rate\":1234567,\"video_codec\":\"png\",\"profile\":\"\","
		"\"pix_fmt\":\"rgb24\",\"color_range\":\"pc\",\"color_transfer\":\"\","
		"\"width\":10,\"height\":10,\"coded_width\":16,\"coded_height\":12,"
		"\"sar\":[4,3],\"rotation\":-90,\"fps\":29.970029970029969,"
		"\"max_fps\":30,\"audio_codec\":null,\"channels\":0}}";

	memcpy(MEDIA_A, g.m.sha, 65);
	is_int(D->media_exists(S, g.m.sha), 0, "media_exists: not yet");
	is_int(store_txn(S, ing_body, &g), 0, "media_add, user_id, post_add, tags_add, "
	       "jobs_add_missing, feed_bump");
	POST_A = g.post;
	ok(g.is_new == 1 && g.added == 2 && g.post > 0, "a new media, a post, two jobs");
	is_int(D->media_exists(S, g.m.sha), 1, "media_exists: now");
	ok(feed_version() > fv, "feed_bump moved the feed version");
	f = feed_of(g.m.sha);
	ok(f.n == 1 && !strcmp(f.status, "pending") && !strcmp(f.caption, "a cat"),
	   "feed: the post, pending, its caption");
	has(f.tags, "cat", "feed: its tags (cat)");
	has(f.tags, "dog", "feed: its tags (dog)");
	frow_free(&f);
	is_int(store_txn(S, ing_body, &g), 0, "the same steps again");
	ok(g.is_new == 0 && g.added == 0, "media_add: exists; jobs_add_missing: none missing");
	is_int(jobs_of(g.m.sha), 2, "jobs: two jobs of the media");
	is_int(store_txn(S, verdict_body, &v), 0, "media_verdict");
	ok(v.jobs == 2 && v.unfinalized == 2 && !v.dead, "media_verdict: 2 jobs, unfinalized, none dead");
	free(v.dead);
}

struct pof {
	const char *user, *media;
	struct post_found p;
};

static int pof_body(struct store *s, void *arg)
{
	struct pof *f = arg;

	return D->post_of(s, f->user, f->media, &f->p);
}

/* After t_ingest: ann has two posts of media A, POST_A the first. */
static void t_post_of(void)
{
	struct pof f = { .user = "ann", .media = MEDIA_A };
	struct media_info b = media('b');

	is_int(store_txn(S, pof_body, &f), 0, "post_of in a write transaction");
	ok(f.p.id == POST_A && !strcmp(f.p.status, "pending") && f.p.kind == MD_KIND_IMAGE,
	   "post_of: the user's oldest post of the media, its status, the media's kind");
	f.p.id = -1;
	is_int(store_read_txn(S, pof_body, &f), 0, "post_of in a read transaction");
	is_int(f.p.id, POST_A, "post_of: the same in a read");
	f.user = "nobody";
	is_int(store_txn(S, pof_body, &f), 0, "post_of of a user who does not exist");
	is_int(f.p.id, 0, "post_of: none for a user who does not exist");
	is_int(users("nobody").n, 0, "post_of adds no user");
	f.user = "ann";
	f.media = b.sha;
	is_int(store_txn(S, pof_body, &f), 0, "post_of of a media the user did not post");
	ok(f.p.id == 0 && !*f.p.status, "post_of: none, and nothing else filled");
}

/* ---- finalize steps ---- */

struct fin {
	char media[65], ext[16];
	int found, stale;
	char *dead;
	struct finalized f;
};

static void fin_picked(void *arg, const char *media, int64_t id, const char *ext)
{
	struct fin *z = arg;

	if (z->found++)
		return;
	xsnprintf(z->media, sizeof(z->media), "%s", media);
	xsnprintf(z->ext, sizeof(z->ext), "%s", ext);
}

static void fin_stale(void *arg, const char *media, int64_t id, const char *text)
{
	((struct fin *)arg)->stale++;
}

static void fin_dead(void *arg, const char *media, int64_t id, const char *why)
{
	struct fin *z = arg;

	free(z->dead);
	z->dead = !strcmp(media, z->media) ? strdup(why) : strdup("another media");
}

static void fin_settled(void *arg, const char *media, int64_t id, const char *status,
			const char *trace)
{
	struct finalized *f = &((struct fin *)arg)->f;

	if (strcmp(media, f->media))
		return;
	f->post_ids = xrealloc(f->post_ids, (f->nposts + 1) * sizeof(*f->post_ids));
	f->post_status = xrealloc(f->post_status, (f->nposts + 1) * sizeof(*f->post_status));
	f->post_trace = xrealloc(f->post_trace, (f->nposts + 1) * sizeof(*f->post_trace));
	f->post_ids[f->nposts] = id;
	f->post_status[f->nposts] = strdup(status);
	f->post_trace[f->nposts++] = strdup(trace);
}

static int lock_body(struct store *s, void *arg)
{
	struct fin *z = arg;
	char *media[1] = { z->media };

	z->stale = 0;
	return D->finalize_lock(s, media, 1, fin_stale, z);
}

/* The batch primitives in md-finalize's order, on a batch of one media. */
static int fin_body(struct store *s, void *arg)
{
	struct fin *z = arg;
	char *media[1] = { z->media }, *status[1], *err[1];
	int rc;

	free(z->dead);
	z->dead = NULL;
	finalized_release(&z->f);
	z->found = z->stale = 0;
	if ((rc = D->finalize_pick(s, 8, 4, fin_picked, z)) || !z->found)
		return rc;
	if (D->finalize_lock && (rc = D->finalize_lock(s, media, 1, fin_stale, z)))
		return rc;
	if ((rc = D->renditions_register(s, media, 1)) ||
	    (rc = D->dead_round(s, media, 1, fin_dead, z)))
		return rc;
	status[0] = z->dead ? "failed" : "completed";
	err[0] = z->dead;
	xsnprintf(z->f.media, sizeof(z->f.media), "%s", z->media);
	if ((rc = D->posts_settle(s, media, status, err, 1, fin_settled, z)))
		return rc;
	if (z->f.nposts == 2 && z->f.post_ids[0] > z->f.post_ids[1]) {
		int64_t t = z->f.post_ids[0];
		z->f.post_ids[0] = z->f.post_ids[1];
		z->f.post_ids[1] = t;
	}
	return D->jobs_stamp(s, media, 1);
}

static void t_finalize(void)
{
	char *qs[] = { "q1", "q2" };
	struct job *jv = NULL;
	int n = 0, a = 0;
	char st[16];
	struct fin z = { .found = -1 };
	struct verdict v = { .media = MEDIA_A };
	struct frow f;

	is_int(D->claim(S, "w0", qs, 2, 5, 60, &jv, &n), 0, "claim both jobs of the media");
	is_int(n, 2, "two jobs claimed");
	if (n != 2)
		return;
	ok(!strcmp(jv[0].media, MEDIA_A) && !strcmp(jv[0].profile, "thumb") &&
	   !strcmp(jv[0].queue, "q1") && !strcmp(jv[1].profile, "mp4") && !strcmp(jv[1].queue, "q2"),
	   "claim: each job's media, profile and queue, by id");
	ok(!strcmp(jv[0].ext, "png") && !strcmp(jv[0].format, "png_pipe") &&
	   jv[0].kind == MD_KIND_IMAGE && jv[0].attempts == 1 && jv[0].max_attempts == 3 &&
	   !strcmp(jv[0].trace_id, "0123456789abcdef0123456789abcdef"),
	   "claim: the media's format, extension and kind, attempts, the trace id");
	ok(jv[0].claim == 1 && jv[1].claim == 1, "claim: the first claim of each job");
	struct source src;
	ok(!source_from_json(jv[0].source, &src) && src.bit_rate == 1234567 &&
	   !strcmp(src.pix_fmt, "rgb24") && src.coded_width == 16 && src.coded_height == 12 &&
	   src.sar_num == 4 && src.sar_den == 3 && src.rotation == -90 &&
	   src.fps == 30000.0 / 1001 && src.max_fps == 30 && !src.has_audio,
	   "claim: what the media's probe kept of the source, exactly");
	is_int(store_job_succeed(S, &(struct fence){ jv[0].id, jv[0].claim },
				 "{\"key\":\"m/thumb.png\",\"bytes\":10}", &a), 0, "job_succeed");
	is_int(store_job_fail(S, &jv[1], "no codec", 1, 0, st), 0, "job_fail, permanent");
	is_str(st, "dead", "a permanent failure is dead");
	is_int(store_txn(S, fin_body, &z), 0, "finalize_pick, finalize_lock, renditions_register, "
	       "dead_round, posts_settle, jobs_stamp");
	ok(z.found == 1 && !strcmp(z.media, MEDIA_A) && !strcmp(z.ext, "png"),
	   "finalize_pick: the media with no job left to run, its extension");
	is_int(z.stale, 0, "finalize_lock: its jobs are all terminal still");
	has(z.dead, "mp4: no codec", "dead_round: the dead profile's reason");
	ok(z.f.nposts == 2 && z.f.post_ids[0] == POST_A && !strcmp(z.f.post_status[0], "failed") &&
	   !strcmp(z.f.post_status[1], "failed"), "posts_settle: both posts, failed, by id");
	ok(job_get(jv[0].id).finalized && job_get(jv[1].id).finalized, "jobs_stamp: both finalized");
	f = feed_of(MEDIA_A);
	ok(f.n == 2 && !strcmp(f.status, "failed"), "feed: the posts are failed");
	{
		int first = f.ids[0] == z.f.post_ids[0] ? 0 : 1;

		ok(z.f.nposts == 2 && !strcmp(z.f.post_trace[0], f.traces[first]) &&
		   !strcmp(z.f.post_trace[1], f.traces[1 - first]) && trace_id_valid(f.traces[0]),
		   "posts_settle: each post's trace id");
	}
	has(f.error, "no codec", "feed: with the reason");
	has(f.renditions, "m/thumb.png", "renditions_register: the succeeded job's key");
	struct strbuf shown = STRBUF_INIT;
	char *ph;
	rendition_list(f.list, &shown, &ph);
	is_str(shown.buf, "[{\"profile\":\"thumb\",\"url\":\"m/thumb.png\",\"bytes\":10}]",
	       "feed: every rendition with its URL and bytes, the metadata readable");
	free(ph);
	sb_release(&shown);
	frow_free(&f);
	is_int(store_txn(S, verdict_body, &v), 0, "media_verdict after finalizing");
	ok(v.jobs == 2 && v.unfinalized == 0, "media_verdict: 2 jobs, none unfinalized");
	has(v.dead, "mp4: no codec", "media_verdict: the dead profile");
	free(v.dead);
	is_int(store_txn(S, fin_body, &z), 0, "finalize_pick again");
	is_int(z.found, 0, "finalize_pick: nothing left");
	if (D->finalize_lock) {
		xsnprintf(z.media, sizeof(z.media), "%s", MEDIA_A);
		is_int(store_txn(S, lock_body, &z), 0, "finalize_lock of a finalized media");
		is_int(z.stale, 1, "finalize_lock: a media with no unfinalized job is no longer ready");
	}
	free(z.dead);
	finalized_release(&z.f);
	for (int i = 0; i < n; i++)
		job_free(&jv[i]);
	free(jv);
}

/* ---- the hook outbox ---- */

struct hk {
	const int64_t *posts;
	char **keys;
	int n;
	double lease, delay;
	struct hook_call c;
	int found;
	int64_t id;
	int attempts;
};

static int hook_add_body(struct store *s, void *arg)
{
	struct hk *h = arg;

	char *status[] = { "completed", "completed" };

	return D->hook_add(s, h->posts, h->keys, status, h->n);
}

static int hook_claim_body(struct store *s, void *arg)
{
	struct hk *h = arg;

	memset(&h->c, 0, sizeof(h->c));
	h->found = 0;
	return D->hook_claim(s, h->lease, &h->c, &h->found);
}

static int hook_settle_body(struct store *s, void *arg)
{
	struct hk *h = arg;

	return D->hook_settle(s, h->id, h->attempts, h->delay, "exit 1");
}

/* Claim the due row with lease: its post id, 0 if none; *attempts its claims. */
static int64_t hook_claim1(double lease, int *attempts)
{
	struct hk h = { .lease = lease };

	if (store_txn(S, hook_claim_body, &h))
		return -1;
	*attempts = h.c.attempts;
	return h.found ? h.c.post_id : 0;
}

static int hook_settle1(struct hook_call *c, int attempts, double delay)
{
	struct hk h = { .id = c->id, .attempts = attempts, .delay = delay };

	return store_txn(S, hook_settle_body, &h);
}

static void t_hooks(void)
{
	int64_t posts[2] = { post('h'), post('i') };
	char *keys[] = { "0123456789abcdef0123456789abcde1", "0123456789abcdef0123456789abcde2" };
	struct hk h = { .posts = posts, .keys = keys, .n = 2, .lease = 60 };
	struct hook_call c1;
	int a = 0;

	is_int(store_txn(S, hook_add_body, &h), 0, "hook_add: two posts");
	is_int(store_txn(S, hook_claim_body, &h), 0, "hook_claim");
	ok(h.found && h.c.post_id == posts[0] && !strcmp(h.c.status, "completed") &&
	   !strcmp(h.c.key, keys[0]) && h.c.attempts == 1,
	   "hook_claim: the first row, its post, status and key, claimed once");
	c1 = h.c;
	is_int(store_txn(S, hook_claim_body, &h), 0, "hook_claim again");
	ok(h.found && h.c.post_id == posts[1] && !strcmp(h.c.key, keys[1]),
	   "hook_claim: the next row, not the one claimed");
	is_int(hook_claim1(60, &a), 0, "hook_claim: nothing left that is due");
	is_int(hook_settle1(&h.c, h.c.attempts, -1), 0, "hook_settle: clear the second");
	is_int(hook_settle1(&c1, 0, 0), 0, "hook_settle with a stale claim");
	is_int(hook_claim1(60, &a), 0, "a stale claim changes nothing");
	is_int(hook_settle1(&c1, 1, 0), 0, "hook_settle: the first is due again now");
	is_int(hook_claim1(-10, &a), posts[0], "hook_claim: the retried row, its lease already over");
	is_int(a, 2, "hook_claim: its second claim");
	is_int(hook_claim1(60, &a), posts[0], "an expired claim is claimed again");
	is_int(a, 3, "hook_claim: its third claim");
	is_int(hook_settle1(&c1, 2, -1), 0, "hook_settle: clear by the expired claim");
	is_int(hook_claim1(-10, &a), 0, "a clear by an expired claim leaves the row to the live one");
	is_int(hook_settle1(&c1, 3, -1), 0, "hook_settle: clear by the live claim");
	c1.attempts = 3;
	is_int(hook_settle1(&c1, 3, 0), 0, "hook_settle of a cleared row");
	is_int(hook_claim1(-10, &a), 0, "hook_settle: a cleared row is gone for good");
}

/* ---- job control steps ---- */

struct ctl {
	int64_t id, twin, n;
	char *state, *media, *profile, *twin_state;
	const char *other;
};

static void ctl_free(struct ctl *c)
{
	free(c->state);
	free(c->media);
	free(c->profile);
	free(c->twin_state);
	c->state = c->media = c->profile = c->twin_state = NULL;
}

static int read_body(struct store *s, void *arg)
{
	struct ctl *c = arg;
	int rc;

	ctl_free(c);
	if (D->jobs_lock && (rc = D->jobs_lock(s)))
		return rc;
	if ((rc = D->job_read(s, c->id, &c->state, &c->media, &c->profile)) || !c->state)
		return rc;
	return D->live_twin(s, c->id, c->media, c->other, &c->twin, &c->twin_state);
}

static int unfin_body(struct store *s, void *arg)
{
	return D->dead_unfinalize(s, ((struct ctl *)arg)->media);
}

static int reset_body(struct store *s, void *arg)
{
	struct ctl *c = arg;
	int rc;

	if ((rc = D->job_reset(s, c->id)))
		return rc;
	return D->posts_reopen(s, c->media, &c->n);
}

static int cancel_body(struct store *s, void *arg)
{
	return D->job_cancel(s, ((struct ctl *)arg)->id);
}

struct idof {
	int64_t id;
};

static int idof_cb(void *arg, const struct job_info *j)
{
	((struct idof *)arg)->id = j->id;
	return 0;
}

static int64_t id_of(const char *profile)
{
	struct job_query q = { .media = MEDIA_A, .profile = profile };
	struct idof r = { -1 };

	return D->jobs(S, &q, idof_cb, &r) ? -1 : r.id;
}

static void t_control(void)
{
	struct ctl c = { .id = id_of("mp4"), .other = "thumb" };
	int64_t thumb = id_of("thumb");
	struct frow f;
	char *why = NULL;

	is_int(store_txn(S, read_body, &c), 0, "jobs_lock, job_read, live_twin");
	ok(c.state && !strcmp(c.state, "dead") && !strcmp(c.profile, "mp4") &&
	   !strcmp(c.media, MEDIA_A), "job_read: state, profile, media");
	ok(c.twin == thumb && c.twin_state && !strcmp(c.twin_state, "succeeded"),
	   "live_twin: the succeeded job of that profile");
	c.other = "mp4";
	is_int(store_txn(S, read_body, &c), 0, "live_twin of the dead job's own profile");
	is_str(c.twin_state, NULL, "live_twin: none besides the job itself");
	is_int(store_txn(S, unfin_body, &c), 0, "dead_unfinalize");
	ok(!job_get(c.id).finalized && job_get(thumb).finalized,
	   "dead_unfinalize: the dead job only");
	is_int(store_txn(S, reset_body, &c), 0, "job_reset, posts_reopen");
	is_int(c.n, 2, "posts_reopen: both failed posts");
	struct jrow r = job_get(c.id);
	ok(!strcmp(r.state, "available") && r.attempts == 0, "job_reset: available, no attempt spent");
	f = feed_of(MEDIA_A);
	ok(!strcmp(f.status, "processing") && !f.error, "posts_reopen: processing, no error");
	frow_free(&f);
	is_int(store_txn(S, cancel_body, &c), 0, "job_cancel");
	r = job_get(c.id);
	ok(!strcmp(r.state, "cancelled") && !r.finalized, "job_cancel: cancelled, not finalized");
	is_int(store_job_control(S, c.id, JOB_CANCEL, &why), 0, "cancel a cancelled job");
	ok(why != NULL, "is refused");
	free(why);
	c.id = 999999;
	is_int(store_txn(S, read_body, &c), 0, "job_read of no such job");
	is_str(c.state, NULL, "job_read: no state");
	ctl_free(&c);
}

/* ---- the worker's operations ---- */

static void t_claim_order(void)
{
	double now = (double)time(NULL);
	int64_t a = job_new('b', "order", 5, 0, 0);
	int64_t b = job_new('c', "order", 1, now - 100, 0);
	int64_t c = job_new('d', "order", 1, now - 50, 0);
	int64_t d = job_new('e', "order", 1, now - 50, 0);
	int64_t later = job_new('f', "order", 0, now + 3600, 0);
	int64_t avail = -1, running = -1;
	double next = -1;
	struct jrow r;

	ok(a > 0 && b > 0 && c > 0 && d > 0 && later > 0 && c < d, "enqueue five jobs");
	r = job_get(a);
	ok(!strcmp(r.state, "available") && r.priority == 5 && r.max_attempts == 3 &&
	   !strcmp(r.queue, "order") && !strcmp(r.profile, "thumb"),
	   "enqueue: available, its priority, queue, profile and default attempts");
	is_int(D->queue_counts(S, (char *[]){ "order" }, 1, &avail, &running, &next), 0,
	       "queue_counts");
	ok(avail == 4 && running == 0 && next == 0, "queue_counts: four due, none running");
	is_int(claim1("w1", "order", 60), b, "claim: lowest priority first, then earliest run_at");
	ok(!claim1_source, "claim: no source when the media's probe kept none");
	is_int(claim1("w1", "order", 60), c, "claim: then the next run_at");
	is_int(claim1("w2", "order", 60), d, "claim: then by id");
	is_int(claim1("w2", "order", 60), a, "claim: then the higher priority");
	is_int(claim1("w3", "order", 60), 0, "claim: a claimed job is not claimed twice, "
	       "a job due later not at all");
	r = job_get(b);
	ok(!strcmp(r.state, "running") && r.attempts == 1 && r.leased && r.locked,
	   "claim: running, an attempt spent, leased, locked");
	D->queue_counts(S, (char *[]){ "order" }, 1, &avail, &running, &next);
	ok(avail == 0 && running == 4, "queue_counts: four running");
}

static void t_outcomes(void)
{
	double now = (double)time(NULL);
	int64_t j1 = job_new('g', "out", 0, 0, 0), j2 = job_new('h', "out", 0, 0, 0);
	int64_t j3 = job_new('i', "out", 0, 0, 2);
	int a = -1;
	char st[16];
	int64_t avail, running;
	double next, sec = 1.5;
	struct jrow r;

	ok(claim1("w1", "out", 60) == j1 && claim1("w1", "out", 60) == j2 &&
	   claim1("w1", "out", 60) == j3, "claim three jobs");
	struct fence f1 = run_of(j1), stale = { j1, f1.claim - 1 };
	struct fence hb[2] = { f1, stale };
	char held[2];
	is_int(store_heartbeat(S, 120, hb, 2, held), 0, "heartbeat");
	ok(held[0] == 1 && held[1] == 0, "heartbeat: the run holds its job, a stale claim does not");
	is_int(D->jobs_progress(S, &f1, &sec, 1), 0, "jobs_progress");
	is_int(store_job_succeed(S, &stale, "{}", &a), 0, "job_succeed of a stale claim");
	is_int(a, 0, "is fenced out");
	is_int(store_job_succeed(S, &f1, "{\"key\":\"k\"}", &a), 0, "job_succeed");
	is_int(a, 1, "applies");
	r = job_get(j1);
	ok(!strcmp(r.state, "succeeded") && !r.leased, "succeeded, lease gone");
	store_job_succeed(S, &f1, "{}", &a);
	is_int(a, 0, "job_succeed twice: the second is fenced out");
	is_int(jfail(j2, "boom", 0, 600, st), 0, "job_fail with attempts left");
	is_str(st, "available", "job_fail: available again");
	r = job_get(j2);
	ok(r.attempts == 1 && !strcmp(r.error, "boom"), "job_fail: the attempt spent, the error");
	D->queue_counts(S, (char *[]){ "out" }, 1, &avail, &running, &next);
	ok(avail == 0 && running == 1 && next > now, "queue_counts: the retry waits for its run_at");
	struct job j3run = last_claim(j3);
	is_int(store_job_release(S, &j3run, &a), 0, "job_release");
	r = job_get(j3);
	ok(a == 1 && !strcmp(r.state, "available") && r.attempts == 0,
	   "job_release: available, attempt not spent");
	is_int(jfail(j3, "late", 0, 0, st), 0, "job_fail of a released job");
	is_str(st, "", "job_fail: fenced out");
	/* max_attempts 2: two failures make it dead */
	is_int(claim1("w1", "out", 60), j3, "claim the released job");
	ok(last_claim(j3).claim == j3run.claim + 1 && last_claim(j3).attempts == 1,
	   "a claim after a release: a new claim, the same attempt");
	jfail(j3, "once", 0, 0, st);
	is_str(st, "available", "first failure of two attempts: available");
	is_int(claim1("w1", "out", 60), j3, "claim it again");
	jfail(j3, "twice", 0, 0, st);
	is_str(st, "dead", "attempts reach max_attempts: dead");
	r = job_get(j3);
	ok(!strcmp(r.state, "dead") && r.attempts == 2, "dead after two attempts");
}

static void t_rescue(void)
{
	int64_t j = job_new('j', "resc", 0, 0, 2), k = job_new('k', "resc", 0, 0, 0);
	int64_t m = job_new('r', "resc", 0, 0, 0);
	int n = -1, a = -1;
	struct jrow r;
	char held;

	is_int(claim1("w1", "resc", -10), j, "claim with a lease already expired");
	is_int(claim1("wk", "resc", 60), k, "claim another with a live lease");
	is_int(claim1("wm", "resc", -10), m, "and one more, expired, of worker wm");
	is_int(store_rescue_expired(S, "wm", &n), 0, "rescue_expired, by worker wm");
	is_int(n, 1, "rescue_expired: the expired job only, not wm's own");
	r = job_get(j);
	ok(!strcmp(r.state, "available") && !r.leased && r.attempts == 1,
	   "rescued: available, no lease, the attempt spent");
	has(r.error, "lease expired", "rescued: says why");
	is_str(job_get(k).state, "running", "the live lease is left alone");
	is_str(job_get(m).state, "running", "a worker never rescues its own job");
	store_job_succeed(S, &(struct fence){ j, last_claim(j).claim }, "{}", &a);
	is_int(a, 0, "the rescued run's late result is fenced out");
	is_int(claim1("w2", "resc", -10), j, "claim it again, expired again");
	store_rescue_expired(S, NULL, &n);
	is_int(n, 2, "rescue_expired again (by no worker: wm's too)");
	is_str(job_get(j).state, "dead", "rescue out of attempts: dead");
	struct fence fk = run_of(k);
	is_int(store_heartbeat(S, -10, &fk, 1, &held), 0, "heartbeat with a lease in the past");
	store_rescue_expired(S, NULL, &n);
	ok(n == 1 && !strcmp(job_get(k).state, "available"), "heartbeat set the lease it was given");
}

static void t_workers(void)
{
	struct worker_reg a = { "ha:1", "ha", 1, "", 2, "1.0" }, b = { "hb:2", "hb", 2, "q1,q2", 4, "1.0" };
	int64_t j = job_new('s', "wrk", 0, 0, 0);
	int alive = -1, again = -1, n = -1, gone = -1, rescued = -1;
	struct expired *v = NULL;
	char **ids = NULL;

	is_int(D->worker_upsert(S, &a), 0, "worker_upsert");
	is_int(D->worker_upsert(S, &b), 0, "worker_upsert another");
	is_int(D->worker_upsert(S, &b), 0, "worker_upsert again: replaces");
	is_int(D->worker_beat(S, "ha:1", &alive), 0, "worker_beat");
	is_int(alive, 1, "worker_beat: the worker is alive");
	is_int(claim1("hb:2", "wrk", 600), j, "hb:2 claims a job with a long lease");
	is_int(D->jobs_of_worker(S, "hb:2", &v, &n), 0, "jobs_of_worker");
	ok(n == 1 && v[0].run.job == j && v[0].run.claim == last_claim(j).claim &&
	   !strcmp(v[0].worker, "hb:2"), "jobs_of_worker: the run, and its worker");
	for (int i = 0; i < n; i++)
		free(v[i].worker);
	free(v);
	is_int(D->workers_gone(S, 3600, NULL, &ids, &n), 0, "workers_gone");
	is_int(n, 0, "workers_gone: none silent for an hour");
	free(ids);
	is_int(D->workers_gone(S, -1, "ha:1", &ids, &n), 0, "workers_gone, not self");
	ok(n == 1 && !strcmp(ids[0], "hb:2"), "workers_gone: every other worker is silent for -1 s");
	for (int i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	D->worker_beat(S, "hb:2", &alive);
	is_int(alive, 0, "a gone worker's beat finds it gone");
	is_int(store_worker_beat(S, &b, &again), 0, "store_worker_beat of a gone worker");
	is_int(again, 1, "it registers again");
	D->worker_beat(S, "hb:2", &alive);
	is_int(alive, 1, "and is alive");
	is_int(store_reap_workers(S, -1, "ha:1", &gone, &rescued), 0, "store_reap_workers");
	ok(gone == 1 && rescued == 1, "reap: the gone worker, and its job, without waiting for the lease");
	struct jrow r = job_get(j);
	ok(!strcmp(r.state, "available") && !r.leased, "its job is available again");
	has(r.error, "worker hb:2 is gone", "and says why");
	is_int(D->worker_delete(S, "ha:1"), 0, "worker_delete");
	D->worker_beat(S, "ha:1", &alive);
	is_int(alive, 0, "a deleted worker is not alive");
}

static void t_batches(void)
{
	int64_t ids[2] = { job_new('l', "ack", 0, 0, 0), job_new('m', "ack", 0, 0, 0) };
	int64_t third = job_new('n', "ack", 0, 0, 0);
	char *qs[] = { "ack" };
	char *res[] = { "{\"key\":\"a\"}", "{\"key\":\"b\"}" };
	struct job *jv = NULL;
	int n = 0, acked = -1;

	ok(claim1("w1", "ack", 60) == ids[0] && claim1("w1", "ack", 60) == ids[1],
	   "claim two jobs");
	struct fence runs[2] = { run_of(ids[0]), run_of(ids[1]) };
	is_int(store_claim_ack(S, "w1", qs, 1, 5, 60, runs, 2, "{\"key\":\"x\"}", &acked, &jv, &n),
	       0, "claim_ack");
	ok(acked == 2 && n == 1 && jv[0].id == third, "claim_ack: both acknowledged, the third claimed");
	ok(!strcmp(job_get(ids[0]).state, "succeeded") && !strcmp(job_get(ids[1]).state, "succeeded"),
	   "claim_ack: succeeded");
	struct fence f3 = { third, n ? jv[0].claim : 0 };
	for (int i = 0; i < n; i++)
		job_free(&jv[i]);
	free(jv);
	is_int(store_jobs_succeed(S, runs, res, 2, &acked), 0, "jobs_succeed of done jobs");
	is_int(acked, 0, "jobs_succeed: fenced out");
	is_int(store_jobs_succeed(S, &f3, res, 1, &acked), 0, "jobs_succeed");
	is_int(acked, 1, "jobs_succeed: applied");
}

static void t_enqueue(void)
{
	const struct profile *pp[] = { &P_THUMB };
	struct enqueue_opts o = { .profiles = pp, .nprofiles = 1, .default_attempts = 3 };
	char ref[24];
	char *refs[] = { ref, "nonexistent" };
	struct enq e = { -1, "" };
	int64_t p = post('o'), first;

	xsnprintf(ref, sizeof(ref), "%lld", (long long)p);
	is_int(store_enqueue(S, refs, 1, &o, enq_cb, &e), 0, "enqueue by post id");
	ok(e.id > 0 && !strcmp(e.state, "available"), "enqueue: a new job");
	is_str(job_get(e.id).queue, "q1", "enqueue: the profile's queue");
	first = e.id;
	is_int(store_enqueue(S, refs, 1, &o, enq_cb, &e), 0, "enqueue again");
	ok(e.id == first && jobs_of(media('o').sha) == 1, "enqueue: the live job, no second one");
	is_int(store_enqueue(S, refs + 1, 1, &o, enq_cb, &e), 0, "enqueue an unknown ref");
	is_str(e.state, "error", "enqueue: an unknown ref is an error");
}

/* ---- wake-ups, md-status, md-feed's cache ---- */

static int status_cb_n(void *arg, const struct status_item *it)
{
	int *n = arg;

	n[it->kind]++;
	return 0;
}

static int tag_cb_n(void *arg, const char *tag)
{
	(void)tag;
	++*(int *)arg;
	return 0;
}

static void t_reads(void)
{
	char *qs[] = { "nq" };
	int n[STATUS_WORKERS + 1] = { 0 }, tags = 0, fd, got;

	/* optional entries: a driver without wake-ups leaves them NULL */
	ok(!D->listen == !D->notify_fd && !D->listen == !D->consume_notify,
	   "listen, notify_fd, consume_notify: all or none");
	is_int(store_listen(S, qs, 1), 0, "listen");
	fd = store_notify_fd(S);
	ok(!strcmp(D->name, "sqlite") ? fd == -1 : fd >= 0, "notify_fd: -1 on SQLite, a descriptor else");
	ok(job_new('p', "nq", 0, 0, 0) > 0, "enqueue on the queue listened to");
	got = store_consume_notify(S);
	ok(!strcmp(D->name, "sqlite") ? got == 0 : got >= 1, "consume_notify: the wake-up, where there is one");
	if (D->jobs_notify) {
		char *nq[] = { "nq" };

		is_int(D->jobs_notify(S, nq, 1), 0, "jobs_notify");
		ok(store_consume_notify(S) >= 1, "jobs_notify: the queue listened to is woken");
	}
	is_int(store_status(S, 10, status_cb_n, n), 0, "status");
	ok(n[STATUS_JOBS] > 0 && n[STATUS_DEAD] > 0 && n[STATUS_RUNNING] > 0 && n[STATUS_POSTS] > 0,
	   "status: jobs, running, dead and posts figures");
	is_int(D->feed_tags(S, "processing", tag_cb_n, &tags), 0, "feed_tags");
	is_int(tags, 2, "feed_tags: the tags of processing posts");
}

/* ---- the primitives of enqueue and of the reads ---- */

struct resolved {
	int n, kind[3];
	char media[3][65], trace[3][33];
};

static void ref_cb_rec(void *arg, int i, const char *media, unsigned kind, const char *trace)
{
	struct resolved *r = arg;

	r->n++;
	if (i < 0 || i > 2)
		return;
	r->kind[i] = (int)kind;
	(void)snprintf(r->media[i], sizeof(r->media[i]), "%s", media);
	(void)snprintf(r->trace[i], sizeof(r->trace[i]), "%s", trace ? trace : "-");
}

/* what jobs_live said of media 1 (the only one looked at closely) */
struct lived {
	int n, nope, m1;
	char queue[16], state[16];
};

static void live_cb_rec(void *arg, int m, int p, int64_t id, const char *queue,
			const char *state)
{
	struct lived *l = arg;

	l->n++;
	l->nope += p != 1;
	if (m != 1)
		return;
	l->m1++;
	(void)snprintf(l->queue, sizeof(l->queue), "%s", queue);
	(void)snprintf(l->state, sizeof(l->state), "%s", state);
}

struct ins {
	struct job_row v[2];
	int rc;
};

static int ins_body(struct store *s, void *arg)
{
	struct ins *in = arg;

	in->rc = D->jobs_insert(s, in->v, 2, 4, (double)time(NULL) + 3600);
	return in->rc;
}

static int fig_body(struct store *s, void *arg)
{
	int *n = arg, rc = 0;

	for (int k = STATUS_JOBS; k <= STATUS_POSTS && !rc; k++)
		rc = D->status_figure(s, (enum status_kind)k, 1, status_cb_n, n);
	return rc;
}

static void t_enqueue_primitives(void)
{
	char pid[24], *refs[3], *mv[2] = { MEDIA_A, NULL }, *names[2] = { "nope", "thumb" };
	int64_t pids[3] = { 0 };
	struct resolved r = { 0 };
	struct lived l = { 0 };
	struct ins in = { .v = {
		{ .media = MEDIA_A, .profile = "p1", .queue = "ins", .trace_id = "t", .max_attempts = 5 },
		{ .media = MEDIA_A, .profile = "p2", .queue = "ins", .max_attempts = 6 } } };
	struct frow f = { 0 };
	struct feed_query fq = { .limit = 1, .base_url = "" };
	int n[STATUS_WORKERS + 1] = { 0 };
	char o[65];

	memcpy(o, media('o').sha, sizeof(o));
	pids[0] = POST_A;
	xsnprintf(pid, sizeof(pid), "%lld", (long long)POST_A);
	refs[0] = pid;
	refs[1] = o;
	refs[2] = "nonexistent";
	is_int(D->refs_resolve(S, refs, pids, 3, 1, ref_cb_rec, &r), 0, "refs_resolve");
	ok(r.n == 2 && !strcmp(r.media[0], MEDIA_A) && !strcmp(r.media[1], o) &&
	   r.kind[1] == MD_KIND_IMAGE, "refs_resolve: a post id and a hash, not the unknown ref");
	ok(strlen(r.trace[1]) == 32, "refs_resolve: a hash takes the trace of its newest post");
	memset(&r, 0, sizeof(r));
	D->refs_resolve(S, refs + 1, pids + 1, 1, 0, ref_cb_rec, &r);
	is_str(r.trace[0], "-", "refs_resolve: no trace when not asked for");
	mv[1] = o;
	is_int(D->jobs_live(S, mv, 2, names, 2, live_cb_rec, &l), 0, "jobs_live");
	ok(l.m1 == 1 && !l.nope && !strcmp(l.state, "available") && !strcmp(l.queue, "q1"),
	   "jobs_live: the live job of each pair that has one");
	is_int(store_txn(S, ins_body, &in), 0, "jobs_insert");
	ok(in.v[0].id > 0 && in.v[1].id > in.v[0].id, "jobs_insert: ids ascending in order");
	ok(job_get(in.v[1].id).max_attempts == 6 && job_get(in.v[0].id).priority == 4 &&
	   !strcmp(job_get(in.v[0].id).queue, "ins"), "jobs_insert: the rows as given");
	ok(claim1("w", "ins", 60) == 0, "jobs_insert: run_at later");
	is_int(D->feed_page(S, &fq, 2, frow_cb, &f), 0, "feed_page");
	is_int(f.n, 2, "feed_page: as many rows as asked for");
	frow_free(&f);
	is_int(store_read_txn(S, fig_body, n), 0, "read_begin, status_figure");
	ok(n[STATUS_JOBS] > 0 && n[STATUS_POSTS] > 0 && n[STATUS_DEAD] <= 1,
	   "status_figure: each figure, dead ones at most the limit");
}

/* ---- removing content ---- */

/* What the removal primitives called back: "id/m/user " or
 * "id/m/profile/state ", m the first character of the media. */
static void post_rec(void *arg, int64_t id, const char *media, const char *user)
{
	sb_addf(arg, "%lld/%c/%s ", (long long)id, media[0], user);
}

static void job_rec(void *arg, int64_t id, const char *media, const char *profile,
		    const char *state)
{
	sb_addf(arg, "%lld/%c/%s/%s ", (long long)id, media[0], profile, state);
}

/* A post of media c by user, tagged tag (NULL: none); its id. */
static int64_t post_by(char c, const char *user, char *tag)
{
	struct media_info m = media(c);
	char *tags[] = { tag };
	struct ingest_req rq = { .media = &m, .user = user, .caption = "x", .tags = tags,
				 .ntags = tag != NULL, .trace_id = "0123456789abcdef0123456789abcdef" };
	struct ingest_res rs;

	return store_ingest(S, &rq, &rs) ? -1 : rs.post_id;
}

/* posts_pick of sel: post_rec's lines, "error" when it failed; malloc'd. */
static char *picked(const struct post_selector *sel)
{
	struct strbuf sb = STRBUF_INIT;

	if (D->posts_pick(S, sel, post_rec, &sb))
		sb_adds(&sb, "error");
	return sb_detach(&sb, NULL);
}

/* "id/m/user " for a post, as post_rec says it. */
static const char *prec(int64_t id, char m, const char *user)
{
	static char b[4][64];
	static int i;

	i = (i + 1) % 4;
	xsnprintf(b[i], sizeof(b[i]), "%lld/%c/%s ", (long long)id, m, user);
	return b[i];
}

static void is_picked(const struct post_selector *sel, const char *want, const char *name)
{
	char *got = picked(sel);

	is_str(got, want, name);
	free(got);
}

/* One removal primitive, in a transaction of its own. */
enum rm_op { RM_DELETE, RM_LOCK, RM_COUNT, RM_JOBS, RM_MEDIA, RM_REASSIGN, RM_DROP };

struct rm {
	enum rm_op op;
	const int64_t *ids;
	int n;
	const char *media, *name, *other;
	int64_t id, count;
	char ext[16];
	struct strbuf log;      /* what the primitive called back */
};

static int rm_body(struct store *s, void *arg)
{
	struct rm *c = arg;

	sb_reset(&c->log);
	c->count = -1;
	switch (c->op) {
	case RM_DELETE:
		return D->posts_delete(s, c->ids, c->n);
	case RM_LOCK:
		return D->media_lock(s, c->media, c->ext);
	case RM_COUNT:
		return D->media_posts(s, c->media, &c->count);
	case RM_JOBS:
		return D->media_jobs_delete(s, c->media, job_rec, &c->log);
	case RM_MEDIA:
		return D->media_delete(s, c->media);
	case RM_REASSIGN:
		return D->posts_reassign(s, c->name, c->other, post_rec, &c->log);
	case RM_DROP:
		return D->job_delete_finalized(s, c->id, &c->count);
	}
	return MD_EXIT_SOFTWARE;
}

static int rm_run(struct rm *c, enum rm_op op)
{
	c->op = op;
	return store_txn(S, rm_body, c);
}

/* media_posts of media c, -1 when it failed. */
static int64_t media_posts_of(char c)
{
	struct rm r = { .log = STRBUF_INIT };
	char m[65];

	memcpy(m, media(c).sha, sizeof(m));
	r.media = m;
	if (rm_run(&r, RM_COUNT))
		r.count = -1;
	sb_release(&r.log);
	return r.count;
}

/* media_lock's extension of media c, "?" when it failed. */
static const char *ext_of(char c)
{
	static struct rm r;
	char m[65];

	memcpy(m, media(c).sha, sizeof(m));
	r = (struct rm){ .media = m, .log = STRBUF_INIT };
	if (rm_run(&r, RM_LOCK))
		xsnprintf(r.ext, sizeof(r.ext), "?");
	sb_release(&r.log);
	return r.ext;
}

struct idv {
	int64_t v[8];
	int n;
};

static int ids_cb(void *arg, const struct feed_row *row)
{
	struct idv *iv = arg;

	if (iv->n < 8)
		iv->v[iv->n++] = row->post_id;
	return 0;
}

/* The ids of the posts of media c, read through the feed (newest first). */
static struct idv feed_ids(char c)
{
	struct idv iv = { .n = 0 };
	char m[65];
	struct feed_query q = { .media = m, .limit = 8, .base_url = "" };

	memcpy(m, media(c).sha, sizeof(m));
	if (D->feed_page(S, &q, 8, ids_cb, &iv))
		iv.n = -1;
	return iv;
}

/* posts_pick by ids, user and tag; media_lock; media_posts */
static void t_content_reads(int64_t u1, int64_t u2, int64_t v1)
{
	int64_t ids[] = { v1, 999999, u2 };
	struct post_selector by_ids = { .ids = ids, .nids = 3 }, by_user = { .user = "cal" };
	struct post_selector by_tag = { .tag = "t-rm" }, nobody = { .user = "nobody" };
	struct post_selector no_tag = { .tag = "no-such-tag" };
	char want[192];

	xsnprintf(want, sizeof(want), "%s%s", prec(u2, 'u', "dee"), prec(v1, 'v', "cal"));
	is_picked(&by_ids, want, "posts_pick by ids: those that exist, by id, media and user");
	xsnprintf(want, sizeof(want), "%s%s", prec(u1, 'u', "cal"), prec(v1, 'v', "cal"));
	is_picked(&by_user, want, "posts_pick by user: the user's posts, by id");
	is_picked(&by_tag, want, "posts_pick by tag: the tagged posts, by id");
	is_picked(&nobody, "", "posts_pick of an unknown user: none");
	is_picked(&no_tag, "", "posts_pick of an unknown tag: none");
	is_str(ext_of('u'), "png", "media_lock: the original's extension");
	is_str(ext_of('9'), "", "media_lock of no such media: \"\"");
	is_int(media_posts_of('u'), 2, "media_posts: the posts of a media");
	is_int(media_posts_of('9'), 0, "media_posts of no such media: 0");
}

/* posts_delete: the posts, their tags and hook outbox rows go, the media stays */
static void t_content_delete(int64_t u1, int64_t u2, int64_t v1)
{
	int64_t ids[] = { u1 };
	char *keys[] = { "0123456789abcdef0123456789abcde3" };
	struct hk h = { .posts = ids, .keys = keys, .n = 1 };
	struct rm r = { .ids = ids, .n = 0, .log = STRBUF_INIT };
	struct post_selector by_ids = { .ids = ids, .nids = 1 }, by_tag = { .tag = "t-rm" };
	struct idv left;
	int a = 0;

	is_int(store_txn(S, hook_add_body, &h), 0, "hook_add for a post about to go");
	is_int(rm_run(&r, RM_DELETE), 0, "posts_delete of no posts");
	is_int(media_posts_of('u'), 2, "posts_delete of no posts: nothing goes");
	r.n = 1;
	is_int(rm_run(&r, RM_DELETE), 0, "posts_delete");
	is_picked(&by_ids, "", "posts_delete: the post is gone");
	is_picked(&by_tag, prec(v1, 'v', "cal"), "posts_delete: its tag no longer picks it");
	is_int(media_posts_of('u'), 1, "posts_delete: its media has one post less");
	left = feed_ids('u');
	ok(left.n == 1 && left.v[0] == u2, "posts_delete: the other post of the media stays");
	is_str(ext_of('u'), "png", "posts_delete: the media row stays");
	is_int(hook_claim1(60, &a), 0, "posts_delete: its hook outbox row went with it");
	sb_release(&r.log);
}

/* job_delete_finalized: a finalized job only; media_jobs_delete: every job */
static void t_content_jobs(void)
{
	int64_t thumb = id_of("thumb"), mp4 = id_of("mp4"), p1 = id_of("p1"), p2 = id_of("p2");
	int64_t w = job_new('w', "rmq", 0, 0, 0);
	char m[65], want[256], held = 1;
	struct rm r = { .media = m, .log = STRBUF_INIT };
	int a = -1;

	ok(thumb > 0 && mp4 > 0 && p1 > 0 && p2 > 0 && w > 0, "the jobs of two media");
	is_int(claim1("wr", "rmq", 600), w, "one of them is running");
	r.id = mp4;
	ok(!rm_run(&r, RM_DROP) && r.count == 0 && job_get(mp4).found == 1,
	   "job_delete_finalized of a cancelled job not finalized: nothing");
	r.id = p1;
	ok(!rm_run(&r, RM_DROP) && r.count == 0, "job_delete_finalized of an available job: nothing");
	r.id = w;
	ok(!rm_run(&r, RM_DROP) && r.count == 0 && !strcmp(job_get(w).state, "running"),
	   "job_delete_finalized of a running job: nothing");
	r.id = 999999;
	ok(!rm_run(&r, RM_DROP) && r.count == 0, "job_delete_finalized of no such job: nothing");
	r.id = thumb;
	ok(!rm_run(&r, RM_DROP) && r.count == 1, "job_delete_finalized of a finalized job: one row");
	is_int(job_get(thumb).found, 0, "job_delete_finalized: the job is gone");
	ok(!rm_run(&r, RM_DROP) && r.count == 0, "job_delete_finalized again: nothing");

	memcpy(m, media('w').sha, sizeof(m));
	is_int(rm_run(&r, RM_JOBS), 0, "media_jobs_delete of a media with a running job");
	xsnprintf(want, sizeof(want), "%lld/w/thumb/running ", (long long)w);
	is_str(r.log.buf, want, "media_jobs_delete: the running job, its media, profile and state");
	is_int(jobs_of(m), 0, "media_jobs_delete: no job of the media is left");
	struct fence run = run_of(w);
	store_heartbeat(S, 600, &run, 1, &held);
	is_int(held, 0, "the deleted job's run no longer holds it");
	is_int(store_job_succeed(S, &run, "{}", &a), 0, "the deleted job's run reports success");
	is_int(a, 0, "and is fenced out");
	memcpy(m, MEDIA_A, sizeof(m));
	is_int(rm_run(&r, RM_JOBS), 0, "media_jobs_delete of a media with three jobs");
	xsnprintf(want, sizeof(want), "%lld/a/mp4/cancelled %lld/a/p1/available %lld/a/p2/available ",
		  (long long)mp4, (long long)p1, (long long)p2);
	is_str(r.log.buf, want, "media_jobs_delete: each job, by id, whatever its state");
	is_int(jobs_of(m), 0, "media_jobs_delete: none left");
	is_int(rm_run(&r, RM_JOBS), 0, "media_jobs_delete of a media without jobs");
	is_str(r.log.buf, "", "media_jobs_delete: nothing to say");
	sb_release(&r.log);
}

/* media_delete: the renditions and the media row; nothing else */
static void t_content_media(void)
{
	struct idv a = feed_ids('a');
	struct rm r = { .ids = a.v, .n = a.n, .media = MEDIA_A, .log = STRBUF_INIT };
	struct frow f = feed_of(MEDIA_A);
	char none[65];

	has(f.renditions, "m/thumb.png", "the media has a rendition");
	frow_free(&f);
	is_int(a.n, 2, "and two posts");
	is_int(rm_run(&r, RM_DELETE), 0, "posts_delete of both");
	is_int(rm_run(&r, RM_MEDIA), 0, "media_delete");
	is_int(D->media_exists(S, MEDIA_A), 0, "media_delete: the media row is gone");
	is_str(ext_of('a'), "", "media_lock of a deleted media: \"\"");
	ok(post('a') > 0, "the same file posted again");
	f = feed_of(MEDIA_A);
	ok(f.n == 1 && (!f.renditions || !strstr(f.renditions, "thumb")),
	   "media_delete: its renditions went with it");
	frow_free(&f);
	memcpy(none, media('9').sha, sizeof(none));
	r.media = none;
	is_int(rm_run(&r, RM_MEDIA), 0, "media_delete of no such media: nothing to do");
	sb_release(&r.log);
}

/* posts_reassign: every post of the user, to the other */
static void t_content_reassign(int64_t u2, int64_t v1)
{
	struct rm r = { .name = "cal", .other = "dee", .log = STRBUF_INIT };
	struct post_selector cal = { .user = "cal" }, dee = { .user = "dee" };
	char want[128];

	is_int(rm_run(&r, RM_REASSIGN), 0, "posts_reassign");
	is_str(r.log.buf, prec(v1, 'v', "dee"), "posts_reassign: each post, its media, the new owner");
	is_picked(&cal, "", "posts_reassign: none left to the user");
	xsnprintf(want, sizeof(want), "%s%s", prec(u2, 'u', "dee"), prec(v1, 'v', "dee"));
	is_picked(&dee, want, "posts_reassign: the other's now, beside its own");
	is_int(rm_run(&r, RM_REASSIGN), 0, "posts_reassign of a user without posts");
	is_str(r.log.buf, "", "posts_reassign: nothing moved");
	sb_release(&r.log);
}

static void t_content(void)
{
	int64_t u1 = post_by('u', "cal", "t-rm"), u2 = post_by('u', "dee", NULL);
	int64_t v1 = post_by('v', "cal", "t-rm");

	ok(u1 > 0 && u2 > u1 && v1 > u2, "three posts of two media by two users");
	t_content_reads(u1, u2, v1);
	t_content_delete(u1, u2, v1);
	t_content_jobs();
	t_content_media();
	t_content_reassign(u2, v1);
}

/* ---- housekeeping (md-janitor) ---- */

/*
 * SQLite keeps timestamps to the millisecond: an age of 0 ("not updated
 * since before now") holds of a row once the clock has moved past its
 * write, which tick waits for.
 */
static void tick(void)
{
	struct timespec t = { 0, 3000000 };

	while (nanosleep(&t, &t))
		;
}

/* What the janitor's reads called back, for the media whose first
 * character is in only (the rows of other scenarios are left out): "c:id "
 * or, with detail, "c:id/name/key/claim ", and how many of those had a
 * time (at); and of every row, how many of each kind and whether the
 * kinds came in order. */
struct janlog {
	const char *only;
	int detail, kinds[3], disordered, stop, at;
	enum jan_ref last;
	struct strbuf sb;
};

static int jan_rec(void *arg, const struct jan_row *r)
{
	struct janlog *l = arg;

	l->disordered |= r->kind < l->last;
	l->last = r->kind;
	l->kinds[r->kind]++;
	if (!r->media || !r->media[0] || !strchr(l->only, r->media[0]) ||
	    strcmp(r->media, media(r->media[0]).sha))
		return 0;
	l->at += r->at && *r->at;
	if (!l->detail)
		sb_addf(&l->sb, "%c:%lld ", r->media[0], (long long)r->id);
	else
		sb_addf(&l->sb, "%c:%lld/%s/%s/%lld ", r->media[0], (long long)r->id,
			r->name ? r->name : "-", r->key ? r->key : "-", (long long)r->claim);
	return l->stop;
}

/* "c:id " of each of ids, keyed by media c; valid until the fourth call after. */
static const char *jrows(const char *cs, const int64_t *ids)
{
	static struct strbuf b[4] = { STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT };
	static int k;

	k = (k + 1) % 4;
	sb_reset(&b[k]);
	for (int i = 0; cs[i]; i++)
		sb_addf(&b[k], "%c:%lld ", cs[i], (long long)ids[i]);
	return b[k].buf;
}

/* A thumb job of media c, enqueued again beside its others (force); its id. */
static int64_t job_again(char c, const char *queue)
{
	const struct profile *pp[] = { &P_THUMB };
	struct enqueue_opts o = { .profiles = pp, .nprofiles = 1, .default_attempts = 3,
				  .queue = queue, .force = 1 };
	struct media_info m = media(c);
	char *ref[] = { m.sha };
	struct enq e = { -1, "" };

	if (store_enqueue(S, ref, 1, &o, enq_cb, &e) || strcmp(e.state, "available"))
		return -1;
	return e.id;
}

static int stamp_body(struct store *s, void *arg)
{
	char *media[1] = { arg };

	return D->jobs_stamp(s, media, 1);
}

/* md-finalize's stamp on the finished jobs of media c, and nothing else. */
static int stamp(char c)
{
	char m[65];

	memcpy(m, media(c).sha, sizeof(m));
	return store_txn(S, stamp_body, m);
}

/* Claim job id (the only one of its queue) and end its run: 's' succeeded,
 * 'd' dead, else left running. */
static int run_job(int64_t id, const char *queue, char how)
{
	char st[16];
	int a = 0;

	if (claim1("wj", queue, 600) != id)
		return -1;
	if (how == 's')
		return store_job_succeed(S, &(struct fence){ id, last_claim(id).claim },
					 "{\"key\":\"k\"}", &a) || !a ? -1 : 0;
	if (how == 'd')
		return jfail(id, "bad input", 1, 0, st) || strcmp(st, "dead") ? -1 : 0;
	return 0;
}

/* posts_idle of status and age: what jan_rec recorded, "error" on failure. */
static char *idle(const char *status, double age)
{
	struct janlog l = { .only = "xyz0123", .sb = STRBUF_INIT };

	if (D->posts_idle(S, status, age, jan_rec, &l))
		sb_adds(&l.sb, "error");
	return sb_detach(&l.sb, NULL);
}

static void is_idle(const char *status, double age, const char *want, const char *name)
{
	char *got = idle(status, age);

	is_str(got, want, name);
	free(got);
}

struct failidle {
	int64_t id;
	double age;
	int applied;
};

static int fail_idle_body(struct store *s, void *arg)
{
	struct failidle *f = arg;

	return D->post_fail_idle(s, f->id, f->age, "stuck", &f->applied);
}

/* post_fail_idle of post id with age, in a transaction: applied, or -1. */
static int fail_idle(int64_t id, double age)
{
	struct failidle f = { id, age, -1 };

	return store_txn(S, fail_idle_body, &f) ? -1 : f.applied;
}

/*
 * The posts of media x..3, each in a state of its own:
 *   x  pending, no job                       idle pending
 *   y  pending, an available job             busy
 *   z  processing, its job running           busy (a post whose jobs run)
 *   0  processing, succeeded, not finalized  busy
 *   1  processing, dead, finalized           idle processing (stuck)
 *   2  pending, cancelled, then finalized    busy, then idle pending
 *   3  processing, succeeded, finalized      idle processing (stuck)
 */
struct jan {
	int64_t post[7], job[7];
};

static void t_janitor_state(struct jan *j)
{
	static const char cs[] = "xyz0123";
	char q[8], *why = NULL;

	j->post[0] = post('x');
	for (int i = 1; i < 7; i++) {
		xsnprintf(q, sizeof(q), "jan%c", cs[i]);
		j->job[i] = job_new(cs[i], q, 0, 0, 0);
		j->post[i] = feed_ids(cs[i]).v[0];
	}
	ok(j->post[0] > 0 && j->job[1] > 0 && j->job[6] > j->job[1], "seven posts, six jobs");
	ok(!run_job(j->job[2], "janz", 'r') && !run_job(j->job[3], "jan0", 's') &&
	   !run_job(j->job[4], "jan1", 'd') && !run_job(j->job[6], "jan3", 's'),
	   "one job running, two succeeded, one dead");
	ok(!store_job_control(S, j->job[5], JOB_CANCEL, &why) && !why, "one cancelled");
	ok(!stamp('1') && !stamp('3'), "jobs_stamp of the dead and a succeeded one");
	tick();
}

/* posts_idle: pending or processing, no job left to run or finalize, old enough */
static void t_janitor_idle(struct jan *j)
{
	is_idle("pending", 0, jrows("x", j->post), "posts_idle pending: the post without a job, "
		"not those whose job is available or cancelled and not finalized");
	is_idle("processing", 0, jrows("13", (int64_t[]){ j->post[4], j->post[6] }),
		"posts_idle processing: those whose jobs are all finalized, by id; not those "
		"whose job runs or is succeeded and not finalized");
	is_idle("processing", 3600, "", "posts_idle: none idle for an hour");
	is_idle("completed", 0, "", "posts_idle of a status no post of theirs has: none");
	ok(!stamp('2'), "jobs_stamp of the cancelled job");
	tick();
	is_idle("pending", 0, jrows("x2", (int64_t[]){ j->post[0], j->post[5] }),
		"posts_idle pending: its post is idle now");

	struct janlog l = { .only = "1", .detail = 1, .sb = STRBUF_INIT };
	char want[128];
	D->posts_idle(S, "processing", 0, jan_rec, &l);
	xsnprintf(want, sizeof(want), "1:%lld/-/-/0 ", (long long)j->post[4]);
	is_str(l.sb.buf, want, "posts_idle: the row's id is the post's");
	is_int(l.at, 1, "posts_idle: and the time it was last updated");
	sb_release(&l.sb);
	l = (struct janlog){ .only = "xyz0123", .stop = 7, .sb = STRBUF_INIT };
	is_int(D->posts_idle(S, "processing", 0, jan_rec, &l), 7, "posts_idle: cb's stop is returned");
	is_str(l.sb.buf, jrows("1", &j->post[4]), "posts_idle: no row after the stop");
	sb_release(&l.sb);
}

/* store_idle_posts's cb, as md-janitor's: store_fail_idle_post of a row
 * of media 3, after a worker's heartbeat through another handle (a write
 * committed since the read began). */
struct faileach {
	struct store *other;
	struct fence beat;
	int applied, rc;
};

static int fail_each(void *arg, const struct jan_row *r)
{
	struct faileach *e = arg;
	int applied = 0;
	char held = 0;

	if (strcmp(r->media, media('3').sha))
		return 0;
	if ((e->rc = store_heartbeat(e->other, 600, &e->beat, 1, &held)) || !held)
		return e->rc ? e->rc : -1;
	if ((e->rc = store_fail_idle_post(S, r->id, 0, "stuck again", &applied)))
		return e->rc;
	e->applied += applied;
	return 0;
}

/* post_fail_idle: only an idle processing post, once; a new job keeps it */
static void t_janitor_fail(struct jan *j, struct store *other)
{
	struct frow f;
	int applied = 0;
	int64_t v, again;
	struct faileach e = { other, run_of(j->job[2]), 0, 0 };

	is_int(fail_idle(j->post[4], 3600), 0, "post_fail_idle, idle for less than the age: no");
	is_int(fail_idle(j->post[2], 0), 0, "post_fail_idle of a post whose job runs: no");
	is_int(fail_idle(j->post[3], 0), 0, "post_fail_idle of a post whose success is not "
	       "finalized: no");
	is_int(fail_idle(j->post[0], 0), 0, "post_fail_idle of an idle pending post: no");
	is_int(fail_idle(999999, 0), 0, "post_fail_idle of no such post: no");
	is_int(fail_idle(j->post[4], 0), 1, "post_fail_idle of a stuck post: failed");
	f = feed_of(media('1').sha);
	ok(f.n == 1 && !strcmp(f.status, "failed"), "post_fail_idle: the post is failed");
	is_str(f.error, "stuck", "post_fail_idle: with the error given");
	frow_free(&f);
	is_int(fail_idle(j->post[4], 0), 0, "post_fail_idle again: no");
	is_idle("processing", 0, jrows("3", &j->post[6]), "posts_idle: a failed post is not idle");

	again = job_again('3', "jan3b");
	ok(again > 0, "a job enqueued for the other stuck post's media");
	is_int(fail_idle(j->post[6], 0), 0, "post_fail_idle: a job to run keeps the post");
	is_int(run_job(again, "jan3b", 's') || stamp('3'), 0, "the job succeeds, is finalized");
	tick();
	v = feed_version();
	is_int(store_idle_posts(S, "processing", 0, fail_each, &e), 0,
	       "store_idle_posts, store_fail_idle_post of each row, as md-janitor does, "
	       "a worker writing meanwhile");
	ok(!e.rc && e.applied == 1 && feed_version() > v,
	   "store_fail_idle_post: failed, the feed bumped");
	f = feed_of(media('3').sha);
	is_str(f.status, "failed", "the post is failed");
	frow_free(&f);
	v = feed_version();
	store_fail_idle_post(S, j->post[6], 0, "stuck again", &applied);
	ok(applied == 0 && feed_version() == v, "store_fail_idle_post again: no, no bump");
}

struct refs {
	enum jan_ref kind;
	struct janlog l;
};

static int refs_body(struct store *s, void *arg)
{
	struct refs *r = arg;

	sb_reset(&r->l.sb);
	memset(r->l.kinds, 0, sizeof(r->l.kinds));
	return D->storage_refs(s, r->kind, jan_rec, &r->l);
}

/* storage_refs of kind in a read transaction: what jan_rec recorded with
 * detail, of the media whose first character is in only ("error" on
 * failure); *rows counts every row. */
static char *refs_of(enum jan_ref kind, const char *only, int *rows)
{
	struct refs r = { kind, { .only = only, .detail = 1, .sb = STRBUF_INIT } };

	if (store_read_txn(S, refs_body, &r))
		sb_adds(&r.l.sb, "error");
	*rows = r.l.kinds[kind];
	return sb_detach(&r.l.sb, NULL);
}

static int cmp_word(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The words of s, each followed by a space, sorted; s is changed. */
static char *sorted(char *s)
{
	char *w[64];
	int n = 0;
	struct strbuf sb = STRBUF_INIT;

	for (char *p = s; *p && n < 64; ) {
		size_t k = strcspn(p, " ");
		w[n++] = p;
		p += k;
		if (*p)
			*p++ = '\0';
	}
	qsort(w, (size_t)n, sizeof(*w), cmp_word);
	for (int i = 0; i < n; i++)
		sb_addf(&sb, "%s ", w[i]);
	return sb_detach(&sb, NULL);
}

/* is_str of the rows storage_refs called back, in no particular order */
static void is_refs(enum jan_ref kind, const char *only, const char *want, int *rows,
		    const char *name)
{
	char *got = refs_of(kind, only, rows), *w = strdup(want);
	char *g = sorted(got), *v = sorted(w);

	is_str(g, v, name);
	free(got);
	free(w);
	free(g);
	free(v);
}

/* storage_refs: every original, every registered rendition, every live run */
static void t_janitor_refs(struct jan *j)
{
	char want[512];
	int n[3] = { -1, -1, -1 }, all = 0;
	struct janlog l = { .only = "", .sb = STRBUF_INIT };

	xsnprintf(want, sizeof(want), "x:0/png/-/0 y:0/png/-/0 z:0/png/-/0 ");
	is_refs(JAN_ORIGINAL, "xyz", want, &n[0], "storage_refs of the originals: each media, its "
		"extension");
	is_refs(JAN_RENDITION, "a0", "a:0/thumb/m/thumb.png/0 ", &n[1],
		"storage_refs of the renditions: the registered one's media, profile and key; "
		"not a success md-finalize has not registered");
	xsnprintf(want, sizeof(want), "z:%lld/thumb/-/%lld 0:%lld/thumb/-/%lld ",
		  (long long)j->job[2], (long long)last_claim(j->job[2]).claim,
		  (long long)j->job[3], (long long)last_claim(j->job[3]).claim);
	is_refs(JAN_RUN, "xyz0123", want, &n[2], "storage_refs of the runs: the running job and "
		"the success not yet finalized, each with its claim; not the dead, finalized, "
		"available or cancelled");
	ok(n[0] > 3 && n[1] >= 1 && n[2] >= 2, "storage_refs: rows of other media too");
	is_int(store_storage_refs(S, jan_rec, &l), 0, "store_storage_refs");
	for (int k = 0; k < 3; k++)
		all += l.kinds[k] == n[k];
	ok(all == 3 && !l.disordered, "store_storage_refs: the three kinds, in order, each whole");
	sb_release(&l.sb);
}

/* One prune, in its own transaction: n pruned ("-1" on failure), *next. */
static int64_t prune(int64_t after, int window, double age, int dry, int64_t *next)
{
	int64_t n = -1;

	*next = -1;
	return store_prune_jobs(S, after, window, age, dry, next, &n) ? -1 : n;
}

/* Whether each of ids[0..n-1] is still a row: "1" or "0" each. */
static const char *rows_of(const int64_t *ids, int n)
{
	static char b[16];

	for (int i = 0; i < n && i < 15; i++)
		b[i] = (char)('0' + job_get(ids[i]).found);
	b[n < 15 ? n : 15] = '\0';
	return b;
}

/*
 * jobs_prune over jobs made in one run of ids:
 *   A  4, succeeded, finalized, an older success   pruned
 *   C  5, dead, finalized                          pruned
 *   D  6, succeeded, not finalized                 kept
 *   E  7, cancelled, finalized                     pruned
 *   F  8, running                                  kept
 *   B  4, succeeded, finalized, the newest one     kept (the rendition's record)
 *   G  4, dead, finalized, newer than B            pruned
 */
static void t_janitor_prune(void)
{
	int64_t v[7], next, first;
	char *why = NULL;

	v[0] = job_new('4', "jp4", 0, 0, 0);
	v[1] = job_new('5', "jp5", 0, 0, 0);
	v[2] = job_new('6', "jp6", 0, 0, 0);
	v[3] = job_new('7', "jp7", 0, 0, 0);
	v[4] = job_new('8', "jp8", 0, 0, 0);
	ok(!run_job(v[0], "jp4", 's') && (v[5] = job_again('4', "jp4")) > v[4] &&
	   !run_job(v[5], "jp4", 's') && (v[6] = job_again('4', "jp4")) > v[5] &&
	   !run_job(v[6], "jp4", 'd'), "three jobs of one media: two succeeded, one dead");
	ok(!run_job(v[1], "jp5", 'd') && !run_job(v[2], "jp6", 's') && !run_job(v[4], "jp8", 'r') &&
	   !store_job_control(S, v[3], JOB_CANCEL, &why) && !why, "dead, succeeded, cancelled, running");
	ok(!stamp('4') && !stamp('5') && !stamp('7'), "jobs_stamp of all but the success and the run");
	tick();
	first = v[0] - 1;
	is_int(prune(first, 100, 3600, 0, &next), 0, "jobs_prune, none older than an hour: none");
	is_int(next, v[6], "jobs_prune: the window ends at the last job");
	is_str(rows_of(v, 7), "1111111", "jobs_prune: none deleted");
	is_int(prune(first, 2, 0, 1, &next), 2, "jobs_prune, dry, a window of two: both prunable");
	is_int(next, v[1], "jobs_prune: the window ends at its second job");
	is_str(rows_of(v, 7), "1111111", "jobs_prune dry: counts only");
	is_int(prune(first, 1, 0, 0, &next), 1, "jobs_prune, a window of one");
	is_int(next, v[0], "jobs_prune: the window's one job");
	is_str(rows_of(v, 7), "0111111", "jobs_prune: the older success went, only it");
	is_int(prune(next, 100, 0, 1, &next), 3, "jobs_prune dry, the rest");
	is_int(prune(v[0], 100, 0, 0, &next), 3, "jobs_prune, the rest");
	is_int(next, v[6], "jobs_prune: up to the last job");
	is_str(rows_of(v, 7), "0010110", "jobs_prune: the dead, the cancelled and the newer dead "
	       "went; the success not finalized, the run and the newest success stay");
	is_int(prune(v[6], 100, 0, 0, &next), 0, "jobs_prune after the last job");
	is_int(next, 0, "jobs_prune: no more jobs");
	is_int(prune(first, 100, 0, 0, &next), 0, "jobs_prune again: nothing left to prune");
}

/* janitor_lock: one holder at a time, on any handle of the database */
static void t_janitor_lock(struct store *s2)
{
	void *h1 = NULL, *h2 = &h1;
	struct store_lock *lk = NULL, *lk2 = NULL;

	is_int(D->janitor_lock(S, &h1), 0, "janitor_lock");
	ok(h1 != NULL, "janitor_lock: held");
	is_int(D->janitor_lock(S, &h2), 0, "janitor_lock again while held: no error");
	ok(h2 == NULL, "janitor_lock again: not held");
	is_int(store_janitor_lock(s2, &lk), 0, "store_janitor_lock there while held");
	ok(lk == NULL, "store_janitor_lock: not held");
	D->janitor_unlock(S, h1);
	is_int(store_janitor_lock(s2, &lk), 0, "store_janitor_lock after janitor_unlock");
	ok(lk != NULL, "store_janitor_lock: held now");
	h2 = &h1;
	D->janitor_lock(S, &h2);
	ok(h2 == NULL, "janitor_lock of the first handle: not held");
	store_janitor_unlock(s2, lk);
	store_janitor_unlock(s2, NULL);
	is_int(store_janitor_lock(S, &lk2), 0, "store_janitor_lock after store_janitor_unlock");
	ok(lk2 != NULL, "store_janitor_lock: held again");
	store_janitor_unlock(S, lk2);
}

/* store_expired_jobs's rows of jobs ids[0..1]: "id/worker/n/claim " */
struct exp {
	int64_t ids[2];
	struct strbuf sb;
};

static int exp_rec(void *arg, const struct jan_row *r)
{
	struct exp *e = arg;

	if (r->id == e->ids[0] || r->id == e->ids[1])
		sb_addf(&e->sb, "%lld/%s/%lld/%lld ", (long long)r->id, r->name, (long long)r->n,
			(long long)r->claim);
	return 0;
}

/* store_expired_jobs: what store_rescue_expired would do, and nothing done */
static void t_janitor_expired(void)
{
	int64_t j1 = job_new('q', "jexp", 0, 0, 1), j2 = job_new('t', "jexp", 0, 0, 3);
	struct exp e = { { j1, j2 }, STRBUF_INIT };
	char want[256];
	int n = -1;

	ok(claim1("wx", "jexp", -10) == j1 && claim1("wy", "jexp", -10) == j2,
	   "two runs whose leases expired, of one attempt and of three");
	is_int(store_expired_jobs(S, exp_rec, &e), 0, "store_expired_jobs");
	xsnprintf(want, sizeof(want), "%lld/wx/1/%lld %lld/wy/0/%lld ", (long long)j1,
		  (long long)last_claim(j1).claim, (long long)j2, (long long)last_claim(j2).claim);
	is_str(e.sb.buf, want, "store_expired_jobs: each run, its worker, whether it goes dead");
	ok(!strcmp(job_get(j1).state, "running") && !strcmp(job_get(j2).state, "running"),
	   "store_expired_jobs: changes nothing");
	store_rescue_expired(S, NULL, &n);
	ok(!strcmp(job_get(j1).state, "dead") && !strcmp(job_get(j2).state, "available"),
	   "and the rescue does as it said");
	sb_release(&e.sb);
}

static void t_janitor(const char *url)
{
	struct jan j = { { 0 }, { 0 } };
	struct store *other = NULL;

	is_int(store_open(url, 0, &other), 0, "another handle of the database");
	if (!other)
		return;
	t_janitor_lock(other);
	t_janitor_state(&j);
	t_janitor_idle(&j);
	t_janitor_fail(&j, other);
	t_janitor_refs(&j);
	t_janitor_prune();
	t_janitor_expired();
	store_close(other);
}

static void conform_all(const char *url)
{
	t_migrate(url);
	t_users();
	t_txn();
	t_ingest();
	t_post_of();
	t_finalize();
	t_hooks();
	t_control();
	t_claim_order();
	t_outcomes();
	t_rescue();
	t_workers();
	t_batches();
	t_enqueue();
	t_reads();
	t_enqueue_primitives();
	t_janitor(url);
	t_content();
	store_close(S);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: conform url\n");
		return MD_EXIT_USAGE;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	conform_all(argv[1]);
	printf("1..%d\n", ntests);
	return failed ? 1 : 0;
}
