#!/bin/bash
# 74-confine.t - every job command is confined: it gets a minimal
# environment (no database or cloud credentials), reads only its input and
# its work directory where the kernel has Landlock, and may read no input
# but '-i {input}' (profiles that say otherwise are refused at load, 78);
# decompression bombs (on SQLite: an 8192x8192 H.264 clip, an 8192x8192 animated GIF,
# a Matroska file whose header says 64x64 and whose frames grow to
# 12000x12000) stay within a small memory bound, and the last one is
# refused as bad input instead of being transcoded.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
export MD_TEST_TIMEOUT=100

T=$MD_TMP/t
mkdir -p "$T"
md_db_init

# peak resident set (KiB) of the largest process CMD... started and waited
# for, read by the kernel's accounting rather than by md-work itself
peak_rss() {
	python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}
job_field() { db_query "SELECT $2 FROM jobs WHERE id = $1"; }

# --- a small still image to run the test profiles on --------------------------
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=64x48 -frames:v 1 \
	"$T/still.png" || BAIL_OUT "ffmpeg failed"
run md-ingest "$T/still.png"
is "$rc" 0 "md-ingest still.png" || diag "$err"
img=$(cut -f2 <<<"$out")

# --- 1. the environment of a job command ----------------------------------------
cat >"$T/printenv.sh" <<'EOF'
#!/bin/sh
env >"$1"
EOF
chmod 755 "$T/printenv.sh"
echo "the secret of the test" >"$T/secret.txt"
cat >"$T/confine.yaml" <<EOF
profiles:
  envdump:
    kinds: [image, video, animated]
    max_attempts: 1
    output: env.txt
    steps:
      - ["$T/printenv.sh", "{output}"]
  steal:
    kinds: [image, video, animated]
    max_attempts: 1
    output: copy.png
    steps:
      - [sh, -c, 'cat "\$0" >/dev/null && cat "\$1" >"\$2"', "$T/secret.txt", "{input}", "{output}"]
  copy:
    kinds: [image, video, animated]
    max_attempts: 1
    output: copy.png
    steps:
      - [sh, -c, 'cat "\$0" >"\$1"', "{input}", "{output}"]
  link:
    kinds: [image, video, animated]
    max_attempts: 1
    output: link.png
    steps:
      - [ln, -s, "$T/secret.txt", "{output}"]
EOF
chmod 600 "$T/confine.yaml"
run md-enqueue -c "$T/confine.yaml" -p envdump "$img"
is "$rc" 0 "md-enqueue -p envdump" || diag "$err"
job=$(cut -f1 <<<"$out")
PGPASSWORD=pg-secret-74 AWS_SECRET_ACCESS_KEY=aws-secret-74 AWS_ACCESS_KEY_ID=AKIA74 \
	MD_SECRET_74=md-secret run md-work -c "$T/confine.yaml" --drain -j 1
is "$rc" 0 "md-work ran the envdump job" || diag "$err"
is "$(job_field "$job" state)" succeeded "the envdump job succeeded" ||
	diag "$(job_field "$job" last_error)"
envf=$(run_dir "$img" envdump)/env.txt
ok "the step wrote its environment" test -s "$envf"
envs=$(cat "$envf" 2>/dev/null)
for v in PGPASSWORD AWS_SECRET_ACCESS_KEY AWS_ACCESS_KEY_ID MD_DB MD_HOME MD_SECRET_74 \
	XDG_CONFIG_HOME MD_USER; do
	is "$(grep -c "^$v=" "$envf")" 0 "$v does not reach the job command"
done
is "$(grep -cE 'pg-secret-74|aws-secret-74|md-secret' "$envf")" 0 "no secret value reaches it"
is "$(grep -c '^PATH=' "$envf")" 1 "PATH does"
is "$(grep -c '^LC_ALL=C$' "$envf")" 1 "LC_ALL=C"
home=$(sed -n 's/^HOME=//p' <<<"$envs")
like "$home" "^$STORE/work/" "HOME is the job's work directory"
is "$(sed -n 's/^TMPDIR=//p' <<<"$envs")" "$home" "TMPDIR is the job's work directory"

# --- 2. the file system of a job command -----------------------------------------
abi=$(python3 -c 'import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
print(max(libc.syscall(444, None, 0, 1), 0))')
run md-enqueue -c "$T/confine.yaml" -p copy "$img"
copy=$(cut -f1 <<<"$out")
run md-enqueue -c "$T/confine.yaml" -p steal "$img"
steal=$(cut -f1 <<<"$out")
run md-work -c "$T/confine.yaml" --drain -j 1
is "$(job_field "$copy" state)" succeeded "a job command reads its input" ||
	diag "$(job_field "$copy" last_error)"
ok "it copied its input whole" cmp "$T/still.png" "$(run_dir "$img" copy)/copy.png"
if [ "$abi" -gt 0 ]; then
	note "Landlock ABI $abi"
	is "$(job_field "$steal" state)" dead "Landlock: a job command cannot read a file outside its input and work directory"
	like "$(job_field "$steal" last_error)" "Permission denied" "the job's error says why"
	is "$(count_files "$STORE/renditions/$(shard "$img")/steal")" 0 "nothing of it was published"
	# a link left for whoever reads the output after the step
	run md-enqueue -c "$T/confine.yaml" -p link "$img"
	link=$(cut -f1 <<<"$out")
	run md-work -c "$T/confine.yaml" --drain -j 1
	is "$(job_field "$link" state)" dead "Landlock: a job command cannot make a symbolic link"
	like "$(job_field "$link" last_error)" "Permission denied" "the job's error says why"
	is "$(find "$STORE" -type l | wc -l)" 0 "no link anywhere in the storage"
	# the switch: the same step with the sandbox off reads the file
	sed 's/^profiles:/worker:\n  sandbox: false\nprofiles:/' "$T/confine.yaml" >"$T/open.yaml"
	chmod 600 "$T/open.yaml"
	run md-enqueue -c "$T/open.yaml" -f -p steal "$img"
	steal2=$(cut -f1 <<<"$out")
	run md-work -c "$T/open.yaml" --drain -j 1
	is "$(job_field "$steal2" state)" succeeded "worker.sandbox: false lets it read the file" ||
		diag "$(job_field "$steal2" last_error)"
else
	skip "this kernel has no Landlock (ABI 0): the file system is not confined" 7
fi

# --- 3. the input rule of ffmpeg and ffprobe steps ---------------------------------
badcfg() {  # badcfg NAME STEP: a config whose profile NAME has that one step
	printf 'profiles:\n  %s:\n    output: out.mp4\n    steps:\n      - %s\n' "$1" "$2" \
		>"$T/bad-$1.yaml"
	chmod 600 "$T/bad-$1.yaml"
}
badcfg fileproto '[ffmpeg, -i, "file:{input}", -y, "{output}"]'
badcfg twoinputs '[ffmpeg, -i, "{input}", -i, "{input}", -y, "{output}"]'
badcfg passwd '[ffmpeg, -i, /etc/passwd, -i, "{input}", -y, "{output}"]'
badcfg movie '[ffmpeg, -i, "{input}", -vf, "movie={input}", -y, "{output}"]'
badcfg probeproto '[ffprobe, -of, json, -o, "{output}", "file:{input}"]'
badcfg noinput '[/usr/bin/ffmpeg, -f, lavfi, -y, "{output}"]'
for p in fileproto twoinputs passwd movie probeproto noinput; do
	run md-work -c "$T/bad-$p.yaml" --drain
	is "$rc" 78 "a profile step with input '$p' is refused at load (78)"
	like "$err" "bad-$p\\.yaml:5: profile '$p'" "the error names file:line and profile ($p)"
done
printf 'profiles:\n  good:\n    output: out.mp4\n    steps:\n      - [ffmpeg, -ss, "1", -i, "{input}", -y, "{output}"]\n      - [ffprobe, -i, "{input}"]\n' >"$T/good.yaml"
chmod 600 "$T/good.yaml"
run md-work -c "$T/good.yaml" --drain
is "$rc" 0 "'-i {input}' (with input options before it) loads" || diag "$err"

# --- 4. decompression bombs ---------------------------------------------------------
# (on SQLite: the decoders and their limits are the same whatever the
# database, and the pictures are dear to make and decode)
if [ "$MD_BACKEND" = sqlite ]; then
	B=$MD_TMP/bombs
	mkdir -p "$B"
	# an 8192x8192 H.264 clip: one frame, 200 KB
	ffmpeg -nostdin -loglevel error -f lavfi -i color=black:s=8192x8192:r=25 -frames:v 1 \
		-c:v libx264 -preset ultrafast -threads 1 -f mp4 "$B/big.mp4" || BAIL_OUT "ffmpeg failed"
	# an 8192x8192 animated GIF of 1x1-pixel frames: each decodes to the whole
	# canvas; 6 of them held at once are 1.5 GiB
	python3 - "$B/big.gif" 8192 6 <<'EOF'
import struct, sys
w = h = int(sys.argv[2])
g = bytearray(b'GIF89a' + struct.pack('<HHBBB', w, h, 0x80, 0, 0) + b'\0\0\0\xff\xff\xff')
g += b'\x21\xff\x0bNETSCAPE2.0\x03\x01\0\0\0'
for i in range(int(sys.argv[3])):
    g += b'\x21\xf9\x04\0\x0a\0\0\0'
    g += b'\x2c' + struct.pack('<HHHHB', i % 2, 0, 1, 1, 0) + b'\x02\x02\x44\x01\0'
open(sys.argv[1], 'wb').write(g + b'\x3b')
EOF
	# a Matroska file whose header (and first 50 frames) say 64x64, then one
	# 12000x12000 frame: the second SPS of a raw H.264 stream
	ffmpeg -nostdin -loglevel error -f lavfi -i color=black:s=64x64:r=25:d=2 -c:v libx264 \
		-preset ultrafast -f h264 "$B/a.h264" &&
	ffmpeg -nostdin -loglevel error -f lavfi -i color=black:s=12000x12000:r=25 -frames:v 1 \
		-c:v libx264 -preset ultrafast -threads 1 -f h264 "$B/b.h264" &&
	cat "$B/a.h264" "$B/b.h264" >"$B/c.h264" &&
	ffmpeg -nostdin -loglevel error -probesize 32 -f h264 -r 25 -i "$B/c.h264" -c copy \
		"$B/grows.mkv" || BAIL_OUT "ffmpeg failed"
	rm -f "$B"/*.h264

	run md-ingest --json "$B/big.mp4" "$B/big.gif" "$B/grows.mkv"
	is "$rc" 0 "md-ingest takes the three bombs (each within the probe's limits)" || diag "$err"
	printf '%s\n' "$out" >"$T/bombs.json"
	media() { jq -r --arg p "$1" 'select(.path | endswith($p)) | .media' "$T/bombs.json"; }
	mp4=$(media /big.mp4) gif=$(media /big.gif) mkv=$(media /grows.mkv)
	is "$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 "$B/grows.mkv")" \
		"64,64" "grows.mkv probes as 64x64"
	run md-enqueue -p thumb,mp4 "$mp4" "$mkv"
	run md-enqueue -p thumb "$gif"
	is "$(db_count jobs "state = 'available'")" 5 "five bomb jobs queued"

	rss=$(peak_rss md-work --drain -j 1)
	note "largest job command: $((rss / 1024)) MiB resident"
	ok "every bomb job stayed under 1 GiB resident (${rss} KiB)" test "$rss" -lt 1048576
	for m in "$mp4" "$gif"; do
		for p in thumb mp4; do
			[ "$m" = "$gif" ] && [ $p = mp4 ] && continue
			id=$(db_query "SELECT id FROM jobs WHERE media = '$m' AND profile = '$p'")
			is "$(job_field "$id" state)" succeeded "$p of the $([ "$m" = "$gif" ] && echo GIF || echo H.264) bomb succeeded" ||
				diag "$(job_field "$id" last_error)"
			kb=$(job_field "$id" result | jq -r '.max_rss_kb // empty')
			ok "its result records its peak memory under 1 GiB ($kb KiB)" test -n "$kb" -a "${kb:-0}" -lt 1048576
		done
	done
	ok "the thumbnail of the 8192x8192 GIF is 320 px wide" test \
		"$(ffprobe -v error -show_entries stream=width -of csv=p=0 "$(run_dir "$gif" thumb)/thumb.jpg")" = 320
	for p in thumb mp4; do
		id=$(db_query "SELECT id FROM jobs WHERE media = '$mkv' AND profile = '$p'")
		is "$(job_field "$id" state)" dead "$p of the 64x64 -> 12000x12000 Matroska is dead, not transcoded"
		like "$(job_field "$id" last_error)" "larger than 8192x8192" "its error says the frame is too large ($p)"
		is "$(job_field "$id" attempts)" 1 "permanent at the first attempt ($p)"
		is "$(count_files "$STORE/renditions/$(shard "$mkv")/$p")" 0 "nothing of it was published ($p)"
	done
	run md-finalize
	is "$(db_query "SELECT status FROM posts WHERE media = '$mkv'")" failed "its post failed"
else
	skip "the decompression bombs run in the SQLite pass" 20
fi

# --- 5. the ffprobe run at ingest is confined as well --------------------------------
# a shim first on PATH, run as md-ingest's ffprobe: it says what it could
# see by its exit status before it runs the real one
SHIM=$T/shim
mkdir -p "$SHIM"
printf 'probe-secret' >"$T/probe-secret"
cat >"$SHIM/ffprobe" <<SH
#!/bin/sh
[ -n "\${PGPASSWORD-}\${MD_DB-}" ] && exit 3
cat "$T/probe-secret" >/dev/null 2>&1 && exit 4
exec $(command -v ffprobe) "\$@"
SH
chmod +x "$SHIM/ffprobe"
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=40x30 -frames:v 1 "$T/probe.png"
PGPASSWORD=pg-secret-74 PATH="$SHIM:$PATH" run md-ingest "$T/probe.png"
if [ "$abi" -gt 0 ]; then
	is "$rc" 0 "md-ingest's ffprobe sees no credential and cannot read a file beside its input" ||
		diag "$err"
else
	skip "this kernel has no Landlock (ABI 0)" 1
fi
printf 'worker:\n  sandbox: false\n' >"$T/nosandbox.yaml"
# (a media already stored is probed again all the same)
PGPASSWORD=pg-secret-74 PATH="$SHIM:$PATH" run md-ingest -c "$T/nosandbox.yaml" "$T/probe.png"
if [ "$abi" -gt 0 ]; then
	isnt "$rc" 0 "with worker.sandbox: false the same ffprobe reads the file (the shim's check works)"
else
	skip "this kernel has no Landlock (ABI 0)" 1
fi

done_testing
