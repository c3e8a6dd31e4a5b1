#!/bin/bash
# 91-hosts.t - SPEC §10 in short: tests/hosts/check.sh --short, memedroid on
# hosts made of network namespaces (a PostgreSQL primary and replica over
# TLS, an S3 server, a client, two worker hosts; the drain and the cut-off
# proofs, md-feed on the replica).  It makes its own cluster and S3 server,
# so it runs in the SQLite pass only; the full form is `make hosts-check`.
. "$(dirname "$0")/lib.sh"
[ -n "${MD_TEST_PGHOST-}" ] && plan skip_all "makes its own PostgreSQL cluster: run in the SQLite pass"
[ "$(id -u)" -eq 0 ] || plan skip_all "needs root (network namespaces)"
unshare --net true 2>/dev/null || plan skip_all "network namespaces are not allowed here (unshare --net failed)"
# the sanitizer build's tools are not what the harness measures
case ${ASAN_OPTIONS-} in ?*) plan skip_all "not under the sanitizers: run in the SQLite pass" ;; esac
exec bash "$(dirname "$0")/hosts/check.sh" --short
