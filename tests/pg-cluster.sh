#!/bin/sh
# pg-cluster.sh - a throwaway PostgreSQL cluster for the test suite.
#
#   pg-cluster.sh start DIR   initdb a cluster in DIR/data listening only on a
#                             Unix socket in DIR (no TCP), fsync off, start it
#                             with pg_ctl -w and print the socket directory
#                             (use it as MD_TEST_PGHOST; superuser: postgres)
#   pg-cluster.sh standby PRIMARY DIR
#                             a streaming standby of the cluster started in
#                             PRIMARY (pg_basebackup -R -c fast over its
#                             socket: a checkpoint at once, not spread),
#                             started as start does, on its socket in DIR
#   pg-cluster.sh restart DIR restart it (fast: every connection is cut)
#   pg-cluster.sh halt DIR    stop the cluster (fast), keep DIR: start brings
#                             it back with its data (an outage)
#   pg-cluster.sh stop DIR    stop the cluster (fast) and remove DIR
#   pg-cluster.sh bindir      print the server binaries' directory (for
#                             clusters a test runs itself)
#
# As root, DIR is given to the postgres user and initdb/pg_ctl run as that
# user (runuser); otherwise they run as the caller, whose name is then the
# superuser name (initdb -U postgres keeps it "postgres" either way).
# Binaries: the newest /usr/lib/postgresql/*/bin, or PG_BINDIR.
# Exit 0 on success; 1 with pg_ctl's log on stderr on failure; 64 on usage.
set -eu

usage() {
	echo "usage: pg-cluster.sh start|restart|halt|stop DIR | standby PRIMARY DIR | bindir" >&2
	exit 64
}

primary=
if [ $# -eq 3 ] && [ "$1" = standby ]; then
	primary=$2
	set -- start "$3"
fi
{ [ $# -eq 2 ] && [ "$1" != bindir ]; } || [ "$*" = bindir ] || usage
cmd=$1
dir=${2-}

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/pg_ctl" ] && bindir=$d
	done
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/pg_ctl" ]; then
	echo "pg-cluster.sh: no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)" >&2
	exit 1
fi
if [ "$cmd" = bindir ]; then
	printf '%s\n' "$bindir"
	exit 0
fi

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

case $cmd in
start)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd -P)
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$dir"
		# The socket directory must be reachable by the postgres user.
		chmod 755 "$dir"
		if ! runuser -u postgres -- test -w "$dir"; then
			echo "pg-cluster.sh: '$dir' is not reachable by the postgres user (a parent directory is not searchable): choose a directory under /tmp" >&2
			exit 1
		fi
	fi
	if [ -f "$dir/data/postmaster.pid" ] &&
	   as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		printf '%s\n' "$dir"
		exit 0
	fi
	if [ -n "$primary" ] && [ ! -f "$dir/data/PG_VERSION" ]; then
		as_pg "$bindir/pg_basebackup" -D "$dir/data" -R -X stream -c fast -h "$primary" -U postgres \
			>"$dir/basebackup.log" 2>&1 || {
			cat "$dir/basebackup.log" >&2
			exit 1
		}
	fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust \
			-E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 || {
			cat "$dir/initdb.log" >&2
			exit 1
		}
	fi
	# listen_addresses='': no TCP at all, only the socket in DIR.
	as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
		start >/dev/null 2>&1 || {
		cat "$dir/server.log" >&2 2>/dev/null
		exit 1
	}
	printf '%s\n' "$dir"
	;;
restart)
	as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null 2>&1 || {
		cat "$dir/server.log" >&2 2>/dev/null
		exit 1
	}
	;;
halt)
	as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || {
		echo "pg-cluster.sh: pg_ctl stop failed (not running?)" >&2
		exit 1
	}
	;;
stop)
	if [ -d "$dir/data" ]; then
		as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 ||
			echo "pg-cluster.sh: pg_ctl stop failed (not running?)" >&2
	fi
	rm -rf "$dir"
	;;
*)
	usage
	;;
esac
