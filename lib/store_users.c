/*
 * store_users.c - the users of md-user, above the drivers: who may be
 * added, changed or deleted, the refusal texts, and the one transaction
 * each change is.  The drivers read the facts and write the row
 * (store_int.h).
 */
#include "store.h"
#include "store_int.h"
#include "log.h"
#include "strbuf.h"

#include <stdlib.h>

char *user_change_refusal(enum user_op op, const char *name, const char *email, int exists,
			  int taken, int64_t posts)
{
	if (op == USER_ADD && exists)
		return xstrfmt("user '%s' exists", name);
	if (op != USER_ADD && !exists)
		return xstrfmt("no such user '%s'", name);
	if (email && taken)
		return xstrfmt("email '%s' belongs to another user", email);
	if (op == USER_DEL && posts)
		return xstrfmt("user '%s' owns %lld post%s", name, (long long)posts,
			       posts == 1 ? "" : "s");
	return NULL;
}

int store_users(struct store *s, const char *name, user_cb cb, void *arg)
{
	return s->drv->users(s, name, cb, arg);
}

struct user_change {
	enum user_op op;
	const char *name, *email, *hash;
	char **refused;
};

/* Check, then change, with no other change of users in between. */
static int user_change_body(struct store *s, void *arg)
{
	struct user_change *c = arg;
	int64_t exists = 0, taken = 0, posts = 0;
	int rc;

	free(*c->refused);
	*c->refused = NULL;
	if (s->drv->users_lock && (rc = s->drv->users_lock(s)))
		return rc;
	if ((rc = s->drv->user_facts(s, c->name, c->email, &exists, &taken, &posts)))
		return rc;
	*c->refused = user_change_refusal(c->op, c->name, c->email, exists > 0, taken > 0, posts);
	if (*c->refused)
		return STORE_ROLLBACK;
	return s->drv->user_write(s, c->op, c->name, c->email, c->hash);
}

int store_user_change(struct store *s, enum user_op op, const char *name, const char *email,
		      const char *hash, char **refused)
{
	struct user_change c = { op, name, email, hash, refused };

	*refused = NULL;
	return store_txn(s, user_change_body, &c);
}
