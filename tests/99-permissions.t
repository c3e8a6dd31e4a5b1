#!/bin/bash
# 99-permissions.t - who owns and who may read what a site stores.  Modes:
# storage.umask 027 (the default) makes files 0640 and directories 0750, 022
# makes them world-readable, a new database is never readable by others.
# As root, with other uids through setpriv (no system user is made): a
# service uid owns a setgid storage root and the database; root running a
# tool on that site is refused before it writes anything (no row, no file,
# no root-owned -wal or -shm), the service uid then works the site; a uid
# only in the storage's group reads every original and rendition but writes
# nothing; a stranger is refused with the owner named and leaves nothing; a
# group-writable site (storage.umask 007) is shared by two uids.  Once, in
# the SQLite pass: nothing here depends on the database backend.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
[ "$MD_BACKEND" = sqlite ] || plan skip_all "file owners and modes: run in the SQLite pass"
have ffmpeg || plan skip_all "ffmpeg not installed"

IN=$MD_TMP/in
mkdir -p "$IN"
for c in red blue green; do
	ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i "color=$c:s=32x32" -frames:v 1 \
		"$IN/$c.png" || BAIL_OUT "ffmpeg cannot make a sample"
done
chmod -R a+rX "$IN"

# mode PATH - the octal mode (setgid included) of PATH
mode() { stat -c %a "$1"; }
# modes DIR - the distinct "type mode" pairs below DIR's originals and
# renditions, one a line
modes() {
	(cd "$1" && find originals renditions -mindepth 1 -printf '%y %m\n' | sort -u)
}

# --- modes from storage.umask, as whoever runs the suite ----------------

run md-db init
is "$rc" 0 "md-db init" || diag "$err"
run md-ingest -e thumb "$IN/red.png"
is "$rc" 0 "md-ingest an image" || diag "$err"
run md-work --drain
is "$rc" 0 "md-work --drain makes its thumbnail" || diag "$err"
is "$(modes "$STORE")" $'d 750\nf 640' "umask 027: directories 0750, files 0640, originals and renditions"
is "$(mode "$MD_TMP/md.db")" 640 "the database is 0640"

cat >"$MD_TMP/public.yaml" <<'EOF'
# written by 99-permissions.t
storage:
  umask: 022
EOF
P=$MD_TMP/public
run md-db -c "$MD_TMP/public.yaml" --db "sqlite:$P/md.db" --storage "$P/storage" init
is "$rc" 0 "md-db init with storage.umask 022" || diag "$err"
run md-ingest -c "$MD_TMP/public.yaml" --db "sqlite:$P/md.db" --storage "$P/storage" -e thumb "$IN/red.png"
is "$rc" 0 "md-ingest" || diag "$err"
run md-work -c "$MD_TMP/public.yaml" --db "sqlite:$P/md.db" --storage "$P/storage" --drain
is "$rc" 0 "md-work --drain" || diag "$err"
is "$(modes "$P/storage")" $'d 755\nf 644' "umask 022: directories 0755, files 0644: world-readable media"
is "$(mode "$P/md.db")" 640 "but the database is still 0640: never readable by others"

# --- a site owned by a service uid, read by a web server's group ---------

SVC=61234          # the service user and its group
WEB=61235          # the web server, a member of the service's group
STRANGER=61236     # neither
MATE=61237         # a second uid of a group-writable site
# each a command prefix: the uid, its group, and only the groups named
as_svc=(setpriv --reuid=$SVC --regid=$SVC --clear-groups)
as_web=(setpriv --reuid=$WEB --regid=$WEB --groups=$SVC)
as_outsider=(setpriv --reuid=$WEB --regid=$WEB --clear-groups)
as_stranger=(setpriv --reuid=$STRANGER --regid=$STRANGER --clear-groups)
as_mate=(setpriv --reuid=$MATE --regid=$MATE --groups=$SVC)
if [ "$(id -u)" != 0 ] || ! have setpriv; then
	skip "not root, or no setpriv (util-linux): other uids cannot be taken" 29
	done_testing
fi
chmod 755 "$MD_TMP" "$MD_HOME"
if ! "${as_svc[@]}" md-db --version >/dev/null 2>&1; then
	skip "another uid cannot run the tools in '$MD_ROOT' (a private parent directory)" 29
	done_testing
fi

SITE=$MD_TMP/site
S=$SITE/storage
DB=$SITE/db/md.db
mkdir -p "$S" "$SITE/db"
chmod 755 "$SITE"
chown $SVC:$SVC "$S" "$SITE/db"
chmod 2750 "$S"
chmod 750 "$SITE/db"
export MD_DB=sqlite:$DB MD_STORAGE=$S
rows() { "${as_svc[@]}" sqlite3 "$DB" "SELECT count(*) FROM posts"; }
root_files() { find "$SITE" -uid 0 -printf '%P\n' | grep . ; }

run "${as_svc[@]}" md-db init
is "$rc" 0 "the service uid makes its site" || diag "$err"

run md-ingest -e thumb "$IN/blue.png"
is "$rc" 78 "root running md-ingest on the service's site exits 78"
like "$err" "database '$DB' belongs to '#$SVC': run as that user \\(sudo -u '#$SVC' md-ingest" \
	"and says whose it is and how to run as them"
is "$(rows)" 0 "no post was made"
nok "nothing under the site is root's: no file, no -wal, no -shm" root_files
run md-work --drain
is "$rc" 78 "root's md-work is refused too"
run md-db init
is "$rc" 78 "and root's md-db init"
like "$err" "storage '$S' belongs to '#$SVC'" "which names the storage"
nok "still nothing root's" root_files

run "${as_svc[@]}" md-ingest -e thumb "$IN/blue.png"
is "$rc" 0 "the service uid ingests" || diag "$err"
run "${as_svc[@]}" md-work --drain
is "$rc" 0 "and works the job" || diag "$err"
run "${as_svc[@]}" md-finalize
is "$rc" 0 "and finalizes it" || diag "$err"
is "$(modes "$S")" $'d 2750\nf 640' "setgid root: every directory 2750, every file 0640"
is "$(find "$S" -printf '%u:%g\n' | sort -u)" "$SVC:$SVC" "all of it the service's user and group"

files=$(cd "$S" && find originals renditions -type f | sort)
is "$(printf '%s\n' "$files" | grep -c .)" 2 "an original and a thumbnail"
n=0
for f in $files; do
	"${as_web[@]}" cat "$S/$f" >/dev/null && n=$((n + 1))
done
is "$n" 2 "a uid only in the storage's group reads both"
nok "but adds nothing to them" "${as_web[@]}" touch "$S/originals/x"
nok "a uid outside the group reads nothing" "${as_outsider[@]}" cat "$S/$(printf '%s\n' "$files" | head -n 1)"

# --- a stranger: refused with the owner named, nothing left -------------

before=$(cd "$S" && find . | sort)
run "${as_stranger[@]}" md-ingest -e thumb "$IN/green.png"
is "$rc" 78 "a stranger's md-ingest exits 78"
like "$err" "cannot write to database '$DB' in '$SITE/db': Permission denied \\(owner '#$SVC', group '#$SVC', mode 0750\\)" \
	"naming the path, the reason, the owner, group and mode"
mkdir -p "$MD_TMP/own"
chown $STRANGER "$MD_TMP/own"
own=(--db "sqlite:$MD_TMP/own/md.db")
run "${as_stranger[@]}" md-db "${own[@]}" --storage "$MD_TMP/own/storage" init
is "$rc" 0 "the stranger makes a site of its own" || diag "$err"
run "${as_stranger[@]}" md-ingest "${own[@]}" -e thumb "$IN/green.png"
is "$rc" 78 "with a database of its own, the service's storage still refuses it"
like "$err" "cannot write to storage '$S': Permission denied \\(owner '#$SVC', group '#$SVC', mode 2750\\)" \
	"naming the storage's owner"
is "$(cd "$S" && find . | sort)" "$before" "no file, no temp file, no directory was made"
is "$(rows)" 1 "no post either"

# --- a group-writable site: storage.umask 007, two uids -----------------

cat >"$MD_TMP/shared.yaml" <<'EOF'
# written by 99-permissions.t
storage:
  umask: 007
EOF
chmod 644 "$MD_TMP/shared.yaml"
export MD_CONFIG=$MD_TMP/shared.yaml
G=$MD_TMP/shared
mkdir -p "$G/storage" "$G/db"
chown $SVC:$SVC "$G/storage" "$G/db"
chmod 2770 "$G/storage" "$G/db"
export MD_DB=sqlite:$G/db/md.db MD_STORAGE=$G/storage
run "${as_svc[@]}" md-db init
is "$rc" 0 "the service uid makes a group-writable site" || diag "$err"
run "${as_mate[@]}" md-ingest -e thumb "$IN/green.png"
is "$rc" 0 "another uid of the group ingests into it" || diag "$err"
run "${as_svc[@]}" md-work --drain
is "$rc" 0 "and the service uid works what it stored" || diag "$err"
is "$(modes "$G/storage")" $'d 2770\nf 660' "everything group-writable"
done_testing
