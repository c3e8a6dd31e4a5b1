#!/bin/bash
# 15-config-system.t - the system config file can be switched off, and the
# tests' environment does: MD_CONFIG_SYSTEM points the lookup at a planted
# bad file, which is read only when MD_CONFIG_NOSYSTEM is unset, empty or
# 0; a user file, MD_CONFIG and -c come before it; -v says which file was
# read, or that none was, on every tool.
. "$(dirname "$0")/lib.sh"
md_setup
md_require_tools

sys=$MD_TMP/system.yaml
printf 'worker:\n  jobs: 2\n  no_such_key: 1\n' >"$sys"
good=$MD_TMP/good.yaml
printf 'worker:\n  jobs: 2\n' >"$good"

md_db_init
is "${MD_CONFIG_NOSYSTEM-unset}" 1 "the tests run with MD_CONFIG_NOSYSTEM=1"

run env MD_CONFIG_SYSTEM="$sys" md-feed
is "$rc|$err" "0|" "with MD_CONFIG_NOSYSTEM=1 a bad system file is not read"
run env MD_CONFIG_SYSTEM="$sys" md-feed -v
like "$err" 'msg="no config file"' "... and -v says no config file was read"

run env -u MD_CONFIG_NOSYSTEM MD_CONFIG_SYSTEM="$sys" md-feed
is "$rc" 78 "without MD_CONFIG_NOSYSTEM the planted system file is read (78)"
like "$err" "$sys:3:.*no_such_key" "... and named with its line and key"
for v in 0 ''; do
	run env MD_CONFIG_NOSYSTEM="$v" MD_CONFIG_SYSTEM="$sys" md-feed
	is "$rc" 78 "MD_CONFIG_NOSYSTEM='$v' reads the system file"
done

run env -u MD_CONFIG_NOSYSTEM MD_CONFIG_SYSTEM="$sys" md-feed -c "$good"
is "$rc" 0 "-c comes before the system file"
run env -u MD_CONFIG_NOSYSTEM MD_CONFIG_SYSTEM="$sys" MD_CONFIG="$good" md-feed
is "$rc" 0 "MD_CONFIG comes before the system file"
mkdir -p "$XDG_CONFIG_HOME/memedroid"
cp "$good" "$XDG_CONFIG_HOME/memedroid/config.yaml"
run env -u MD_CONFIG_NOSYSTEM MD_CONFIG_SYSTEM="$sys" md-feed -v
is "$rc" 0 "a user config file comes before the system file"
like "$err" "config=$XDG_CONFIG_HOME/memedroid/config.yaml" "... and -v names it"
rm -f "$XDG_CONFIG_HOME/memedroid/config.yaml"

cp "$good" "$MD_TMP/sysgood.yaml"
run env -u MD_CONFIG_NOSYSTEM MD_CONFIG_SYSTEM="$MD_TMP/sysgood.yaml" md-feed -v
like "$err" "config file read.*config=$MD_TMP/sysgood.yaml" "-v names the system file it read"

# every tool: -v logs the file, before anything else it says
for t in $MD_TOOLS; do
	run "$t" -v -c "$good" no-such-operand
	like "$err" "^[^$'\n']*level=debug tool=$t msg=\"config file read\" config=$good" \
		"$t -v names the config file it read"
	run "$t" -v no-such-operand
	like "$err" "^[^$'\n']*level=debug tool=$t msg=\"no config file\"" \
		"$t -v says when no config file was read"
done

done_testing
