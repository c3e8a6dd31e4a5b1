#include "owner.h"
#include "log.h"
#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* path, or the nearest of its parents that exists (or that refuses to be
 * searched), with its stat in *sb; caller frees.  NULL when none can be
 * looked at. */
static char *nearest(const char *path, struct stat *sb)
{
	char *p = xstrdup(path);

	while (stat(p, sb)) {
		char *slash = strrchr(p, '/');
		if ((errno != ENOENT && errno != EACCES) || !strcmp(p, ".") || !strcmp(p, "/")) {
			free(p);
			return NULL;
		}
		if (!slash) {
			free(p);
			p = xstrdup(".");
		} else {
			slash[slash == p] = '\0';   /* "/x" -> "/", "/x/y" -> "/x" */
		}
	}
	return p;
}

/* "memedroid", or "#61234" for an id without a name; caller frees. */
static char *user_name(uid_t u)
{
	struct passwd *pw = getpwuid(u);

	return pw ? xstrdup(pw->pw_name) : xstrfmt("#%lu", (unsigned long)u);
}

static char *group_name(gid_t g)
{
	struct group *gr = getgrgid(g);

	return gr ? xstrdup(gr->gr_name) : xstrfmt("#%lu", (unsigned long)g);
}

static void refuse_root(const char *what, const char *path, const char *at, const struct stat *sb)
{
	char *who = user_name(sb->st_uid);
	const char *q = who[0] == '#' ? "'" : "";

	if (strcmp(path, at))
		error("%s '%s' would be made in '%s', which belongs to '%s': run as that user "
		      "(sudo -u %s%s%s %s ...)", what, path, at, who, q, who, q, log_tool());
	else
		error("%s '%s' belongs to '%s': run as that user (sudo -u %s%s%s %s ...)",
		      what, path, who, q, who, q, log_tool());
	free(who);
}

static void refuse_user(const char *what, const char *path, const char *at, const struct stat *sb,
			int e)
{
	char *who = user_name(sb->st_uid), *grp = group_name(sb->st_gid);
	char *in = strcmp(path, at) ? xstrfmt(" in '%s'", at) : xstrdup("");

	error("cannot write to %s '%s'%s: %s (owner '%s', group '%s', mode %04o)", what, path, in,
	      strerror(e), who, grp, (unsigned)(sb->st_mode & 07777));
	free(in);
	free(grp);
	free(who);
}

int owner_check(const char *what, const char *path)
{
	struct stat sb;
	char *at = nearest(path, &sb);
	uid_t me = geteuid();
	int e = 0;

	if (!at || sb.st_uid == me) {
		free(at);
		return 0;
	}
	if (me == 0) {
		refuse_root(what, path, at, &sb);
		e = EPERM;
	} else if (faccessat(AT_FDCWD, at, S_ISDIR(sb.st_mode) ? W_OK | X_OK : R_OK | W_OK,
			     AT_EACCESS)) {
		e = errno;
		refuse_user(what, path, at, &sb, e);
	}
	free(at);
	if (!e)
		return 0;
	errno = e;
	return -1;
}
