#!/bin/bash
# 30-bad-input.t - bad inputs mixed with good ones: each bad one is reported
# on stderr (and as a --json record), leaves no row, no stored file and no
# temp file, and the good ones (with hard names) are still ingested.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
export MD_TEST_TIMEOUT=60

T=$MD_TMP/out
BADSRC=$MD_TMP/badsrc
OUTSIDE=$MD_TMP/outside
mkdir -p "$T" "$OUTSIDE"
md_samples "$MD_TMP/samples"
md_bad_samples "$BADSRC"
# a valid image outside the ingested tree, reached only through a symlink
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=48x32 -frames:v 1 \
	"$OUTSIDE/secret.png" || BAIL_OUT "ffmpeg failed"

GOOD=("video.mp4" "sp ace.png" "it's \"quoted\".jpg" "-dash.png"
	$'new\nline.png' "café 日本.png")
BAD=(empty.mp4 truncated.mp4 text.jpg playlist.mp4 drawing.svg huge.png
	link.png fifo.mp4)

# make_good DIR: the good files, each with distinct content (seed varies it)
make_good() {
	local d=$1 seed=${2:-0} i=0 f
	mkdir -p "$d"
	cp "$MD_TMP/samples/video.mp4" "$d/video.mp4"
	for f in "${GOOD[@]:1}"; do
		i=$((i + 1))
		ffmpeg -nostdin -loglevel error -f lavfi \
			-i "testsrc2=size=$((32 + 2 * i))x$((24 + 2 * seed))" \
			-frames:v 1 -f image2 -c:v "$([ "${f##*.}" = jpg ] && echo mjpeg || echo png)" \
			"$d/$f" || BAIL_OUT "ffmpeg failed for '$f'"
	done
}

# make_bad NAME DIR: create the bad input NAME in DIR
make_bad() {
	case $1 in
	link.png) ln -s "$OUTSIDE/secret.png" "$2/link.png" ;;
	fifo.mp4) mkfifo "$2/fifo.mp4" ;;
	*) cp "$BADSRC/$1" "$2/$1" ;;
	esac
}

IN=$MD_TMP/in
make_good "$IN"
for b in "${BAD[@]}"; do make_bad "$b" "$IN"; done
good_paths=(); for f in "${GOOD[@]}"; do good_paths+=("$IN/$f"); done
bad_paths=(); for f in "${BAD[@]}"; do bad_paths+=("$IN/$f"); done
good_json=$(jq -cn '$ARGS.positional | sort' --args "${good_paths[@]}")
bad_json=$(jq -cn '$ARGS.positional | sort' --args "${bad_paths[@]}")
NG=${#GOOD[@]} NB=${#BAD[@]}

md_db_init

# counts of rows and stored files, as one string
state() {
	printf 'media=%s posts=%s jobs=%s originals=%s tmp=%s' \
		"$(db_count media)" "$(db_count posts)" "$(db_count jobs)" \
		"$(count_files "$STORE/originals")" "$(count_files "$STORE/tmp")"
}

# lines of stderr (logfmt) that report a rejected input:
#   time=... level=error tool=md-ingest msg="cannot ingest" path=PATH error=REASON
rejects() { printf '%s\n' "$err" | grep -c 'level=error tool=md-ingest msg="cannot ingest" path='; }

# names_in_err PATH NAME: stderr has the line reporting PATH with a reason
# (logfmt quotes a value with spaces: backslashes and double quotes are escaped)
names_in_err() {
	local esc
	esc=$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')
	if printf '%s\n' "$err" | grep -F -- 'tool=md-ingest msg="cannot ingest" path=' |
		grep -F -e " path=$1 error=" -e " path=\"$esc\" error=" | grep -q 'error='; then
		pass "$2"
	else
		fail "$2" "  no line msg=\"cannot ingest\" path=$1 error=REASON on stderr; the lines naming it:" \
			"$(printf '%s\n' "$err" | grep -F -- "$1" | head -n 2)"
	fi
}

# --- --dry-run changes nothing ---------------------------------------------------
run md-ingest --dry-run -r "$IN"
is "$rc" 1 "--dry-run -r on a mixed directory exits 1"
is "$(printf '%s\n' "$out" | grep -c .)" "$NG" "--dry-run prints one line per good input"
is "$(printf '%s\n' "$out" | awk -F '\t' '$1 == "-"' | wc -l)" "$NG" "--dry-run post_id is '-'"
is "$(rejects)" "$NB" "--dry-run reports each bad input on stderr"
is "$(state)" "media=0 posts=0 jobs=0 originals=0 tmp=0" "--dry-run changes nothing"

# --- the real run, --json -----------------------------------------------------------
run md-ingest --json -r "$IN"
is "$rc" 1 "md-ingest -r on a mixed directory exits 1"
printf '%s\n' "$out" >"$T/run1.json"
ok "--json output is JSON lines" json_lines_ok "$out"
is "$(jq -sc 'map(select(has("post_id")) | .path) | sort' "$T/run1.json")" "$good_json" \
	"stdout has a post record for exactly the good inputs"
is "$(jq -sc 'map(select(has("error")) | .path) | sort' "$T/run1.json")" "$bad_json" \
	"stdout has an error record for exactly the bad inputs"
ok "error records have a non-empty reason and no post_id" jq -se \
	'map(select(has("error"))) | all(.[]; (.error | length > 0) and (has("post_id") | not))' \
	"$T/run1.json"
is "$(rejects)" "$NB" "one stderr line per bad input"
for b in "${BAD[@]}"; do
	names_in_err "$IN/$b" "stderr names '$b' with a reason"
done
is "$(state)" "media=$NG posts=$NG jobs=0 originals=$NG tmp=0" \
	"rows and files for the good inputs only, nothing in tmp/"
for b in empty.mp4 truncated.mp4 text.jpg playlist.mp4 drawing.svg huge.png; do
	is "$(db_count media "sha256 = '$(sha256 "$BADSRC/$b")'")" 0 "no media row for $b"
done
is "$(db_count media "sha256 = '$(sha256 "$OUTSIDE/secret.png")'")" 0 \
	"the symlink's target outside the tree was not ingested"
ok "one post record per good input" jq -se --argjson n "$NG" '
	map(select(has("post_id"))) | length == $n' "$T/run1.json"
for f in "${GOOD[@]}"; do
	s=$(sha256 "$IN/$f")
	is "$(jq -r --arg p "$IN/$f" 'select(.path == $p) | .media' "$T/run1.json")" "$s" \
		"'$f' has its own SHA-256"
done

# --- again in TSV: names with a newline stay on one line -----------------------
run md-ingest -r "$IN"
is "$rc" 1 "TSV run exits 1"
is "$(printf '%s\n' "$out" | grep -c .)" "$NG" "TSV: exactly one line per good input"
is "$(printf '%s\n' "$out" | awk -F '\t' 'NF != 5' | wc -l)" 0 "TSV: 5 fields on every line"
like "$out" $'\t'"$IN/new\\\\nline.png(\$|"$'\n'")" "TSV: a newline in a name is escaped as \\n"
is "$(rejects)" "$NB" "TSV: one stderr line per bad input"
is "$(state)" "media=$NG posts=$((NG * 2)) jobs=0 originals=$NG tmp=0" \
	"TSV run: new posts, no new media or file"

# --- every bad input alone exits 65 ------------------------------------------------
for b in "${BAD[@]}"; do
	solo=$MD_TMP/solo/$b
	mkdir -p "$solo"
	make_bad "$b" "$solo"
	if [ "$b" != link.png ]; then
		# (a symlink named on the command line is the user's choice)
		run md-ingest "$solo/$b"
		is "$rc" 65 "md-ingest $b alone exits 65"
		names_in_err "$solo/$b" "md-ingest $b alone names it"
	fi
	run md-ingest -r "$solo"
	is "$rc" 65 "md-ingest -r on a directory holding only $b exits 65" || diag "$err"
	run md-ingest --json -r "$solo"
	ok "--json: one error record for $b" jq -se --arg p "$solo/$b" \
		'length == 1 and .[0].path == $p and (.[0].error | length > 0)' <<<"$out"
done
is "$(state)" "media=$NG posts=$((NG * 2)) jobs=0 originals=$NG tmp=0" \
	"bad inputs alone left nothing behind"

# -L follows the symlink out of the tree
run md-ingest -L -r "$MD_TMP/solo/link.png"
is "$rc" 0 "-L: the symlink to a valid image outside the tree is accepted"
is "$(db_count media "sha256 = '$(sha256 "$OUTSIDE/secret.png")'")" 1 "-L: the target was ingested"

# --- hard names by argument and on stdin -----------------------------------------
run sh -c 'cd "$1" && exec md-ingest -- -dash.png' sh "$IN"
is "$rc" 0 "md-ingest -- -dash.png (a name starting with '-') exits 0"
like "$out" $'\t-dash.png$' "the path is printed as given"

printf '%s\0' "${good_paths[@]}" >"$T/list0"
run_in "$T/list0" md-ingest --json -0 -
is "$rc" 0 "-0 -: NUL-separated hard names on stdin, exit 0"
is "$(jq -sc 'map(.path) | sort' <<<"$out")" "$good_json" "-0 -: every name read back exactly"

# --- --move removes only committed sources ------------------------------------------
MV=$MD_TMP/mv
make_good "$MV" 1
for b in "${BAD[@]}"; do make_bad "$b" "$MV"; done
before=$(cd "$MV" && ls -A | sort)
run md-ingest --move --dry-run -r "$MV"
is "$(cd "$MV" && ls -A | sort)" "$before" "--move --dry-run removes nothing"
media_before=$(db_count media)
run md-ingest --move -r "$MV"
is "$rc" 1 "--move on a mixed directory exits 1"
is "$(cd "$MV" && ls -A | sort)" "$(printf '%s\n' "${BAD[@]}" | sort)" \
	"--move removed the good sources and kept every bad one"
ok "--move kept the symlink's target" test -f "$OUTSIDE/secret.png"
is "$(db_count media)" $((media_before + NG - 1)) \
	"--move: the moved files are stored (video.mp4 is a dup)"
is "$(count_files "$STORE/tmp")" 0 "nothing left in tmp/"
is "$(db_count jobs)" 0 "no job was made without --enqueue"

done_testing
