/*
 * md-db - create the database and keep its schema current.
 *
 *   md-db init       create database and storage directories, migrate
 *   md-db migrate    apply the pending migrations, each in a transaction
 *   md-db status     list migrations, applied or pending
 *   md-db check      look for damage: one line per problem, exit 65 if any
 */
#include "cli.h"
#include "emit.h"
#include "exits.h"
#include "log.h"
#include "storage.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char synopsis[] =
	"usage: md-db [-qv] [-c FILE] [--db URL] [--storage URL] [--log-format FMT]\n"
	"             [--log-level LEVEL] [--json] init | migrate | status | check\n";

static const char commands[] =
	"  init      create the database and storage directories, apply migrations\n"
	"  migrate   apply pending migrations (sql/<backend>/NNN_*.sql, embedded)\n"
	"  status    list the migrations and whether each is applied\n"
	"  check     look for damage (SQLite: integrity_check); one line per problem\n";

static struct cli cli;

static int no_opts(void *ctx, int opt, const char *arg)
{
	return -1;
}

static int open_store(int flags, struct store **s)
{
	return store_open(cli.conf.db_url, flags | STORE_NO_SCHEMA, s);
}

static int cmd_migrate(int create)
{
	struct store *s;
	int applied = 0, rc;

	if (create) {
		struct storage st;
		if (storage_open(&st, cli.conf.storage, &cli.conf.s3))
			return MD_EXIT_CONFIG;
		if (storage_init(&st)) {
			int e = errno;
			char *name = storage_name(&st, NULL);
			error("cannot create storage '%s': %s", name, storage_strerror(&st, e));
			free(name);
			storage_close(&st);
			return storage_exit_code(e);
		}
		storage_close(&st);
	}
	/* migrate creates a new SQLite file as init does (init adds the
	 * storage); a PostgreSQL database is always the DBA's (createdb) */
	if ((rc = open_store(STORE_CREATE, &s)))
		return rc;
	rc = store_migrate(s, &applied);
	if (!rc) {
		char *u = store_redact_url(cli.conf.db_url);
		info("database '%s' (%s) is up to date: %d migration%s applied",
		     u, store_backend(s), applied, applied == 1 ? "" : "s");
		free(u);
	}
	store_close(s);
	return rc;
}

static void status_line(void *arg, int version, const char *name, const char *applied_at)
{
	struct emit e;
	char v[16];

	xsnprintf(v, sizeof(v), "%03d", version);
	emit_begin(&e, cli.json);
	if (cli.json)
		emit_int(&e, "version", version);
	else
		emit_str(&e, "version", v);
	emit_str(&e, "name", name);
	emit_str(&e, "state", applied_at ? "applied" : "pending");
	emit_str(&e, "applied_at", applied_at);
	if (emit_end(&e, stdout))
		*(int *)arg = 1;
}

static int cmd_status(void)
{
	struct store *s;
	int rc, werr = 0;

	if ((rc = open_store(0, &s)))
		return rc;
	rc = store_migration_status(s, status_line, &werr);
	store_close(s);
	return rc ? rc : werr ? MD_EXIT_IOERR : 0;
}

static void check_line(void *arg, const char *part, const char *problem)
{
	struct emit e;

	emit_begin(&e, cli.json);
	emit_str(&e, "part", part);
	emit_str(&e, "problem", problem);
	if (emit_end(&e, stdout))
		*(int *)arg = 1;
}

/* 0: sound, MD_EXIT_CORRUPT: damaged, MD_EXIT_CONFIG: only the schema's
 * version is not this release's. */
static int cmd_check(void)
{
	struct store *s;
	int rc, werr = 0, schema = 0, damage = 0;

	if ((rc = open_store(0, &s)))
		return rc;
	rc = store_check(s, check_line, &werr, &schema, &damage);
	char *u = store_redact_url(cli.conf.db_url);
	if (!rc && damage)
		error("database '%s' is damaged: %d problem%s found", u, damage, damage == 1 ? "" : "s");
	else if (!rc && schema)
		error("database '%s' is not at this release's schema version", u);
	else if (!rc)
		info("database '%s' (%s): no problem found", u, store_backend(s));
	free(u);
	store_close(s);
	if (rc)
		return rc;
	if (werr)
		return MD_EXIT_IOERR;
	return damage ? MD_EXIT_CORRUPT : schema ? MD_EXIT_CONFIG : 0;
}

int main(int argc, char **argv)
{
	int i = cli_start_verb_table(&cli, argc, argv, "md-db", synopsis, commands, NULL, no_opts,
				     NULL);
	const char *verb;
	int rc;

	if (i >= argc)
		usage_error(&cli, "missing command: init, migrate, status or check");
	if (i + 1 < argc)
		cli_extra_operand(&cli, argv[i + 1]);
	verb = argv[i];
	if (!strcmp(verb, "init"))
		rc = cmd_migrate(1);
	else if (!strcmp(verb, "migrate"))
		rc = cmd_migrate(0);
	else if (!strcmp(verb, "status"))
		rc = cmd_status();
	else if (!strcmp(verb, "check"))
		rc = cmd_check();
	else
		usage_error(&cli, "unknown command '%s'", verb);
	return cli_finish(&cli, rc);
}
