#!/bin/bash
# 90-scripts.t - the helper scripts: batch-import.sh (GNU parallel over
# md-ingest --skip-posted: run again after a failure, its exit status, its
# summary, GNU parallel's progress bar on a terminal) and notify-hook.sh (md-finalize --exec), and the
# systemd units name tools and options that exist.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
have parallel || { plan skip_all "GNU parallel is not installed"; }

BI=$MD_ROOT/scripts/batch-import.sh
IN=$MD_TMP/in
md_samples "$IN"
cp "$IN/still.png" "$IN/copy of still.png"
run "$BI" "$IN" thumb
is "$rc" 78 "batch-import.sh on an unmigrated database: md-ingest's exit status" || diag "$err"
run md-db init
# what a run cut short leaves: some files posted, with their jobs
run md-ingest -e thumb "$IN/video.mp4" "$IN/photo.jpg"
MD_INGEST_OPTS="--tag imported" run "$BI" "$IN" thumb
is "$rc" 0 "batch-import.sh run again exits 0" || diag "$err"
is "$(db_count posts)" 5 "every media became one post of the user"
is "$(db_count media)" 5 "the copy is the same media"
is "$(db_count jobs "profile = 'thumb'")" 5 "one thumb job per media"
is "$(db_query "SELECT count(*) FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE t.name = 'imported'")" 3 \
	"MD_INGEST_OPTS reached md-ingest"
ok "one JSON record per file on stdout" json_lines_ok "$out"
is "$(jq -r 'select(.exists) | .path' <<<"$out" | grep -c -e video.mp4 -e photo.jpg)" 2 \
	"the files posted before are reported as existing"
is "$(jq -s 'map(select(.exists)) | length' <<<"$out")" 3 "and so is the second copy of a picture"
like "$err" "^batch-import.sh: 6/6 files in [0-9]+ s: 3 posted \(0 duplicate media\), 3 posted before, 0 rejected$" \
	"off a terminal, the summary alone on standard error"
posts=$(db_count posts)
jobs=$(db_count jobs)
run "$BI" "$IN" thumb
is "$rc" 0 "batch-import.sh a third time exits 0" || diag "$err"
is "$(jq -s 'map(select(.exists)) | length' <<<"$out")" 6 "every file exists"
is "$(db_count posts) $(db_count jobs)" "$posts $jobs" "no post or job written"

run "$BI" "$MD_TMP/nowhere"
is "$rc" 64 "batch-import.sh of no directory exits 64 (a usage error)"
like "$err" "cannot open '$MD_TMP/nowhere': No such file or directory" "and says so"
like "$err" "usage: batch-import.sh DIR" "with the usage"
run "$BI" "$IN/still.png"
is "$rc.$err" "64.batch-import.sh: cannot open '$IN/still.png': Not a directory"$'\n'"usage: batch-import.sh DIR [PROFILES]" \
	"batch-import.sh of a file: the same"
run "$BI" --help
is "$rc" 0 "batch-import.sh --help exits 0"
like "$out" "^usage: batch-import.sh DIR \[PROFILES\]" "and prints the usage on standard output"
mkdir -p "$MD_TMP/empty"
run "$BI" "$MD_TMP/empty"
is "$rc" 65 "batch-import.sh of an empty directory exits 65"
like "$err" "no file to import" "and says so"
md_bad_samples "$MD_TMP/bad"
run "$BI" "$MD_TMP/bad" thumb
is "$rc" 65 "batch-import.sh of files all rejected exits 65" || diag "$err"
is "$(db_count posts)" "$posts" "and posts nothing"
nbad=$(count_files "$MD_TMP/bad")
is "$(jq -s 'map(select(.error)) | length' <<<"$out")" "$nbad" "one rejection record per file"
like "$err" "batch-import.sh: $nbad/$nbad files in [0-9]+ s: 0 posted \(0 duplicate media\), 0 posted before, $nbad rejected$" \
	"the summary counts them rejected"
cp "$IN/still.png" "$MD_TMP/bad/"
# in batches of 2: the exit status of the run, not of its last batch
MD_IMPORT_BATCH=2 MD_INGEST_OPTS="--user other" run "$BI" "$MD_TMP/bad" thumb
is "$rc" 1 "batch-import.sh with some files rejected exits 1" || diag "$err"
like "$err" ": 1 posted \(1 duplicate media\), 0 posted before, $nbad rejected$" \
	"the summary: another user's post of the picture is a duplicate media"
# on a terminal (script(1) gives one): GNU parallel's bar
if have script; then
	MD_IMPORT_BATCH=2 run script -qec "$BI $IN thumb >/dev/null" /dev/null
	is "$rc" 0 "batch-import.sh on a terminal exits 0" || diag "$out"
	like "$out" "100% [0-9]+:0=" "on a terminal, GNU parallel's bar of the batches done"
	like "$out" "6/6 files in [0-9]+ s: 0 posted \(0 duplicate media\), 6 posted before, 0 rejected" \
		"and the summary"
else
	skip "script(1) is not installed" 3
fi

run md-work --drain
# the hook logs through logger(1); a stand-in on PATH records the line
mkdir -p "$MD_TMP/bin"
printf '#!/bin/sh\nshift 3\necho "$@" >> "%s"\n' "$MD_TMP/logged" >"$MD_TMP/bin/logger"
chmod +x "$MD_TMP/bin/logger"
PATH=$MD_TMP/bin:$PATH run md-finalize --exec "$MD_ROOT/scripts/notify-hook.sh"
is "$rc" 0 "md-finalize --exec notify-hook.sh exits 0" || diag "$err"
is "$(grep -c 'is completed' "$MD_TMP/logged")" "$(db_count posts)" "the hook logged one line per finished post"

for u in "$MD_ROOT"/scripts/*.service; do
	exe=$(sed -n 's/^ExecStart=[^ ]*\/\(md-[a-z]*\) \(.*\)$/\1 \2/p' "$u")
	tool=${exe%% *}
	opts=${exe#* }
	ok "$(basename "$u"): $tool accepts '$opts'" sh -c "$tool $opts --help >/dev/null"
done

# make install honours PREFIX and DESTDIR; make uninstall takes it all back
D=$MD_TMP/dest
run make -s -C "$MD_ROOT" install DESTDIR="$D" PREFIX=/opt/md
is "$rc" 0 "make install DESTDIR PREFIX" || diag "$err"
ok "the tools are installed" test -x "$D/opt/md/bin/md-work" -a -x "$D/opt/md/bin/md-feed"
ok "the man pages are installed" test -f "$D/opt/md/share/man/man1/md-ingest.1" -a -f "$D/opt/md/share/man/man7/md.7"
ok "the completions are installed" test -f "$D/opt/md/share/zsh/site-functions/_memedroid" \
	-a -f "$D/opt/md/share/bash-completion/completions/md-enqueue"
run make -s -C "$MD_ROOT" uninstall DESTDIR="$D" PREFIX=/opt/md
is "$(find "$D" -type f | wc -l)" 0 "make uninstall removes every file"

done_testing
