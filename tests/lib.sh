# tests/lib.sh - a tiny TAP library and the memedroid test fixture.
#
# Source it from a test script (bash):
#
#	. "$(dirname "$0")/lib.sh"
#	md_setup                  # temp dir, MD_HOME, MD_DB, PATH, cleanup trap
#	plan 3                    # or: done_testing at the end
#	run md-db init; is "$rc" 0 "md-db init exits 0"
#	ok "database file exists" test -f "$MD_TMP/md.db"
#	like "$err" "migrate" "message names md-db migrate"
#	done_testing
#
# TAP functions
#	plan N | plan skip_all REASON    print the plan (skip_all exits 0)
#	ok NAME CMD [ARG...]             pass when CMD exits 0 (its output
#	                                 is shown only on failure)
#	nok NAME CMD [ARG...]            pass when CMD exits non-zero
#	pass NAME / fail NAME [DIAG...]  record a result directly
#	is GOT WANT NAME / isnt GOT UNWANTED NAME
#	like GOT ERE NAME / unlike GOT ERE NAME   (bash [[ =~ ]] regex)
#	skip REASON [N]                  N skipped tests
#	todo_ok REASON NAME CMD [ARG...] ok, marked "# TODO REASON": a known
#	                                 failure, not counted as one
#	diag MSG... (stderr) / note MSG... (stdout), each line prefixed "# "
#	done_testing [N]                 print the plan if none was; exit status
#	BAIL_OUT REASON
#
# The exit status is the number of failed tests (capped at 254), 255 when
# the script died before done_testing or ran a different number of tests
# than planned, so `prove` reports both.
#
# Fixture (md_setup)
#	MD_ROOT   the project root (absolute); PATH starts with it
#	MD_TMP    a fresh temp dir, removed at exit (kept if MD_TEST_KEEP=1)
#	MD_HOME   $MD_TMP/home; STORE=$MD_HOME/storage (the default storage)
#	MD_DB     sqlite:$MD_TMP/md.db, or when MD_TEST_PGHOST names a
#	          PostgreSQL socket directory, a fresh database there that is
#	          dropped at exit (user MD_TEST_PGUSER, default postgres)
#	MD_BACKEND  sqlite or postgres
#	XDG_CONFIG_HOME, XDG_DATA_HOME point inside MD_TMP so no user config
#	is read, and MD_CONFIG_NOSYSTEM=1 so no /etc/memedroid/config.yaml
#	is either; MD_CONFIG, MD_CONFIG_SYSTEM, MD_STORAGE, MD_TRACE_ID,
#	TRACEPARENT and the AWS_* variables are unset; MD_USER=tester.
#
# Helpers
#	run CMD [ARG...]      runs CMD under a timeout (MD_TEST_TIMEOUT, 120 s),
#	                      stdin from /dev/null; sets $out, $err, $rc
#	                      (out/err without their final newlines)
#	run_in FILE CMD...    the same, with stdin from FILE
#	db_query SQL          runs SQL on the test database; rows on stdout,
#	                      columns separated by tabs, no header
#	db_count TABLE [WHERE]
#	count_files DIR       number of regular files below DIR (0 if absent)
#	sha256 FILE           lowercase hex SHA-256 of FILE
#	shard SHA             "ab/cd/SHA"
#	have CMD              true when CMD is on PATH
#	wait_for DESC CMD...  poll CMD until it succeeds (at most MD_TEST_WAIT s)
#	md_samples DIR / md_bad_samples DIR   scripts/make-samples.sh's media
#	                      (a copy of tests/run.sh's, MD_TEST_SAMPLES)
#	md_broken_profile FILE MARKER  a config whose profile "broken" fails
#	                      at once (max_attempts 1), MARKER on stderr
#	md_tools_built        true when every md-* binary exists
#	md_require_tools      skip_all unless they do
#	rendition_file VALUE  the file behind a rendition key/path from md-feed
#	run_dir SHA PROFILE   the folder of the newest run of PROFILE for SHA
#	json_lines_ok TEXT    true when every line of TEXT is JSON
#	s3_start              an S3 server for this file (tests/s3-server.sh,
#	                      stopped by md_cleanup) or skip_all: sets S3 (its
#	                      directory), endpoint, KEY, SECRET, REGION, bucket
#	                      (not made yet), prefix (t$$), EMPTY (the SHA-256
#	                      of nothing); leaves no AWS_* variable set
#	s3_fetch KEY FILE     a signed GET of storage key KEY (below $prefix)
#	                      into FILE; sets $code (the HTTP status)
#
# Tests never sleep to wait for something: they run the tools in their
# one-shot modes (--drain, --once) and read the results back.

MD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The system's commands before the home directory's: Debian's python3, not
# a per-user shim that runs a dozen scripts before it.  What only the home
# directory has (an optional test server) is still found, last.
if [ -n "${HOME-}" ] && [ "$HOME" != / ]; then
	_md_path= _md_home=
	IFS=: read -ra _md_dirs <<<"$PATH"
	for _md_d in "${_md_dirs[@]}"; do
		case $_md_d in
		"$HOME" | "$HOME"/*) _md_home=$_md_home:$_md_d ;;
		*) _md_path=${_md_path:+$_md_path:}$_md_d ;;
		esac
	done
	PATH=$_md_path$_md_home
	unset _md_path _md_home _md_dirs _md_d
fi
MD_TOOLS="md-db md-ingest md-enqueue md-work md-finalize md-feed md-job md-status md-user md-janitor md-post"

_tap_n=0
_tap_failed=0
_tap_planned=
_tap_done=0

_tap_lines() {
	# Print each argument after the first, each of its lines prefixed
	# with "$1" ("# ").
	local p=$1; shift
	printf '%s\n' "$@" | sed "s/^/$p/"
}

diag() { _tap_lines '# ' "$@" >&2; }
note() { _tap_lines '# ' "$@"; }

plan() {
	if [ "${1-}" = skip_all ]; then
		shift
		echo "1..0 # SKIP $*"
		_tap_done=1
		exit 0
	fi
	_tap_planned=$1
	echo "1..$1"
}

_tap_name() {
	# Test names go on one TAP line: newlines shown as \n, '#' escaped.
	local s=${1//$'\n'/\\n}
	printf '%s' "${s//#/\\#}"
}

pass() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $(_tap_name "$1")"
}

fail() {
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $(_tap_name "$1")"
	# The first caller outside this file is the test's line.
	local i=1 where="$0"
	while [ "$i" -lt "${#BASH_SOURCE[@]}" ]; do
		if [ "${BASH_SOURCE[$i]}" != "${BASH_SOURCE[0]}" ]; then
			where="${BASH_SOURCE[$i]} line ${BASH_LINENO[$((i - 1))]}"
			break
		fi
		i=$((i + 1))
	done
	diag "  Failed test '$1'" "  at $where."
	shift
	[ $# -gt 0 ] && diag "$@"
	return 1
}

ok() {
	# The command's output is shown only when it fails.
	local name=$1 o; shift
	if o=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "  command failed: $*" ${o:+"$(printf '%s\n' "$o" | head -n 20)"}
	fi
}

nok() {
	local name=$1; shift
	if "$@" >/dev/null 2>&1; then
		fail "$name" "  command succeeded but should not have: $*"
	else
		pass "$name"
	fi
}

is() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3" "         got: '$1'" "    expected: '$2'"
	fi
}

isnt() {
	if [ "$1" != "$2" ]; then
		pass "$3"
	else
		fail "$3" "         got: '$1'" "    expected anything else"
	fi
}

like() {
	if [[ $1 =~ $2 ]]; then
		pass "$3"
	else
		fail "$3" "                  '$1'" "    doesn't match '$2'"
	fi
}

unlike() {
	if [[ $1 =~ $2 ]]; then
		fail "$3" "                  '$1'" "    matches '$2'"
	else
		pass "$3"
	fi
}

skip() {
	local why=$1 n=${2:-1} i
	for ((i = 0; i < n; i++)); do
		_tap_n=$((_tap_n + 1))
		echo "ok $_tap_n # skip $why"
	done
}

todo_ok() {
	local why=$1 name=$2; shift 2
	_tap_n=$((_tap_n + 1))
	if "$@" >/dev/null 2>&1; then
		echo "ok $_tap_n - $(_tap_name "$name") # TODO $(_tap_name "$why")"
	else
		echo "not ok $_tap_n - $(_tap_name "$name") # TODO $(_tap_name "$why")"
	fi
}

BAIL_OUT() {
	echo "Bail out! $*"
	_tap_done=1
	exit 255
}

done_testing() {
	if [ -n "${1-}" ] && [ -z "$_tap_planned" ]; then
		_tap_planned=$1
	fi
	if [ -z "$_tap_planned" ]; then
		echo "1..$_tap_n"
		_tap_planned=$_tap_n
	fi
	_tap_done=1
	if [ "$_tap_n" -ne "$_tap_planned" ]; then
		diag "planned $_tap_planned tests but ran $_tap_n"
		exit 255
	fi
	if [ "$_tap_failed" -gt 0 ]; then
		diag "failed $_tap_failed test(s) of $_tap_n"
		[ "$_tap_failed" -gt 254 ] && exit 254
		exit "$_tap_failed"
	fi
	exit 0
}

# ---------------------------------------------------------------------------
# fixture

md_cleanup() {
	local st=$?
	if [ -n "${_md_s3-}" ]; then
		sh "$MD_ROOT/tests/s3-server.sh" stop "$_md_s3" >/dev/null 2>&1
		_md_s3=
	fi
	if [ -n "${_md_pgdb-}" ]; then
		dropdb --force -h "$MD_TEST_PGHOST" -U "${MD_TEST_PGUSER:-postgres}" \
			--if-exists "$_md_pgdb" >/dev/null 2>&1 ||
			diag "could not drop database $_md_pgdb"
		_md_pgdb=
	fi
	if [ -n "${MD_TMP-}" ] && [ -d "$MD_TMP" ]; then
		if [ "${MD_TEST_KEEP:-0}" = 1 ]; then
			diag "kept $MD_TMP"
		else
			chmod -R u+rwX "$MD_TMP" 2>/dev/null
			rm -rf "$MD_TMP"
		fi
	fi
	if [ "$_tap_done" = 0 ]; then
		diag "test script died after $_tap_n tests (status $st)"
		exit 255
	fi
	exit "$st"
}

md_setup() {
	MD_TMP=$(mktemp -d "${TMPDIR:-/tmp}/md-test.XXXXXXXX") ||
		BAIL_OUT "mktemp -d failed"
	MD_TMP=$(cd "$MD_TMP" && pwd -P)
	trap md_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	export MD_HOME=$MD_TMP/home
	export XDG_CONFIG_HOME=$MD_TMP/config
	export XDG_DATA_HOME=$MD_TMP/data
	mkdir -p "$MD_HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"
	unset MD_CONFIG MD_CONFIG_SYSTEM MD_STORAGE MD_TRACE_ID TRACEPARENT AWS_ACCESS_KEY_ID \
		AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL \
		AWS_ENDPOINT_URL_S3 AWS_PROFILE
	export MD_CONFIG_NOSYSTEM=1
	export MD_USER=tester
	export PATH="$MD_ROOT:$PATH"
	export LC_ALL=C.UTF-8
	STORE=$MD_HOME/storage

	if [ -n "${MD_TEST_PGHOST-}" ]; then
		local u=${MD_TEST_PGUSER:-postgres}
		local base
		base=$(basename "$0" .t | tr -c 'a-zA-Z0-9\n' '_')
		_md_pgdb="md_t_${base}_$$_${RANDOM}"
		createdb -h "$MD_TEST_PGHOST" -U "$u" "$_md_pgdb" ||
			BAIL_OUT "createdb $_md_pgdb on $MD_TEST_PGHOST failed"
		export MD_DB="postgresql:///$_md_pgdb?host=$MD_TEST_PGHOST&user=$u"
		MD_BACKEND=postgres
	else
		export MD_DB="sqlite:$MD_TMP/md.db"
		MD_BACKEND=sqlite
	fi
}

md_tools_built() {
	local t
	for t in $MD_TOOLS; do
		[ -x "$MD_ROOT/$t" ] || return 1
	done
}

# Skip the whole script when the tools are not built yet.
md_require_tools() {
	md_tools_built || plan skip_all "tools not built (run make)"
}

have() { command -v "$1" >/dev/null 2>&1; }

# wait_for DESC CMD...: poll a condition every 0.1 s until it holds, at most
# MD_TEST_WAIT seconds (60); never a fixed sleep.  Returns 1 (with a diag
# naming DESC) when it never held.
wait_for() {
	local desc=$1 i max=$(( ${MD_TEST_WAIT:-60} * 10 )); shift
	for ((i = 0; i < max; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	diag "timed out waiting for: $desc"
	return 1
}

run() {
	run_in /dev/null "$@"
}

run_in() {
	local in=$1; shift
	# one pair of files a shell, written over each time (no process
	# but the command and its timeout: tests run thousands of these)
	local o=$MD_TMP/.out.$BASHPID e=$MD_TMP/.err.$BASHPID
	timeout -k 5 "${MD_TEST_TIMEOUT:-120}" "$@" <"$in" >"$o" 2>"$e"
	rc=$?
	out=$(<"$o")
	err=$(<"$e")
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		diag "timed out or killed (rc $rc): $*"
	fi
	return 0
}

# The SQLite file behind MD_DB ("sqlite:PATH" or a plain path).
_md_sqlite_path() {
	case $MD_DB in
	sqlite://*) printf '%s\n' "${MD_DB#sqlite://}" ;;
	sqlite:*) printf '%s\n' "${MD_DB#sqlite:}" ;;
	*) printf '%s\n' "$MD_DB" ;;
	esac
}

db_query() {
	case $MD_DB in
	postgres://*|postgresql://*|*=*)
		psql -XAtq -v ON_ERROR_STOP=1 -F $'\t' -d "$MD_DB" -c "$1"
		;;
	*)
		sqlite3 -batch -noheader -separator $'\t' \
			-cmd '.timeout 10000' "$(_md_sqlite_path)" "$1"
		;;
	esac
}

db_count() {
	if [ -n "${2-}" ]; then
		db_query "SELECT count(*) FROM $1 WHERE $2"
	else
		db_query "SELECT count(*) FROM $1"
	fi
}

count_files() {
	if [ -d "$1" ]; then
		find "$1" -type f | wc -l | tr -d ' '
	else
		echo 0
	fi
}

sha256() { local h; h=$(sha256sum <"$1") && printf '%s\n' "${h%% *}"; }

# corpus_wanted DIR REL: whether the profile tests that encode (60-corpus's
# mp4, 87-frames-web, 89-hls) take file REL of the corpus at DIR.
# `make media-check` sets MD_TEST_CORPUS=all: every file.  Otherwise (make
# check) one file of each kind the manifest's ffprobe summary tells apart
# (container, first video codec or else first audio codec, broken or not),
# the first of at most 128 KiB that the manifest does not tag large-res or
# long, and the files the tests name: every container and codec of the
# corpus is still there, each in one small file.  Files the manifest does
# not list are taken when small.  60-corpus ingests every file whatever this
# says.
declare -gA _corpus_pick
corpus_wanted() {
	[ "${MD_TEST_CORPUS:-}" = all ] && return 0
	[ "$(stat -c %s "$1/$2")" -le 131072 ] || return 1
	if [ "${#_corpus_pick[@]}" = 0 ]; then
		local rel what
		while IFS=$'\t' read -r rel what; do
			_corpus_pick[$rel]=$what
		done < <(awk -F'\t' '
			NR == 1 { next }
			$4 > 131072 || $8 ~ /[[;](large-res|long)[];]/ { print $3 "\tno"; next }
			{
				n = split($6, part, / \|\| /); f = ""; v = ""; a = ""
				for (i = 1; i <= n; i++) {
					if (match(part[i], /format_name=[^|]*/))
						f = substr(part[i], RSTART + 12, RLENGTH - 12)
					if (!match(part[i], /codec_name=[^|]*/))
						continue
					c = substr(part[i], RSTART + 11, RLENGTH - 11)
					if (part[i] ~ /codec_type=video/ && v == "") v = c
					if (part[i] ~ /codec_type=audio/ && a == "") a = c
				}
				k = f "|" (v != "" ? v : a) "|" ($6 ~ /^ERROR/ || $8 ~ /[[;]broken[];]/)
				print $3 "\t" ((k in seen) ? "no" : "yes"); seen[k] = 1
			}' "$1/MANIFEST.tsv" 2>/dev/null)
		for rel in peertube/video_short.mp4 pillow/iss634.gif pillow/hopper_orientation_6.jpg; do
			[ "${_corpus_pick[$rel]-}" = no ] && _corpus_pick[$rel]=yes
		done
		_corpus_pick[.]=read     # a key no file has: the manifest was read
	fi
	[ "${_corpus_pick[$2]-yes}" = yes ]
}

shard() { printf '%s/%s/%s\n' "${1:0:2}" "${1:2:2}" "$1"; }

# md_samples DIR, md_bad_samples DIR: scripts/make-samples.sh's media into
# DIR; a copy of the ones tests/run.sh made once for the whole run when it
# says where (MD_TEST_SAMPLES: good/ and bad/, each made by the script).
md_samples() { _md_samples good "$1"; }
md_bad_samples() { _md_samples bad "$1"; }
_md_samples() {
	if [ -n "${MD_TEST_SAMPLES-}" ] && [ -f "$MD_TEST_SAMPLES/$1.done" ]; then
		mkdir -p "$2" && cp -R "$MD_TEST_SAMPLES/$1/." "$2/" && return
		BAIL_OUT "cannot copy the samples of $MD_TEST_SAMPLES/$1"
	fi
	"$MD_ROOT/scripts/make-samples.sh" $([ "$1" = bad ] && echo --bad) "$2" ||
		BAIL_OUT "make-samples.sh failed"
}
# IN: a directory of sample media; T: a directory for a test's outputs.
md_sample_dirs() {
	IN=$MD_TMP/in
	md_samples "$IN"
	T=$MD_TMP/out
	mkdir -p "$T"
}

# ffprobe_shim <<SH ... SH: $SHIM/ffprobe, for a test to put first on
# PATH: the shell lines on standard input, then the real ffprobe with the
# same arguments.  It writes beside the test, which the confinement of a
# probe forbids: worker.sandbox is off ($MD_CONFIG, exported).
ffprobe_shim() {
	SHIM=$MD_TMP/shim
	mkdir -p "$SHIM"
	printf 'worker:\n  sandbox: false\n' >"$MD_TMP/config.yaml"
	export MD_CONFIG=$MD_TMP/config.yaml
	{
		echo '#!/bin/sh'
		cat
		printf 'exec "%s" "$@"\n' "$(command -v ffprobe)"
	} >"$SHIM/ffprobe" && chmod +x "$SHIM/ffprobe" || BAIL_OUT "cannot write the ffprobe shim"
}

# md-ingest --json -r $IN, as a test; its records kept in $T/ingest.json
# for sample_field NAME FIELD (the FIELD of the record of sample NAME).
md_ingest_samples() {
	run md-ingest --json -r "$IN"
	is "$rc" 0 "md-ingest -r" || diag "$err"
	printf '%s\n' "$out" >"$T/ingest.json"
}
sample_field() {
	jq -r --arg p "$1" 'select(.path | endswith("/" + $p)) | .'"$2" "$T/ingest.json"
}

# md-db init on the test's database, as a test.
# md_broken_profile FILE MARKER: a config file whose profile "broken"
# fails at once, one attempt, saying MARKER on stderr (more profiles may
# be appended to FILE).
md_broken_profile() {
	printf '%s\n' 'profiles:' '  broken:' '    kinds: [video, animated, image]' \
		'    max_attempts: 1' '    output: out.txt' '    steps:' \
		"      - [sh, -c, \"echo $2 >&2; exit 3\"]" >"$1"
}

md_db_init() {
	run md-db init
	is "$rc" 0 "md-db init" || diag "$err"
}

# Path of a rendition given the value md-feed prints for it: an absolute
# path, a file:// URL, or a storage key relative to $STORE.
rendition_file() {
	case $1 in
	file://*) printf '%s\n' "${1#file://}" ;;
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$STORE/$1" ;;
	esac
}

# ff ARGS...: ffmpeg, quiet, never reading stdin, overwriting: how tests
# make their media.
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }

# vprop FILE ENTRIES: properties of the first video stream, comma-separated
# in ffprobe's order (as -show_entries stream=ENTRIES -of csv=p=0 prints
# them); fprop FILE ENTRIES: the same of the container (format=ENTRIES).
# One ffprobe a file, its answer kept among the test's files until the file
# is written again: a test asks several questions of each rendition, and
# an ffprobe is a dear process to start.
vprop() { _md_prop "$1" "$2" STREAM; }
fprop() { _md_prop "$1" "$2" FORMAT; }
_md_prop() {
	local f=$1 want=,$2, c line sect= out=
	c=$MD_TMP/.prop/${f//\//%}
	[ -d "$MD_TMP/.prop" ] || mkdir -p "$MD_TMP/.prop" || return
	if [ ! -f "$c" ] || [ "$f" -nt "$c" ]; then
		ffprobe -v error -select_streams v:0 -show_entries stream:format "$f" >"$c" ||
			{ rm -f "$c"; return 1; }
	fi
	while IFS= read -r line; do
		case $line in
		"[$3]") sect=1 ;;
		"[/$3]") sect= ;;
		*=*) [ -n "$sect" ] && case $want in *,"${line%%=*}",*) out=$out,${line#*=} ;; esac ;;
		esac
	done <"$c"
	[ -n "$out" ] && printf '%s\n' "${out#,}"
	return 0
}

# rendition_of FILE PROFILE: the path of the stored rendition that PROFILE
# made of the input FILE (hashed to find its media), or nothing.
# run_dir SHA PROFILE: the folder of the newest run of PROFILE for media
# SHA under renditions/ (each run publishes into <job>-<claim>/), or nothing
run_dir() {
	local d
	d=$(ls -d "$STORE/renditions/$(shard "$1")/$2"/*-*/ 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] && printf '%s\n' "${d%/}"
}

rendition_of() {
	local key
	key=$(db_query "SELECT storage_key FROM renditions
		WHERE media = '$(sha256 "$1")' AND profile = '$2'")
	[ -n "$key" ] && printf '%s/%s\n' "$MD_HOME/storage" "$key"
}

# True when every line of "$1" is a JSON value.
json_lines_ok() {
	local line
	while IFS= read -r line; do
		printf '%s\n' "$line" | jq -e . >/dev/null 2>&1 || return 1
	done <<<"$1"
}

s3_start() {
	have node && have npm && have curl ||
		plan skip_all "no node, npm or curl (scripts/deps.sh installs them as root)"
	S3=$MD_TMP/s3
	_md_s3=$S3
	endpoint=$(sh "$MD_ROOT/tests/s3-server.sh" start "$S3" 2>"$MD_TMP/s3.err") ||
		plan skip_all "no S3 server: $(tail -n 1 "$MD_TMP/s3.err")"
	. "$S3/env"
	KEY=$AWS_ACCESS_KEY_ID SECRET=$AWS_SECRET_ACCESS_KEY REGION=$AWS_REGION
	unset MD_TEST_S3_ENDPOINT AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
	bucket=md-test
	prefix=t$$
	EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
}

s3_fetch() {
	code=$(curl -s -o "$2" -w '%{http_code}' --aws-sigv4 "aws:amz:$REGION:s3" \
		--user "$KEY:$SECRET" -H "x-amz-content-sha256: $EMPTY" "$endpoint/$bucket/$prefix/$1")
}
