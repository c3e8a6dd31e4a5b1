/*
 * store_migrate.c - schema migrations, above the drivers: which migration
 * runs, in what transaction, and what a database newer than the tool
 * means.  The drivers only lock, read the version and apply one migration
 * (store_int.h).
 */
#include "store.h"
#include "store_int.h"
#include "exits.h"
#include "log.h"
#include "strbuf.h"

#include <stdlib.h>

struct migrate_step {
	const struct migration *m;
	int done;               /* this try applied it */
};

/* One migration in its own transaction, unless done already. */
static int migrate_one(struct store *s, void *arg)
{
	struct migrate_step *step = arg;
	int version = 0, rc;

	step->done = 0;
	/* two md-db migrate at once: the second waits, then finds it done */
	if ((rc = s->drv->migrate_lock(s)))
		return rc;
	if ((rc = s->drv->schema_version(s, &version)) > 1)
		return rc;
	if (version > store_schema_wanted(s))
		return store_schema_newer(s, version);
	if (step->m->version <= version)
		return STORE_ROLLBACK;
	if ((rc = s->drv->migration_apply(s, step->m)))
		return rc;
	step->done = 1;
	return 0;
}

int store_migrate(struct store *s, int *applied)
{
	int rc, version = 0;

	*applied = 0;
	for (int i = 0; i < store_schema_wanted(s); i++) {
		struct migrate_step step = { .m = &s->drv->migrations[i] };

		if ((rc = store_txn(s, migrate_one, &step)))
			return rc;
		if (step.done) {
			info("applied migration %03d_%s", step.m->version, step.m->name);
			(*applied)++;
		}
	}
	if ((rc = s->drv->schema_version(s, &version)) > 1)
		return rc;
	if (version > store_schema_wanted(s))
		return store_schema_newer(s, version);
	return 0;
}

struct applied {
	const struct migration *v;
	int n;
	char **at;              /* parallel to v: when it was applied, or NULL */
};

static void note_applied(void *arg, int version, const char *applied_at)
{
	struct applied *a = arg;

	for (int i = 0; i < a->n; i++)
		if (a->v[i].version == version && !a->at[i])
			a->at[i] = xstrdup(applied_at ? applied_at : "");
}

int store_migration_status(struct store *s, migration_cb cb, void *arg)
{
	struct applied a = { .v = s->drv->migrations, .n = store_schema_wanted(s) };
	int rc;

	a.at = xcalloc((size_t)a.n + 1, sizeof(*a.at));
	if (!(rc = s->drv->migrations_applied(s, note_applied, &a)))
		for (int i = 0; i < a.n; i++)
			cb(arg, a.v[i].version, a.v[i].name, a.at[i]);
	for (int i = 0; i < a.n; i++)
		free(a.at[i]);
	free(a.at);
	return rc;
}
