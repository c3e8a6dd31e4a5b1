#!/bin/bash
# 76-ingest-races.t - md-ingest against an uploader who controls the inbox:
# a directory swapped for a symlink mid-walk (timed with inotify) on plain
# ingest and on --move, paths through symlinks given on the command line,
# by batch-import.sh and by the find | parallel recipe, symlink loops,
# a huge sparse file, and a post with too many tags.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
have inotifywait || plan skip_all "inotifywait (inotify-tools) is not installed"
md_db_init

# png FILE SEED: a small valid PNG whose content depends on SEED
png() {
	ffmpeg -nostdin -loglevel error -f lavfi -i "testsrc2=size=$((32 + $2))x24" \
		-frames:v 1 -f image2 -c:v png "$1" || BAIL_OUT "ffmpeg failed"
}
media_of() { db_count media "sha256 = '$(sha256 "$1")'"; }

# The uploader's timing: an ffprobe shim first on PATH counts its runs and,
# when the gate file says so, holds the first one until the watcher has
# swapped the directory (md-ingest runs ffprobe after it has opened and
# copied a file and before it opens the next one).  The confinement of
# md-ingest's ffprobe is off (74-confine.t tests it): what is tested is the
# walk.
ffprobe_shim <<SH
echo run >>"$MD_TMP/ffprobe.runs"
if [ -e "$MD_TMP/hold" ] && [ ! -e "$MD_TMP/held" ]; then
	: >"$MD_TMP/held"
	i=0
	while [ ! -e "$MD_TMP/swapped" ] && [ \$i -lt 600 ]; do sleep 0.05; i=\$((i + 1)); done
fi
SH

# swap_on_open FILE DIR TARGET: when FILE is opened, replace DIR by a
# symlink to TARGET (the real one moves to DIR.real), then open the gate
swap_on_open() {
	rm -f "$MD_TMP/swapped" "$MD_TMP/held"
	: >"$MD_TMP/hold"
	(
		inotifywait -qq -e open "$1" &&
			mv "$2" "$2.real" && ln -s "$3" "$2" && : >"$MD_TMP/swapped"
	) &
	watcher=$!
	# inotifywait is watching once its watch exists: wait for that
	wait_for "the watch on $1" sh -c 'ls -l /proc/'"$watcher"'/task/*/children 2>/dev/null | grep -q . ; \
		for p in $(pgrep -P '"$watcher"' inotifywait); do \
			grep -q inotify /proc/$p/fdinfo/* 2>/dev/null && exit 0; done; exit 1'
}

PRIVATE=$MD_TMP/private
mkdir -p "$PRIVATE"
png "$PRIVATE/z.png" 7        # a private picture outside the inbox

# --- a directory swapped mid-walk --------------------------------------------------
IN=$MD_TMP/in1
mkdir -p "$IN/sub"
png "$IN/sub/a.png" 1
png "$IN/sub/z.png" 2
swap_on_open "$IN/sub/a.png" "$IN/sub" "$PRIVATE"
PATH="$SHIM:$PATH" run md-ingest -r "$IN"
wait "$watcher"
ok "the swap happened during the walk" test -L "$IN/sub" -a -e "$MD_TMP/swapped"
is "$rc" 0 "md-ingest -r exits 0" || diag "$err"
is "$(media_of "$PRIVATE/z.png")" 0 "the private picture behind the swapped directory was not ingested"
is "$(media_of "$IN/sub.real/z.png")" 1 "the upload in the real directory was"
is "$(db_count posts)" 2 "two posts, one per upload"

# --- --move with a swapped directory removes only the file it ingested ----------------
IN=$MD_TMP/in2
VICTIM=$MD_TMP/victim
mkdir -p "$IN/sub" "$VICTIM"
png "$IN/sub/md.db" 3          # an upload named like the database
printf 'precious' >"$VICTIM/md.db"
swap_on_open "$IN/sub/md.db" "$IN/sub" "$VICTIM"
PATH="$SHIM:$PATH" run md-ingest --move -r "$IN"
wait "$watcher"
is "$rc" 0 "md-ingest --move -r exits 0" || diag "$err"
is "$(cat "$VICTIM/md.db" 2>/dev/null)" precious "--move did not remove the file behind the swapped directory"
nok "--move removed the upload it ingested" test -e "$IN/sub.real/md.db"
if [ "$MD_BACKEND" = sqlite ]; then
	IN=$MD_TMP/in3
	mkdir -p "$IN/sub"
	png "$IN/sub/md.db" 4
	swap_on_open "$IN/sub/md.db" "$IN/sub" "$MD_TMP"
	PATH="$SHIM:$PATH" run md-ingest --move -r "$IN"
	wait "$watcher"
	ok "the SQLite database survives an upload named like it" \
		sqlite3 "$MD_TMP/md.db" 'select count(*) from media'
else
	skip "the SQLite database file (PostgreSQL run)" 1
fi
rm -f "$MD_TMP/hold"

# --- paths through symlinks on the command line, stdin, batch-import.sh -------------
IN=$MD_TMP/in4
mkdir -p "$IN"
ln -s "$PRIVATE" "$IN/sub"
ln -s "$PRIVATE/z.png" "$IN/pic.png"
run md-ingest "$IN/sub/z.png"
is "$rc" 65 "a path through a symlinked directory is refused" || diag "$err"
like "$err" "symbolic link '$IN/sub'" "and the message names the link"
run md-ingest "$IN/pic.png"
is "$rc" 65 "a path that is a symlink is refused"
like "$err" "use -L" "and says how to follow it"
printf '%s\0' "$IN/sub/z.png" "$IN/pic.png" >"$MD_TMP/list0"
run_in "$MD_TMP/list0" md-ingest -0 -
is "$rc" 65 "the same paths on stdin are refused"
# the find | parallel recipe of md-ingest(1), with the swap between find and md-ingest
printf '%s\0' "$IN/sub/z.png" | parallel -0 -X md-ingest -q -- >/dev/null 2>&1
is "$(media_of "$PRIVATE/z.png")" 0 "find | parallel md-ingest --: nothing private ingested"
run "$MD_ROOT/scripts/batch-import.sh" "$IN" noop
is "$(media_of "$PRIVATE/z.png")" 0 "batch-import.sh: nothing private ingested"
run md-ingest -L "$IN/sub/z.png"
is "$rc" 0 "-L follows them" || diag "$err"
is "$(media_of "$PRIVATE/z.png")" 1 "-L: ingested"

# --- symlink loops ---------------------------------------------------------------------
IN=$MD_TMP/in5
mkdir -p "$IN/d"
png "$IN/d/one.png" 5
ln -s . "$IN/d/loop"
ln -s . "$IN/d/again"
ln -s ../d "$IN/d/up"
rm -f "$MD_TMP/ffprobe.runs"
posts=$(db_count posts)
PATH="$SHIM:$PATH" run md-ingest -r "$IN"
is "$(( $(db_count posts) - posts ))" 1 "loops: one file, one post"
is "$(wc -l <"$MD_TMP/ffprobe.runs")" 1 "loops: one ffprobe run"
rm -f "$MD_TMP/ffprobe.runs"
PATH="$SHIM:$PATH" run md-ingest -L -r "$IN"
is "$(( $(db_count posts) - posts ))" 2 "loops with -L: one more post"
is "$(wc -l <"$MD_TMP/ffprobe.runs")" 1 "loops with -L: one ffprobe run"

# --- a huge sparse file is refused before anything is copied ---------------------------
truncate -s 10G "$MD_TMP/huge.mp4"
inotifywait -qq -m -e create --format '%f' "$STORE/tmp" >"$MD_TMP/tmp-events" &
mon=$!
wait_for "the watch on tmp/" sh -c "grep -q inotify /proc/$mon/fdinfo/* 2>/dev/null"
run md-ingest "$MD_TMP/huge.mp4"
kill "$mon" 2>/dev/null; wait "$mon" 2>/dev/null
is "$rc" 65 "a 10 GB sparse file is refused"
like "$err" "larger than the limit" "as too large"
is "$(wc -l <"$MD_TMP/tmp-events")" 0 "no temp file was even created"

# --- tags ---------------------------------------------------------------------------
png "$MD_TMP/t.png" 9
# room for 100,000 arguments (the kernel allows a quarter of the stack)
ulimit -s unlimited 2>/dev/null || ulimit -s 65536 2>/dev/null
args=(); for i in $(seq 1 100000); do args+=(-t "t$i"); done
run md-ingest "${args[@]}" "$MD_TMP/t.png"
is "$rc" 64 "a post with 100,000 tags is refused"
like "$err" "too many tags" "with a reason"
args=(); for i in $(seq 1 33); do args+=(-t "t$i"); done
run md-ingest "${args[@]}" "$MD_TMP/t.png"
is "$rc" 64 "33 tags are refused"
args=(); for i in $(seq 1 32); do args+=(-t "t$i"); done
run md-ingest "${args[@]}" -t t1 "$MD_TMP/t.png"
is "$rc" 0 "32 tags (one repeated) are taken" || diag "$err"
run md-ingest -t "$(printf 'x%.0s' $(seq 1 65))" "$MD_TMP/t.png"
is "$rc" 64 "a tag of 65 bytes is refused"
is "$(count_files "$STORE/tmp")" 0 "nothing left in tmp/"
done_testing
