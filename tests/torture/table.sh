#!/bin/bash
# table.sh RECORDS - the table of make torture, from the trials' records
# (key=value fields, one trial a line; see run.sh for the columns).
# Sums, but maxima for cpu_s, log_lines, first_s and cancel_s; "-" where an
# experiment does not measure a column.
awk '
function v(k) { return (k in f) ? f[k] : "" }
function add(c, k) { if (v(k) != "") { s[key, c] += v(k); has[key, c] = 1 } }
function mx(c, k) { if (v(k) != "" && (!((key, c) in s) || v(k) + 0 > s[key, c] + 0)) { s[key, c] = v(k); has[key, c] = 1 } }
{
	delete f
	for (i = 1; i <= NF; i++) { p = index($i, "="); f[substr($i, 1, p - 1)] = substr($i, p + 1) }
	if (v("skip") == 1) next
	key = v("exp") " " v("backend")
	if (!(key in seen)) { seen[key] = 1; order[++nk] = key }
	if (v("error") == 1) { s[key, "errors"]++; has[key, "errors"] = 1; next }
	s[key, "trials"]++; has[key, "trials"] = 1
	add("orphans", "orphans"); add("double", "double"); add("stale", "stale"); add("unreg", "unreg")
	add("lostres", "lostres"); add("losthook", "losthooks"); add("half", "half")
	add("lost", "lostposts"); add("lost", "lostjobs")
	mx("cpu_s", "cpu_s"); mx("lines", "log_lines"); mx("first_s", "first_s"); mx("cancel_s", "cancel_s")
}
END {
	nc = split("trials orphans double stale unreg lostres losthook lost half cpu_s lines first_s cancel_s errors", col, " ")
	printf "%-14s %-8s", "experiment", "backend"
	for (c = 1; c <= nc; c++) printf " %8s", col[c]
	printf "\n"
	for (k = 1; k <= nk; k++) {
		split(order[k], kb, " ")
		printf "%-14s %-8s", kb[1], kb[2]
		for (c = 1; c <= nc; c++) {
			x = has[order[k], col[c]] ? s[order[k], col[c]] : (col[c] == "errors" || col[c] == "trials" ? 0 : "-")
			printf " %8s", x
		}
		printf "\n"
	}
}' "$1"
