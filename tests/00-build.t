#!/bin/bash
# 00-build.t - every tool answers --help and --version, rejects an unknown
# option with 64, its --help synopsis agrees with its man page, the man pages
# are lint-clean, and no banned libc call is in the sources.
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

# No banned call in the C sources (comments and string literals removed
# first, so a comment that names a banned function is fine).
banned='sprintf|strcpy|strcat|gets|atoi|strtok|system|popen'
srcs=$(ls tools/*.c lib/*.c lib/*.h 2>/dev/null)
if [ -z "$srcs" ]; then
	skip "no C sources yet"
else
	hits=$(for f in $srcs; do
		perl -0777 -ne '
			s{/\*.*?\*/}{ my $c = $&; $c =~ s/[^\n]//g; $c }gse;
			s{//[^\n]*}{}g;
			s{"(?:\\.|[^"\\\n])*"}{""}g;
			s{'"'"'(?:\\.|[^'"'"'\\\n])*'"'"'}{0}g;
			my $n = 0;
			for my $l (split /\n/, $_, -1) {
				$n++;
				print "$ARGV:$n: $l\n"
				    if $l =~ /(?<![\w.>])(?:'"$banned"')\s*\(/;
			}' "$f"
	done)
	is "$hits" "" "no banned call ($banned) in tools/*.c lib/*.[ch]"
fi

done_testing
