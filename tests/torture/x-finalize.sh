#!/bin/bash
# x-finalize.sh BACKEND TRIAL SEED - kill -9 of md-finalize --exec HOOK.
#
# 10 posts whose noop jobs succeeded are finalized by md-finalize with a
# hook that logs each post id it is given (about 0.3 s a post in all); at a random
# moment md-finalize is killed with SIGKILL (alone, or with its process
# group on odd seeds), then run again with the hook until its outbox is
# empty (the killed finalizer's claim comes due after 6 s).  Record:
# orphans (hooks still running 0.5 s after the kill), lost hooks (a
# completed post the hook never saw), hooks run twice for a post (allowed:
# the hook is run at least once), posts lost (not completed).
. "$(dirname "$0")/lib.sh"
TT_EXP=kill-finalize TT_SEED=$3 RANDOM=$3
tt_run_init "$1" || exit 1
tt_trial "$1" "finalize-$2" || exit 1

imgs=$RUN/media/images10
if [ ! -s "$imgs/g10.png" ]; then
	mkdir -p "$imgs"
	ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=64x48:rate=25 -vf "noise=alls=40:allf=t" \
		-frames:v 10 -start_number 1 "$imgs/g%02d.png" || exit 1
fi
cp "$imgs"/*.png "$TD/in/"
cat >"$TD/hook.sh" <<HOOK
#!/bin/sh
# the hook: the post's id into hook.log
id=\$(jq -r '.id // .post_id // empty')
sleep 0.05
echo "\$id" >>"$TD/hook.log"
HOOK
chmod 755 "$TD/hook.sh"
: >"$TD/hook.log"
md-ingest -q -r --enqueue noop "$TD/in" >/dev/null 2>"$TD/ingest.err" || exit 1
md-work -q --drain >/dev/null 2>"$TD/work.err" || exit 1

mode=pid; [ $((TT_SEED % 2)) = 1 ] && mode=group
# --exec-timeout 1s: a hook claimed by the killed finalizer is due again
# 6 s later (its claim is the timeout and 5 s), not a minute later
tt_bg f1 md-finalize --exec "$TD/hook.sh" --exec-timeout 1s
f1=$TT_PID
tt_ms "$(tt_rand 3000)"
kt=$(tt_kill9 "$f1" "$mode")
orphans=$(tt_orphans)
tt_orphans_gone 30
md-finalize --exec "$TD/hook.sh" --exec-timeout 1s >/dev/null 2>"$TD/f2.err"
frc=$?
# then again until the outbox is empty: the killed claim comes due
outbox_empty() {
	md-finalize --exec "$TD/hook.sh" --exec-timeout 1s >/dev/null 2>>"$TD/f2.err" &&
		[ "$(db_query "SELECT count(*) FROM hook_outbox")" = 0 ]
}
MD_TEST_WAIT=$TT_WAIT wait_for "the outbox empty" outbox_empty >/dev/null 2>&1
lhooks=$(db_query "SELECT id FROM posts WHERE status = 'completed'" | sort -u |
	comm -23 - <(sort -u "$TD/hook.log") | wc -l)
dup=$(sort "$TD/hook.log" | uniq -d | wc -l)
read -r lposts _ < <(tt_lost 10 0)
tt_record kill=$mode rerun_rc=$frc orphans=$orphans losthooks=$lhooks duphooks=$dup lostposts=$lposts
tt_trial_end
