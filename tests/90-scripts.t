#!/bin/bash
# 90-scripts.t - the helper scripts: batch-import.sh (GNU parallel over
# md-ingest, then md-enqueue) and notify-hook.sh (md-finalize --exec), and
# the systemd units name tools and options that exist.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
have parallel || { plan skip_all "GNU parallel is not installed"; }

IN=$MD_TMP/in
md_samples "$IN"
cp "$IN/still.png" "$IN/copy of still.png"
run md-db init
MD_INGEST_OPTS="--tag imported" run "$MD_ROOT/scripts/batch-import.sh" "$IN" thumb
is "$rc" 0 "batch-import.sh exits 0" || diag "$err"
is "$(db_count posts)" 6 "every file became a post"
is "$(db_count media)" 5 "the copy is the same media"
is "$(db_count jobs "profile = 'thumb'")" 5 "one thumb job per media"
is "$(db_query "SELECT count(*) FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE t.name = 'imported'")" 6 \
	"MD_INGEST_OPTS reached md-ingest"

run md-work --drain
# the hook logs through logger(1); a stand-in on PATH records the line
mkdir -p "$MD_TMP/bin"
printf '#!/bin/sh\nshift 3\necho "$@" >> "%s"\n' "$MD_TMP/logged" >"$MD_TMP/bin/logger"
chmod +x "$MD_TMP/bin/logger"
PATH=$MD_TMP/bin:$PATH run md-finalize --exec "$MD_ROOT/scripts/notify-hook.sh"
is "$rc" 0 "md-finalize --exec notify-hook.sh exits 0" || diag "$err"
is "$(grep -c 'is completed' "$MD_TMP/logged")" 6 "the hook logged one line per finished post"

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
