#!/bin/sh
# s3-server.sh - a throwaway S3 protocol server for the test suite.
#
#   s3-server.sh start DIR   start s3rver on 127.0.0.1 only (or on the
#                            address S3_SERVER_ADDR), its objects in
#                            DIR/data, and print its endpoint URL
#                            (http://127.0.0.1:PORT); DIR/pid holds its pid,
#                            DIR/env the variables a test sources, DIR/server.log
#                            its log.  Already running: print the endpoint.
#   s3-server.sh halt DIR    stop it, keep DIR: start brings it back on the
#                            same port with its objects (an outage)
#   s3-server.sh stop DIR    stop it and remove DIR
#   s3-server.sh install DIR install s3rver into the cache (below) if it is
#                            not there yet, and nothing else: for a server
#                            started later where npm cannot reach its
#                            registry (a network namespace)
#
# The server is s3rver (npm @20minutes/s3rver 4.x), installed once with
# npm under ${MD_TEST_CACHE:-/var/tmp/memedroid-test-cache}/s3 (test
# tooling only, never a dependency of the tools).  It checks SigV4
# signatures, in headers and in presigned URLs, against its one built-in
# key pair, S3RVER / S3RVER: a request signed with another secret is
# refused with 403 SignatureDoesNotMatch.  An unsigned request is served
# as anonymous: s3rver has no bucket policies, so "unsigned is refused"
# cannot be tested against it.  Addressing is path style at the endpoint
# (http://127.0.0.1:PORT/bucket/key) or virtual host at
# http://s3.localhost:PORT (Host: bucket.s3.localhost:PORT; curl resolves
# *.localhost to the loopback itself).
#
# The first start binds port 0, so the kernel picks a free port and no
# other process can take it between choosing and binding; a start after
# halt binds the port recorded in DIR/port again.  Readiness is waited on
# (the log line, then an HTTP answer), never slept for; S3_SERVER_WAIT
# seconds (default 60) at most.
#
# DIR/env, for `. DIR/env`:
#   MD_TEST_S3_ENDPOINT  AWS_ENDPOINT_URL  AWS_ACCESS_KEY_ID
#   AWS_SECRET_ACCESS_KEY  AWS_REGION (us-east-1)
#
# Exit 0 on success; 1 with the reason (and the log) on stderr on
# failure; 64 on usage.
set -eu

usage() {
	echo "usage: s3-server.sh start|halt|stop|install DIR" >&2
	exit 64
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
cache=${MD_TEST_CACHE:-/var/tmp/memedroid-test-cache}/s3
cli=$cache/node_modules/@20minutes/s3rver/lib/cli.js
addr=${S3_SERVER_ADDR:-127.0.0.1}

die() {
	echo "s3-server.sh: $*" >&2
	exit 1
}

# Is pid alive?  (A child of this script that died is a zombie until the
# script ends, and kill -0 still finds it.)
alive() {
	kill -0 "$pid" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

# Is the pid in DIR/pid a live s3rver of DIR?  (A pid reused by another
# process is not.)
running() {
	[ -f "$dir/pid" ] || return 1
	pid=$(cat "$dir/pid")
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	alive || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-d $dir/data"
}

install_s3rver() {
	[ -f "$cli" ] && return 0
	command -v npm >/dev/null 2>&1 || die "npm is not installed (scripts/deps.sh installs it as root)"
	mkdir -p "$cache"
	timeout 300 npm install --no-audit --no-fund --silent --prefix "$cache" '@20minutes/s3rver@4' \
		>"$dir/npm.log" 2>&1 || { cat "$dir/npm.log" >&2; die "npm install @20minutes/s3rver failed"; }
	[ -f "$cli" ] || die "@20minutes/s3rver installed without lib/cli.js"
}

# Wait until CMD succeeds, the server dies or S3_SERVER_WAIT seconds pass.
wait_until() {
	n=$(( ${S3_SERVER_WAIT:-60} * 10 ))
	while ! "$@"; do
		alive || { cat "$dir/server.log" >&2; die "s3rver exited"; }
		n=$((n - 1))
		[ "$n" -gt 0 ] || { cat "$dir/server.log" >&2; die "s3rver not ready after ${S3_SERVER_WAIT:-60} s"; }
		sleep 0.1
	done
}

listening() {
	grep -qF "listening on $addr:" "$dir/server.log"
}

answers() {
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$endpoint/") || return 1
	[ "$code" != 000 ]
}

start() {
	mkdir -p "$dir/data"
	dir=$(cd "$dir" && pwd -P)
	if running; then
		cat "$dir/endpoint"
		return 0
	fi
	command -v node >/dev/null 2>&1 || die "node is not installed (scripts/deps.sh installs it as root)"
	install_s3rver
	port=0
	[ -f "$dir/port" ] && port=$(cat "$dir/port")
	: >"$dir/server.log"
	# commander reads argv[2] on; node -e puts our arguments from argv[1]
	node -e 'require(process.argv[1]).parseAsync(["node", "s3rver"].concat(process.argv.slice(2)))' \
		"$cli" -d "$dir/data" -a "$addr" -p "$port" \
		--service-endpoint localhost </dev/null >>"$dir/server.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/pid"
	wait_until listening
	port=$(sed -n "s/.*listening on $addr:\([0-9][0-9]*\).*/\1/p" "$dir/server.log" | head -n 1)
	endpoint=http://$addr:$port
	wait_until answers
	echo "$port" >"$dir/port"
	echo "$endpoint" >"$dir/endpoint"
	cat >"$dir/env" <<-EOF
	MD_TEST_S3_ENDPOINT=$endpoint
	AWS_ENDPOINT_URL=$endpoint
	AWS_ACCESS_KEY_ID=S3RVER
	AWS_SECRET_ACCESS_KEY=S3RVER
	AWS_REGION=us-east-1
	export MD_TEST_S3_ENDPOINT AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
	EOF
	echo "$endpoint"
}

halt() {
	running || return 0
	kill "$pid"
	n=$(( ${S3_SERVER_WAIT:-60} * 10 ))
	while kill -0 "$pid" 2>/dev/null; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || { kill -9 "$pid" 2>/dev/null; break; }
		sleep 0.1
	done
	rm -f "$dir/pid"
}

[ ! -d "$dir" ] || dir=$(cd "$dir" && pwd -P)
case $cmd in
start)
	start
	;;
halt)
	[ -d "$dir" ] || die "'$dir': no such directory"
	halt
	;;
install)
	mkdir -p "$dir"
	install_s3rver
	;;
stop)
	if [ -d "$dir" ]; then
		halt
		rm -rf "$dir"
	fi
	;;
*)
	usage
	;;
esac
