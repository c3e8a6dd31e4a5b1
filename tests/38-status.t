#!/bin/bash
# 38-status.t - md-status, on either backend: the summary (jobs by queue
# and state, oldest waiting, running, dead, posts, finished over the last
# minute and hour) as TSV, JSON and Prometheus text, agreeing with the
# database; and posts with their jobs.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
md_sample_dirs
md_db_init

CFG=$MD_TMP/status.yaml
md_broken_profile "$CFG" status-marker
cat >>"$CFG" <<'EOF'
  slow:
    kinds: [video, animated, image]
    queue: slowq
    output: copy.jpg
    steps:
      - [sh, -c, "i=0; while [ ! -e \"$2\" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done; cp \"$0\" \"$1\"", "{input}", "{output}", "@GATE@"]
EOF

# the slow step waits for a gate file, opened once it has been seen running
sed -i "s|@GATE@|$MD_TMP/slow.gate|" "$CFG"
md_ingest_samples
img=$(sample_field photo.jpg media)
img_post=$(sample_field photo.jpg post_id)
png=$(sample_field still.png media)

jq -r .media "$T/ingest.json" | md-enqueue -c "$CFG" -p thumb >/dev/null 2>&1
run md-enqueue -c "$CFG" -p broken "$img" "$png"
is "$rc" 0 "thumb for every media, broken for two" || diag "$err"
run md-work -c "$CFG" --drain -j 2
is "$rc" 0 "md-work --drain" || diag "$err"
run md-finalize
is "$rc" 0 "md-finalize" || diag "$err"

# --- the summary ------------------------------------------------------------------
run md-status
is "$rc" 0 "md-status exits 0" || diag "$err"
printf '%s\n' "$out" >"$T/s.tsv"
rec() { awk -F '\t' -v r="$1" '$1 == r' "$T/s.tsv"; }
is "$(rec jobs | cut -f2- | tr '\t\n' ' /')" \
	"default available 0/default running 0/default succeeded 5/default dead 2/default cancelled 0/" \
	"jobs by queue and state, every state listed"
is "$(rec posts | cut -f2- | tr '\t\n' ' /')" "pending 0/processing 0/completed 3/failed 2/" \
	"posts by status"
is "$(rec finished | cut -f2- | tr '\t\n' ' /')" "1m 5 2/1h 5 2/" \
	"finished in the last minute and hour: succeeded, dead"
is "$(rec dead | wc -l)" 2 "the dead jobs listed"
like "$(rec dead | head -1)" $'^dead\t[0-9]+\tdefault\tbroken\t[0-9a-f]{64}\t[0-9T:.-]+Z\t.*status-marker' \
	"a dead job: id, queue, profile, media, finished_at, last_error"
is "$(rec dead | cut -f2 | tr '\n' ' ')" \
	"$(db_query "SELECT id FROM jobs WHERE state = 'dead' ORDER BY finished_at DESC, id DESC" | tr '\n' ' ')" \
	"newest first (by the time each died: two slots may finish out of id order)"
run md-status --dead 1
is "$(grep -c $'^dead\t' <<<"$out")" 1 "--dead 1: one"
run md-status --dead 0
is "$(grep -c $'^dead\t' <<<"$out")" 0 "--dead 0: none"

# oldest waiting: a job due an hour ago, and one not due yet
run md-enqueue -f --queue later --at @4000000000 -p thumb "$img"
run md-enqueue -f --queue due -p thumb "$img"
db_query "UPDATE jobs SET run_at = $(
	if [ "$MD_BACKEND" = postgres ]; then echo "now() - interval '1 hour'"
	else echo "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-3600 seconds')"; fi) WHERE queue = 'due'"
run md-status
is "$(awk -F '\t' '$1 == "waiting" && $2 == "later" { print $3, $4 }' <<<"$out")" "1 0.0" \
	"waiting: a job not due yet counts as available, waits for nothing"
ok "waiting: the job due an hour ago has waited an hour" \
	awk -F '\t' '$1 == "waiting" && $2 == "due" { f = ($3 == 1 && $4 >= 3599 && $4 < 3700) } END { exit !f }' <<<"$out"

# --- --json agrees ------------------------------------------------------------------------
run md-status --json
is "$rc" 0 "md-status --json" || diag "$err"
ok "--json: one object with the same figures" jq -e '
	.jobs.default.succeeded == 5 and .jobs.default.dead == 2 and .jobs.due.available == 1
	and .posts.completed == 3 and .posts.failed == 2
	and .finished["1m"].succeeded == 5 and .finished["1h"].dead == 2
	and (.dead | length) == 2 and (.dead[0].last_error | test("status-marker"))
	and .oldest_waiting.due >= 3599 and .oldest_waiting.later == 0
	and .running == []' <<<"$out"

# --- a running job ---------------------------------------------------------------------------
run md-enqueue -c "$CFG" -p slow "$png"
md-work -c "$CFG" -Q slowq --drain -q 2>"$T/slow.err" &
wpid=$!
slow_running() { [ "$(db_count jobs "state = 'running'")" = 1 ]; }
wait_for "the slow job running" slow_running
run md-status
line=$(awk -F '\t' '$1 == "running"' <<<"$out")
like "$line" $'^running\t[0-9]+\tslowq\tslow\t[^\t]+\t[0-9]+\\.[0-9]\t'"$png"$'\t$' \
	"running: id, queue, profile, worker, elapsed, media, progress (none: no ffmpeg step)"
is "$(cut -f5 <<<"$line")" "$(db_query "SELECT locked_by FROM jobs WHERE state = 'running'")" \
	"the worker is the one holding the lease"
run md-status --prom
like "$out" $'\nmemedroid_running_jobs 1\n' "--prom: one running job"
: >"$MD_TMP/slow.gate"
wait "$wpid"

# --- progress of an ffmpeg step -------------------------------------------------------------
# a 6-second video copied at its own pace (-re): md-work passes on what
# ffmpeg -progress says, md-status shows it as a fraction of the media
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc=duration=6:size=160x120:rate=10 \
	-pix_fmt yuv420p "$T/six.mp4" || BAIL_OUT "ffmpeg cannot make a test video"
run md-ingest --json "$T/six.mp4"
six=$(jq -r .media <<<"$out")
cat >>"$CFG" <<'EOF'
  realtime:
    kinds: [video]
    queue: rt
    output: copy.mp4
    steps:
      - [ffmpeg, -re, -i, "{input}", -c, copy, "{output}"]
EOF
run md-enqueue -c "$CFG" -p realtime "$six"
md-work -c "$CFG" -Q rt --drain -q 2>"$T/rt.err" &
wpid=$!
progress_shown() {
	md-status --json >"$T/rt.json" 2>/dev/null &&
		jq -e '.running[0].progress > 0' "$T/rt.json" >/dev/null
}
wait_for "progress of the running ffmpeg step" progress_shown
ok "--json: the running job's progress is a fraction between 0 and 1" \
	jq -e '.running[0].profile == "realtime" and .running[0].progress > 0
	  and .running[0].progress < 1' "$T/rt.json"
run md-status
like "$(awk -F '\t' '$1 == "running"' <<<"$out")" $'\t'"$six"$'\t0\\.[0-9]{3}$' \
	"TSV: the progress after the media"
wait "$wpid"
is "$(db_query "SELECT state FROM jobs WHERE profile = 'realtime'")" succeeded "the job succeeded"

# --- Prometheus text ----------------------------------------------------------------------------
run md-status --prom
is "$rc" 0 "md-status --prom exits 0" || diag "$err"
printf '%s\n' "$out" >"$T/prom"
is "$(grep -vcE '^(# (HELP|TYPE) memedroid_[a-z_]+ .+|memedroid_[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9]+(\.[0-9]+)?)$' "$T/prom")" 0 \
	"--prom: every line a HELP, a TYPE or a sample"
is "$(grep -c '^# TYPE' "$T/prom")" "$(grep -c '^# HELP' "$T/prom")" "--prom: a TYPE for each HELP"
like "$(cat "$T/prom")" 'memedroid_jobs\{queue="default",state="succeeded"\} 5' "--prom: succeeded jobs"
like "$(cat "$T/prom")" 'memedroid_posts\{status="failed"\} 2' "--prom: failed posts"
like "$(cat "$T/prom")" 'memedroid_jobs_finished\{queue="default",state="dead",window="1h"\} 2' \
	"--prom: dead jobs in the last hour"
like "$(cat "$T/prom")" 'memedroid_oldest_waiting_seconds\{queue="due"\} 3[0-9]{3}' \
	"--prom: the oldest waiting job"

# --- posts ------------------------------------------------------------------------------------------
run md-status "$img_post"
is "$rc" 0 "md-status POST_ID exits 0" || diag "$err"
is "$(awk -F '\t' '$1 == "post" { print $2, $5, $7 }' <<<"$out")" "$img_post failed $img" \
	"the post: id, status, media"
is "$(awk -F '\t' '$1 == "job"' <<<"$out" | wc -l)" \
	"$(db_count jobs "media = '$img'")" "then every job of its media"
like "$(awk -F '\t' '$1 == "job" && $3 == "broken"' <<<"$out")" "status-marker" "with its last error"
run md-ingest "$IN/photo.jpg"
run md-status --json "$img"
is "$rc" 0 "md-status SHA256" || diag "$err"
ok "--json by hash: both posts of the media, each with its jobs and renditions" jq -se '
	length == 2 and all(.[]; .media == "'"$img"'" and (.jobs | length) >= 2
	  and (.renditions.thumb | length > 0))' <<<"$out"
run md-status "$img_post" 999999
is "$rc" 1 "a known post and an unknown one: exit 1"
like "$err" "no such post or media" "the unknown one reported"
run md-status "$(printf x | sha256sum | cut -c1-64)"
is "$rc" 65 "only an unknown hash: exit 65"

# --- usage ---------------------------------------------------------------------------------------------
run md-status --dead x
is "$rc" 64 "bad --dead: 64"
run md-status --prom "$img_post"
is "$rc" 64 "--prom with post ids: 64"
run md-status not-a-ref
is "$rc" 64 "a ref that is neither a post id nor a hash: 64"
run md-status --prom --json
is "$rc" 64 "--prom with --json: 64"
run md-status --dead 3 "$img_post"
is "$rc" 64 "--dead with post ids: 64"
run md-status --base-url https://example.org/
is "$rc" 64 "--base-url without post ids: 64"

done_testing
