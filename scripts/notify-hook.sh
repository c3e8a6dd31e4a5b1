#!/bin/sh
# notify-hook.sh - an example hook for md-finalize --exec: reads one post
# as JSON on stdin and logs a line for its owner with logger(1).  Replace
# the last command with mail(1) or a webhook call as needed.
set -eu
post=$(cat)
line=$(printf '%s\n' "$post" | jq -r '"post \(.post_id) of \(.user) is \(.status)" +
	(if .error then ": \(.error)" else "" end)')
logger -t memedroid -- "$line"
