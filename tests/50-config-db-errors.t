#!/bin/bash
# 50-config-db-errors.t - configuration and database errors: an unmigrated
# database is refused (78, naming 'md-db migrate'), bad config files are
# refused with FILE:LINE and the key (78), --db > MD_DB > config database,
# and bad command-line values are usage errors (64).
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup

IN=$MD_TMP/in
md_samples "$IN"
sha=$(sha256 "$IN/still.png")

# number of tables in the test database
tables() {
	if [ "$MD_BACKEND" = sqlite ]; then
		db_query "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	else
		db_query "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
	fi
}

# --- an empty, unmigrated database ------------------------------------------------
[ "$MD_BACKEND" = sqlite ] && : >"$MD_TMP/md.db"   # an empty SQLite database
for cmd in "md-ingest $IN/still.png" "md-feed" "md-enqueue -p thumb $sha" \
	"md-work --drain" "md-finalize"; do
	# shellcheck disable=SC2086
	run $cmd
	is "$rc" 78 "unmigrated database: $cmd exits 78"
	like "$err" "md-db migrate" "unmigrated database: $cmd names 'md-db migrate'"
done
is "$(tables)" 0 "the tools did not create any table themselves"
is "$(count_files "$STORE/originals")$(count_files "$STORE/tmp")" 00 \
	"md-ingest stored nothing in an unmigrated database"

run md-db status
is "$rc" 0 "md-db status on an empty database exits 0"
ok "md-db status: every migration pending" test -n "$out" -a \
	"$(printf '%s\n' "$out" | awk -F '\t' '$3 != "pending"' | wc -l)" -eq 0

run md-db migrate
is "$rc" 0 "md-db migrate exits 0" || diag "$err"
run md-db status
is "$(printf '%s\n' "$out" | awk -F '\t' '$3 != "applied"' | wc -l)" 0 "after migrate: every migration applied"
n_applied=$(db_count schema_migrations)
run md-db migrate
is "$rc" 0 "md-db migrate again exits 0 (nothing to do)"
is "$(db_count schema_migrations)" "$n_applied" "md-db migrate again applies nothing"
run md-feed
is "$rc|$out" "0|" "md-feed on the migrated empty database: exit 0, no posts"

# md-db migrate on a new SQLite path creates it, as md-db init does (the
# storage is init's); a missing file is otherwise named with md-db init
if [ "$MD_BACKEND" = sqlite ]; then
	run md-db --db "sqlite:$MD_TMP/new/sub/fresh.db" migrate
	is "$rc" 0 "md-db migrate creates a new SQLite database" || diag "$err"
	run md-db --db "sqlite:$MD_TMP/new/sub/fresh.db" status
	is "$(printf '%s\n' "$out" | awk -F '\t' '$3 != "applied"' | wc -l)" 0 \
		"the new database is fully migrated"
	run md-feed --db "sqlite:$MD_TMP/absent.db"
	is "$rc" 78 "another tool on a missing SQLite file: 78"
	like "$err" "does not exist: run 'md-db init'" "and it names md-db init"
	ok "and it created no file" test ! -e "$MD_TMP/absent.db"
fi

# a database migrated by a newer release is refused
if db_query "INSERT INTO schema_migrations (version, name) VALUES (999, 'from_the_future')" \
	2>/dev/null; then
	run md-db migrate
	is "$rc" 78 "md-db migrate refuses a database newer than it knows (78)"
	db_query "DELETE FROM schema_migrations WHERE version = 999"
else
	skip "cannot insert into schema_migrations (version, name)"
fi

# --- configuration file errors -------------------------------------------------------
cfgerr() {  # cfgerr NAME FILE KEY LINE: md-feed -c FILE exits 78 naming FILE:LINE and KEY
	run md-feed -c "$2"
	is "$rc" 78 "$1: exits 78"
	like "$err" "$2:$4:" "$1: the message names the file and line ($2:$4)"
	like "$err" "$3" "$1: the message names the key '$3'"
}

C=$MD_TMP/cfg
mkdir -p "$C"
printf 'worker:\n  jobs: 2\n  bogus_key: 1\n' >"$C/unknown.yaml"
cfgerr "unknown key in a section" "$C/unknown.yaml" bogus_key 3
like "$err" "tool=md-feed msg=\"$C/unknown.yaml:3: unknown key 'bogus_key'\"" \
	"the message reads FILE:LINE: unknown key 'KEY'"
printf '# comment\nlog:\n  level: info\nfrobnicate: yes\n' >"$C/unknown-top.yaml"
cfgerr "unknown top-level key" "$C/unknown-top.yaml" frobnicate 4
printf 'worker:\n  lease: 10 parsecs\n' >"$C/baddur.yaml"
cfgerr "bad duration" "$C/baddur.yaml" lease 2
printf 'worker:\n  retry_base: 5\n  grace: -3s\n' >"$C/negdur.yaml"
run md-feed -c "$C/negdur.yaml"
is "$rc" 78 "negative or unitless duration: exits 78"
printf 'limits:\n  bytes: 12 furlongs\n' >"$C/badsize.yaml"
cfgerr "bad size" "$C/badsize.yaml" bytes 2
printf 'worker:\n  jobs: many\n' >"$C/badjobs.yaml"
cfgerr "bad number" "$C/badjobs.yaml" jobs 2
printf 'log:\n  format: xml\n' >"$C/badenum.yaml"
cfgerr "bad log format" "$C/badenum.yaml" format 2
printf 'worker: [unclosed\n' >"$C/syntax.yaml"
run md-feed -c "$C/syntax.yaml"
is "$rc" 78 "YAML syntax error: exits 78"
like "$err" "$C/syntax.yaml" "YAML syntax error: the message names the file"
run md-feed -c "$C/no-such-file.yaml"
is "$rc" 78 "-c with a missing file: exits 78"
like "$err" "no-such-file.yaml" "-c with a missing file: the message names it"

# the config file is found through MD_CONFIG and XDG_CONFIG_HOME too
run env MD_CONFIG="$C/unknown.yaml" md-feed
is "$rc" 78 "a bad config named by MD_CONFIG is read (78)"
mkdir -p "$XDG_CONFIG_HOME/memedroid"
cp "$C/unknown.yaml" "$XDG_CONFIG_HOME/memedroid/config.yaml"
run md-feed
is "$rc" 78 "a bad \$XDG_CONFIG_HOME/memedroid/config.yaml is read (78)"
like "$err" "$XDG_CONFIG_HOME/memedroid/config.yaml:3:" "... and named with its line"
run md-feed -c "$C/baddur.yaml"
like "$err" "baddur.yaml:2:" "-c beats \$XDG_CONFIG_HOME/memedroid/config.yaml"
rm -f "$XDG_CONFIG_HOME/memedroid/config.yaml"
printf 'worker:\n  jobs: 2\n  lease: 90s\nlimits:\n  bytes: 64MiB\n  duration: 5m\n' >"$C/good.yaml"
run md-feed -c "$C/good.yaml"
is "$rc" 0 "a valid config file is accepted" || diag "$err"
chmod 644 "$C/good.yaml"
run md-feed -c "$C/good.yaml"
unlike "$err" "good\.yaml" "a world-readable config without secrets draws no warning"
printf 'database: postgresql://someone:s3cr3tpw@/nodb?host=/nonexistent\n' >"$C/secret.yaml"
chmod 644 "$C/secret.yaml"
run md-feed -c "$C/secret.yaml" --db "$MD_DB"
is "$rc" 0 "--db overrides the config's database"
like "$err" "secret.yaml" "a world-readable config holding a password draws a warning naming it"
unlike "$err" "s3cr3tpw" "the warning does not show the password"
run md-feed -q -c "$C/secret.yaml" --db "$MD_DB"
is "$rc|$err" "0|" "-q: only errors on stderr, so no warning"

# --- precedence: --db > MD_DB > config database ------------------------------------
P=$MD_TMP/prec
mkdir -p "$P"
printf 'database: sqlite:%s/config.db\n' "$P" >"$P/config.yaml"
posts_in() { sqlite3 -batch "$1" 'SELECT count(*) FROM posts' 2>/dev/null || echo none; }

run env -u MD_DB md-db -c "$P/config.yaml" init
is "$rc" 0 "md-db init with the config's database" || diag "$err"
ok "config database created" test -s "$P/config.db"
run env MD_DB="sqlite:$P/env.db" md-db -c "$P/config.yaml" init
ok "MD_DB beats the config database" test -s "$P/env.db"
run env MD_DB="sqlite:$P/env.db" md-db -c "$P/config.yaml" --db "sqlite:$P/flag.db" init
ok "--db beats MD_DB" test -s "$P/flag.db"

run env MD_DB="sqlite:$P/env.db" md-ingest -c "$P/config.yaml" --db "sqlite:$P/flag.db" "$IN/still.png"
is "$rc" 0 "md-ingest --db ... exits 0"
is "$(posts_in "$P/flag.db") $(posts_in "$P/env.db") $(posts_in "$P/config.db")" "1 0 0" \
	"--db beats MD_DB and config: the post went to the --db database"
run env MD_DB="sqlite:$P/env.db" md-ingest -c "$P/config.yaml" "$IN/photo.jpg"
is "$(posts_in "$P/flag.db") $(posts_in "$P/env.db") $(posts_in "$P/config.db")" "1 1 0" \
	"MD_DB beats config: the post went to the MD_DB database"
run env -u MD_DB md-ingest -c "$P/config.yaml" "$IN/anim.gif"
is "$(posts_in "$P/flag.db") $(posts_in "$P/env.db") $(posts_in "$P/config.db")" "1 1 1" \
	"without --db or MD_DB the config database is used"
run env -u MD_DB md-db --db "sqlite:$P/plain.db" init
ok "--db PATH without scheme is an SQLite path" test -s "$P/plain.db"

# --storage > MD_STORAGE > config storage.path
printf 'storage:\n  path: %s/st-config\n' "$P" >"$P/storage.yaml"
run env MD_STORAGE="$P/st-env" md-db -c "$P/storage.yaml" --storage "$P/st-flag" --db "sqlite:$P/s1.db" init
ok "--storage beats MD_STORAGE and config" test -d "$P/st-flag/originals" -a ! -e "$P/st-env" -a ! -e "$P/st-config"
run env MD_STORAGE="$P/st-env" md-db -c "$P/storage.yaml" --db "sqlite:$P/s2.db" init
ok "MD_STORAGE beats config storage.path" test -d "$P/st-env/originals" -a ! -e "$P/st-config"
run md-db -c "$P/storage.yaml" --db "sqlite:$P/s3.db" init
ok "config storage.path is used last" test -d "$P/st-config/originals"

# --- usage errors ----------------------------------------------------------------------
run md-db init
for args in "--before garbage" "--before 12abc" "--before -1" "--limit abc" "--limit -5" \
	"--status bogus" "--log-format xml" "--log-level loud"; do
	# shellcheck disable=SC2086
	run md-feed $args
	is "$rc" 64 "md-feed $args exits 64"
	is "$out" "" "md-feed $args prints nothing on stdout"
done
run md-feed --before "1; DROP TABLE posts"
is "$rc" 64 "md-feed with an SQL-ish cursor exits 64"
ok "posts table still there" db_count posts
run md-db
is "$rc" 64 "md-db without a command exits 64"
run md-db frobnicate
is "$rc" 64 "md-db with an unknown command exits 64"
run md-enqueue "$sha"
is "$rc" 64 "md-enqueue without -p exits 64"
run md-work -j zero --drain
is "$rc" 64 "md-work -j zero exits 64"

# --- an unreachable database is a temporary failure ---------------------------------
run md-feed --db "postgresql://someone:s3cr3tpw@/nodb?host=$MD_TMP/no-such-socket-dir"
is "$rc" 75 "md-feed against an unreachable PostgreSQL exits 75"
ok "it says why on stderr" test -n "$err"
unlike "$err" "s3cr3tpw" "the error does not show the password from the URL"

# --- libpq and libcurl are loaded when needed: a missing one is said ---------------
# (as root, in a mount namespace of its own, /dev/null bound over the library)
libpath() { ldconfig -p | awk -v n="$1" '$1 == n { print $NF; exit }'; }
if [ "$(id -u)" -eq 0 ] && unshare --mount true 2>/dev/null && [ -n "$(libpath libpq.so.5)" ] &&
	[ -n "$(libpath libcurl.so.4)" ]; then
	# hidden LIB CMD...: CMD with LIB unloadable (a script: run takes no functions)
	printf '#!/bin/sh\nl=$1; shift\nexec unshare --mount sh -c %s "$l" "$@"\n' \
		"'mount --bind /dev/null \"\$0\" && exec \"\$@\"'" >"$MD_TMP/hidden"
	chmod +x "$MD_TMP/hidden"
	hidden() { local l; l=$(libpath "$1"); shift; echo "$MD_TMP/hidden" "$l" "$@"; }
	run $(hidden libpq.so.5 md-status) --db "postgresql:///nodb?host=$MD_TMP/no-such-socket-dir"
	is "$rc" 69 "PostgreSQL without libpq: exit 69"
	like "$err" "PostgreSQL database needs libpq.so.5, which cannot be loaded" "it names the library"
	run $(hidden libpq.so.5 md-status) --db "sqlite:$MD_TMP/md.db"
	isnt "$rc" 69 "SQLite without libpq still works"
	unlike "$err" "libpq" "and does not speak of it"
	printf 'storage:\n  url: s3://b/p\n  endpoint: http://127.0.0.1:9\n  region: us-east-1\n  access_key_id: k\n  secret_access_key: s\n' >"$MD_TMP/s3.yaml"
	chmod 600 "$MD_TMP/s3.yaml"
	printf 'x' >"$MD_TMP/one.txt"
	run $(hidden libcurl.so.4 md-ingest) -c "$MD_TMP/s3.yaml" "$MD_TMP/one.txt"
	isnt "$rc" 0 "S3 storage without libcurl fails"
	like "$err" "S3 storage needs libcurl.so.4, which cannot be loaded" "it names the library"
else
	skip "needs root and mount namespaces to hide a library" 6
fi

done_testing
