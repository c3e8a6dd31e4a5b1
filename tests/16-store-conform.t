#!/bin/bash
# 16-store-conform.t - the store drivers' conformance suite
# (tests/unit/conform.c): every primitive of the driver table, the same
# scenarios and assertions, on a fresh database of the backend under test
# (SQLite, or PostgreSQL when MD_TEST_PGHOST is set).
. "$(dirname "$0")/lib.sh"
md_setup

bin=$MD_ROOT/tests/unit/conform
if [ ! -x "$bin" ]; then
	fail "the conformance suite is built" "run: make tests/unit/conform"
	done_testing
fi

# its TAP as one subtest: the lines it prints, indented, then one result
run "$bin" "$MD_DB"
printf '%s\n' "$out" | sed 's/^/    /'
warn=$(printf '%s\n' "$err" | grep -v 'level=info')
[ -z "$warn" ] || diag "$warn"
is "$rc" 0 "the $MD_BACKEND driver conforms"
unlike "$out" '(^|'$'\n'')not ok' "no assertion failed"
like "$out" '1\.\.[0-9]+' "the suite ran to its end"
done_testing
