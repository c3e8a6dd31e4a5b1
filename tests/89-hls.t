#!/bin/bash
# 89-hls.t - the hls profile: generated samples (1080p, 240p, rotated, odd
# sizes, non-square pixels, no audio, VFR) and every video of
# ../shared/corpus (on SQLite: the media work is the same on either
# backend) become an HLS ladder whose files are checked here on
# their own: the master and the media playlists parsed with awk, every
# segment (with its init) ffprobed, no rung above the source, the same
# segment durations in every rung (keyframes aligned), the audio rendition
# exactly when the source has sound, BANDWIDTH >= AVERAGE-BANDWIDTH and
# both within 10% of what the files say.  Then a real browser plays one:
# headless Chromium with hls.js loads the master from a local HTTP server,
# plays, seeks to the middle; playback must advance and draw a picture.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
md_db_init
IN=$MD_TMP/in
T=$MD_TMP/out
mkdir -p "$IN" "$T"

ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
enc=(-c:v libx264 -preset ultrafast -pix_fmt yuv420p)
snd=(-f lavfi -i "sine=frequency=440:sample_rate=44100")
ff -f lavfi -i testsrc2=size=1920x1080:rate=30:duration=5 "${snd[@]}" -t 5 "${enc[@]}" -c:a aac "$IN/hd.mp4"
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=2 "${snd[@]}" -t 2 "${enc[@]}" -c:a aac "$IN/low.mp4"
ff -f lavfi -i testsrc2=size=640x360:rate=25:duration=3 "${snd[@]}" -t 3 "${enc[@]}" -c:a aac "$T/flat.mp4"
ff -i "$T/flat.mp4" -c copy -metadata:s:v:0 rotate=90 "$IN/rotated.mp4"
ff -f lavfi -i testsrc2=size=333x201:rate=25:duration=2 -c:v libx264 -preset ultrafast "$IN/odd.mkv"
ff -f lavfi -i testsrc2=size=720x576:rate=25:duration=2 -vf setsar=16/11 "${enc[@]}" "$IN/anamorphic.mp4"
ff -f lavfi -i testsrc2=size=640x480:rate=30:duration=3 -c:v libvpx -deadline realtime "$IN/silent.webm"
ff -f lavfi -i testsrc2=size=640x360:rate=30:duration=3 "${snd[@]}" -t 3 \
	-vf "select='lt(n\,10)+not(mod(n\,7))'" -fps_mode vfr "${enc[@]}" -c:a aac "$IN/vfr.mkv"
# on PostgreSQL the small ones only: the 1080p ladder, the browser and the
# corpus are media work, the same on either backend (the SQLite pass)
[ "$MD_BACKEND" = sqlite ] || rm -f "$IN/hd.mp4" "$IN/anamorphic.mp4" "$IN/odd.mkv"
# name: the rungs the ladder must have, "WxH WxH ..."
declare -A want=(
	[hd.mp4]="640x360 1280x720 1920x1080" [low.mp4]="320x240" [rotated.mp4]="360x640"
	[odd.mkv]="332x200" [anamorphic.mp4]="654x360" [silent.webm]="480x360" [vfr.mkv]="640x360"
)

# --- the corpus: every video the manifest names that is here -----------------------------
CORPUS=$MD_ROOT/../shared/corpus
ncorpus=0 nbig=0
# once, on SQLite: the media work is the same on either backend
if [ "$MD_BACKEND" != sqlite ]; then
	note "the corpus runs on SQLite only: generated samples here"
elif [ -f "$CORPUS/MANIFEST.tsv" ]; then
	while IFS=$'\t' read -r path tags; do
		[ -f "$CORPUS/$path" ] || continue
		# known not to be a video a ladder can be made of: one pixel,
		# no duration, a bare elementary stream, a live segment
		case $tags in *tiny-res*|*no-container*|*hls-segment*|*misdetected*) continue ;; esac
		corpus_wanted "$CORPUS" "$path" || { nbig=$((nbig + 1)); continue; }
		cp "$CORPUS/$path" "$IN/corpus-$((ncorpus += 1))-${path##*/}"
	done < <(awk -F'\t' 'NR > 1 && $8 ~ /^\[video;/ { print $3 "\t" $8 }' "$CORPUS/MANIFEST.tsv")
fi
[ "$ncorpus" -gt 0 ] || note "no corpus at ../shared/corpus: generated samples only"
[ "$nbig" = 0 ] || note "$nbig larger or longer videos of the corpus left to make media-check"

run md-ingest --json -e hls -r "$IN"
printf '%s\n' "$out" >"$T/ingest.json"
ok "md-ingest -e hls accepted the samples" test -s "$T/ingest.json"
MD_TEST_TIMEOUT=900 run md-work --drain -q
is "$rc" 0 "md-work --drain ran the hls jobs" || diag "$err"

# --- the checks of one ladder --------------------------------------------------------------
# media playlist $1: "EXTINF URI" lines; the map's URI as "MAP URI"
pl_segments() { awk '/^#EXT-X-MAP:URI="/ { sub(/^#EXT-X-MAP:URI="/, ""); sub(/"$/, ""); print "MAP", $0 }
	/^#EXTINF:/ { sub(/^#EXTINF:/, ""); sub(/,.*/, ""); d = $0; getline; print d, $0 }' "$1"; }
# master $1: "BANDWIDTH AVERAGE RESOLUTION URI" lines
master_variants() { awk '/^#EXT-X-STREAM-INF:/ { l = $0; getline;
	b = l; sub(/.*[:,]BANDWIDTH=/, "", b); sub(/,.*/, "", b)
	a = l; sub(/.*AVERAGE-BANDWIDTH=/, "", a); sub(/,.*/, "", a)
	r = l; sub(/.*RESOLUTION=/, "", r); sub(/,.*/, "", r)
	print b, a, r, $0 }' "$1"; }
# bits per second of media playlist $1 from its files: "PEAK AVERAGE"
pl_rates() {
	local dir=${1%/*} init= d u sz peak=0 bytes=0 total=0
	while read -r d u; do
		if [ "$d" = MAP ]; then init=$(stat -c %s "$dir/$u"); continue; fi
		sz=$(( $(stat -c %s "$dir/$u") + ${init:-0} ))
		init=0
		peak=$(awk -v p="$peak" -v b="$sz" -v d="$d" 'BEGIN { r = b * 8 / d; print (r > p ? r : p) }')
		bytes=$((bytes + sz))
		total=$(awk -v t="$total" -v d="$d" 'BEGIN { print t + d }')
	done < <(pl_segments "$1")
	awk -v p="$peak" -v b="$bytes" -v t="$total" 'BEGIN { printf "%d %d\n", p, b * 8 / t }'
}
within10() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b * 0.9 && a <= b * 1.1) }'; }

# check_ladder NAME DIR SOURCE SHA: the ladder in DIR against the source
# file; its duration is what md-ingest decoded of it (the media row)
check_ladder() {
	local name=$1 dir=$2 src=$3 m=$2/master.m3u8 srcdur sh short audio got= w h
	local bw avg res uri d u first durs= rdurs apeak=0 aavg=0 bad= f seg top= total= meta
	srcdur=$(db_query "SELECT duration FROM media WHERE sha256 = '$4'")
	read -r w h < <(ffprobe -v error -select_streams v:0 -show_entries stream=width,height \
		-of csv=p=0 "$src" | head -n 1 | tr , ' ')
	sh=${w}x$h
	short=$(( w < h ? w : h ))
	audio=$(ffprobe -v error -select_streams a -show_entries stream=index -of csv=p=0 "$src" | head -n 1)
	ok "$name: master.m3u8 published" test -s "$m" || return
	if [ -n "$audio" ]; then
		ok "$name: an audio rendition, as the source has sound" grep -q '^#EXT-X-MEDIA:TYPE=AUDIO.*URI="audio/index.m3u8"' "$m"
		read -r apeak aavg < <(pl_rates "$dir/audio/index.m3u8")
	else
		nok "$name: no audio rendition, as the source has none" test -e "$dir/audio"
	fi
	while read -r bw avg res uri; do
		got="$got $res" top=$res
		rdurs=$(pl_segments "$dir/$uri" | awk '$1 != "MAP" { printf "%s ", $1 }')
		[ -n "$durs" ] || durs=$rdurs
		[ "$rdurs" = "$durs" ] || bad="$bad $uri: segments $rdurs, not $durs;"
		# every segment, with the init before it, is of the promised picture
		first=1
		while read -r d u; do
			[ "$d" = MAP ] && { f=$dir/${uri%/*}/$u; continue; }
			seg=$dir/${uri%/*}/$u
			[ -s "$seg" ] || { bad="$bad $u missing;"; continue; }
			cat "$f" "$seg" >"$T/seg.mp4"
			# one ffprobe: the first packet's flags, then the picture
			{ read -r k; read -r got_p; } < <(ffprobe -v error -select_streams v:0 \
				-show_entries stream=width,height,sample_aspect_ratio,pix_fmt:packet=flags \
				-read_intervals '%+#1' -of csv=p=0 "$T/seg.mp4")
			case $got_p in "${res%x*},${res#*x},1:1,yuv420p"|"${res%x*},${res#*x},N/A,yuv420p") ;;
			*) bad="$bad $u: $got_p, not $res yuv420p 1:1;" ;; esac
			[[ $k == K* ]] || bad="$bad $u does not start on a keyframe;"
			first=0
		done < <(pl_segments "$dir/$uri")
		[ "$first" = 0 ] || bad="$bad $uri: no segment;"
		read -r peak mean < <(pl_rates "$dir/$uri")
		peak=$((peak + apeak)) mean=$((mean + aavg))
		[ "$bw" -ge "$avg" ] || bad="$bad $uri: BANDWIDTH $bw < AVERAGE-BANDWIDTH $avg;"
		within10 "$bw" "$peak" || bad="$bad $uri: BANDWIDTH $bw, the files say $peak;"
		within10 "$avg" "$mean" || bad="$bad $uri: AVERAGE-BANDWIDTH $avg, the files say $mean;"
		h=$(( ${res%x*} < ${res#*x} ? ${res%x*} : ${res#*x} ))
		[ "$h" -le "$short" ] || bad="$bad $uri: $res above the source's $sh;"
		total=$(pl_segments "$dir/$uri" | awk '$1 != "MAP" { t += $1 } END { print t }')
		# 2%, or the 1/60 s of a frame of the grid and a frame of 24 fps
		awk -v t="$total" -v s="$srcdur" 'BEGIN { exit !(t >= s * 0.98 - 0.06 && t <= s * 1.02 + 0.06) }' ||
			bad="$bad $uri: lasts $total s, the source $srcdur s;"
	done < <(master_variants "$m")
	[ -z "${want[$name]}" ] || is "${got# }" "${want[$name]}" "$name: the rungs of the ladder"
	# the result (the rendition's metadata) names the top rung and the length
	meta=$(db_query "SELECT result FROM jobs WHERE media = '$4' AND profile = 'hls'")
	is "$(jq -r '"\(.width)x\(.height)"' <<<"$meta")" "$top" "$name: the metadata's size is the top rung's"
	ok "$name: the metadata's duration is the playlists' ($total s)" \
		awk -v a="$(jq -r .duration <<<"$meta")" -v b="$total" 'BEGIN { exit !(a >= b - 0.002 && a <= b + 0.002) }'
	ok "$name: every rung's segments decode to its size, keyframes aligned, rates right" \
		test -z "$bad" || diag "$bad"
}

while read -r rec; do
	path=$(jq -r .path <<<"$rec")
	name=${path##*/}
	sha=$(jq -r .media <<<"$rec")
	[ "$(jq -r .kind <<<"$rec")" = video ] || continue
	state=$(db_query "SELECT state FROM jobs WHERE media = '$sha' AND profile = 'hls'")
	if ! is "$state" succeeded "$name: the hls job succeeded"; then
		diag "$(db_query "SELECT last_error FROM jobs WHERE media = '$sha' AND profile = 'hls'")"
		continue
	fi
	check_ladder "$name" "$(run_dir "$sha" hls)" "$path" "$sha"
done < <(jq -c 'select(has("post_id"))' "$T/ingest.json")

# --- a real browser plays the 1080p ladder ----------------------------------------------------
play_in_browser() {
	local cache=${MD_TEST_CACHE:-/var/tmp/memedroid-test-cache}/browser www=$MD_TMP/www port res
	if ! have chromium || ! have node || ! have npm; then
		skip "no chromium, node or npm (scripts/deps.sh installs them as root)" 5
		return
	fi
	if [ ! -f "$cache/node_modules/hls.js/dist/hls.min.js" ] ||
	   [ ! -d "$cache/node_modules/playwright-core" ]; then
		mkdir -p "$cache" && timeout 300 npm install --no-audit --no-fund --silent \
			--prefix "$cache" hls.js@1 playwright-core@1 >"$T/npm.log" 2>&1
	fi
	if [ ! -f "$cache/node_modules/hls.js/dist/hls.min.js" ]; then
		skip "hls.js and playwright-core could not be installed with npm: $(tail -n 1 "$T/npm.log")" 5
		return
	fi
	cp -r "$(run_dir "$(sha256 "$IN/hd.mp4")" hls)" "$www"
	cp "$MD_ROOT/tests/browser/play.html" "$cache/node_modules/hls.js/dist/hls.min.js" "$www/"
	PYTHONUNBUFFERED=1 python3 -m http.server --bind 127.0.0.1 -d "$www" 0 >"$T/http.log" 2>&1 &
	http=$!
	wait_for "the HTTP server" grep -q ' port ' "$T/http.log"
	port=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$T/http.log")
	res=$(NODE_PATH=$cache/node_modules timeout 90 node "$MD_ROOT/tests/browser/play.js" \
		"http://127.0.0.1:$port/play.html" 2>"$T/browser.err")
	kill "$http"
	wait "$http" 2>/dev/null
	note "the page: $res"
	is "$(jq -r '.error // "none"' <<<"$res")" none "chromium: hls.js played the master" ||
		diag "$(tail -n 5 "$T/browser.err")"
	is "$(jq -r '.levels | join(" ")' <<<"$res")" "640x360 1280x720 1920x1080" \
		"chromium: hls.js read the three variants of the master"
	is "$(jq -r '.audioTracks' <<<"$res")" 1 "chromium: and the one audio rendition"
	ok "chromium: playback advanced after the seek to the middle" \
		jq -e '.currentTime > .seekedTo and .seekedTo > 2' <<<"$res"
	ok "chromium: a picture was drawn (not all one colour)" jq -e '.colours > 10' <<<"$res"
}
if [ "$MD_BACKEND" = sqlite ]; then
	play_in_browser
else
	skip "the browser plays the ladder in the SQLite pass" 5
fi

done_testing
