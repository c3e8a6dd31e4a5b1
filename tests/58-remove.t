#!/bin/bash
# 58-remove.t - removing content, on either backend: md-post del by id, by
# user, by tag and from stdin; a media goes with its last post (jobs,
# renditions, original and rendition folder), not before; --dry-run
# changes nothing and prints the same records; md-user del refuses, or
# deletes or gives away the posts; md-job drop takes only finished,
# finalized jobs; and a kill -9 at random points of md-post del (20 times),
# of md-user del --delete-posts and of md-job drop - (5 and 8 times), before
# or after a random number of the records they print, never leaves a
# half-removed post, media, user or job, and a rerun finishes.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
md_db_init
md_sample_dirs

png=$(sha256 "$IN/still.png")
gif=$(sha256 "$IN/anim.gif")
jpg=$(sha256 "$IN/photo.jpg")
state() {
	db_query "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM post_tags),
		(SELECT count(*) FROM media), (SELECT count(*) FROM jobs),
		(SELECT count(*) FROM renditions)" | tr '\t' ' '
}
rows_of() {
	db_query "SELECT (SELECT count(*) FROM media WHERE sha256 = '$1'),
		(SELECT count(*) FROM jobs WHERE media = '$1'),
		(SELECT count(*) FROM renditions WHERE media = '$1')" | tr '\t' ' '
}

run md-ingest --user al --tag cats --enqueue thumb "$IN/still.png" "$IN/anim.gif"
is "$rc" 0 "ingest two posts of al" || diag "$err"
p1=$(cut -f1 <<<"$out" | sed -n 1p); p2=$(cut -f1 <<<"$out" | sed -n 2p)
run md-ingest --user bo --enqueue thumb "$IN/still.png"
p3=$(cut -f1 <<<"$out")
run md-work --drain
is "$rc" 0 "the thumbnails are made" || diag "$err"
run md-finalize
is "$rc" 0 "and finalized" || diag "$err"
is "$(count_files "$STORE/renditions/$(shard "$gif")")" 1 "the gif has its rendition folder"
v0=$(db_query "SELECT version FROM feed_state")

# --- dry run ---------------------------------------------------------------------------
before=$(state)
run md-post del --dry-run "$p2"
is "$rc" 0 "del --dry-run exits 0" || diag "$err"
dry=$out
is "$(cut -f1 <<<"$out" | tr '\n' ' ')" "post job media file file " \
	"dry run: the post, the job, the media and its two files"
is "$(state)" "$before" "dry run: the rows stay"
ok "dry run: the original stays" test -f "$STORE/originals/$(shard "$gif").gif"
like "$err" "dry run: nothing removed" "dry run: says so"

# --- by id: the last post of a media takes the media ---------------------------------
run md-post del "$p2" 99999
is "$rc" 1 "del of a post and an unknown id exits 1"
like "$err" "no such post.*99999" "the unknown id named"
is "$out" "$dry" "the records are those of the dry run"
job=$(awk -F '\t' '$1 == "job" { print $2 }' <<<"$out")
is "$(sed -n 1p <<<"$out")" "post	$p2	$gif	al" "the post record: id, media, user"
is "$(sed -n 2p <<<"$out")" "job	$job	$gif	thumb	succeeded" "the job record"
is "$(sed -n 3p <<<"$out")" "media	$gif	gif" "the media record"
is "$(sed -n 4p <<<"$out")" "file	originals/$(shard "$gif").gif" "the original's record"
like "$(sed -n 5p <<<"$out")" "^file	renditions/$(shard "$gif")/thumb/$job-1/" "the rendition's record"
is "$(rows_of "$gif")" "0 0 0" "the media's rows are gone"
is "$(db_count posts "id = $p2")" 0 "the post is gone"
is "$(db_count post_tags "post_id = $p2")" 0 "its tags with it"
nok "the original is gone" test -e "$STORE/originals/$(shard "$gif").gif"
nok "the rendition folder is gone" test -e "$STORE/renditions/$(shard "$gif")"
isnt "$(db_query "SELECT version FROM feed_state")" "$v0" "the feed version moved"

# a media still used by another post stays
run md-post --json del "$p1"
is "$rc" 0 "del of one of two posts of a media" || diag "$err"
ok "--json: one post record" jq -se 'length == 1 and .[0].removed == "post"
	and .[0].post_id == '"$p1"' and .[0].user == "al"' <<<"$out"
is "$(rows_of "$png")" "1 1 1" "the media, job and rendition stay for bo's post"
ok "the original stays" test -f "$STORE/originals/$(shard "$png").png"

# --- by tag, by user, from stdin ------------------------------------------------------
run md-ingest --user cy --tag dogs "$IN/photo.jpg"
p4=$(cut -f1 <<<"$out")
run md-post del --tag dogs
is "$rc" 0 "del --tag" || diag "$err"
is "$(cut -f1,2 <<<"$out" | tr '\t\n' ' /')" "post $p4/media $jpg/file originals/$(shard "$jpg").jpg/" \
	"the tagged post, its media and its original"
run md-post del --tag nothing-here
is "$rc" 0 "del --tag that matches nothing exits 0"
is "$out" "" "and prints nothing"

run md-ingest --user cy "$IN/photo.jpg"
printf '%s\n' "$out" >"$T/ingest.tsv"
run_in "$T/ingest.tsv" md-post del -
is "$rc" 0 "del - reads md-ingest's output" || diag "$err"
is "$(cut -f1 <<<"$out" | head -1)" post "a post removed"
is "$(rows_of "$jpg")" "0 0 0" "and its media"

run md-post del --user bo
is "$rc" 0 "del --user" || diag "$err"
is "$(cut -f1 <<<"$out" | tr '\n' ' ')" "post job media file file " "bo's post and the png with it"
is "$(state)" "0 0 0 0 0" "nothing is left in the database"
is "$(count_files "$STORE/originals") $(count_files "$STORE/renditions")" "0 0" "nor in storage"

run md-post del
is "$rc" 64 "del without ids or filters: usage error"
run md-post del --user al 5
is "$rc" 64 "del with ids and a filter: usage error"
run md-post del abc
is "$rc" 64 "del of a non-id: usage error"

# --- md-user del ---------------------------------------------------------------------------
run md-ingest --user dan --tag x "$IN/still.png" "$IN/anim.gif"
run md-user add eve </dev/null
printf 'pw\n' >"$MD_TMP/pw"
run_in "$MD_TMP/pw" md-user add eve
run md-user del dan
is "$rc" 65 "del of a user with posts is refused"
like "$err" "owns 2 posts.*--delete-posts.*--reassign-to" "naming the two ways out"
run md-user del --reassign-to nobody dan
is "$rc" 65 "reassign to an unknown user is refused"
like "$err" "no such user 'nobody'" "says so"
run md-user del --reassign-to dan dan
is "$rc" 65 "reassign to itself is refused"
run md-user del --delete-posts --reassign-to eve dan
is "$rc" 64 "both options: usage error"
run md-user del --dry-run --reassign-to eve dan
is "$rc" 0 "del --dry-run --reassign-to" || diag "$err"
is "$(cut -f1 <<<"$out" | tr '\n' ' ')" "reassigned reassigned user " "two posts moved, the user removed"
is "$(db_count users "username = 'dan'")" 1 "dry run: dan stays"
run md-user del --reassign-to eve dan
is "$rc" 0 "del --reassign-to eve" || diag "$err"
is "$(db_query "SELECT DISTINCT u.username FROM posts p JOIN users u ON u.id = p.owner")" eve \
	"the posts are eve's"
is "$(db_count users "username = 'dan'")" 0 "dan is gone"
run md-user --json del --delete-posts eve
is "$rc" 0 "del --delete-posts eve" || diag "$err"
ok "--json: posts, media, files, then the user" jq -se '[.[].removed] ==
	["post", "post", "media", "media", "user", "file", "file"]' <<<"$out"
is "$(state)" "0 0 0 0 0" "eve's posts and media are gone"
is "$(count_files "$STORE/originals")" 0 "and their originals"
run md-user --dry-run list
is "$rc" 64 "--dry-run is for del"

# --- md-job drop ------------------------------------------------------------------------------
run md-ingest --user fay --enqueue thumb "$IN/still.png"
pend=$(db_query "SELECT id FROM jobs")
run md-job drop "$pend"
is "$rc" 65 "drop of an available job is refused"
like "$err" "only succeeded, dead or cancelled" "with the reason"
run md-job cancel "$pend"
run md-job drop "$pend"
is "$rc" 65 "drop of a cancelled job md-finalize has not seen is refused"
like "$err" "not finalized: run md-finalize first" "with the reason"
run md-finalize
run md-job drop --dry-run "$pend"
is "$rc" 0 "drop --dry-run" || diag "$err"
is "$out" "job	$pend	$png	thumb	cancelled" "prints the job record"
is "$(db_count jobs)" 1 "dry run: the row stays"
run md-job list -s cancelled -n 0
printf '%s\n' "$out" >"$T/jobs.tsv"
run_in "$T/jobs.tsv" md-job drop -
is "$rc" 0 "md-job list | md-job drop -" || diag "$err"
is "$(db_count jobs)" 0 "the row is gone"
is "$(db_count posts)" 1 "the post stays"
run md-job drop "$pend"
is "$rc" 65 "drop again: no such job"

# --- kill -9 at random points ----------------------------------------------------------------
# kill_at K IN CMD...: run CMD (stdin from IN, stdout line-buffered into a
# FIFO) and kill -9 it once it has printed K records, at once when K is 0;
# prints how many it printed.  Records come out after the commit, so K > 0
# kills between the removal of one stored file and the next.  (Without
# stdbuf, the records come out at exit: every kill is at once or late.)
linebuf=
have stdbuf && linebuf="stdbuf -oL"
kill_at() {
	local k=$1 in=$2 pid n=0 line
	shift 2
	rm -f "$T/kill.fifo"
	mkfifo "$T/kill.fifo"
	$linebuf "$@" <"$in" >"$T/kill.fifo" 2>/dev/null &
	pid=$!
	exec 9<"$T/kill.fifo"
	while [ "$n" -lt "$k" ] && IFS= read -r line <&9; do
		n=$((n + 1))
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	exec 9<&-
	echo "$n"
}
# no job, rendition or post_tag outlives its media or post, no media its
# posts, and every media row keeps its original: diag and 1 otherwise
consistent() {
	local orph m
	orph=$(db_query "SELECT (SELECT count(*) FROM jobs WHERE media NOT IN (SELECT sha256 FROM media))
		+ (SELECT count(*) FROM renditions WHERE media NOT IN (SELECT sha256 FROM media))
		+ (SELECT count(*) FROM post_tags WHERE post_id NOT IN (SELECT id FROM posts))
		+ (SELECT count(*) FROM media WHERE sha256 NOT IN (SELECT media FROM posts))")
	[ "$orph" = 0 ] || { diag "$1: $orph rows without their media or posts"; return 1; }
	for m in $(db_query "SELECT sha256 || '.' || ext FROM media"); do
		[ -f "$STORE/originals/$(shard "${m%.*}").${m##*.}" ] ||
			{ diag "$1: media $m lost its original"; return 1; }
	done
}
owned() {
	db_count posts "owner = (SELECT id FROM users WHERE username = '$1')"
}

# md-post del --user: 4 records (2 posts, the gif's media and original)
bad=0 seen=
for i in $(seq 1 20); do
	md-ingest --user kk --tag k "$IN/still.png" "$IN/anim.gif" >/dev/null 2>&1 ||
		{ bad=1; diag "ingest $i failed"; }
	k=$(kill_at $((RANDOM % 5)) /dev/null md-post del --user kk)
	seen="$seen$k"
	n=$(owned kk)
	# one transaction: the posts of kk are all there or all gone
	case $n in 0|2|4) ;; *) bad=1; diag "run $i: $n posts of kk" ;; esac
	[ "$k" = 0 ] || [ "$n" = 0 ] || { bad=1; diag "run $i: records printed, $n posts left"; }
	consistent "run $i" || bad=1
	md-post del --user kk >/dev/null 2>&1 || { bad=1; diag "run $i: the rerun failed"; }
	[ "$(owned kk)" = 0 ] || { bad=1; diag "run $i: the rerun left posts"; }
done
is "$bad" 0 "20 kills of md-post del: nothing half-removed, a rerun finishes"
note "md-post del killed after these numbers of records: $seen"
is "$(db_count media "sha256 IN ('$png', '$gif')")" 1 "only fay's media is left"

# md-user del --delete-posts: 5 records (2 posts, the gif's media, the
# user, the gif's original)
bad=0 seen=
for i in $(seq 1 5); do
	md-ingest --user ku --tag k "$IN/still.png" "$IN/anim.gif" >/dev/null 2>&1 ||
		{ bad=1; diag "ingest $i failed"; }
	k=$(kill_at $((RANDOM % 6)) /dev/null md-user del --delete-posts ku)
	seen="$seen$k"
	n=$(owned ku)
	u=$(db_count users "username = 'ku'")
	# one transaction: the user and its posts, or neither
	[ "$u $n" = "1 2" ] || [ "$u $n" = "0 0" ] || { bad=1; diag "run $i: user $u, $n posts"; }
	[ "$k" = 0 ] || [ "$u" = 0 ] || { bad=1; diag "run $i: records printed, the user is left"; }
	consistent "run $i" || bad=1
	if [ "$u" = 1 ]; then
		md-user del --delete-posts ku >/dev/null 2>&1 || { bad=1; diag "run $i: the rerun failed"; }
	fi
	[ "$(db_count users "username = 'ku'") $(db_count posts)" = "0 1" ] ||
		{ bad=1; diag "run $i: the rerun left ku or its posts"; }
done
is "$bad" 0 "5 kills of md-user del --delete-posts: nothing half-removed, a rerun finishes"
note "md-user del killed after these numbers of records: $seen"

# md-job drop -: a transaction, then a record, per job; 4 jobs a round
for i in $(seq 1 32); do
	printf '%s\n' "$png"
done >"$T/refs"
run_in "$T/refs" md-enqueue --force -p thumb -
is "$rc" 0 "32 jobs of the png" || diag "$err"
run md-job cancel $(db_query "SELECT id FROM jobs WHERE state = 'available'")
run md-finalize
is "$(db_count jobs "state = 'cancelled' AND finalized_at IS NOT NULL")" 32 "cancelled and finalized"
bad=0 seen=
for i in $(seq 1 8); do
	db_query "SELECT id FROM jobs ORDER BY id LIMIT 4" >"$T/batch"
	k=$(kill_at $((RANDOM % 5)) "$T/batch" md-job drop -)
	seen="$seen$k"
	n=$(db_count jobs "id IN ($(paste -sd, "$T/batch"))")
	# each record says its job is gone
	[ "$n" -le $((4 - k)) ] || { bad=1; diag "run $i: $k records, $n of 4 jobs left"; }
	consistent "run $i" || bad=1
	db_query "SELECT id FROM jobs WHERE id IN ($(paste -sd, "$T/batch"))" >"$T/left"
	if [ -s "$T/left" ]; then
		md-job drop - <"$T/left" >/dev/null 2>&1 || { bad=1; diag "run $i: the rerun failed"; }
	fi
	[ "$(db_count jobs "id IN ($(paste -sd, "$T/batch"))")" = 0 ] ||
		{ bad=1; diag "run $i: the rerun left jobs"; }
done
is "$bad" 0 "8 kills of md-job drop -: each job there or gone, a rerun finishes"
note "md-job drop killed after these numbers of records: $seen"
is "$(db_count jobs)" 0 "every job dropped"
is "$(db_count posts)" 1 "fay's post stays"

done_testing
