# bash completion for the memedroid tools:
# md-db, md-ingest, md-enqueue, md-work, md-finalize, md-feed, md-janitor, md-job,
# md-status, md-user, md-post.
#
# Source this file from ~/.bashrc, or install a copy (or a symbolic link)
# of it under the name of each tool in bash-completion's directory, such as
# /usr/share/bash-completion/completions/md-db: bash-completion loads a
# completion by the name of the command, and this file defines all nine.
#
# The options follow the usage line each tool prints with --help and the
# SYNOPSIS of its man page.

_md_profiles='probe mp4 thumb hls frames web noop'

# The queues of the built-in profiles.
_md_queues='default video'

# Options every tool takes.
_md_common_opts='-c --config --db --storage --log-format --log-level
	-q --quiet -v --verbose --json -h --help -V --version'

# The configuration file the tools would read, without -c.
_md_conf_file()
{
	if [[ -n ${MD_CONFIG-} ]]; then
		printf '%s\n' "$MD_CONFIG"
	elif [[ -r ${XDG_CONFIG_HOME:-$HOME/.config}/memedroid/config.yaml ]]; then
		printf '%s\n' "${XDG_CONFIG_HOME:-$HOME/.config}/memedroid/config.yaml"
	else
		printf '%s\n' /etc/memedroid/config.yaml
	fi
}

# Profile names from the configuration file, besides the built-in ones:
# the keys under "profiles:" in the file the tools would read.
_md_conf_profiles()
{
	local conf=$1 line inside=0
	[[ -z $conf ]] && conf=$(_md_conf_file)
	[[ -r $conf ]] || return 0
	while IFS= read -r line; do
		if [[ $line =~ ^profiles:[[:space:]]*(#.*)?$ ]]; then
			inside=1
		elif [[ $line =~ ^[^[:space:]#] ]]; then
			inside=0
		elif ((inside)) && [[ $line =~ ^(\ \ |	)([a-z0-9_-]+):[[:space:]]*(#.*)?$ ]]; then
			printf '%s\n' "${BASH_REMATCH[2]}"
		fi
	done <"$conf" 2>/dev/null
}

# Queue names from the configuration file: the values of its "queue:"
# keys (those of profiles), besides the built-in ones.
_md_conf_queues()
{
	local conf=$1 line re='^[[:space:]]+queue:[[:space:]]*["'"'"']?([A-Za-z0-9_.-]+)'
	[[ -z $conf ]] && conf=$(_md_conf_file)
	[[ -r $conf ]] || return 0
	while IFS= read -r line; do
		[[ $line =~ $re && " $_md_queues " != *" ${BASH_REMATCH[1]} "* ]] &&
			printf '%s\n' "${BASH_REMATCH[1]}"
	done <"$conf" 2>/dev/null
}

# The words before the cursor that are neither options nor option values,
# in the array _md_pos: for md-job and md-user, the command word (md-job:
# list, show, retry, cancel, drop, pause, resume; md-user: add, passwd,
# list, del, check, token)
# and its arguments.  The arguments are the tool's own options that take a
# value.
_md_positionals()
{
	local i w o skip=0
	_md_pos=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if ((skip)); then
			# "--state=dead" comes as "--state" "=" "dead"
			[[ $w == = ]] || skip=0
			continue
		fi
		case $w in
		-c|--config|--db|--storage|--log-format|--log-level)
			skip=1
			;;
		-*)
			for o; do
				[[ $w == "$o" ]] && skip=1
			done
			;;
		*)
			_md_pos+=("$w")
			;;
		esac
	done
}

# Is the word $1 among the words before the cursor?
_md_has_word()
{
	local i
	for ((i = 1; i < COMP_CWORD; i++)); do
		[[ ${COMP_WORDS[i]} == "$1" ]] && return 0
	done
	return 1
}

# Complete a comma-separated list of profile names in $cur.
_md_complete_profiles()
{
	local cur=$1 conf=$2 prefix= last names
	if [[ $cur == *,* ]]; then
		prefix=${cur%,*},
		last=${cur##*,}
	else
		last=$cur
	fi
	names="$_md_profiles $(_md_conf_profiles "$conf")"
	compopt -o nospace 2>/dev/null
	COMPREPLY=($(compgen -P "$prefix" -W "$names" -- "$last"))
}

_md_tool()
{
	local cmd=${1##*/} cur prev words cword postcmd=
	local opts= subcmds= conf= jobcmd= usercmd= i

	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}

	# The configuration file given so far, for profile names.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-c|--config) conf=${COMP_WORDS[i+1]} ;;
		--config=*) conf=${COMP_WORDS[i]#--config=} ;;
		esac
	done
	# Expand a leading ~ for reading only.
	[[ $conf == '~/'* ]] && conf=$HOME/${conf#'~/'}

	case $cmd in
	md-db)
		subcmds='init migrate status check'
		;;
	md-ingest)
		opts='-r --recursive -L --follow-symlinks -0 --null -u --user
			--caption -t --tag -e --enqueue -j --jobs --move --skip-posted -n
			--dry-run --trace-id --'
		;;
	md-enqueue)
		opts='-p --profiles --priority --delay --at --max-attempts --queue
			-f --force'
		;;
	md-work)
		opts='-j -Q --once --drain --max-jobs --grace --poll-only'
		;;
	md-finalize)
		opts='--follow --exec --exec-timeout --limit'
		;;
	md-feed)
		opts='-t --tag -u --user --status -n --limit --before --all --base-url --presign --out --feed-url'
		;;
	md-job)
		subcmds='list show retry cancel drop pause resume'
		_md_positionals -s --state --queue -p --profile --media -n --limit
		jobcmd=${_md_pos[0]-}
		# The filters belong to list; show, retry and cancel take only ids,
		# drop ids and --dry-run, pause and resume queue names.
		case $jobcmd in
		''|list) opts='-s --state --queue -p --profile --media -n --limit' ;;
		drop) opts='--dry-run' ;;
		esac
		;;
	md-status)
		# --check and its levels, the summary's options, or the posts'.
		if _md_has_word --check; then
			opts='--max-wait --max-dead --min-workers'
		else
			opts='--prom --dead --check --max-wait --max-dead --min-workers --base-url'
		fi
		;;
	md-janitor)
		opts='-n --dry-run --verify'
		;;
	md-post)
		subcmds='del'
		_md_positionals --user --tag
		postcmd=${_md_pos[0]-}
		[[ -n $postcmd ]] && opts='-n --dry-run --user --tag'
		;;
	md-user)
		subcmds='add passwd list del check token'
		_md_positionals --email --ttl --reassign-to
		usercmd=${_md_pos[0]-}
		# --email belongs to add and passwd; --ttl to token NAME, and
		# --verify to token alone.
		case $usercmd in
		add|passwd)
			opts='--email'
			;;
		del)
			opts='-n --dry-run --delete-posts --reassign-to'
			;;
		token)
			if _md_has_word --verify; then
				opts=
			elif ((${#_md_pos[@]} > 1)) || _md_has_word --ttl; then
				opts='--ttl'
			else
				opts='--ttl --verify'
			fi
			;;
		'')
			opts='--email --ttl --verify'
			;;
		esac
		;;
	*)
		return 0
		;;
	esac

	# Option values.
	case $prev in
	-c|--config)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	--db)
		if [[ $cur == sqlite:* ]]; then
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -f -P sqlite: -- "${cur#sqlite:}"))
		else
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -W 'sqlite: postgres:// postgresql://' -- "$cur")
				$(compgen -f -- "$cur"))
		fi
		[[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *: ]] &&
			compopt -o nospace 2>/dev/null
		return 0
		;;
	--storage)
		# A directory; an s3://BUCKET/PREFIX URL is typed.
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -d -- "$cur"))
		return 0
		;;
	--log-format)
		COMPREPLY=($(compgen -W 'human text json' -- "$cur"))
		return 0
		;;
	--log-level)
		COMPREPLY=($(compgen -W 'error warn info debug' -- "$cur"))
		return 0
		;;
	esac

	case $cmd:$prev in
	md-ingest:-e|md-ingest:--enqueue|md-enqueue:-p|md-enqueue:--profiles)
		_md_complete_profiles "$cur" "$conf"
		return 0
		;;
	md-ingest:-u|md-ingest:--user|md-feed:-u|md-feed:--user)
		return 0
		;;
	md-ingest:--caption|md-ingest:-t|md-ingest:--tag|md-ingest:--trace-id)
		return 0
		;;
	md-feed:-t|md-feed:--tag|md-feed:-n|md-feed:--limit|md-feed:--before)
		return 0
		;;
	md-feed:--presign)
		# A duration, 1s to 7d: nothing to offer.
		return 0
		;;
	md-feed:--out)
		COMPREPLY=($(compgen -d -- "$cur"))
		return 0
		;;
	md-feed:--base-url|md-feed:--feed-url|md-status:--base-url)
		compopt -o nospace 2>/dev/null
		COMPREPLY=($(compgen -W 'https:// http://' -- "$cur"))
		return 0
		;;
	md-feed:--status)
		COMPREPLY=($(compgen -W 'pending processing completed failed all' -- "$cur"))
		return 0
		;;
	md-enqueue:--priority|md-enqueue:--delay|md-enqueue:--at)
		return 0
		;;
	md-enqueue:--max-attempts|md-enqueue:--queue)
		return 0
		;;
	md-work:-j)
		COMPREPLY=($(compgen -W "auto $(seq 1 "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 4)" 2>/dev/null)" -- "$cur"))
		return 0
		;;
	md-work:-Q|md-work:--max-jobs|md-work:--grace)
		return 0
		;;
	md-finalize:--exec)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -c -- "$cur"))
		return 0
		;;
	md-finalize:--limit|md-finalize:--exec-timeout)
		return 0
		;;
	md-job:-s|md-job:--state)
		COMPREPLY=($(compgen -W 'available running succeeded dead cancelled' -- "$cur"))
		return 0
		;;
	md-job:-p|md-job:--profile)
		COMPREPLY=($(compgen -W "$_md_profiles $(_md_conf_profiles "$conf")" -- "$cur"))
		return 0
		;;
	md-job:--queue)
		COMPREPLY=($(compgen -W "$_md_queues $(_md_conf_queues "$conf")" -- "$cur"))
		return 0
		;;
	md-job:--media|md-job:-n|md-job:--limit)
		return 0
		;;
	md-status:--dead)
		return 0
		;;
	md-status:--max-wait)
		# WARN[,CRIT] durations
		COMPREPLY=($(compgen -W '5m,30m' -- "$cur"))
		return 0
		;;
	md-status:--max-dead)
		COMPREPLY=($(compgen -W '1,10' -- "$cur"))
		return 0
		;;
	md-status:--min-workers)
		COMPREPLY=($(compgen -W '1,1' -- "$cur"))
		return 0
		;;
	md-user:--email|md-user:--ttl|md-user:--reassign-to)
		return 0
		;;
	md-post:--user|md-post:--tag)
		return 0
		;;
	esac

	# After "--", md-ingest takes only paths.
	if [[ $cmd == md-ingest ]]; then
		for ((i = 1; i < COMP_CWORD; i++)); do
			if [[ ${COMP_WORDS[i]} == -- ]]; then
				compopt -o filenames 2>/dev/null
				COMPREPLY=($(compgen -f -- "$cur"))
				return 0
			fi
		done
	fi

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$_md_common_opts $opts" -- "$cur"))
		return 0
	fi

	case $cmd in
	md-db)
		# One command, once.
		for ((i = 1; i < COMP_CWORD; i++)); do
			case ${COMP_WORDS[i]} in
			init|migrate|status|check) return 0 ;;
			esac
		done
		COMPREPLY=($(compgen -W "$subcmds" -- "$cur"))
		;;
	md-ingest)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		;;
	md-enqueue)
		# Post ids or media hashes: nothing to offer but "-".
		COMPREPLY=($(compgen -W '-' -- "$cur"))
		;;
	md-job)
		# The command first; list takes no arguments, pause and resume
		# queue names, the others job ids or "-".
		case $jobcmd in
		'')
			COMPREPLY=($(compgen -W "$subcmds" -- "$cur"))
			;;
		pause|resume)
			COMPREPLY=($(compgen -W "$_md_queues $(_md_conf_queues "$conf")" -- "$cur"))
			;;
		show|retry|cancel|drop)
			COMPREPLY=($(compgen -W '-' -- "$cur"))
			;;
		esac
		;;
	md-status)
		# Post ids or media hashes: nothing to offer but "-".
		_md_has_word --check || _md_has_word --prom ||
			COMPREPLY=($(compgen -W '-' -- "$cur"))
		;;
	md-user)
		# The command first, then a user name, which is not completed.
		[[ -z $usercmd ]] && COMPREPLY=($(compgen -W "$subcmds" -- "$cur"))
		;;
	md-post)
		# The command first, then post ids or "-".
		if [[ -z $postcmd ]]; then
			COMPREPLY=($(compgen -W "$subcmds" -- "$cur"))
		else
			COMPREPLY=($(compgen -W '-' -- "$cur"))
		fi
		;;
	esac
	return 0
}

complete -F _md_tool md-db md-ingest md-enqueue md-work md-finalize md-feed md-job md-status md-user md-janitor md-post
