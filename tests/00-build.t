#!/bin/bash
# 00-build.t - every tool answers --help and --version, rejects an unknown
# option with 64, its --help synopsis agrees with its man page, the man pages
# are lint-clean, the source check passes (and catches a planted case), the
# build notices a change of flags or headers, and the tools are hardened.
. "$(dirname "$0")/lib.sh"
md_setup
cd "$MD_ROOT" || BAIL_OUT "cannot cd to $MD_ROOT"

# The options every tool shares: a synopsis may list them or say
# "[common options]", so they are left out of the comparison.
COMMON_FLAGS=' -c --config --db --storage --log-format --log-level -q --quiet -v --verbose --json -h --help -V --version '

# The tool's own option flags (-x, --long-name) in a piece of text, sorted,
# one a line; grouped short flags (-qv) count one by one.
flags_of() {
	grep -oE '(^|[^[:alnum:]-])--?[[:alnum:]][[:alnum:]-]*' |
		sed -E 's/^[^-]+//' |
		while IFS= read -r f; do
			case $f in
			--*) printf '%s\n' "$f" ;;
			-?) printf '%s\n' "$f" ;;
			*) printf '%s\n' "${f#-}" | fold -w1 | sed 's/^/-/' ;;
			esac
		done |
		while IFS= read -r f; do
			case $COMMON_FLAGS in *" $f "*) ;; *) printf '%s\n' "$f" ;; esac
		done | sort -u
}

# The bare lowercase words (commands such as init, migrate) of a synopsis.
words_of() {
	tr -s ' \t|[]{}.' '\n' | grep -xE '[a-z]+' |
		grep -vxE 'usage|common|options' | sort -u
}

# The usage synopsis from --help output: from the first line starting with
# "usage:" to the first blank line (or the first paragraph if none).
help_synopsis() {
	awk 'BEGIN { on = 0 }
	     tolower($0) ~ /^usage:/ { on = 1 }
	     on && /^[[:space:]]*$/ { exit }
	     on { print }' | sed -E 's/^[Uu]sage:[[:space:]]*//'
}

# The SYNOPSIS section of a rendered man page.
man_synopsis() {
	mandoc -T ascii -O width=1000 "$1" | col -b |
		awk '/^SYNOPSIS/ { on = 1; next } on && /^[A-Z]/ { exit } on { print }'
}

for t in $MD_TOOLS; do
	if [ ! -x "./$t" ]; then
		skip "$t not built" 9
		continue
	fi

	run "./$t" --help
	is "$rc" 0 "$t --help exits 0"
	like "$out" "^[Uu]sage: $t( |$)" "$t --help prints 'usage: $t' on stdout"
	help=$out

	run "./$t" -h
	is "$rc|$out" "0|$help" "$t -h prints the same usage, exit 0"

	run "./$t" --version
	is "$rc|$out|$err" "0|$t 0.1.0|" "$t --version prints '$t 0.1.0'"
	run "./$t" -V
	is "$rc|$out" "0|$t 0.1.0" "$t -V prints '$t 0.1.0'"

	run "./$t" --no-such-option
	is "$rc" 64 "$t --no-such-option exits 64"
	like "$err" "^$t: " "$t names itself in the usage error on stderr"
	is "$out" "" "$t prints nothing on stdout for a usage error"

	# --help synopsis vs man page SYNOPSIS: same set of option flags.
	page=man/$t.1
	if [ ! -f "$page" ]; then
		fail "$t has a man page ($page)"
	elif ! have mandoc; then
		skip "mandoc not installed"
	else
		hsyn=$(printf '%s\n' "$help" | help_synopsis)
		msyn=$(man_synopsis "$page")
		hs=$(printf '%s\n' "$hsyn" | flags_of)
		ms=$(printf '%s\n' "$msyn" | flags_of)
		if [ -z "$msyn" ]; then
			fail "$t: $page has a SYNOPSIS"
		elif [ -z "$hs$ms" ]; then
			# no option of its own (md-db): compare the commands
			is "$(printf '%s\n' "$hsyn" | words_of | tr '\n' ' ')" \
				"$(printf '%s\n' "$msyn" | words_of | tr '\n' ' ')" \
				"$t: --help synopsis and $page SYNOPSIS name the same commands"
		elif [ "$hs" = "$ms" ]; then
			pass "$t: --help synopsis and $page SYNOPSIS list the same options"
		else
			fail "$t: --help synopsis and $page SYNOPSIS list the same options" \
				"  only in --help: $(comm -23 <(printf '%s\n' "$hs") <(printf '%s\n' "$ms") | tr '\n' ' ')" \
				"  only in man:    $(comm -13 <(printf '%s\n' "$hs") <(printf '%s\n' "$ms") | tr '\n' ' ')"
		fi
	fi
done

# Man pages are lint-clean.
if ! have mandoc; then
	skip "mandoc not installed"
elif ! ls man/*.[0-9] >/dev/null 2>&1; then
	fail "man pages exist under man/"
else
	lint=$(mandoc -Tlint -W warning man/*.[0-9] 2>&1)
	is "$lint" "" "mandoc -Tlint -W warning man/* prints nothing"
fi

# Every tool has a man page.
for t in $MD_TOOLS; do
	[ -x "./$t" ] || [ -f "tools/$t.c" ] || continue
	ok "man/$t.1 exists" test -f "man/$t.1"
done

# The source check (scripts/check-source.sh: banned calls, long lines,
# unchecked snprintf) passes on the tree and fails on a planted case.
run sh scripts/check-source.sh
is "$rc|$out" "0|" "scripts/check-source.sh finds nothing in the tree"
planted=$MD_TMP/planted.c
long=$(printf '%0130d' 0)
cat >"$planted" <<EOF
/* sprintf(buf, "in a comment is fine"); */
static void f(char *b, const char *s)
{
	const char *q = "strcpy(b, s) in a string is fine";
	sprintf(b, "%s", s);
	snprintf(b, 8, "%s", s);
	(void)snprintf(b, 8, "%s", s);
	if (snprintf(b, 8, "%s", q) >= 8)
		return;
	int n = atoi(s);
	char *t = strtok(b, ","), *save;
	t = strtok_r(b, ",", &save);
	long x = $long;
}
EOF
run sh scripts/check-source.sh "$planted"
is "$rc" 1 "scripts/check-source.sh fails on a planted file"
is "$(printf '%s\n' "$out" | sed 's|^.*/planted.c:||')" \
"5: banned call sprintf()
6: snprintf result not checked (xsnprintf, or (void) to cut)
10: banned call atoi()
11: banned call strtok()
13: line of 148 columns (at most 120)" "it names each planted finding by line, and only those"

# The build notices a change of flags and of the headers a file includes,
# and only of those; tried on one object in a copy of the tree.
b=$MD_TMP/build
mkdir -p "$b" && cp -R Makefile lib scripts sql "$b"/ && rm -f "$b"/lib/*.[oad] "$b"/.build-flags
run make --no-print-directory -C "$b" lib/strbuf.o
like "$out" "-c -o lib/strbuf.o" "make builds lib/strbuf.o"
run make --no-print-directory -C "$b" lib/strbuf.o
unlike "$out" "-o lib/strbuf.o" "make again: nothing to do"
run make --no-print-directory -C "$b" SANITIZE=1 lib/strbuf.o
like "$out" "fsanitize=address.*-o lib/strbuf.o" "make SANITIZE=1 rebuilds it instrumented"
run make --no-print-directory -C "$b" lib/strbuf.o
like "$out" "-c -o lib/strbuf.o" "plain make rebuilds it again"
run make --no-print-directory -C "$b" CFLAGS=-O1 lib/strbuf.o
like "$out" "-O1 .*-o lib/strbuf.o" "another CFLAGS rebuilds it"
run make --no-print-directory -C "$b" CFLAGS=-O1 lib/strbuf.o
unlike "$out" "-o lib/strbuf.o" "the same CFLAGS again: nothing to do"
touch "$b/lib/jwt.h"
run make --no-print-directory -C "$b" CFLAGS=-O1 lib/strbuf.o
unlike "$out" "-o lib/strbuf.o" "a header it does not include changed: nothing to do"
touch "$b/lib/strbuf.h"
run make --no-print-directory -C "$b" CFLAGS=-O1 lib/strbuf.o
like "$out" "-c -o lib/strbuf.o" "its own header changed: rebuilt"

# The tools are hardened: PIE, full RELRO, stack canaries, and the checked
# libc calls of _FORTIFY_SOURCE when the build has them (not under the
# sanitizers).
if ! have readelf; then
	skip "readelf not installed"
else
	fortify=0
	grep -q -- '-D_FORTIFY_SOURCE=' .build-flags 2>/dev/null && fortify=1
	for t in $MD_TOOLS; do
		[ -x "./$t" ] || continue
		h=$(readelf -hW "./$t"; readelf -dW "./$t"; readelf -lW "./$t")
		syms=$(readelf --dyn-syms -W "./$t")
		v=$(printf '%s\n' "$h" | grep -q 'Type:.*DYN' && echo pie)
		v="$v $(printf '%s\n' "$h" | grep -q 'GNU_RELRO' && echo relro)"
		v="$v $(printf '%s\n' "$h" | grep -qE 'BIND_NOW|FLAGS_1.* NOW' && echo now)"
		v="$v $(printf '%s\n' "$syms" | grep -q '__stack_chk_fail' && echo canary)"
		if [ "$fortify" = 1 ]; then
			v="$v $(printf '%s\n' "$syms" | grep -qE ' __[a-z]+_chk(@|$)' && echo fortify)"
		else
			v="$v fortify"
		fi
		is "$v" "pie relro now canary fortify" "$t is PIE with full RELRO, canaries, fortified calls"
	done
fi

done_testing
