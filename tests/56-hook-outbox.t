#!/bin/bash
# 56-hook-outbox.t - md-finalize --exec runs its hook at least once per
# finished post: a finalizer killed while its hook runs leaves the post in
# the outbox and the next one runs the hook, with the same idempotency
# key; a failing hook is tried again later without holding back the
# others, and given up after its last try; two finalizers at once never
# run one post's hook at the same time; without --exec nothing is kept.
. "$(dirname "$0")/lib.sh"
md_require_tools
have jq || { plan skip_all "needs jq"; }
md_setup

IN=$MD_TMP/in
md_samples "$IN"
T=$MD_TMP

# The hook logs "start|done|fail POST KEY ATTEMPT".  A post captioned
# "block" waits for the gate file; one captioned "fail" fails while the
# file "failing" exists.  A directory per key tells two runs of one row
# at once apart ("overlap").
HOOK=$T/hook.sh
cat >"$HOOK" <<EOF
#!/bin/sh
set -- \$(jq -r '"\\(.post_id) \\(.idempotency_key) \\(.attempt) \\(.caption)"')
post=\$1 key=\$2 att=\$3 cap=\$4
mkdir "$T/run.\$key" 2>/dev/null || echo "overlap \$post \$key \$att" >>"$T/hook.log"
echo "start \$post \$key \$att" >>"$T/hook.log"
if [ "\$cap" = block ]; then
	touch "$T/started"
	while [ ! -e "$T/go" ]; do sleep 0.1; done
fi
rmdir "$T/run.\$key"
if [ "\$cap" = fail ] && [ -e "$T/failing" ]; then
	echo "fail \$post \$key \$att" >>"$T/hook.log"
	exit 1
fi
echo "done \$post \$key \$att" >>"$T/hook.log"
EOF
chmod +x "$HOOK"
touch "$T/hook.log"

FIN=(md-finalize --exec "$HOOK")
finalize() { "${FIN[@]}" "$@"; }
outbox() { db_count hook_outbox "$@"; }
outbox_empty() { finalize >/dev/null 2>&1; [ "$(outbox)" -eq 0 ]; }
# posts of one media, one per caption: "ID ..." on stdout
posts_of() {
	local f=$1 c ids=; shift
	for c in "$@"; do
		ids="$ids $(md-ingest --caption "$c" -e noop "$f" | cut -f1)"
	done
	echo $ids
}
keys_of() { awk -v p="$1" '$2 == p { print $3 }' "$T/hook.log" | sort -u; }

run md-db init

# ---- killed while its hook runs ----
ids=$(posts_of "$IN/still.png" block a b)
set -- $ids
blocked=$1
run md-work --drain
# a short timeout: the claim of the killed finalizer runs out soon
"${FIN[@]}" --exec-timeout 3s >"$T/f1.out" 2>"$T/f1.err" &
fpid=$!
ok "the hook of the first post starts" wait_for "hook started" test -e "$T/started"
{ kill -KILL "$fpid"; wait "$fpid"; } 2>/dev/null
is "$(db_count posts "status = 'completed'")" 3 "the killed finalizer finished the three posts"
is "$(outbox)" 3 "and left all three in the outbox, none cleared"
is "$(outbox "attempts = 1")" 1 "only the one whose hook ran is claimed"
touch "$T/go"
ok "a later md-finalize empties the outbox (once the claim ran out)" \
	wait_for "the outbox empty" outbox_empty
for id in $ids; do
	ok "post $id: its hook ran to the end" grep -q "^done $id " "$T/hook.log"
	is "$(keys_of "$id" | wc -l)" 1 "post $id: one idempotency key on every run"
done
ok "the killed one's hook ran again, a later try, with the same key" \
	grep -Eq "^start $blocked $(keys_of "$blocked") [2-9]\$" "$T/hook.log"

# ---- a failing hook ----
touch "$T/failing"
ids=$(posts_of "$IN/photo.jpg" fail c d)
set -- $ids
failing=$1
run md-work --drain
run "${FIN[@]}"
is "$rc" 1 "a failed hook: md-finalize exits 1" || diag "$err"
like "$err" "hook failed; will try again" "it says it will try again"
ok "the failing post's hook ran" grep -q "^fail $failing " "$T/hook.log"
ok "the other posts' hooks ran all the same" grep -q "^done $2 " "$T/hook.log"
ok "the third too" grep -q "^done $3 " "$T/hook.log"
is "$(outbox "post_id = $failing AND attempts = 1 AND last_error IS NOT NULL")" 1 \
	"the failed one stays in the outbox, with why"
is "$(outbox)" 1 "and only it"
rm "$T/failing"
ok "it is tried again later and succeeds" wait_for "the outbox empty" outbox_empty
ok "its second try had the first one's key" \
	grep -q "^done $failing $(keys_of "$failing") 2\$" "$T/hook.log"

# ---- given up after the last try ----
touch "$T/failing"
set -- $(posts_of "$IN/anim.gif" fail)
run md-work --drain
run "${FIN[@]}"
is "$rc" 1 "a hook fails"
db_query "UPDATE hook_outbox SET attempts = 29, run_at = created_at" >/dev/null
run "${FIN[@]}"
is "$rc" 1 "its 30th try fails too"
like "$err" "hook failed; given up" "md-finalize says it gives it up"
like "$err" "post_id=$1" "naming the post"
is "$(outbox)" 0 "the row is gone"
rm "$T/failing"

# ---- two finalizers at once ----
# (a hook killed with its md-finalize above left its key's directory)
n0=$(wc -l <"$T/hook.log")
ids=$(posts_of "$IN/video.mp4" e f g h i j)
run md-work --drain
finalize >/dev/null 2>&1 &
a=$!
finalize >/dev/null 2>&1
wait "$a"
is "$(outbox)" 0 "two finalizers ran every hook"
overlaps() { tail -n "+$((n0 + 1))" "$T/hook.log" | grep -q '^overlap'; }
nok "never two runs of one post's hook at once" overlaps
for id in $ids; do
	is "$(grep -c "^done $id " "$T/hook.log")" 1 "post $id: its hook ran once"
done

# ---- without --exec ----
set -- $(posts_of "$IN/silent.webm" k)
run md-work --drain
run md-finalize
is "$rc" 0 "md-finalize without --exec"
is "$(db_count posts "id = $1 AND status = 'completed'")" 1 "finishes the post"
is "$(outbox)" 0 "and keeps nothing in the outbox"

# ---- bad --exec-timeout ----
run md-finalize --exec "$HOOK" --exec-timeout 0s
is "$rc" 64 "--exec-timeout under a second is a usage error"

done_testing
