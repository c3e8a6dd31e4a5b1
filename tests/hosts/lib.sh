# tests/hosts/lib.sh - several hosts on one machine, for the multi-host
# tests (tests/hosts/check.sh): network namespaces joined by a bridge.
#
# Source it after tests/lib.sh and md_setup (bash, as root):
#
#	. "$MD_ROOT/tests/hosts/lib.sh"
#	hosts_setup                     # HT, the switch, the teardown trap
#	host_up db 10.231.0.2           # a host: its own network, hostname
#	host_up w1 10.231.0.11          # and private directory $HT/local
#	pg_up db; pg_replica db         # PostgreSQL on TCP, and a replica
#	host_run w1 md-work --drain     # a command on a host
#	link_down w1; link_up w1        # its cable pulled, plugged back
#
# How the hosts are made
#	Each host is a long-lived holder process, `unshare --net --uts
#	--mount sleep infinity`, whose pid is kept in HOST_PID[NAME]; every
#	command on the host enters its namespaces with `nsenter -t PID -n -u
#	-m` (network, hostname, mount).  Killing the holder and whatever
#	runs in its network namespace ends the host; its interfaces go with
#	the namespace.
#	A "switch" holder (network namespace only) has the bridge br0; each
#	host's eth0 is one end of a veth pair whose other end, v-NAME, is a
#	port of br0.  Both ends are made from inside the switch, so the root
#	namespace gets no interface, address or route: hosts reach each
#	other and nothing else (no default route, no address outside
#	HOSTS_NET.0/24).
#	Each host mounts a tmpfs of its own on $HT/local, so that path is a
#	different, empty directory on every host and invisible from the root
#	namespace: a host's MD_HOME and storage.scratch go there, and the
#	only files hosts share are the objects of the S3 server.  The rest of
#	the file system (the binaries, $HT/etc with the configuration files,
#	the logs the harness writes) is the machine's, seen by every host.
#
# Functions
#	hosts_setup               HT (=$MD_TMP, made searchable for the
#	                          postgres user), the switch; teardown runs at
#	                          exit before md_cleanup, on every exit path
#	host_up NAME ADDR         a host NAME (its hostname) at HOSTS_NET.ADDR
#	                          given in full (10.231.0.11)
#	host_run NAME CMD...      CMD in NAME's namespaces, the caller's
#	                          environment and working directory
#	link_down NAME / link_up NAME   the switch's port of NAME down or up:
#	                          packets to and from NAME are dropped, its
#	                          connections are not reset (a pulled cable)
#	pg_up HOST                a PostgreSQL primary on HOST's address, port
#	                          5432: scram-sha-256 for every connection,
#	                          ssl=on (Debian's snakeoil certificate when it
#	                          is there, else one made in $HT), WAL for a
#	                          replica, pg_stat_statements; superuser
#	                          postgres, password PG_PASSWORD; sets PG_ADDR
#	pg_replica HOST           a streaming replica (pg_basebackup -R) on
#	                          HOST's address, port 5433
#	pg_restart                restart the primary (fast: connections cut)
#	pg_sql [-r] SQL           SQL as postgres on the md database of the
#	                          primary (-r: of the replica); rows on stdout,
#	                          tab-separated
#	s3_up HOST                tests/s3-server.sh's s3rver on HOST's address;
#	                          sets S3_ENDPOINT
#	s3_halt / s3_resume       stop it keeping its objects / start it again on
#	                          the same port
#	sshd_up NAME [VAR=VAL...] an sshd on NAME's address, port 22, its host key
#	                          and config in $HT/ssh, VAR=VAL set in its
#	                          sessions (SetEnv); the client's config is
#	                          $HT/ssh/config (ssh -F), its key and
#	                          known_hosts there too
#	teardown                  stop every server, kill every process in the
#	                          hosts' namespaces and the holders (TERM, then
#	                          KILL after 10 s); sets TEARDOWN_KILLED (how
#	                          many needed KILL) and TEARDOWN_LEFT (how many
#	                          outlived it: 0 expected); a second call does
#	                          nothing
#
# Addresses are HOSTS_NET.x (10.231.0.0/24), inside the namespaces only.

HOSTS_NET=10.231.0
PG_PASSWORD=md-pg-$RANDOM$RANDOM
declare -A HOST_PID HOST_ADDR
_hosts_switch=
_hosts_torn=0

# The pid's network namespace, as readlink shows it ("net:[4026...]").
_netns_of() { readlink "/proc/$1/ns/net" 2>/dev/null; }

# The pids of the processes in the network namespaces named by the
# arguments (_netns_of values), one a line: one stat over /proc.
_pids_in() {
	local ns
	for ns in "$@"; do printf "'%s'\n" "$ns"; done >"$HT/.netns"
	stat -c '%N' /proc/[0-9]*/ns/net 2>/dev/null | grep -F -f "$HT/.netns" |
		sed -n "s|^'/proc/\([0-9]*\)/ns/net' -> .*|\1|p"
}

# A holder process with new namespaces ($@: unshare's flags); its pid in
# $holder once it runs sleep inside them.
_holder() {
	unshare "$@" -- sleep infinity </dev/null >/dev/null 2>&1 &
	holder=$!
	_is_holding() { [ "$(cat "/proc/$holder/comm" 2>/dev/null)" = sleep ]; }
	wait_for "namespace holder $holder" _is_holding || BAIL_OUT "unshare $* failed"
}

hosts_setup() {
	HT=$MD_TMP
	chmod 755 "$HT"
	mkdir -p "$HT/local" "$HT/etc" "$HT/log"
	trap '_st=$?; teardown; (exit $_st); md_cleanup' EXIT
	_holder --net
	_hosts_switch=$holder
	nsenter -t "$_hosts_switch" -n sh -ec '
		ip link set lo up
		ip link add br0 type bridge forward_delay 0 stp_state 0
		ip link set br0 up' || BAIL_OUT "cannot make the switch"
}

host_up() {
	local name=$1 addr=$2
	_holder --net --uts --mount --propagation private
	HOST_PID[$name]=$holder
	HOST_ADDR[$name]=$addr
	nsenter -t "$holder" -u hostname "$name" &&
		nsenter -t "$_hosts_switch" -n ip link add "v-$name" type veth peer name eth0 netns "$holder" &&
		nsenter -t "$_hosts_switch" -n ip link set "v-$name" master br0 up &&
		nsenter -t "$holder" -n sh -ec "
			ip link set lo up
			ip addr add $addr/24 dev eth0
			ip link set eth0 up" &&
		nsenter -t "$holder" -m mount -t tmpfs -o mode=755,size=2g "md-$name" "$HT/local" ||
		BAIL_OUT "cannot make host $name"
}

host_run() {
	local pid=${HOST_PID[$1]}; shift
	nsenter -t "$pid" -n -u -m --wd="$PWD" -- "$@"
}

link_down() { nsenter -t "$_hosts_switch" -n ip link set "v-$1" down; }
link_up() { nsenter -t "$_hosts_switch" -n ip link set "v-$1" up; }

# The server binaries, as tests/pg-cluster.sh finds them.
_pg_bindir() { PG_BIN=$(sh "$MD_ROOT/tests/pg-cluster.sh" bindir 2>/dev/null); }

# pg_ctl ARGS... as the postgres user on the db host.
_pg_ctl() { host_run "$PG_HOST" runuser -u postgres -- "$PG_BIN/pg_ctl" "$@"; }

pg_up() {
	PG_HOST=$1
	PG_ADDR=${HOST_ADDR[$1]}
	PG_DIR=$HT/db
	_pg_bindir || BAIL_OUT "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)"
	mkdir -p "$PG_DIR"
	printf '%s\n' "$PG_PASSWORD" >"$PG_DIR/pw"
	chown -R postgres: "$PG_DIR"
	chmod 700 "$PG_DIR"
	chmod 600 "$PG_DIR/pw"
	runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres \
		--auth=scram-sha-256 --pwfile="$PG_DIR/pw" -E UTF8 --locale=C.UTF-8 --no-sync \
		>"$PG_DIR/initdb.log" 2>&1 || BAIL_OUT "initdb failed: $(tail -n 3 "$PG_DIR/initdb.log")"
	# TLS: Debian's snakeoil pair when it is there and readable, otherwise a
	# self-signed pair made here; either way the server's own copy, 0600
	local crt=/etc/ssl/certs/ssl-cert-snakeoil.pem key=/etc/ssl/private/ssl-cert-snakeoil.key
	if [ -r "$crt" ] && [ -r "$key" ]; then
		cp "$crt" "$PG_DIR/data/server.crt"
		cp "$key" "$PG_DIR/data/server.key"
		PG_CERT=snakeoil
	else
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$PG_HOST" \
			-keyout "$PG_DIR/data/server.key" -out "$PG_DIR/data/server.crt" \
			>/dev/null 2>&1 || BAIL_OUT "openssl req failed"
		PG_CERT="self-signed (no readable snakeoil pair)"
	fi
	chown postgres: "$PG_DIR/data/server.crt" "$PG_DIR/data/server.key"
	chmod 600 "$PG_DIR/data/server.key"
	cat >"$PG_DIR/data/pg_hba.conf" <<-EOF
	local   all          all                    scram-sha-256
	hostssl all          all          $HOSTS_NET.0/24 scram-sha-256
	hostssl replication  all          $HOSTS_NET.0/24 scram-sha-256
	EOF
	cat >>"$PG_DIR/data/postgresql.conf" <<-EOF
	listen_addresses = '$PG_ADDR'
	port = 5432
	unix_socket_directories = '$PG_DIR'
	ssl = on
	ssl_cert_file = 'server.crt'
	ssl_key_file = 'server.key'
	password_encryption = 'scram-sha-256'
	wal_level = replica
	max_wal_senders = 4
	hot_standby = on
	max_connections = 100
	shared_preload_libraries = 'pg_stat_statements'
	fsync = off
	full_page_writes = off
	EOF
	_pg_ctl -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start >/dev/null 2>&1 ||
		BAIL_OUT "PostgreSQL did not start: $(tail -n 5 "$PG_DIR/server.log")"
	printf '%s:*:*:postgres:%s\n' "$PG_ADDR" "$PG_PASSWORD" >"$HT/pgpass"
	chmod 600 "$HT/pgpass"
}

pg_replica() {
	local addr=${HOST_ADDR[$1]}
	host_run "$1" runuser -u postgres -- env PGPASSWORD="$PG_PASSWORD" \
		"$PG_BIN/pg_basebackup" -d "host=$PG_ADDR port=5432 user=postgres sslmode=require" \
		-D "$PG_DIR/replica" -R -X stream --no-sync >"$PG_DIR/basebackup.log" 2>&1 ||
		BAIL_OUT "pg_basebackup failed: $(tail -n 3 "$PG_DIR/basebackup.log")"
	_pg_ctl -D "$PG_DIR/replica" -l "$PG_DIR/replica.log" -w -t 60 \
		-o "-c port=5433 -c listen_addresses='$addr' -c hot_standby=on" start >/dev/null 2>&1 ||
		BAIL_OUT "the replica did not start: $(tail -n 5 "$PG_DIR/replica.log")"
	PG_REPLICA_ADDR=$addr
}

pg_restart() {
	_pg_ctl -D "$PG_DIR/data" -l "$PG_DIR/server.log" -m fast -w -t 60 restart >/dev/null 2>&1
}

pg_sql() {
	local port=5432 addr=$PG_ADDR
	if [ "$1" = -r ]; then
		port=5433 addr=$PG_REPLICA_ADDR
		shift
	fi
	host_run "$PG_HOST" env PGPASSFILE="$HT/pgpass" psql -XAtq -v ON_ERROR_STOP=1 -F $'\t' \
		-d "host=$addr port=$port user=postgres dbname=${PG_DBNAME:-md} sslmode=require" -c "$1"
}

s3_up() {
	S3_HOST=$1
	sh "$MD_ROOT/tests/s3-server.sh" install "$HT/s3" >/dev/null 2>"$HT/s3.err" ||
		BAIL_OUT "cannot install s3rver: $(tail -n 1 "$HT/s3.err")"
	s3_resume || BAIL_OUT "no S3 server: $(tail -n 1 "$HT/s3.err")"
}

s3_halt() { host_run "$S3_HOST" sh "$MD_ROOT/tests/s3-server.sh" halt "$HT/s3"; }

s3_resume() {
	S3_ENDPOINT=$(host_run "$S3_HOST" env S3_SERVER_ADDR="${HOST_ADDR[$S3_HOST]}" \
		sh "$MD_ROOT/tests/s3-server.sh" start "$HT/s3" 2>"$HT/s3.err")
}

sshd_up() {
	local name=$1 addr=${HOST_ADDR[$1]} d=$HT/ssh v; shift
	mkdir -p "$d"
	chmod 700 "$d"
	if [ ! -f "$d/client_key" ]; then
		ssh-keygen -q -t ed25519 -N '' -C md-test -f "$d/client_key" || BAIL_OUT "ssh-keygen failed"
		cp "$d/client_key.pub" "$d/authorized_keys"
		cat >"$d/config" <<-EOF
		Host *
		  User root
		  IdentityFile $d/client_key
		  IdentitiesOnly yes
		  UserKnownHostsFile $d/known_hosts
		  GlobalKnownHostsFile /dev/null
		  StrictHostKeyChecking yes
		  BatchMode yes
		  ConnectTimeout 10
		  LogLevel ERROR
		EOF
	fi
	ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$d/$name.key" || BAIL_OUT "ssh-keygen failed"
	printf '%s,%s %s\n' "$name" "$addr" "$(cut -d' ' -f1,2 "$d/$name.key.pub")" >>"$d/known_hosts"
	{
		printf 'Host %s\n  HostName %s\n' "$name" "$addr"
		cat "$d/config"
	} >"$d/config.new" && mv "$d/config.new" "$d/config"
	{
		echo "ListenAddress $addr"
		echo "HostKey $d/$name.key"
		echo "PidFile $d/$name.pid"
		echo "AuthorizedKeysFile $d/authorized_keys"
		echo "StrictModes no"
		echo "UsePAM no"
		echo "PasswordAuthentication no"
		echo "KbdInteractiveAuthentication no"
		echo "PermitRootLogin prohibit-password"
		echo "LogLevel INFO"
		for v in "$@"; do echo "SetEnv $v"; done
	} >"$d/$name.conf"
	# sshd wants its privilege separation directory, /run/sshd: the host's
	# own /run, a tmpfs in its mount namespace
	host_run "$name" sh -ec 'mount -t tmpfs -o mode=755 run /run; mkdir -m 755 /run/sshd' ||
		BAIL_OUT "cannot make /run/sshd on $name"
	host_run "$name" /usr/sbin/sshd -D -f "$d/$name.conf" -E "$d/$name.log" </dev/null &
	_sshd_listens() { host_run "$name" ss -Htln "src $addr:22" | grep -q .; }
	wait_for "sshd on $name" _sshd_listens || BAIL_OUT "sshd did not start on $name: $(tail -n 3 "$d/$name.log")"
}

teardown() {
	[ "$_hosts_torn" = 1 ] && return 0
	_hosts_torn=1
	# a second TERM or INT does not cut the teardown short
	trap '' TERM INT
	local name ns p all=
	TEARDOWN_KILLED=0 TEARDOWN_LEFT=0
	if [ -n "${PG_DIR-}" ]; then
		[ -f "$PG_DIR/replica/postmaster.pid" ] &&
			_pg_ctl -D "$PG_DIR/replica" -m immediate -w stop >/dev/null 2>&1
		[ -f "$PG_DIR/data/postmaster.pid" ] &&
			_pg_ctl -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
	fi
	for name in "${!HOST_PID[@]}" switch; do
		if [ "$name" = switch ]; then p=$_hosts_switch; else p=${HOST_PID[$name]}; fi
		[ -n "$p" ] || continue
		ns=$(_netns_of "$p") || continue
		[ -n "$ns" ] && all="$all $ns"
	done
	[ -n "$all" ] || return 0
	# TERM first, then KILL what is left, the holders with the rest
	for p in $(_pids_in $all); do kill -TERM "$p" 2>/dev/null; done
	_hosts_empty() { [ -z "$(_pids_in $all)" ]; }
	MD_TEST_WAIT=10 wait_for "the hosts' processes to end" _hosts_empty 2>/dev/null
	for p in $(_pids_in $all); do
		kill -KILL "$p" 2>/dev/null && TEARDOWN_KILLED=$((TEARDOWN_KILLED + 1))
	done
	MD_TEST_WAIT=10 wait_for "the hosts' processes to end" _hosts_empty
	TEARDOWN_LEFT=$(_pids_in $all | wc -l)
	wait 2>/dev/null
}
