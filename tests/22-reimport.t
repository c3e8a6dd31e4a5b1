#!/bin/bash
# 22-reimport.t - md-ingest --skip-posted: an import killed (-9) in the
# middle and run again makes one post per file; a third run writes
# nothing; two runs at once, timed so that both pass the early check
# before either commits, still make one post per file (for media new to
# the store and for known ones); another owner gets posts of its own.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
md_db_init

# png FILE SEED: a small valid PNG whose content depends on SEED
png() {
	ff -f lavfi -i "testsrc2=size=$((32 + 2 * $2))x24" -frames:v 1 -f image2 -c:v png "$1" ||
		BAIL_OUT "ffmpeg failed"
}

# The timing: an ffprobe shim first on PATH counts its runs (md-ingest runs
# it once a file, after the early check and before the post's
# transaction) and, from the run number written in the file "hold" on,
# holds each run until the file "gate" exists: the test opens it, after
# its own waits (wait_for: at most MD_TEST_WAIT seconds each), which a
# slow disk under load may need whole; the shim's bound, five minutes, is
# only for a test that died.  It writes beside the test, which the
# confinement of the probe forbids: it is off here.
ffprobe_shim <<SH
echo run >>"$MD_TMP/ffprobe.runs"
n=\$(wc -l <"$MD_TMP/ffprobe.runs")
if [ -s "$MD_TMP/hold" ] && [ "\$n" -ge "\$(cat "$MD_TMP/hold")" ]; then
	echo held >>"$MD_TMP/held"
	i=0
	while [ ! -e "$MD_TMP/gate" ] && [ \$i -lt 6000 ]; do sleep 0.05; i=\$((i + 1)); done
fi
SH

# hold_from N: hold the probes from the Nth run on; release: open the gate
hold_from() {
	rm -f "$MD_TMP/ffprobe.runs" "$MD_TMP/held" "$MD_TMP/gate"
	echo "$1" >"$MD_TMP/hold"
}
release() { : >"$MD_TMP/gate"; }
held() { [ "$(cat "$MD_TMP/held" 2>/dev/null | wc -l)" -ge "$1" ]; }

# posts_per_media USER: "media count" lines where a media has more than one
# post of USER (empty when each has one)
posts_per_media() {
	db_query "SELECT p.media, count(*) FROM posts p JOIN users u ON u.id = p.owner
		WHERE u.username = '$1' GROUP BY p.media HAVING count(*) > 1"
}
posts_of() { db_count "posts p JOIN users u ON u.id = p.owner" "u.username = '$1'"; }

IN=$MD_TMP/in
mkdir -p "$IN"
for i in 1 2 3 4 5 6; do png "$IN/$i.png" "$i"; done

# --- an import killed in the middle, run again ---------------------------------------
hold_from 4
PATH="$SHIM:$PATH" md-ingest --skip-posted -u alice -e thumb -r "$IN" >"$MD_TMP/1.out" 2>"$MD_TMP/1.err" &
pid=$!
wait_for "the fourth file's probe" held 1
# the files before it commit while the probes after them run (-j)
three_posted() { [ "$(posts_of alice)" -eq 3 ]; }
wait_for "the three files before it" three_posted
kill -9 "$pid"
{ wait "$pid"; } 2>/dev/null
is "$?" 137 "the first run was killed (-9) while probing its fourth file"
release
is "$(posts_of alice)" 3 "three files were posted before the kill"
is "$(db_count jobs)" 3 "with their jobs, in the same transactions"

rm -f "$MD_TMP/hold" "$MD_TMP/ffprobe.runs"
PATH="$SHIM:$PATH" run md-ingest --skip-posted -u alice -e thumb -r "$IN"
is "$rc" 0 "the run again exits 0" || diag "$err"
printf '%s\n' "$out" >"$MD_TMP/2.out"
is "$(awk -F '\t' '$4 == "exists"' "$MD_TMP/2.out" | wc -l)" 3 "the three posted files are reported as existing"
is "$(awk -F '\t' '$4 == "new"' "$MD_TMP/2.out" | wc -l)" 3 "the other three are posted"
is "$(wc -l <"$MD_TMP/ffprobe.runs")" 3 "only the files not posted before are probed"
is "$(posts_of alice)" 6 "six files, six posts"
is "$(posts_per_media alice)" "" "one post per file"
is "$(db_count jobs)" 6 "one job per media"
ex=$(awk -F '\t' '$4 == "exists" { print $1 "\t" $2 }' "$MD_TMP/2.out" | sort)
is "$ex" "$(db_query "SELECT id, media FROM posts ORDER BY id LIMIT 3" | sort)" \
	"an existing file's line names its earlier post and media"
is "$(awk -F '\t' '$4 == "exists" { print $3 }' "$MD_TMP/2.out" | sort -u)" pending \
	"and that post's status"

fv=$(db_query "SELECT version FROM feed_state")
users=$(db_count users)
rm -f "$MD_TMP/ffprobe.runs"
PATH="$SHIM:$PATH" run md-ingest --skip-posted --json -u alice -e thumb -t again -r "$IN"
is "$rc" 0 "a third run exits 0" || diag "$err"
ok "a third run: every record is JSON" json_lines_ok "$out"
is "$(printf '%s\n' "$out" | jq -s 'map(select(.exists and .dup and .post_id > 0)) | length')" 6 \
	"a third run: every file exists (JSON: exists and dup true, the post id)"
is "$(posts_of alice) $(db_count jobs) $(db_count tags) $(db_count users)" "6 6 0 $users" \
	"a third run: no post, job, tag or user written"
is "$(db_query "SELECT version FROM feed_state")" "$fv" "a third run: the feed did not move"
ok "a third run: nothing probed" test ! -e "$MD_TMP/ffprobe.runs"
run md-ingest --skip-posted -n -u alice "$IN/1.png"
is "$rc:$(cut -f4 <<<"$out")" "0:exists" "--dry-run says exists too"
run md-ingest -u alice "$IN/1.png"
is "$rc:$(cut -f4 <<<"$out")" "0:dup" "without --skip-posted, a second post of the file"
db_query "DELETE FROM posts WHERE id = $(cut -f1 <<<"$out")" >/dev/null

# --- --move: a source whose post was committed goes -----------------------------------
cp "$IN/1.png" "$MD_TMP/again.png"
run md-ingest --skip-posted --move -u alice "$MD_TMP/again.png"
is "$rc:$(cut -f4 <<<"$out")" "0:exists" "--move: the file posted already exists"
ok "--move: its source is removed" test ! -e "$MD_TMP/again.png"

# --- two runs at once ------------------------------------------------------------------
# bob: three files alice posted (known media) and three new to the store;
# both runs pass the early check of the first file before either commits
IN2=$MD_TMP/in2
mkdir -p "$IN2"
cp "$IN/1.png" "$IN/2.png" "$IN/3.png" "$IN2/"
for i in 7 8 9; do png "$IN2/$i.png" "$i"; done
media=$(db_count media)
hold_from 1
for r in a b; do
	PATH="$SHIM:$PATH" md-ingest --skip-posted -u bob -e thumb -r "$IN2" >"$MD_TMP/$r.out" 2>"$MD_TMP/$r.err" &
	eval "pid_$r=\$!"
done
wait_for "both runs probing their first file" held 2
release
wait "$pid_a"; ra=$?
wait "$pid_b"; rb=$?
is "$ra $rb" "0 0" "two runs at once: both exit 0" || diag "$(cat "$MD_TMP/a.err" "$MD_TMP/b.err")"
is "$(posts_of bob)" 6 "two runs at once: six files, six posts"
is "$(posts_per_media bob)" "" "two runs at once: one post per file"
is "$(db_count media)" "$((media + 3))" "two runs at once: three new media"
is "$(db_count jobs)" 9 "two runs at once: one job per media"
# each file: one run posted it, the other reports that post
pairs=$(cat "$MD_TMP/a.out" "$MD_TMP/b.out" | awk -F '\t' '
	{ k = $5; w[k] = w[k] ($4 == "exists" ? "e" : "p"); id[k] = id[k] " " $1 }
	END { for (k in w) print (w[k] == "ep" || w[k] == "pe") ? "one" : "bad " k w[k] }' | sort | uniq -c)
is "$(echo $pairs)" "6 one" "two runs at once: each file posted by one run, existing for the other"
is "$(cat "$MD_TMP/a.out" "$MD_TMP/b.out" | awk -F '\t' '{ print $5, $1 }' | sort -u | wc -l)" 6 \
	"two runs at once: both name the same post for a file"
is "$(posts_of alice)" 6 "alice's posts are alice's still"
is "$(count_files "$STORE/originals")" 9 "one stored original per media"

done_testing
