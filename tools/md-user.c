/*
 * md-user - the users who own posts.
 *
 *   md-user add [--email EMAIL] NAME     password on stdin, kept as bcrypt
 *   md-user list
 *   md-user passwd [--email EMAIL] NAME  a new password on stdin
 *   md-user del [-n] [--delete-posts | --reassign-to OTHER] NAME
 *                                        a user, and its posts removed or
 *                                        given to OTHER (content.h)
 *   md-user check NAME                   password on stdin: exit 0 or 1
 *   md-user token [--ttl DUR] NAME       an HS256 JWT
 *   md-user token --verify               a token on stdin: its claims
 *
 * The rules for passwords (bcrypt, 72 bytes, constant work) and tokens
 * are lib/auth.c's; this file reads the secrets, talks to the store and
 * prints.  Tokens are signed and verified with auth.jwt_secret.
 */
#include "auth.h"
#include "cli.h"
#include "content.h"
#include "emit.h"
#include "exits.h"
#include "log.h"
#include "store.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char synopsis[] =
	"usage: md-user [common options] add | passwd [--email EMAIL] NAME\n"
	"       md-user [common options] list | check NAME\n"
	"       md-user [common options] del [-n|--dry-run] [--delete-posts | --reassign-to OTHER]\n"
	"              NAME\n"
	"       md-user [common options] token [--ttl DUR] NAME | token --verify\n";

static const char commands[] =
	"  add NAME        a new user; the password (1 to 72 bytes) is read from stdin\n"
	"  passwd NAME     a new password (from stdin) for a user\n"
	"  list            users: name, email, password set, posts, created_at\n"
	"  del NAME        remove a user; one who owns posts needs --delete-posts or\n"
	"                  --reassign-to\n"
	"  check NAME      password on stdin: exit 0 if it is NAME's, 1 if not\n"
	"  token NAME      print a signed token (HS256 JWT) for NAME\n"
	"  token --verify  read a token on stdin, print its claims if it is valid\n";

enum { OPT_EMAIL = OPT_TOOL_BASE, OPT_TTL, OPT_VERIFY, OPT_DELETE_POSTS, OPT_REASSIGN };

static const struct cli_option options[] = {
	{ OPT_EMAIL, "email", "EMAIL", "add, passwd: the user's email address (unique)" },
	{ OPT_TTL, "ttl", "DUR", "token: its lifetime (default auth.token_ttl, 1h)" },
	{ OPT_VERIFY, "verify", NULL, "token: read a token on stdin, print its claims" },
	{ OPT_DELETE_POSTS, "delete-posts", NULL, "del: remove the user's posts too (as md-post del)" },
	{ OPT_REASSIGN, "reassign-to", "OTHER", "del: give the user's posts to user OTHER" },
	{ 'n', "dry-run", NULL, "del: print what would be removed, remove nothing" },
	CLI_OPTIONS_END
};

#define INPUT_MAX 1024          /* bytes in a line of stdin with a password */

static struct cli cli;
static const char *email;
static double ttl = -1;
static int verify, werr, dry_run;
static enum user_posts posts_how = USER_POSTS_REFUSE;
static const char *reassign_to;

static int on_opt(void *ctx, int o, const char *arg)
{
	switch (o) {
	case OPT_EMAIL:
		if (!*arg || strlen(arg) > 254 || !strchr(arg, '@') || strpbrk(arg, " \t\r\n"))
			usage_error(&cli, "bad --email '%s'", arg);
		email = arg;
		break;
	case OPT_TTL:
		if (parse_duration(arg, &ttl) || ttl < 1 || ttl > AUTH_TTL_MAX)
			usage_error(&cli, "bad --ttl '%s' (like 30m, 1h, 7d; 1s to 3650d)", arg);
		break;
	case OPT_VERIFY: verify = 1; break;
	case OPT_DELETE_POSTS:
		if (reassign_to)
			usage_error(&cli, "--delete-posts or --reassign-to, not both");
		posts_how = USER_POSTS_DELETE;
		break;
	case OPT_REASSIGN:
		if (posts_how == USER_POSTS_DELETE)
			usage_error(&cli, "--delete-posts or --reassign-to, not both");
		if (!user_name_valid(arg))
			usage_error(&cli, "bad --reassign-to '%s'", arg);
		posts_how = USER_POSTS_REASSIGN;
		reassign_to = arg;
		break;
	case 'n': dry_run = 1; break;
	default: return -1;
	}
	return 0;
}

/*
 * The first line of stdin, without its newline: a password or a token of
 * at most max bytes.  On a terminal, asked for without echo.  NULL
 * (reported) when empty, too long or unreadable.
 */
static struct termios saved_tty;

/* A signal while echo is off: echo back on, then die of the signal. */
static void on_signal(int sig)
{
	tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
	signal(sig, SIG_DFL);
	raise(sig);
}

static char *read_secret(const char *prompt, const char *what, size_t max)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
	struct sigaction sa = { .sa_handler = on_signal }, old_sa[5];
	int tty = isatty(STDIN_FILENO) && !tcgetattr(STDIN_FILENO, &saved_tty);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (tty) {
		struct termios quiet = saved_tty;

		sigemptyset(&sa.sa_mask);
		for (int i = 0; i < 5; i++)
			sigaction(sigs[i], &sa, &old_sa[i]);
		fprintf(stderr, "%s", prompt);
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
	}
	n = getline(&line, &cap, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
		for (int i = 0; i < 5; i++)
			sigaction(sigs[i], &old_sa[i], NULL);
		fputc('\n', stderr);
	}
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	if (n <= 0 || (size_t)n > max || strlen(line) != (size_t)n) {
		error("%s on standard input: %s", what,
		      n <= 0 ? "none given" : (size_t)n > max ? "too long" : "holds a NUL byte");
		free(line);
		return NULL;
	}
	return line;
}

/* ---------- tokens ---------- */

static const char *need_secret(void)
{
	if (!cli.conf.jwt_secret)
		error("no auth.jwt_secret in the configuration: tokens need one (32 characters at least)");
	return cli.conf.jwt_secret;
}

static int count_user(void *arg, const struct user_info *u)
{
	(void)u;
	++*(int *)arg;
	return 0;
}

static int cmd_token(struct store *db, const char *name)
{
	const char *secret = need_secret(), *why;
	char *tok;
	int found = 0;

	if (!secret)
		return MD_EXIT_CONFIG;
	int rc = store_users(db, name, count_user, &found);
	if (rc)
		return rc;
	if (!found) {
		logkv(LOG_ERROR, "no such user", "user", name, (char *)NULL);
		return MD_EXIT_DATAERR;
	}
	double life = ttl > 0 ? ttl : cli.conf.token_ttl;
	if (life < 1 || life > AUTH_TTL_MAX) {
		error("auth.token_ttl must be 1s to 3650d");
		return MD_EXIT_CONFIG;
	}
	if (!(tok = auth_token_issue(secret, name, (long long)time(NULL), life, &why))) {
		error("cannot sign a token for '%s'", name);
		return MD_EXIT_SOFTWARE;
	}
	if (printf("%s\n", tok) < 0)
		werr = 1;
	free(tok);
	return 0;
}

static int cmd_verify(void)
{
	const char *secret = need_secret(), *why;
	struct jwt_claims claims;
	char *tok;

	if (!secret)
		return MD_EXIT_CONFIG;
	if (!(tok = read_secret("token: ", "a token", JWT_MAX_LEN)))
		return MD_EXIT_DATAERR;
	if (auth_token_verify(secret, tok, (long long)time(NULL), &claims, &why)) {
		error("invalid token: %s", why);
		auth_secret_free(tok);
		return MD_EXIT_PARTIAL;
	}
	auth_secret_free(tok);
	if (printf("%s\n", claims.json) < 0)
		werr = 1;
	jwt_claims_release(&claims);
	return 0;
}

/* ---------- the other commands ---------- */

static int print_user(void *arg, const struct user_info *u)
{
	struct emit e;

	emit_begin(&e, cli.json);
	emit_str(&e, "user", u->name);
	emit_str(&e, "email", u->email);
	if (cli.json)
		emit_bool(&e, "password", u->password_hash != NULL);
	else
		emit_str(&e, "password", u->password_hash ? "yes" : "no");
	emit_int(&e, "posts", u->posts);
	emit_str(&e, "created_at", u->created_at);
	werr |= emit_end(&e, stdout);
	return 0;
}

static int keep_hash(void *arg, const struct user_info *u)
{
	char **h = arg;

	free(*h);
	*h = u->password_hash ? xstrdup(u->password_hash) : NULL;
	return 0;
}

/* check: no message, the exit code is the answer (auth_request helpers) */
static int cmd_check(struct store *db, const char *name)
{
	char *password = read_secret("password: ", "a password", INPUT_MAX), *stored = NULL;
	int rc, ok;

	if (!password)
		return MD_EXIT_DATAERR;
	if ((rc = store_users(db, name, keep_hash, &stored))) {
		auth_secret_free(password);
		return rc;
	}
	ok = auth_password_check(password, stored);
	auth_secret_free(password);
	free(stored);
	logkv(LOG_DEBUG, ok ? "password matches" : "password does not match", "user", name,
	      (char *)NULL);
	return ok ? 0 : MD_EXIT_PARTIAL;
}

static int cmd_change(struct store *db, enum user_op op, const char *name)
{
	char *password = NULL, *hash = NULL, *refused = NULL;
	int rc;

	if (op != USER_DEL) {
		if (!(password = read_secret("password: ", "a password", INPUT_MAX)))
			return MD_EXIT_DATAERR;
		if (!auth_password_acceptable(password)) {
			error("a password on standard input: longer than %d bytes, "
			      "which bcrypt would cut", AUTH_PASSWORD_MAX);
			auth_secret_free(password);
			return MD_EXIT_DATAERR;
		}
		hash = auth_password_hash(password);
		auth_secret_free(password);
		if (!hash)
			return MD_EXIT_SOFTWARE;
	}
	rc = store_user_change(db, op, name, email, hash, &refused);
	free(hash);
	if (rc)
		return rc;
	if (refused) {
		logkv(LOG_ERROR, refused, "user", name, (char *)NULL);
		free(refused);
		return MD_EXIT_DATAERR;
	}
	logkv(LOG_INFO, op == USER_ADD ? "user added" : op == USER_DEL ? "user removed"
	      : "password set", "user", name, (char *)NULL);
	return 0;
}

/* del: the user, and its posts as --delete-posts or --reassign-to say;
 * the files of removed media after the commit (content.h). */
static int cmd_del(struct store *db, const char *name)
{
	struct storage st;
	struct removal r;
	char *refused = NULL;
	int rc;

	if (storage_open(&st, cli.conf.storage, &cli.conf.s3))
		return MD_EXIT_CONFIG;
	rc = store_user_remove(db, name, posts_how, reassign_to, dry_run, &r, &refused);
	if (!rc && refused) {
		logkv(LOG_ERROR, refused, "user", name, (char *)NULL);
		rc = MD_EXIT_DATAERR;
	} else if (!rc) {
		werr |= content_emit(&r, cli.json) != 0;
		werr |= content_emit_user(name, cli.json) != 0;
		rc = content_files_remove(&st, db, &r, dry_run, cli.json, &werr);
		logkv(LOG_INFO, dry_run ? "dry run: nothing removed" : "user removed", "user", name,
		      (char *)NULL);
	}
	free(refused);
	removal_release(&r);
	storage_close(&st);
	return rc;
}

int main(int argc, char **argv)
{
	int i = cli_start_verb_table(&cli, argc, argv, "md-user", synopsis, commands, options,
				     on_opt, NULL);
	static const char *const cmds[] = { "add", "list", "passwd", "del", "check", "token" };
	const char *cmd, *name = NULL;
	struct store *db = NULL;
	size_t k;
	int rc;

	if (i >= argc)
		usage_error(&cli, "which command? add, list, passwd, del, check or token");
	cmd = argv[i++];
	for (k = 0; k < sizeof(cmds) / sizeof(*cmds) && strcmp(cmd, cmds[k]); k++)
		;
	if (k == sizeof(cmds) / sizeof(*cmds))
		usage_error(&cli, "unknown command '%s'", cmd);
	int wants_name = strcmp(cmd, "list") && !(verify && !strcmp(cmd, "token"));
	if (wants_name) {
		if (i >= argc)
			usage_error(&cli, "%s needs a user name", cmd);
		name = argv[i++];
		if (!user_name_valid(name))
			usage_error(&cli, "bad user name '%s' (1 to 64 bytes of UTF-8, no space, "
				    "control character or comma)", name);
	}
	if (i < argc)
		cli_extra_operand(&cli, argv[i]);
	if (email && strcmp(cmd, "add") && strcmp(cmd, "passwd"))
		usage_error(&cli, "--email is for add and passwd");
	if (ttl > 0 && strcmp(cmd, "token"))
		usage_error(&cli, "--ttl is for token");
	if ((dry_run || posts_how != USER_POSTS_REFUSE) && strcmp(cmd, "del"))
		usage_error(&cli, "--dry-run, --delete-posts and --reassign-to are for del");
	if (verify && (strcmp(cmd, "token") || ttl > 0))
		usage_error(&cli, "--verify is for token, alone");

	if (verify)
		return cli_finish(&cli, cmd_verify());
	if ((rc = store_open(cli.conf.db_url, 0, &db)))
		return cli_finish(&cli, rc);
	if (!strcmp(cmd, "list"))
		rc = store_users(db, NULL, print_user, NULL);
	else if (!strcmp(cmd, "add"))
		rc = cmd_change(db, USER_ADD, name);
	else if (!strcmp(cmd, "passwd"))
		rc = cmd_change(db, USER_PASSWD, name);
	else if (!strcmp(cmd, "del"))
		rc = cmd_del(db, name);
	else if (!strcmp(cmd, "check"))
		rc = cmd_check(db, name);
	else
		rc = cmd_token(db, name);
	store_close(db);
	if (!rc && werr)
		rc = MD_EXIT_IOERR;
	return cli_finish(&cli, rc);
}
