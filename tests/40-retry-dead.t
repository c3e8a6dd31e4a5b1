#!/bin/bash
# 40-retry-dead.t - a profile whose command always fails is retried with
# backoff until worker.max_attempts, then dead with its stderr in last_error;
# md-finalize fails the post with the reason, md-feed --status failed shows it.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup

IN=$MD_TMP/in
md_samples "$IN"
CFG=$MD_TMP/test-config.yaml
cat >"$CFG" <<'EOF'
# written by 40-retry-dead.t
worker:
  retry_base: 0s
  retry_max: 1s
  max_attempts: 3
profiles:
  broken:
    kinds: [video, animated, image]
    output: out.txt
    steps:
      - [sh, -c, "echo boom-marker >&2; exit 3"]
EOF

run md-db -c "$CFG" init
is "$rc" 0 "md-db -c CFG init" || diag "$err"

run md-ingest -c "$CFG" "$IN/still.png" "$IN/photo.jpg"
is "$rc" 0 "md-ingest two images" || diag "$err"
sha1=$(sha256 "$IN/still.png")
sha2=$(sha256 "$IN/photo.jpg")
post1=$(printf '%s\n' "$out" | awk -F '\t' -v s="$sha1" '$2 == s { print $1 }')

run md-enqueue -c "$CFG" -p broken "$sha1"
is "$rc" 0 "md-enqueue -p broken (a profile from the config file)" || diag "$err"
like "$out" $'^[^\t]+\t'"$sha1"$'\tbroken\t[^\t]+\tavailable$' "md-enqueue prints the broken job"
job=$(printf '%s\n' "$out" | cut -f1)
is "$(db_query "SELECT max_attempts FROM jobs WHERE profile = 'broken'")" 3 \
	"the job takes max_attempts 3 from worker.max_attempts"

# one batch: first attempt fails, job back to available for a retry
run md-work -c "$CFG" --once
is "$rc" 0 "md-work --once exits 0" || diag "$err"
is "$out" "claimed=1 succeeded=0 retried=1 dead=0 released=0" "--once: one job retried"
is "$(db_query "SELECT state || ' ' || attempts FROM jobs WHERE profile = 'broken'")" \
	"available 1" "after one attempt: available, attempts 1"
like "$(db_query "SELECT last_error FROM jobs WHERE profile = 'broken'")" boom-marker \
	"last_error holds the step's stderr after a failed attempt"
like "$(db_query "SELECT status FROM posts WHERE media = '$sha1'")" '^(pending|processing)$' \
	"the post is not final while its job can still be retried"

# drain: two more attempts, then dead
run md-work -c "$CFG" --drain
is "$rc" 0 "md-work --drain exits 0" || diag "$err"
is "$out" "claimed=2 succeeded=0 retried=1 dead=1 released=0" "--drain: one more retry, then dead"
is "$(db_query "SELECT state || ' ' || attempts FROM jobs WHERE profile = 'broken'")" \
	"dead 3" "the job is dead with attempts = 3"
like "$(db_query "SELECT last_error FROM jobs WHERE profile = 'broken'")" boom-marker \
	"last_error contains the step's stderr (boom-marker)"
is "$(db_count jobs "state = 'available' OR state = 'running'")" 0 "nothing left to run"

# --max-attempts on the command line beats the config: dead after one try
run md-enqueue -c "$CFG" -p broken --max-attempts 1 "$sha2"
is "$rc" 0 "md-enqueue --max-attempts 1"
run md-work -c "$CFG" --drain
is "$out" "claimed=1 succeeded=0 retried=0 dead=1 released=0" "--max-attempts 1: dead at the first failure"
is "$(db_query "SELECT attempts FROM jobs WHERE profile = 'broken' AND media = '$sha2'")" 1 \
	"--max-attempts 1: attempts = 1"

# --- finalize and feed ---------------------------------------------------------------
run md-finalize -c "$CFG"
is "$rc" 0 "md-finalize exits 0" || diag "$err"
is "$(printf '%s\n' "$out" | awk -F '\t' '$3 == "failed"' | cut -f2 | sort | tr '\n' ' ')" \
	"$(printf '%s\n' "$sha1" "$sha2" | sort | tr '\n' ' ')" \
	"md-finalize prints both posts as failed"
is "$(db_query "SELECT status FROM posts WHERE media = '$sha1'")" failed "the post is failed in the database"
is "$(db_count jobs "finalized_at IS NULL")" 0 "every job is stamped finalized_at"

run md-feed -c "$CFG" --status failed --json
is "$rc" 0 "md-feed --status failed --json exits 0"
ok "md-feed --status failed lists the post with the reason in error" \
	jq -se --arg m "$sha1" --arg p "$post1" 'map(select(.media == $m)) | length == 1 and
	(.[0] | .status == "failed" and (.post_id | tostring) == $p and
	 (.error | type == "string") and (.error | test("boom-marker")))' <<<"$out"
run md-feed -c "$CFG" --status failed
like "$out" $'\tfailed\t[^\n]*boom-marker' "md-feed TSV: error field holds the reason"
run md-feed -c "$CFG" --json
ok "md-feed (default: completed) does not list failed posts" jq -se 'length == 0' <<<"$out"
run md-feed -c "$CFG" --status all --json
ok "md-feed --status all lists them" jq -se 'map(select(.status == "failed")) | length == 2' <<<"$out"

# md-finalize --exec: a hook gets the post JSON on stdin, once per post
run md-ingest -c "$CFG" "$IN/anim.gif"
sha3=$(sha256 "$IN/anim.gif")
run md-enqueue -c "$CFG" -p broken --max-attempts 1 "$sha3"
run md-work -c "$CFG" --drain
HOOK=$MD_TMP/hook.sh
printf '#!/bin/sh\ncat >> "%s"\necho >> "%s"\n' "$MD_TMP/hook.out" "$MD_TMP/hook.out" >"$HOOK"
chmod +x "$HOOK"
run md-finalize -c "$CFG" --exec "$HOOK"
is "$rc" 0 "md-finalize --exec HOOK exits 0" || diag "$err"
ok "the hook got the failed post as JSON on stdin" jq -se --arg m "$sha3" \
	'length == 1 and .[0].media == $m and .[0].status == "failed"' "$MD_TMP/hook.out"
run md-finalize -c "$CFG" --exec "$HOOK"
ok "a second md-finalize runs no hook again" jq -se 'length == 1' "$MD_TMP/hook.out"

done_testing
