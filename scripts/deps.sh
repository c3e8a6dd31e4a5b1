#!/bin/sh
# deps.sh - install the Debian packages memedroid needs to build and test.
#
# Checks first (dpkg-query, command -v), so a second run is instant and
# silent.  Only when something is missing: one `apt-get update`, then
# `apt-get install` of the missing packages.  Needs root for that; without
# root it names what is missing and exits 1.
set -eu

PKGS="build-essential pkg-config libsqlite3-dev libpq-dev libssl-dev
libyaml-dev libcrypt-dev libjansson-dev libzip-dev libcurl4-openssl-dev libxml2-dev curl openssl ffmpeg sqlite3 jq parallel mandoc postgresql postgresql-client
clang libclang-rt-dev libxml2-utils python3 inotify-tools
iproute2 util-linux ssl-cert openssh-server"
# Only for the browser test of the HLS output (tests/89-hls.t), which says
# so and skips without them: installed when missing, a failure is a warning.
# node and npm are judged by their commands, as they may come from elsewhere
# than Debian (a newer Node.js ships npm itself and conflicts with Debian's).
OPT_PKGS="chromium"
# Only for tests/97-feed-html.t, which checks md-feed's Atom against the RELAX
# NG schema of RFC 4287 with it and says it skips that without it.
OPT_PKGS="$OPT_PKGS jing"
# systemd: only its commands, for tests/98-systemd.t (systemd-analyze verify
# and security --offline, sysusers and tmpfiles in a scratch root); nothing
# is booted.
OPT_PKGS="$OPT_PKGS systemd"
OPT_CMDS="node:nodejs npm:npm"
# openssh-server is for tests/hosts/check.sh, which runs an sshd of its own in
# each worker host's network namespace; the package's ssh.service must not
# listen on the machine: its postinst starts it only under systemd as init,
# and then it is stopped and disabled at once (below).

installed() {
	# dpkg-query prints the status of an installed package as
	# "install ok installed"; anything else (or an error) means missing.
	st=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
	[ "$st" = "install ok installed" ]
}

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps.sh: dpkg-query not found: this script needs Debian or a derivative" >&2
	exit 1
fi

missing=
for p in $PKGS; do
	installed "$p" || missing="$missing $p"
done
# The commands the build and the tests run, in case a package is installed
# but a command is not on PATH (e.g. a broken install).
for c in cc make pkg-config ffmpeg ffprobe sqlite3 jq parallel mandoc psql openssl; do
	command -v "$c" >/dev/null 2>&1 && continue
	case $c in
	cc|make) p=build-essential ;;
	ffprobe) p=ffmpeg ;;
	psql) p=postgresql-client ;;
	*) p=$c ;;
	esac
	case " $missing " in *" $p "*) ;; *) missing="$missing $p" ;; esac
done

optional=
for p in $OPT_PKGS; do
	installed "$p" || optional="$optional $p"
done
for cp in $OPT_CMDS; do
	command -v "${cp%%:*}" >/dev/null 2>&1 || optional="$optional ${cp#*:}"
done

[ -z "$missing" ] && [ -z "$optional" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	[ -z "$missing" ] && exit 0     # the optional ones: the test says what it skips
	echo "deps.sh: missing packages:$missing" >&2
	echo "deps.sh: not root: run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update -qq
if [ -n "$missing" ]; then
	echo "deps.sh: installing:$missing" >&2
	# shellcheck disable=SC2086
	apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends $missing >&2
	# an sshd that the install started on the machine (systemd as init):
	# stopped and disabled, the tests start their own
	case " $missing " in *" openssh-server "*)
		if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
			systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || :
		fi ;;
	esac
fi
if [ -n "$optional" ]; then
	echo "deps.sh: installing, for the browser, Atom and systemd tests only:$optional" >&2
	# shellcheck disable=SC2086
	apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends $optional >&2 ||
		echo "deps.sh: warning: could not install$optional; the tests that need it will be skipped" >&2
fi
