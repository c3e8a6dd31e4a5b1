#!/bin/sh
# check-source.sh [FILE...] - the source rules a compiler does not check.
#
#   banned calls   sprintf vsprintf strcpy strcat atoi atol strtok gets
#                  system popen tmpnam mktemp (strtok_r, snprintf, mkstemp,
#                  fgets are fine)
#   long lines     more than 120 columns, a tab counting to the next
#                  multiple of 8
#   snprintf       whose result is thrown away: test it for truncation,
#                  use xsnprintf() (strbuf.h) where the output always
#                  fits, or write (void)snprintf where cutting is wanted
#
# Comments and string literals are blanked first, so a comment that names
# a banned call is fine.  The files default to the C sources of lib/,
# tools/, tests/unit/ and tests/fuzz/.  Each finding is printed as
# "FILE:LINE: what"; the exit status is 1 when there is any, 0 otherwise.
# Run by `make lint` and by tests/00-build.t (so by `make check`).
set -u
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- lib/*.[ch] tools/*.c tests/unit/*.[ch] tests/fuzz/*.c

# lib/migrations.c is generated from sql/: its lines are SQL
for f do
	shift
	[ "$f" = lib/migrations.c ] || [ ! -f "$f" ] || set -- "$@" "$f"
done
exec perl -e '
	my $max = 120;
	my $banned = qr/sprintf|vsprintf|strcpy|strcat|atoi|atol|strtok|gets|system|popen|tmpnam|mktemp/;
	my $bad = 0;
	for my $file (@ARGV) {
		open(my $fh, "<", $file) or die "check-source: cannot open \x27$file\x27: $!\n";
		local $/;
		my $src = <$fh>;
		close($fh);
		my @raw = split /\n/, $src, -1;
		# blank comments (keeping their newlines) and literals
		$src =~ s{/\*.*?\*/}{ my $c = $&; $c =~ s/[^\n]//g; $c }gse;
		$src =~ s{//[^\n]*}{}g;
		$src =~ s{"(?:\\.|[^"\\\n])*"}{""}g;
		$src =~ s{\x27(?:\\.|[^\x27\\\n])*\x27}{0}g;
		my @code = split /\n/, $src, -1;
		for my $i (0 .. $#code) {
			my $l = $code[$i];
			my $n = $i + 1;
			if ($l =~ /(?<![\w.>])($banned)\s*\(/) {
				print "$file:$n: banned call $1()\n";
				$bad = 1;
			}
			if ($l =~ /^\s*v?snprintf\s*\(/) {
				print "$file:$n: snprintf result not checked (xsnprintf, or (void) to cut)\n";
				$bad = 1;
			}
			my $w = 0;
			for my $ch (split //, $raw[$i] // "") {
				$w = $ch eq "\t" ? ($w + 8) - ($w % 8) : $w + 1;
			}
			if ($w > $max) {
				print "$file:$n: line of $w columns (at most $max)\n";
				$bad = 1;
			}
		}
	}
	exit $bad;
' "$@"
