#include "fault.h"

#ifdef MD_FAULTS
#include "log.h"
#include "strbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[FAULT_NOPS] = { "write", "rename", "fsync", "mkdir", "open" };

static const struct {
	const char *name;
	int e;
} errnos[] = {
	{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT }, { "EROFS", EROFS },
	{ "EACCES", EACCES }, { "EMFILE", EMFILE },
};

static struct {
	long when;      /* the call that fails, 0 for none */
	int e;
	long count;
} arm[FAULT_NOPS];

/* One "OP:N[:ERRNO]"; 0 or -1. */
static int parse_one(char *s)
{
	char *n = strchr(s, ':'), *e, *end;
	int op, err = EIO;
	long when;

	if (!n)
		return -1;
	*n++ = '\0';
	for (op = 0; op < FAULT_NOPS && strcmp(s, op_names[op]); op++)
		;
	if (op == FAULT_NOPS)
		return -1;
	if ((e = strchr(n, ':')))
		*e++ = '\0';
	errno = 0;
	when = strtol(n, &end, 10);
	if (errno || end == n || *end || when < 1)
		return -1;
	if (e) {
		size_t i;
		for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]) && strcmp(e, errnos[i].name); i++)
			;
		if (i == sizeof(errnos) / sizeof(errnos[0]))
			return -1;
		err = errnos[i].e;
	}
	arm[op].when = when;
	arm[op].e = err;
	return 0;
}

static void parse_env(void)
{
	const char *v = getenv("MD_FAULT");
	char *copy, *save = NULL;

	if (!v || !*v)
		return;
	copy = xstrdup(v);
	for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		if (parse_one(s)) {
			warning("ignoring MD_FAULT '%s': want OP:N[:ERRNO], OP write, rename, fsync, "
				"mkdir or open", v);
			memset(arm, 0, sizeof(arm));
			break;
		}
	}
	free(copy);
}

int fault_hit(enum fault_op op, int fd)
{
	static int parsed;
	int saved = errno;

	if (!parsed) {
		parsed = 1;
		parse_env();
		errno = saved;
	}
	if (!arm[op].when)
		return 0;
	if (op == FAULT_WRITE && fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
			errno = saved;
			return 0;
		}
	}
	if (++arm[op].count != arm[op].when)
		return 0;
	errno = arm[op].e;
	return 1;
}
#else
/* ISO C wants something in a translation unit. */
typedef int fault_unused;
#endif
