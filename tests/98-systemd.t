#!/bin/bash
# 98-systemd.t - the systemd units as make install puts them: systemd-analyze
# verify takes them, and security --offline scores each service 2.0 or
# better; the sysusers.d and tmpfiles.d files make the user and the
# directories in a scratch root.  Then the notification protocol of md-work
# and md-finalize --follow, read from a NOTIFY_SOCKET this test owns:
# READY=1, STATUS= only when it changes, WATCHDOG=1, a SIGHUP that reloads
# (RELOADING=1 with MONOTONIC_USEC=, then READY=1) or refuses a bad
# configuration and goes on, STOPPING=1.  Nothing is booted: systemd is only
# read here, and the checks that need it skip without it.
. "$(dirname "$0")/lib.sh"
[ -n "${MD_TEST_PGHOST-}" ] && plan skip_all "units and notifications: run in the SQLite pass"
md_require_tools
md_setup

pids=
t98_cleanup() {
	local st=$? p
	for p in $pids; do kill "$p" 2>/dev/null; done
	(exit "$st")
	md_cleanup
}
trap t98_cleanup EXIT

SERVICES="md-work md-finalize md-janitor"
R=$MD_TMP/root

# --- the units, installed -----------------------------------------------------

run make -s -C "$MD_ROOT" install DESTDIR="$R" PREFIX=/usr
is "$rc" 0 "make install DESTDIR PREFIX=/usr" || diag "$err"
U=$R/usr/lib/systemd/system
for s in $SERVICES; do
	like "$(grep '^ExecStart=' "$U/$s.service")" "^ExecStart=/usr/bin/$s " \
		"$s.service runs \$(BINDIR)/$s"
done
ok "the timer is installed" test -f "$U/md-janitor.timer"

if have systemd-analyze; then
	# ExecStart= must name a program that exists: the installed copies, in $R
	mkdir -p "$MD_TMP/units"
	for f in "$U"/*; do
		sed "s|=/usr/bin/|=$R/usr/bin/|" "$f" >"$MD_TMP/units/${f##*/}"
	done
	run systemd-analyze verify --man=no "$MD_TMP"/units/*
	is "$rc" 0 "systemd-analyze verify takes every unit" || diag "$err"
	is "$err" "" "and says nothing about them"
	for s in $SERVICES; do
		run systemd-analyze security --offline=yes "$MD_TMP/units/$s.service"
		score=$(sed -n 's/^.*Overall exposure level for [^:]*: \([0-9.]*\) .*$/\1/p' <<<"$out")
		ok "$s.service: exposure ${score:-?} is at most 2.0" \
			awk -v s="$score" 'BEGIN { exit !(s != "" && s + 0 <= 2.0) }' ||
			diag "$(grep '✗' <<<"$out")"
	done
else
	skip "systemd-analyze is not installed (Debian: systemd)" 5
fi

if have systemd-sysusers && have systemd-tmpfiles; then
	mkdir -p "$R/etc"
	run systemd-sysusers --root="$R"
	is "$rc" 0 "systemd-sysusers --root takes memedroid.conf" || diag "$err"
	like "$(cat "$R/etc/passwd")" '^memedroid:x:[0-9]+:[0-9]+:memedroid media backend:/var/lib/memedroid:' \
		"it makes the user memedroid, at home in /var/lib/memedroid"
	uid=$(awk -F: '$1 == "memedroid" { print $3 }' "$R/etc/passwd")
	gid=$(awk -F: '$1 == "memedroid" { print $3 }' "$R/etc/group")
	mgid=$(awk -F: '$1 == "memedroid-media" { print $3 }' "$R/etc/group")
	ok "and the group memedroid-media, for the web server" test -n "$mgid" -a "$mgid" != "$gid"
	run systemd-tmpfiles --root="$R" --create
	is "$rc" 0 "systemd-tmpfiles --root --create takes memedroid.conf" || diag "$err"
	is "$(stat -c '%a %u %g' "$R/var/lib/memedroid")" "751 $uid $gid" \
		"the state directory: 0751 memedroid (others pass through, not list)"
	is "$(stat -c '%a %u %g' "$R/var/lib/memedroid/storage")" "2750 $uid $mgid" \
		"the storage: 2750 memedroid:memedroid-media, setgid"
	is "$(stat -c '%a %u %g' "$R/etc/memedroid")" "750 0 $gid" "/etc/memedroid: 0750 root:memedroid"
else
	skip "systemd-sysusers or systemd-tmpfiles is not installed (Debian: systemd)" 7
fi

# --- the notification protocol ------------------------------------------------

# notify_listen SOCKET FILE: each datagram to SOCKET becomes a line of FILE,
# its lines joined by '|'
notify_listen() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", "|") + "\n")
' "$1" "$2" &
	pids="$pids $!"
	wait_for "the socket $1" test -S "$1"
}
# seen FILE ERE: a datagram of FILE matches ERE
seen() { grep -Eq -- "$2" "$1"; }
count() { grep -Ec -- "$2" "$1"; }
# at_least FILE ERE N: N datagrams of FILE match ERE
at_least() { [ "$(count "$1" "$2")" -ge "$3" ]; }
# no two STATUS= in a row with the same text
status_changes_only() {
	grep -o 'STATUS=[^|]*' "$1" | uniq -d | { ! grep -q .; }
}
# three tiny images, made in a moment
ffmpeg -v error -f lavfi -i color=c=red:s=16x16 -f lavfi -i color=c=blue:s=16x16 \
	-f lavfi -i color=c=green:s=16x16 -map 0 -frames:v 1 "$MD_TMP/red.png" \
	-map 1 -frames:v 1 "$MD_TMP/blue.png" -map 2 -frames:v 1 "$MD_TMP/green.png"

# the configuration of the tools under test, which SIGHUP reads again
C=$MD_TMP/live.yaml
printf 'worker:\n  poll_interval: 200ms\n' >"$C"
run md-db init

N=$MD_TMP/work.sock
notify_listen "$N" "$MD_TMP/work.log"
# the watchdog every 0.2 s: many turns of an idle loop in a moment
MD_CONFIG=$C NOTIFY_SOCKET=$N WATCHDOG_USEC=400000 md-work 2>"$MD_TMP/work.err" &
wpid=$!
pids="$pids $wpid"
ok "md-work: READY=1" wait_for "READY=1" seen "$MD_TMP/work.log" '(^|\|)READY=1'
run md-ingest -e noop "$MD_TMP/red.png"
ok "md-work: the job is done, and said so" wait_for "1 done" seen "$MD_TMP/work.log" 'STATUS=0 running, 1 done'
ok "md-work: WATCHDOG=1 comes, again and again" \
	wait_for "5 watchdogs" at_least "$MD_TMP/work.log" '^WATCHDOG=1$' 5
ok "md-work: an idle worker does not repeat its STATUS" status_changes_only "$MD_TMP/work.log" ||
	diag "$(grep STATUS "$MD_TMP/work.log")"
ok "md-work: a few STATUS in all ($(count "$MD_TMP/work.log" STATUS=))" \
	test "$(count "$MD_TMP/work.log" STATUS=)" -le 5

printf 'worker:\n  poll_interval: 300ms\n' >"$C"
kill -HUP "$wpid"
ok "md-work: SIGHUP sends RELOADING=1 with MONOTONIC_USEC" \
	wait_for "RELOADING=1" seen "$MD_TMP/work.log" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+$'
ok "md-work: then READY=1, reloaded" \
	wait_for "reloaded" seen "$MD_TMP/work.log" '^READY=1\|STATUS=configuration reloaded$'
printf 'worker:\n  no_such_key: 1\n' >"$C"
kill -HUP "$wpid"
ok "md-work: a bad configuration on SIGHUP: READY=1, not reloaded" \
	wait_for "not reloaded" seen "$MD_TMP/work.log" '^READY=1\|STATUS=configuration not reloaded'
ok "md-work: the error is logged" grep -q 'level=error.*configuration not reloaded' "$MD_TMP/work.err" ||
	diag "$(cat "$MD_TMP/work.err")"
ok "md-work: it keeps running" kill -0 "$wpid"
run md-ingest -e noop "$MD_TMP/blue.png"
ok "md-work: with the old configuration, it does the next job" \
	wait_for "2 done" seen "$MD_TMP/work.log" 'STATUS=0 running, 2 done; configuration not reloaded'
kill -TERM "$wpid"
wait "$wpid"
is "$?" 0 "md-work: SIGTERM ends it with 0"
ok "md-work: STOPPING=1" seen "$MD_TMP/work.log" '^STOPPING=1$'
is "$(count "$MD_TMP/work.log" '(^|\|)READY=1')" 3 "md-work: READY=1 at the start and after each SIGHUP"

printf 'worker:\n  poll_interval: 200ms\n' >"$C"
N=$MD_TMP/fin.sock
notify_listen "$N" "$MD_TMP/fin.log"
MD_CONFIG=$C NOTIFY_SOCKET=$N WATCHDOG_USEC=400000 md-finalize --follow >"$MD_TMP/fin.out" 2>"$MD_TMP/fin.err" &
fpid=$!
pids="$pids $fpid"
ok "md-finalize --follow: READY=1" wait_for "READY=1" seen "$MD_TMP/fin.log" '^READY=1$'
ok "md-finalize --follow: the two posts done are finalized, and said so" \
	wait_for "2 media" seen "$MD_TMP/fin.log" 'STATUS=waiting for finished jobs; 2 media finalized$'
ok "md-finalize --follow: WATCHDOG=1" \
	wait_for "3 watchdogs" at_least "$MD_TMP/fin.log" '^WATCHDOG=1$' 3
kill -HUP "$fpid"
ok "md-finalize --follow: SIGHUP sends RELOADING=1 with MONOTONIC_USEC" \
	wait_for "RELOADING=1" seen "$MD_TMP/fin.log" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+$'
ok "md-finalize --follow: then READY=1, reloaded" \
	wait_for "reloaded" seen "$MD_TMP/fin.log" '^READY=1\|STATUS=configuration reloaded$'
ok "md-finalize --follow: it survives SIGHUP" kill -0 "$fpid"
run md-ingest -e noop "$MD_TMP/green.png"
run md-work --drain
is "$rc" 0 "a third post's job done after the SIGHUP" || diag "$err"
ok "md-finalize --follow finalizes it" \
	wait_for "3 media" seen "$MD_TMP/fin.log" 'STATUS=waiting for finished jobs; 3 media finalized$'
is "$(db_count posts "status = 'completed'")" 3 "the three posts are completed"
printf 'worker: [\n' >"$C"
kill -HUP "$fpid"
ok "md-finalize --follow: a bad configuration on SIGHUP: READY=1, not reloaded" \
	wait_for "not reloaded" seen "$MD_TMP/fin.log" '^READY=1\|STATUS=configuration not reloaded'
ok "md-finalize --follow: the error is logged" \
	grep -q 'level=error.*configuration not reloaded' "$MD_TMP/fin.err" || diag "$(cat "$MD_TMP/fin.err")"
ok "md-finalize --follow: it keeps running" kill -0 "$fpid"
ok "md-finalize --follow: its STATUS only changes" status_changes_only "$MD_TMP/fin.log" ||
	diag "$(grep STATUS "$MD_TMP/fin.log")"
kill -TERM "$fpid"
wait "$fpid"
is "$?" 0 "md-finalize --follow: SIGTERM ends it with 0"
ok "md-finalize --follow: STOPPING=1" seen "$MD_TMP/fin.log" '^STOPPING=1$'

# a one-shot md-finalize says nothing, even with a socket to say it to
N=$MD_TMP/once.sock
notify_listen "$N" "$MD_TMP/once.log"
NOTIFY_SOCKET=$N run md-finalize
is "$rc" 0 "a one-shot md-finalize exits 0"
is "$(cat "$MD_TMP/once.log")" "" "and sends no notification"

done_testing
