#!/bin/bash
# x-ingest.sh BACKEND TRIAL SEED - kill -9 of md-ingest at a random moment.
#
# md-ingest -r --enqueue noop imports 8 distinct images (about 4 s); at a random moment
# within its usual run time it is killed with SIGKILL (alone, or with its
# process group on odd seeds).  Its processes alive 0.5 s later (ffprobe) are
# orphans.  md-ingest is run again over the same directory to completion.
# Record: orphans; posts lost (an input with no post), jobs lost (a media
# with no job), half files (an original whose bytes do not hash to its name,
# or one no media row names, left after the rerun).
. "$(dirname "$0")/lib.sh"
TT_EXP=kill-ingest TT_SEED=$3 RANDOM=$3
tt_run_init "$1" || exit 1
tt_trial "$1" "ingest-$2" || exit 1

imgs=$RUN/media/images
if [ ! -s "$imgs/f08.png" ]; then
	mkdir -p "$imgs"
	ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=64x48:rate=25 -vf "noise=alls=40:allf=t" \
		-frames:v 8 -start_number 1 "$imgs/f%02d.png" || exit 1
fi
cp "$imgs"/*.png "$TD/in/"

mode=pid; [ $((TT_SEED % 2)) = 1 ] && mode=group
tt_bg i1 md-ingest -r --enqueue noop "$TD/in"
i1=$TT_PID
tt_ms "$(tt_rand 4000)"
kt=$(tt_kill9 "$i1" "$mode")
orphans=$(tt_orphans)
md-ingest -q -r --enqueue noop "$TD/in" >/dev/null 2>"$TD/i2.err"
irc=$?
tt_orphans_gone 30
lposts=0
for f in "$TD"/in/*.png; do
	s=$(sha256 "$f")
	[ "$(db_query "SELECT count(*) FROM posts WHERE media = '$s'")" -ge 1 ] || lposts=$((lposts + 1))
done
ljobs=$(db_query "SELECT count(*) FROM media WHERE sha256 NOT IN (SELECT media FROM jobs)")
half=0
if [ -d "$STORE/originals" ]; then
	while read -r f; do
		b=${f##*/}; b=${b%%.*}
		if [ "$(sha256 "$f")" != "$b" ] ||
		   [ "$(db_query "SELECT count(*) FROM media WHERE sha256 = '$b'")" = 0 ]; then
			half=$((half + 1))
		fi
	done < <(find "$STORE/originals" -type f)
fi
tt_record kill=$mode rerun_rc=$irc orphans=$orphans lostposts=$lposts lostjobs=$ljobs half=$half
tt_trial_end
