#!/bin/bash
# x-diskfull.sh BACKEND TRIAL SEED - a full disk, then space again.
#
# The storage is a small tmpfs (mounted in a private mount namespace, so it
# needs root and unshare(1): without them the trial prints skip=1), with the
# SQLite database inside it on odd seeds: 64 to 200 KB beside what the
# database takes.  Ten clips of 1 s are ingested and
# worked (-j 2) until the disk is full; then the tmpfs is made large, and
# md-ingest, md-work and md-finalize are run again to completion.  Record:
# posts lost (an input with no completed post), jobs lost (a media with no
# succeeded job), dead jobs (their attempts spent on the full disk),
# half files (an original whose bytes do not hash to its name; a registered
# rendition whose size is not the registered one, or that ffprobe cannot
# read), io_errors (messages saying "disk I/O error" where the disk was
# full) and said_full (messages saying so: "No space left" or "disk full").
. "$(dirname "$0")/lib.sh"
TT_EXP=diskfull TT_SEED=$3 RANDOM=$3
if [ -z "${TT_IN_NS-}" ]; then
	if [ "$(id -u)" != 0 ] || ! have unshare; then
		echo "exp=$TT_EXP backend=$1 seed=$3 skip=1"
		exit 0
	fi
	TT_IN_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
tt_run_init "$1" || exit 1
mode=db-out; [ $((TT_SEED % 2)) = 1 ] && [ "$1" = sqlite ] && mode=db-in
tt_trial "$1" "diskfull-$2" || exit 1
# the database is made on a roomy tmpfs, which then shrinks to what it
# holds and a random margin, so that the disk fills at another moment in
# each trial
mount -t tmpfs -o size=64m tmpfs "$STORE" || { echo "exp=$TT_EXP backend=$1 seed=$3 skip=1"; exit 0; }
trap 'umount "$STORE" 2>/dev/null' EXIT
if [ "$mode" = db-in ]; then
	export MD_DB="sqlite:$STORE/md.db"
fi
md-db init >>"$TD/init.log" 2>&1 || { cat "$TD/init.log" >&2; exit 1; }
used=$(du -sk "$STORE" | cut -f1)
size=$(( (used + 64 + $(tt_rand 136)) / 4 * 4 ))k
mount -o remount,size=$size "$STORE" || exit 1
for n in 1 2 3 4 5 6 7 8 9 10; do cp "$(tt_media "full-$n" 1)" "$TD/in/$n.mp4"; done
md-ingest -q -r --enqueue tort "$TD/in" >/dev/null 2>"$TD/full.err"
md-work -j 2 --drain >/dev/null 2>>"$TD/full.err"
md-finalize >/dev/null 2>>"$TD/full.err"
mount -o remount,size=256m "$STORE"
md-ingest -q -r --enqueue tort "$TD/in" >/dev/null 2>"$TD/again.err"
tt_bg w md-work -j 2
MD_TEST_WAIT=$TT_WAIT wait_for "every job finished" tt_jobs_done
tt_stop "$TT_PID"
md-finalize -q >/dev/null 2>>"$TD/again.err"
lposts=0
for f in "$TD"/in/*.mp4; do
	s=$(sha256 "$f")
	[ "$(db_query "SELECT count(*) FROM posts WHERE media = '$s' AND status = 'completed'")" -ge 1 ] ||
		lposts=$((lposts + 1))
done
ljobs=$(db_query "SELECT count(*) FROM media WHERE sha256 NOT IN
	(SELECT media FROM jobs WHERE state = 'succeeded')")
dead=$(db_query "SELECT count(*) FROM jobs WHERE state = 'dead'")
half=0
while read -r f; do
	b=${f##*/}; b=${b%%.*}
	[ "$(sha256 "$f")" = "$b" ] || { half=$((half + 1)); echo "$f" >>"$TD/half.txt"; }
done < <(find "$STORE/originals" -type f)
while IFS=$'\t' read -r key bytes; do
	f=$STORE/$key
	if [ "$(stat -c %s "$f" 2>/dev/null)" != "$bytes" ] ||
	   ! ffprobe -v error -show_entries format=duration -of csv=p=0 "$f" >/dev/null 2>&1; then
		half=$((half + 1))
		echo "$f $bytes $(stat -c %s "$f" 2>&1)" >>"$TD/half.txt"
	fi
done < <(db_query "SELECT storage_key, bytes FROM renditions")
ioerr=$(grep -c 'disk I/O error' "$TD/full.err")
full=$(grep -ciE 'no space left|disk full|database or disk is full' "$TD/full.err")
tt_record db=$mode size=$size lostposts=$lposts lostjobs=$ljobs dead=$dead half=$half io_errors=$ioerr said_full=$full
umount "$STORE"
trap - EXIT
tt_trial_end
