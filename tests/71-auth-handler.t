#!/bin/bash
# 71-auth-handler.t - options end at the first operand: the nginx
# auth_request handler of md-user(1), run exactly as the man page writes it,
# lets in only the right password, whatever the user name; no tool reads an
# operand that begins with '-' as an option.
. "$(dirname "$0")/lib.sh"
md_setup
md_require_tools
md_db_init

# The handler script, cut out of the man page and unescaped from roff.
HANDLER=$MD_TMP/auth.sh
mandoc -T ascii -O width=1000 "$MD_ROOT/man/md-user.1" | col -bx |
	awk '/^ *#!\/bin\/sh/ { on = 1; match($0, /^ */); ind = RLENGTH }
	     on { print substr($0, ind + 1) } on && /^ *printf .Status/ { exit }' >"$HANDLER"
ok "the handler is in md-user(1)" grep -q 'md-user -q check --' "$HANDLER"
chmod +x "$HANDLER"

# handler USER PASSWORD: the Status line it answers
handler() {
	HTTP_AUTHORIZATION="Basic $(printf '%s:%s' "$1" "$2" | base64 -w0)" "$HANDLER" |
		sed -n 's/^Status: \([0-9]*\).*/\1/p'
}

printf 'right horse\n' >"$MD_TMP/pw"
run_in "$MD_TMP/pw" md-user add alice
is "$rc" 0 "md-user add alice" || diag "$err"
run_in "$MD_TMP/pw" md-user add -- -V
is "$rc" 0 "a user may be named '-V' (after --)" || diag "$err"

is "$(handler alice 'right horse')" 204 "the handler lets alice in with her password"
is "$(handler alice 'wrong')" 401 "and not with another"
for name in -V -h --help --version --he --vers --json -q -- -c/etc/passwd; do
	is "$(handler "$name" 'anything')" 401 "user name '$name' with a wrong password: 401"
done
is "$(handler -V 'right horse')" 204 "the user named '-V' gets in with its own password"

# The tool itself: an option-looking name after the command never answers 0.
for name in -V -h --help --version --he --vers; do
	run_in "$MD_TMP/pw" md-user -q check "$name"
	isnt "$rc" 0 "md-user -q check $name (no --) does not exit 0"
done
run_in "$MD_TMP/pw" md-user -q check -- --help
is "$rc" 1 "md-user check -- --help: no such user, exit 1"
run md-user -V
is "$rc" 0 "md-user -V before the command still prints the version"

# Options end at the first operand in every tool.
run md-ingest -- --help
is "$rc" 65 "md-ingest -- --help: a file named --help, not the usage (exit 65)"
like "$err" "path=--help( |$)" "and the error names the file"
printf 'x' >"$MD_TMP/-V"
cd "$MD_TMP" || BAIL_OUT "cannot cd"
run md-ingest -- -V
is "$rc" 65 "md-ingest -- -V reads the file '-V' (refused as media)"
like "$err" "path=-V( |$)" "and names it"
cd "$MD_ROOT" || BAIL_OUT "cannot cd"
run md-ingest "$MD_TMP/pw" --json
like "$err" "path=--json( |$)" "an option after an operand is an operand"
run md-feed --tag x extra
is "$rc" 64 "md-feed with an operand: 64"
run md-job list --state dead extra
is "$rc" 64 "md-job list with an extra operand: 64"
run md-job list -n 1 --json
is "$rc" 0 "md-job list: the verb's options go between it and its operands" || diag "$err"
done_testing
