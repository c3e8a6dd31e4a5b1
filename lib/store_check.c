/*
 * store_check.c - md-db check above the drivers: the schema version is
 * the policy's, the file and the schema's objects each driver's own
 * (store_int.h, check).
 */
#include "store.h"
#include "store_int.h"
#include "exits.h"
#include "log.h"
#include "strbuf.h"

#include <stdlib.h>

int store_check(struct store *s, check_cb cb, void *arg, int *schema, int *damage)
{
	int version = 0, want = store_schema_wanted(s);
	int rc = s->drv->schema_version(s, &version);

	*schema = *damage = 0;
	if (rc > 1)
		return rc;
	if (rc == 1 || version != want) {
		char *m = xstrfmt("version %d, this release knows %d: %s", version, want,
				  version < want ? "run 'md-db migrate'" : "upgrade memedroid");
		cb(arg, "schema", m);
		free(m);
		(*schema)++;
	}
	/* the tables and indexes are known only at the version we know */
	return s->drv->check(s, !*schema, cb, arg, damage);
}
