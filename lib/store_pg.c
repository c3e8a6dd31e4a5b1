/*
 * store_pg.c - the store on PostgreSQL (libpq).
 */
#include "store.h"
#include "exits.h"
#include "log.h"
#include "strbuf.h"

#include <stdlib.h>

int store_pg_open(const char *conninfo, int flags, struct store **out)
{
	char *u = store_redact_url(conninfo);

	(void)flags;
	*out = NULL;
	error("database '%s': the PostgreSQL backend is not built yet", u);
	free(u);
	return MD_EXIT_CONFIG;
}
