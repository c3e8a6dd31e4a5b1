#!/bin/bash
# tests/hosts/check.sh [--short] - SPEC §10 on one machine: memedroid on
# several hosts made of network namespaces (tests/hosts/lib.sh), as root.
#
# The hosts, on 10.231.0.0/24 behind one bridge:
#	db       .2   PostgreSQL 5432 (scram-sha-256, TLS) and its streaming
#	              replica on 5433
#	storage  .3   s3rver (tests/s3-server.sh), bucket "md-hosts"
#	client   .4   md-db, md-ingest, md-enqueue, md-finalize, md-feed,
#	              md-status, batch-import.sh (GNU parallel --sshlogin)
#	w1 w2 w3 .11- md-work, and an sshd each
# Every host reads its own configuration file, $HT/etc/HOST.yaml (MD_CONFIG),
# as a sysadmin would write /etc/memedroid/config.yaml on it: the database
# URL with its password and sslmode=require, the S3 storage with its
# endpoint and keys, its scratch directory in the host's private $HT/local.
#
# The proofs, each printing its figures as TAP notes:
#	a. the workers drain mixed jobs (noop, thumb, mp4 of generated media)
#	   enqueued by the client: each job succeeded once, each rendition in
#	   the bucket once, md-status lists every host's workers
#	b. a worker host's link is cut in the middle of a transcode: another
#	   host takes the job over (the time measured), the late result is
#	   refused when the link is back, no stale object replaces the
#	   registered rendition, the worker goes on without a restart
#	c. (full form) PostgreSQL restarted and the S3 server stopped for 20 s
#	   under load: no job lost, none run twice, quiet back-off, resume
#	d. md-feed on the replica; a writing tool on the replica; the replica's
#	   lag under load (pg_stat_replication) and what md-status says of it
#	e. scripts/batch-import.sh over the worker hosts with --sshlogin
# --short (make check, through tests/91-hosts.t): two worker hosts, about
# 200 jobs, no 20 s outage.  The full form (make hosts-check): three
# worker hosts, 3,000 jobs.
. "$(dirname "$0")/../lib.sh"
short=0
[ "${1-}" = --short ] && short=1

[ "$(id -u)" -eq 0 ] || plan skip_all "needs root (network namespaces, PostgreSQL as postgres)"
unshare --net true 2>/dev/null || plan skip_all "network namespaces are not allowed here (unshare --net failed)"
md_require_tools
for c in nsenter ip runuser node psql ssh-keygen parallel curl jq; do
	have "$c" || plan skip_all "no $c (scripts/deps.sh installs what is missing)"
done
[ -x /usr/sbin/sshd ] || plan skip_all "no /usr/sbin/sshd (openssh-server; scripts/deps.sh installs it)"
md_setup
# each host's configuration file names its database, and MD_HOME is the
# host's own: md_setup's are the SQLite fixture of the one-host tests
unset MD_DB MD_HOME
. "$MD_ROOT/tests/hosts/lib.sh"
links0=$(ip -o link | wc -l)
hosts_setup
t_start=$(date +%s.%N)

# seconds since T (date +%s.%N), one decimal
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

workers="w1 w2 w3"
[ "$short" = 1 ] && workers="w1 w2"
host_up db $HOSTS_NET.2
host_up storage $HOSTS_NET.3
host_up client $HOSTS_NET.4
n=11
for w in $workers; do
	host_up "$w" "$HOSTS_NET.$n"
	n=$((n + 1))
done
pass "hosts up: db, storage, client, $workers ($(since "$t_start") s)"
ok "the root namespace has no address in $HOSTS_NET.0/24" \
	sh -c "! ip -o addr | grep -qF ' $HOSTS_NET.'"
ok "and has no route out of the hosts' net" sh -c "! nsenter -t ${HOST_PID[w1]} -n ip route get 192.0.2.1 >/dev/null 2>&1"
is "$(host_run w2 hostname)" w2 "each host has its own hostname"
host_run w1 sh -c "echo w1 > $HT/local/mine"
is "$(host_run w2 ls "$HT/local")" "" "and its own private $HT/local (w1's file not seen on w2)"

# --- the servers -------------------------------------------------------------
pg_up db
pg_replica db
MD_PASSWORD=md-$RANDOM$RANDOM
{ PG_DBNAME=postgres pg_sql "CREATE ROLE md LOGIN PASSWORD '$MD_PASSWORD' IN ROLE pg_monitor" &&
	PG_DBNAME=postgres pg_sql "CREATE DATABASE md OWNER md"; } >/dev/null ||
	BAIL_OUT "cannot make the md role and database"
note "PostgreSQL and its replica up ($(since "$t_start") s)"
ok "a worker host reaches the db host's port" host_run w1 bash -c "exec 3<>/dev/tcp/$PG_ADDR/5432"
is "$(pg_sql "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")" t \
	"PostgreSQL on $PG_ADDR:5432 over TLS ($PG_CERT certificate), scram-sha-256"
pg_sql "CREATE EXTENSION pg_stat_statements" >/dev/null
replica_has_md() { [ "$(pg_sql -r "SELECT 1" 2>/dev/null)" = 1 ]; }
ok "the replica on $PG_REPLICA_ADDR:5433 serves the md database" wait_for "replica has md" replica_has_md
is "$(pg_sql -r "SELECT pg_is_in_recovery()")" t "and is a standby"
s3_up storage
like "$S3_ENDPOINT" "^http://$HOSTS_NET.3:[0-9]+$" "s3rver on the storage host: $S3_ENDPOINT"
nok "the S3 server is not reachable from the root namespace" curl -s -o /dev/null --max-time 2 "$S3_ENDPOINT/"

# s3 HOST CURL-ARG... PATH: a signed request from HOST to the S3 server; the
# HTTP status on stdout
s3() {
	local h=$1 path=${!#}; shift
	host_run "$h" curl -s -o "$HT/s3.body" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user S3RVER:S3RVER -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
		"${@:1:$#-1}" "$S3_ENDPOINT/$path"
}
is "$(s3 client -X PUT md-hosts)" 200 "the bucket md-hosts made from the client host" || diag "$(cat "$HT/s3.body")"

# --- the configuration of each host -------------------------------------------
# the tools give a silent server up within a minute (keepalives, 30 s
# tcp_user_timeout); proof b's cut is shorter, so the URL shortens them
DB_URL="postgresql://md:$MD_PASSWORD@$PG_ADDR:5432/md?sslmode=require&connect_timeout=10"
DB_URL+="&keepalives_idle=2&keepalives_interval=1&keepalives_count=2&tcp_user_timeout=4000"
REPLICA_URL="postgresql://md:$MD_PASSWORD@$PG_REPLICA_ADDR:5433/md?sslmode=require&connect_timeout=10"
# the slow transcode of proof b: real time (-re), so it lasts as long as its
# clip whatever the load
for h in client $workers; do
	touch "$HT/etc/$h.yaml"
	chmod 600 "$HT/etc/$h.yaml"
	cat >"$HT/etc/$h.yaml" <<-EOF
	database: $DB_URL
	storage:
	  url: s3://md-hosts/site
	  endpoint: $S3_ENDPOINT
	  region: us-east-1
	  access_key_id: S3RVER
	  secret_access_key: S3RVER
	  scratch: $HT/local/scratch
	  timeout: 3s
	  retries: 2
	log:
	  format: text
	worker:
	  jobs: 2
	  threads: 1
	  lease: 10s
	  heartbeat: 1s
	  poll_interval: 1s
	  retry_base: 1s
	  retry_max: 5s
	profiles:
	  slow:
	    kinds: [video]
	    queue: slow
	    output: video.mp4
	    max_attempts: 3
	    steps:
	      - [ffmpeg, -re, -i, "{input}", -an, -c:v, libx264, -preset, ultrafast, -pix_fmt, yuv420p,
	         -map_metadata, "-1", -y, "{output}"]
	EOF
done

# md_on HOST TOOL ARG...: a tool on HOST, with that host's configuration and
# its own MD_HOME in its private directory; run_on HOST TOOL ARG...: the
# same under tests/lib.sh's run ($out, $err, $rc)
md_on() {
	local h=$1; shift
	host_run "$h" env MD_CONFIG="$HT/etc/$h.yaml" MD_HOME="$HT/local/home" "$@"
}
run_on() {
	local h=$1; shift
	run nsenter -t "${HOST_PID[$h]}" -n -u -m --wd="$PWD" -- \
		env MD_CONFIG="$HT/etc/$h.yaml" MD_HOME="$HT/local/home" "$@"
}
# start_worker HOST [ARG...]: md-work on HOST in the background, its pid in
# WPID[HOST], its log in $HT/log/HOST.err (appended: one file per host)
declare -A WPID
start_worker() {
	local h=$1; shift
	# nsenter and env exec: the pid is md-work's
	nsenter -t "${HOST_PID[$h]}" -n -u -m --wd="$PWD" -- env MD_CONFIG="$HT/etc/$h.yaml" \
		MD_HOME="$HT/local/home" md-work --grace 2s "$@" >>"$HT/log/$h.out" 2>>"$HT/log/$h.err" &
	WPID[$h]=$!
}
# the worker ids the workers table holds, sorted, one a line
live_workers() { pg_sql "SELECT id FROM workers ORDER BY id" 2>/dev/null; }
jobs_left() { pg_sql "SELECT count(*) FROM jobs WHERE state NOT IN ('succeeded', 'dead', 'cancelled')"; }

run_on client md-db init
is "$rc" 0 "md-db init from the client host, over TLS" || diag "$err"

# the storage keys of the objects in the bucket below PREFIX (default
# site/), read from the storage host's disk (s3rver keeps KEY._S3rver_object)
s3_objects() {
	local d=$HT/s3/data/md-hosts/site
	[ -d "$d" ] || return 0
	find "$d" -name '*._S3rver_object' | sed "s|^$d/||; s|\._S3rver_object\$||" | sort
}
# the run folders in the bucket (renditions/ab/cd/SHA/PROFILE/RUN), one a line
s3_run_dirs() { s3_objects | sed -n 's|^\(renditions/[^/]*/[^/]*/[^/]*/[^/]*/[^/]*\)/.*|\1|p' | sort -u; }

# --- a. the worker hosts drain mixed jobs ----------------------------------------
# 3,000 jobs in the full form, of which 80 are real media work: the machine
# has two cores, a thumb or mp4 takes it seconds, a noop none
if [ "$short" = 1 ]; then nimg=3 nvid=1 nnoop=48; else nimg=60 nvid=10 nnoop=42; fi
IN=$HT/local/in
host_run client sh -ec "
	mkdir -p $IN
	ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=96x64:rate=25 -vf noise=alls=40:allf=t+u \
		-frames:v $nimg $IN/img%04d.png
	ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=160x120:rate=25:duration=$nvid \
		-c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 25 -f segment -segment_time 1 \
		-reset_timestamps 1 $IN/vid%03d.mp4"
is "$(host_run client sh -c "ls $IN | wc -l")" "$((nimg + nvid))" "$nimg images and $nvid videos made on the client host"
# the tools' statements only (user md), not the test's own queries
mine="dbid = (SELECT oid FROM pg_database WHERE datname = 'md') AND userid = (SELECT oid FROM pg_roles WHERE rolname = 'md')"
wal0=$(pg_sql "SELECT pg_current_wal_lsn()")
pg_sql "SELECT pg_stat_statements_reset()" >/dev/null
t0=$(date +%s.%N)
run_on client md-ingest -q -r "$IN"
is "$rc" 0 "md-ingest -r of them from the client host" || diag "$err"
note "ingest of $((nimg + nvid)) files into S3 over the network: $(since "$t0") s"
stmts=$(pg_sql "SELECT sum(calls) FROM pg_stat_statements WHERE $mine")
wal=$(pg_sql "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal0')")
note "   per upload: $(awk -v a="$stmts" -v n="$((nimg + nvid))" 'BEGIN { printf "%.1f", a / n }') statements, $(awk -v a="$wal" -v n="$((nimg + nvid))" 'BEGIN { printf "%.0f", a / n }') bytes of WAL"
host_run client sh -c "cat >$HT/local/posts" <<<"$out"
enqueue() { md_on client sh -c "md-enqueue -q $* <$HT/local/posts >/dev/null"; }
ok "md-enqueue -p thumb,mp4" enqueue -p thumb,mp4
# nnoop noop jobs per media, in one md-enqueue: the post ids repeated
md_on client sh -c "for i in \$(seq $nnoop); do cat $HT/local/posts; done | md-enqueue -q --force -p noop >/dev/null" ||
	fail "md-enqueue --force -p noop"
njobs=$(pg_sql "SELECT count(*) FROM jobs")
want=$(((nimg + nvid) * (nnoop + 1) + nvid))
is "$njobs" "$want" "$njobs jobs enqueued: $((nimg + nvid)) thumb, $nvid mp4, $((nnoop * (nimg + nvid))) noop"

wal0=$(pg_sql "SELECT pg_current_wal_lsn()")
pg_sql "SELECT pg_stat_statements_reset()" >/dev/null
t0=$(date +%s.%N)
for w in $workers; do start_worker "$w"; done
# the replica's lag, sampled while the workers run (proof d)
lag_max=0 lag_time=
sample_lag() {
	local b t
	IFS=$'\t' read -r b t < <(pg_sql "SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), -1),
		coalesce(max(replay_lag)::text, '') FROM pg_stat_replication")
	[ "${b%.*}" -gt "$lag_max" ] 2>/dev/null && lag_max=${b%.*}
	[ -n "$t" ] && lag_time=$t
	return 0
}
drained() { sample_lag; [ "$(jobs_left)" = 0 ]; }
MD_TEST_WAIT=600 ok "the worker hosts drain the $njobs jobs" wait_for "jobs drained" drained
secs=$(since "$t0")
note "a. $njobs jobs drained by $(echo $workers | wc -w) worker hosts (-j 2 each) in $secs s: $(awk -v n="$njobs" -v s="$secs" 'BEGIN { printf "%.1f", n / s }') jobs/s"
note "$(pg_sql "SELECT split_part(locked_by, ':', 1) AS host, count(*) AS jobs, count(*) FILTER (WHERE profile <> 'noop') AS media_jobs
	FROM jobs GROUP BY 1 ORDER BY 1" | sed 's/^/   host /')"
is "$(pg_sql "SELECT count(*) FROM jobs WHERE state = 'succeeded'")" "$njobs" \
	"every job succeeded (fenced: one accepted result each)"
twice=$(pg_sql "SELECT count(*) FROM jobs WHERE claims > 1")
# short jobs claimed with a long one are done at once and acknowledged
# with the next claim or the next heartbeat: their leases never lapse
is "$twice" 0 "no job claimed twice in a plain drain (short jobs behind a long one keep their leases)"
[ "$twice" = 0 ] || note "   claimed twice: $(pg_sql "SELECT string_agg(id || ' ' || profile || ' ' || locked_by, ', ') FROM jobs WHERE claims > 1")"
like "$(pg_sql "SELECT string_agg(DISTINCT split_part(locked_by, ':', 1), ' ' ORDER BY split_part(locked_by, ':', 1)) FROM jobs")" \
	"^$workers\$" "jobs ran on every worker host, named by its hostname"
run_on client md-status
is "$rc" 0 "md-status from the client host" || diag "$err"
for w in $workers; do
	like "$out" "(^|[^a-z0-9])$w:[0-9]+" "md-status lists a worker of $w"
done
note "$(grep -E '^ *w[0-9]+:|worker' <<<"$out" | head -n 8)"
stmts=$(pg_sql "SELECT sum(calls) FROM pg_stat_statements WHERE $mine")
wal=$(pg_sql "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal0')")
note "   statements: $stmts ($(awk -v a="$stmts" -v n="$njobs" 'BEGIN { printf "%.1f", a / n }') a job); WAL: $wal bytes ($(awk -v a="$wal" -v n="$njobs" 'BEGIN { printf "%.0f", a / n }') a job)"
note "$(pg_sql "SELECT calls, round(total_exec_time::numeric, 1) AS ms, left(regexp_replace(query, '\s+', ' ', 'g'), 70)
	FROM pg_stat_statements WHERE $mine ORDER BY calls DESC LIMIT 8" | sed 's/^/   /')"

run_on client md-finalize
is "$rc" 0 "md-finalize from the client host" || diag "$err"
nrend=$(pg_sql "SELECT count(*) FROM renditions")
is "$nrend" "$((nimg + 2 * nvid))" "$nrend renditions registered (thumb and mp4)"
pg_sql "SELECT regexp_replace(storage_key, '/[^/]*$', '') FROM renditions ORDER BY 1" >"$HT/registered"
s3_run_dirs >"$HT/bucket-runs"
is "$(comm -3 "$HT/registered" "$HT/bucket-runs" | head -n 5)" "" \
	"the bucket holds exactly the registered run folders: each rendition once"
is "$(sed 's|/[^/]*$||' "$HT/bucket-runs" | sort | uniq -d | head -n 3)" "" "no (media, profile) has two folders"

note "($(since "$t_start") s so far)"
# --- b. a worker host cut off in the middle of a transcode -------------------------
# a clip that the profile "slow" transcodes in real time (ffmpeg -re)
clip=4
[ "$short" = 1 ] || clip=10
host_run client ffmpeg -nostdin -loglevel error -f lavfi -i "testsrc2=size=160x120:rate=25:duration=$clip" \
	-vf "drawtext=text=slow:x=10:y=10" -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$HT/local/slow.mp4" 2>/dev/null ||
	host_run client ffmpeg -nostdin -loglevel error -f lavfi -i "testsrc2=size=176x144:rate=25:duration=$clip" \
		-c:v libx264 -preset ultrafast -pix_fmt yuv420p "$HT/local/slow.mp4"
run_on client md-ingest -q --enqueue slow "$HT/local/slow.mp4"
is "$rc" 0 "a ${clip}-second clip ingested with the profile slow (a real-time transcode)" || diag "$err"
slow_id() { pg_sql "SELECT id FROM jobs WHERE profile = 'slow'"; }
slow_running() { [ "$(pg_sql "SELECT state FROM jobs WHERE profile = 'slow'")" = running ]; }
ok "the transcode starts" wait_for "slow job running" slow_running
jid=$(slow_id)
cut=$(pg_sql "SELECT split_part(locked_by, ':', 1) FROM jobs WHERE id = $jid")
cut_worker=$(pg_sql "SELECT locked_by FROM jobs WHERE id = $jid")
transcoding() { host_run "$cut" pgrep -x ffmpeg >/dev/null; }
ok "on $cut, whose ffmpeg runs" wait_for "ffmpeg on $cut" transcoding
lines0=$(wc -l <"$HT/log/$cut.err")
t_cut=$(date +%s.%N)
link_down "$cut"
taken() { [ "$(pg_sql "SELECT claims > 1 AND split_part(locked_by, ':', 1) <> '$cut' FROM jobs WHERE id = $jid")" = t ]; }
ok "another host takes the job over" wait_for "takeover" taken
takeover=$(since "$t_cut")
gone=$(pg_sql "SELECT gone_at IS NOT NULL FROM workers WHERE id = '$cut_worker'")
if [ "$gone" = t ]; then how="the heartbeat (worker.heartbeat 1s: $cut_worker marked gone)"; else how="the lease (worker.lease 10s)"; fi
note "b. $cut cut off; its job taken over by $(pg_sql "SELECT locked_by FROM jobs WHERE id = $jid") after $takeover s, by $how"
slow_done() { [ "$(pg_sql "SELECT state FROM jobs WHERE id = $jid")" = succeeded ]; }
# is the cut-off worker's loop still turning? SIGHUP makes it log
# "configuration reloaded"
kill -HUP "${WPID[$cut]}"
reloaded() { tail -n +"$((lines0 + 1))" "$HT/log/$cut.err" | grep -q 'configuration reloaded'; }
t_hup=$(date +%s.%N)
MD_TEST_WAIT=10 ok "the cut-off worker still answers SIGHUP within 10 s (tcp_user_timeout)" \
	wait_for "reload logged" reloaded
note "   SIGHUP to the cut-off worker: $(if reloaded; then echo "reloaded after $(since "$t_hup") s"; else echo "no reload logged in 5 s"; fi)"
ok "the other host's run succeeds" wait_for "slow succeeded" slow_done
note "   the job succeeded $(since "$t_cut") s after the cut"
no_ffmpeg() { ! host_run "$cut" pgrep -x ffmpeg >/dev/null; }
ok "the cut-off host's transcode finishes meanwhile (its result can only be late)" wait_for "ffmpeg on $cut done" no_ffmpeg
note "   $cut's log while cut off ($(since "$t_cut") s):" "$(tail -n +"$((lines0 + 1))" "$HT/log/$cut.err" | cut -c1-220)"
said_away() { tail -n +"$((lines0 + 1))" "$HT/log/$cut.err" | grep -q 'database unavailable'; }
ok "the cut-off worker has said the database is unavailable" wait_for "database unavailable logged" said_away
lines1=$(wc -l <"$HT/log/$cut.err")
t_up=$(date +%s.%N)
link_up "$cut"
refused() { tail -n +"$((lines1 + 1))" "$HT/log/$cut.err" | grep -q 'lease lost\|result discarded\|found gone'; }
MD_TEST_WAIT=120 ok "$cut's late result is refused once its link is back" wait_for "refusal logged" refused
note "   after the link came back ($(since "$t_up") s):" "$(tail -n +"$((lines1 + 1))" "$HT/log/$cut.err" | cut -c1-220)"
is "$(pg_sql "SELECT state || ' ' || (split_part(locked_by, ':', 1) <> '$cut') FROM jobs WHERE id = $jid")" "succeeded true" \
	"the job stays succeeded, by the other host's run"
run_on client md-finalize
key=$(pg_sql "SELECT regexp_replace(storage_key, '/[^/]*$', '') FROM renditions WHERE profile = 'slow'")
claims=$(pg_sql "SELECT claims FROM jobs WHERE id = $jid")
like "$key" "/$jid-$claims\$" "the registered rendition is the folder of the accepted run ($jid-$claims)"
stale_gone() { [ "$(s3_run_dirs | grep -c "/slow/")" = 1 ]; }
ok "the bucket holds no folder of the stale run (the cut-off worker removed what it put)" \
	wait_for "stale folder removed" stale_gone || diag "$(s3_run_dirs | grep /slow/)"
ok "$cut's md-work runs on, the same process" kill -0 "${WPID[$cut]}"
rejoined() { [ "$(pg_sql "SELECT count(*) FROM workers WHERE split_part(id, ':', 1) = '$cut' AND gone_at IS NULL
	AND beat_at > now() - interval '3 seconds'")" -ge 1 ]; }
ok "and heartbeats again" wait_for "$cut heartbeats" rejoined
# only the cut-off host works now: its jobs show it goes on working
for w in $workers; do
	[ "$w" = "$cut" ] && continue
	kill -TERM "${WPID[$w]}"
	wait "${WPID[$w]}"
done
run_on client sh -c "md-enqueue -q -p noop --force <$HT/local/posts >/dev/null"
is "$rc" 0 "more jobs enqueued, the other workers stopped" || diag "$err"
ok "$cut runs them" wait_for "jobs drained by $cut" drained
note "   b. total $(since "$t_cut") s from the cut"
is "$(pg_sql "SELECT count(*) FROM jobs WHERE finished_at > to_timestamp($t_up) AND split_part(locked_by, ':', 1) <> '$cut'")" 0 \
	"all of them on $cut, without a restart"
for w in $workers; do [ "$w" = "$cut" ] || start_worker "$w"; done
note "($(since "$t_start") s so far)"

# --- c. PostgreSQL restarted and S3 stopped for 20 s, under load ---------------------
if [ "$short" = 1 ]; then
	skip "the 20 s outage: make hosts-check" 1
else
	jid0=$(pg_sql "SELECT max(id) FROM jobs")
	run_on client sh -c "md-enqueue -q --force -p thumb,mp4 <$HT/local/posts >/dev/null &&
		for i in \$(seq 10); do cat $HT/local/posts; done | md-enqueue -q --force -p noop >/dev/null"
	is "$rc" 0 "load: thumb, mp4 and ten noop on every media again" || diag "$err"
	nc=$(pg_sql "SELECT count(*) FROM jobs WHERE id > $jid0")
	t0=$(date +%s.%N)
	some_done() { [ "$(pg_sql "SELECT count(*) FROM jobs WHERE id > $jid0 AND state = 'succeeded'")" -ge 20 ]; }
	ok "the workers are busy with them" wait_for "20 done" some_done
	declare -A l0 l1 c0
	cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
	for w in $workers; do l0[$w]=$(wc -l <"$HT/log/$w.err"); done
	t_r=$(date +%s.%N)
	ok "PostgreSQL restarts (pg_ctl restart -m fast) under load" pg_restart
	note "c. PostgreSQL restarted in $(since "$t_r") s; $(pg_sql "SELECT count(*) FROM jobs WHERE id > $jid0 AND state = 'succeeded'")/$nc done"
	ok "the S3 server stops" s3_halt
	for w in $workers; do
		c0[$w]=$(cpu "${WPID[$w]}")
		l1[$w]=$(wc -l <"$HT/log/$w.err")
	done
	sleep 20    # the outage's length, the scenario itself
	out_cpu= out_lines=
	for w in $workers; do
		c=$(( $(cpu "${WPID[$w]}") - c0[$w] ))
		l=$(( $(wc -l <"$HT/log/$w.err") - l1[$w] ))
		out_cpu="$out_cpu $w:$c"
		out_lines="$out_lines $w:$l"
		ok "md-work on $w stays quiet during the S3 outage: $c ticks of CPU, $l log lines" \
			test "$c" -le "$(getconf CLK_TCK)" -a "$l" -le 12
	done
	ok "the S3 server comes back on its port" s3_resume
	t_back=$(date +%s.%N)
	n_back=$(pg_sql "SELECT count(*) FROM jobs WHERE id > $jid0 AND state = 'succeeded' AND profile <> 'noop'")
	media_again() { [ "$(pg_sql "SELECT count(*) FROM jobs WHERE id > $jid0 AND state = 'succeeded' AND profile <> 'noop'")" -gt "$n_back" ]; }
	MD_TEST_WAIT=300 ok "media jobs succeed again once S3 is back" wait_for "a media job after the outage" media_again
	note "   the first media job succeeded $(since "$t_back") s after S3 came back (the claims' pause after a storage outage)"
	MD_TEST_WAIT=600 ok "the workers finish the load" wait_for "load drained" drained
	note "   S3 away 20 s; the load done $(since "$t_back") s after it came back, $(since "$t0") s in all ($nc jobs)"
	note "   md-work CPU ticks during the S3 outage:$out_cpu (CLK_TCK $(getconf CLK_TCK)); log lines during it:$out_lines"
	note "   log lines of the restart, the outage and after, but job started/succeeded, by message:"
	note "$(for w in $workers; do tail -n +"$((l0[$w] + 1))" "$HT/log/$w.err"; done |
		grep -v 'msg="job \(started\|succeeded\)"' | sed 's/^time=[^ ]* //; s/ \(job_id\|media\|trace_id\|worker\|error\)=.*//' |
		sort | uniq -c | sort -rn | sed 's/^/     /')"
	# a worker back from the restart first must not take the others, whose
	# heartbeats the restart held up too, for gone and stop their runs
	gone_after_restart() {
		local w
		for w in $workers; do tail -n +"$((l0[$w] + 1))" "$HT/log/$w.err"; done | grep -q 'workers gone'
	}
	ok "no worker finds a live one gone after the restart" eval '! gone_after_restart'
	is "$(pg_sql "SELECT count(*) FROM jobs WHERE id > $jid0 AND state <> 'succeeded'")" 0 "no job lost: all $nc succeeded"
	note "   claims of these jobs: $(pg_sql "SELECT string_agg(c || ' claim(s): ' || n, ', ') FROM
		(SELECT claims AS c, count(*) AS n FROM jobs WHERE id > $jid0 GROUP BY 1 ORDER BY 1) x")"
	pg_sql "SELECT id FROM jobs WHERE id > $jid0 AND profile <> 'noop'" | sort >"$HT/c-jobs"
	s3_run_dirs | sed 's|.*/\([0-9]*\)-[0-9]*$|\1|' | sort | uniq -c | awk '$1 > 1 { print $2 }' >"$HT/c-twice"
	is "$(comm -12 "$HT/c-jobs" "$HT/c-twice" | head -n 5)" "" "no job published two runs (none ran twice at once)"
	is "$(pg_sql "SELECT count(*) FROM jobs j WHERE id > $jid0 AND profile <> 'noop'")" \
		"$(s3_run_dirs | sed 's|.*/\([0-9]*\)-[0-9]*$|\1|' | awk -v j="$jid0" '$1 > j' | sort -u | wc -l)" \
		"every media job of the load has its folder in the bucket"
	for w in $workers; do
		ok "md-work on $w rode it out (same process)" kill -0 "${WPID[$w]}"
	done
	note "($(since "$t_start") s so far)"
fi

# --- d. the replica ------------------------------------------------------------------
note "d. replica lag sampled on the primary (pg_stat_replication) while the workers drained a. and c.: at most $lag_max bytes behind; replay_lag last seen: ${lag_time:-none}"
run_on client md-feed --db "$REPLICA_URL" --json --limit 3
is "$rc" 0 "md-feed on the replica" || diag "$err"
is "$(grep -c '"post_id"' <<<"$out")" 3 "serves a page of 3 posts"
like "$err" "more posts" "and says there are more"
cursor=$(tail -n 1 <<<"$out" | jq -r .cursor)
run_on client md-feed --db "$REPLICA_URL" --json --limit 3 --before "$cursor"
is "$rc" 0 "and the next page" || diag "$err"
page2=$(jq -r .post_id <<<"$out" | tr '\n' ' ')
like "$page2" "^[0-9]+ " "of older posts: $page2"
post=$(host_run client head -n 1 "$HT/local/posts" | cut -f1)
run_on client md-enqueue --db "$REPLICA_URL" -p noop --force "$post"
isnt "$rc" 0 "md-enqueue on the replica fails (rc $rc)"
note "   md-enqueue on the replica says: $err"
is "$rc" 78 "exit 78, a configuration error"
like "$err" "read-only \\(a standby\\?\\).*point this tool at the primary" "and says why: a read-only server, use the primary"
run_on client md-status --db "$REPLICA_URL"
note "   md-status on the replica: rc $rc" "$(head -n 3 <<<"$out")" "$(head -n 2 <<<"$err")"
run_on client md-status
st_primary=$out
run_on client md-status --prom
like "$st_primary" "$(printf '(^|\n)replica\t[^\t]+\tstreaming\t[0-9.]+\t[0-9]+')" "md-status on the primary shows the replica and its lag"
like "$out" 'memedroid_replica_lag_seconds\{replica="[^"]+"\} [0-9.]+' "and --prom its lag in seconds"

# --- e. batch-import.sh over the worker hosts (GNU parallel --sshlogin) -------------
if [ "$short" = 1 ]; then
	skip "batch-import.sh over sshd on each host: make hosts-check" 1
else
for w in $workers; do
	sshd_up "$w" "PATH=$MD_ROOT:/usr/local/bin:/usr/bin:/bin MD_CONFIG=$HT/etc/$w.yaml MD_HOME=$HT/local/home MD_CONFIG_NOSYSTEM=1 MD_USER=importer"
done
is "$(host_run client ssh -F "$HT/ssh/config" w1 'hostname; echo $MD_CONFIG')" "w1
$HT/etc/w1.yaml" "ssh from the client to w1, its environment set by its sshd"
nimp=24
[ "$short" = 1 ] && nimp=8
INBOX=$HT/inbox
mkdir -p "$INBOX" "$HT/client-home"
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=80x60:rate=25 -vf noise=alls=40:allf=t+u \
	-frames:v "$nimp" "$INBOX/imp%03d.png"
is "$(sha256sum "$INBOX"/* | cut -c1-64 | sort -u | wc -l)" "$nimp" "$nimp distinct images in an inbox every host sees"
sshlogins=$(echo $workers | tr ' ' ',')
t0=$(date +%s.%N)
run nsenter -t "${HOST_PID[client]}" -n -u -m --wd="$PWD" -- env HOME="$HT/client-home" \
	PARALLEL="-S $sshlogins --wd $INBOX" PARALLEL_SSH="ssh -F $HT/ssh/config" \
	MD_IMPORT_JOBS=1 MD_IMPORT_BATCH=2 sh "$MD_ROOT/scripts/batch-import.sh" "$INBOX" noop
is "$rc" 0 "batch-import.sh over $sshlogins" || diag "$err"
note "e. $err (wall $(since "$t0") s)"
is "$(grep -c '"post_id"' <<<"$out")" "$nimp" "a record for each of the $nimp files"
is "$(pg_sql "SELECT count(*) || ' ' || count(DISTINCT p.media) FROM posts p JOIN users u ON u.id = p.owner WHERE u.username = 'importer'")" \
	"$nimp $nimp" "each file ingested once: $nimp posts of $nimp media" ||
	diag "$(jq -r '[.path, .post_id, .media[0:12], .exists] | @tsv' <<<"$out")" "$(sha256sum "$INBOX"/* | cut -c1-12 | sort | uniq -c)"
for w in $workers; do
	n=$(grep -c 'Accepted publickey' "$HT/ssh/$w.log")
	note "   sessions on $w: $n"
	ok "md-ingest ran on $w" test "$n" -ge 1
done
fi

# --- the end: everything torn down ----------------------------------------------------
teardown
is "$TEARDOWN_LEFT" 0 "teardown: no process left in the hosts' namespaces ($TEARDOWN_KILLED needed SIGKILL)"
is "$(ip -o link | wc -l)" "$links0" "the root namespace's interfaces are as they were"
note "total $(since "$t_start") s"

done_testing
