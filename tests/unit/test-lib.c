/*
 * test-lib - unit tests of lib/, TAP output.  Run by tests/run.sh, also
 * under AddressSanitizer and UndefinedBehaviorSanitizer (make SANITIZE=1).
 */
#include "conf.h"
#include "emit.h"
#include "exits.h"
#include "hash.h"
#include "jwt.h"
#include "log.h"
#include "probe.h"
#include "quote.h"
#include "ref.h"
#include "spawn.h"
#include "storage.h"
#include "store.h"
#include "strbuf.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

static int ntests, failed;  /* not "n": a test file may name a local so */
static char tmpdir[] = "/tmp/md-unit.XXXXXX";

static void ok(int cond, const char *name)
{
	ntests++;
	if (!cond)
		failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", ntests, name);
}

static void is_str(const char *got, const char *want, const char *name)
{
	int c = got && want && !strcmp(got, want);
	ok(c, name);
	if (!c)
		printf("#   got: '%s'\n#   want: '%s'\n", got ? got : "(null)", want ? want : "(null)");
}

static void test_strbuf(void)
{
	struct strbuf sb = STRBUF_INIT;

	is_str(sb.buf, "", "empty strbuf is \"\"");
	for (int i = 0; i < 1000; i++)
		sb_addf(&sb, "%d,", i);
	ok(sb.len == strlen(sb.buf), "strbuf length matches contents after growth");
	ok(!strncmp(sb.buf, "0,1,2,", 6) && !strcmp(sb.buf + sb.len - 4, "999,"),
	   "strbuf keeps every appended piece");
	sb_reset(&sb);
	sb_adds(&sb, "x  \n");
	sb_rtrim(&sb);
	is_str(sb.buf, "x", "sb_rtrim drops trailing whitespace");
	char *d = sb_detach(&sb, NULL);
	is_str(d, "x", "sb_detach hands over the string");
	is_str(sb.buf, "", "detached strbuf is empty again");
	free(d);
	sb_release(&sb);
}

static void test_parsers(void)
{
	double d;
	uint64_t b;
	long long v;

	ok(!parse_duration("30s", &d) && d == 30, "30s is 30 seconds");
	ok(!parse_duration("500ms", &d) && d == 0.5, "500ms is half a second");
	ok(!parse_duration("5m", &d) && d == 300, "5m is 300 seconds");
	ok(!parse_duration("7d", &d) && d == 604800, "7d is a week");
	ok(!parse_duration("0s", &d) && d == 0, "0s is zero");
	ok(parse_duration("-1s", &d) == -1, "negative durations are refused");
	ok(parse_duration("5 minutes", &d) == -1, "unknown unit is refused");
	ok(parse_duration("", &d) == -1, "empty duration is refused");
	ok(!parse_size("512MiB", &b) && b == 512ull << 20, "512MiB");
	ok(!parse_size("10MB", &b) && b == 10000000, "10MB");
	ok(!parse_size("4096", &b) && b == 4096, "bare bytes");
	ok(parse_size("12XB", &b) == -1, "unknown size unit refused");
	ok(!parse_int("42", 0, 100, &v) && v == 42, "parse_int in range");
	ok(parse_int("101", 0, 100, &v) == -1, "parse_int above range");
	ok(parse_int("4x", 0, 100, &v) == -1, "parse_int trailing junk");
	ok(parse_int("", 0, 100, &v) == -1, "parse_int empty");
}

/* Boundaries of the value parsers: nothing outside a range gets through. */
static void test_parser_ranges(void)
{
	double d;
	uint64_t b;
	long long v;

	ok(!parse_duration("36525d", &d) && d == DURATION_MAX, "36525d (100 years) is the longest duration");
	ok(parse_duration("36525.1d", &d) == -1, "a duration past 100 years is refused");
	ok(parse_duration("3155760001", &d) == -1, "one second past 100 years is refused");
	ok(parse_duration("1e308d", &d) == -1 && parse_duration("1e309s", &d) == -1,
	   "exponents are refused (1e308d, 1e309s)");
	ok(parse_duration("99999999999999999999d", &d) == -1, "a 20-digit number of days is refused");
	ok(parse_duration("nan", &d) == -1 && parse_duration("inf", &d) == -1 &&
	   parse_duration("infinity", &d) == -1, "nan and inf are refused");
	ok(parse_duration("0x10s", &d) == -1 && parse_duration(" 5s", &d) == -1 &&
	   parse_duration("+5s", &d) == -1 && parse_duration("5s ", &d) == -1,
	   "hex, spaces and signs are refused");
	ok(parse_duration(".5s", &d) == -1 && parse_duration("5.s", &d) == -1,
	   "a decimal point needs digits on both sides");
	ok(!parse_duration("1.5h", &d) && d == 5400, "1.5h is 5400 seconds");
	ok(!parse_duration("45", &d) && d == 45, "a bare number is seconds");
	d = 7;
	ok(parse_duration("1e5", &d) == -1 && d == 7, "a refused value leaves the output alone");
	ok(!parse_size("18446744073709551615", &b) && b == UINT64_MAX, "UINT64_MAX bytes exactly");
	ok(parse_size("18446744073709551616", &b) == -1, "2^64 bytes is refused");
	ok(!parse_size("16777215TiB", &b) && b == 16777215ull << 40, "16777215TiB fits");
	ok(parse_size("16777216TiB", &b) == -1, "16777216TiB (2^64) is refused");
	ok(parse_size("16777216.0TiB", &b) == -1, "2^64 with a fraction is refused too");
	ok(!parse_size("1.5KiB", &b) && b == 1536, "1.5KiB is 1536 bytes");
	ok(parse_size("1e3", &b) == -1 && parse_size("-1", &b) == -1 && parse_size("nan", &b) == -1,
	   "sizes refuse exponents, signs and nan");
	ok(!parse_int("-5", -10, 10, &v) && v == -5, "parse_int takes a minus sign");
	ok(parse_int(" 5", 0, 10, &v) == -1 && parse_int("+5", 0, 10, &v) == -1,
	   "parse_int refuses spaces and a plus sign");
	ok(parse_int("9223372036854775808", 0, LLONG_MAX, &v) == -1, "parse_int refuses overflow");
	ok(!parse_int("9223372036854775807", 0, LLONG_MAX, &v) && v == LLONG_MAX,
	   "parse_int takes LLONG_MAX");
}

static void test_parse_time(void)
{
	double t;

	ok(!parse_time("1970-01-01T00:00:00Z", &t) && t == 0, "the epoch");
	ok(!parse_time("2026-11-25T10:00:00Z", &t) && t == 1795600800, "a time in 2026");
	ok(!parse_time("2026-11-25 10:00:00", &t) && t == 1795600800, "a space instead of T, no Z");
	ok(!parse_time("2026-11-25T10:00:00+00:00", &t) && t == 1795600800, "+00:00");
	ok(!parse_time("2024-02-29T12:00:00.25Z", &t) && t == 1709208000.25,
	   "a leap day and a fraction");
	ok(!parse_time("9999-12-31T23:59:59Z", &t) && t == (double)TIME_MAX, "the last second of 9999");
	ok(parse_time("2023-02-29T00:00:00Z", &t) == -1, "no 29 February in 2023");
	ok(parse_time("2100-02-29T00:00:00Z", &t) == -1, "no 29 February in 2100");
	ok(parse_time("1969-12-31T23:59:59Z", &t) == -1, "1969 is refused");
	ok(parse_time("10000-01-01T00:00:00Z", &t) == -1, "a fifth year digit is refused");
	ok(parse_time("2026-11-25T10:00:00.5e300Z", &t) == -1, "a fraction with an exponent is refused");
	ok(parse_time("2026-11-25T10:00:00.1234567890Z", &t) == -1, "ten fraction digits are refused");
	ok(parse_time("2026-13-01T00:00:00Z", &t) == -1 && parse_time("2026-04-31T00:00:00Z", &t) == -1
	   && parse_time("2026-01-01T24:00:00Z", &t) == -1 && parse_time("2026-01-01T00:60:00Z", &t) == -1
	   && parse_time("2026-01-01T00:00:60Z", &t) == -1, "fields out of range are refused");
	ok(parse_time("2026-01-01T00:00:00+01:00", &t) == -1, "offsets other than UTC are refused");
	ok(parse_time("2026-01-01", &t) == -1 && parse_time("", &t) == -1 && parse_time("@", &t) == -1,
	   "a date alone, nothing and a bare @ are refused");
	ok(!parse_time("@1795600800", &t) && t == 1795600800, "@EPOCH");
	ok(!parse_time("@253402300799", &t) && parse_time("@253402300800", &t) == -1,
	   "@EPOCH up to the end of 9999");
	ok(parse_time("@1e300", &t) == -1 && parse_time("@-1", &t) == -1 && parse_time("@1.5", &t) == -1,
	   "@1e300, @-1 and @1.5 are refused");
}

/*
 * conf_load_buffer on buf as "d.yaml"; returns the message it logged
 * (malloc'd), or NULL when it loaded.
 */
static char *conf_error(struct conf *c, const char *buf, size_t len)
{
	char path[4096];
	FILE *f;
	int saved = dup(2), fd, rc;
	struct strbuf sb = STRBUF_INIT;
	char chunk[512];
	size_t got;

	xsnprintf(path, sizeof(path), "%s/stderr", tmpdir);
	fflush(stderr);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	rc = conf_load_buffer(c, "d.yaml", buf, len);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if (!rc)
		return NULL;
	if ((f = fopen(path, "r"))) {
		while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			sb_add(&sb, chunk, got);
		fclose(f);
	}
	return sb_detach(&sb, NULL);
}

static void test_conf_limits(void)
{
	struct conf c;
	struct strbuf sb = STRBUF_INIT;

	for (int style = 0; style < 3; style++) {
		sb_reset(&sb);
		sb_adds(&sb, style == 2 ? "worker:\n  " : "worker: ");
		for (int i = 0; i < 100000; i++)
			sb_adds(&sb, style == 0 ? "[" : style == 1 ? "{a: " : "- ");
		conf_init(&c);
		ok(conf_load_buffer(&c, "deep.yaml", sb.buf, sb.len) == MD_EXIT_CONFIG,
		   style == 0 ? "100000 nested [ are refused" : style == 1 ?
		   "100000 nested {a: are refused" : "100000 nested - are refused");
		conf_release(&c);
	}
	/* the maps of the root, profiles and p are 3 levels: 61 lists make 64 */
	for (int extra = 61; extra <= 62; extra++) {
		char *msg;
		sb_reset(&sb);
		sb_adds(&sb, "profiles:\n  p:\n    steps: ");
		for (int i = 0; i < extra; i++)
			sb_adds(&sb, "[");
		for (int i = 0; i < extra; i++)
			sb_adds(&sb, "]");
		conf_init(&c);
		msg = conf_error(&c, sb.buf, sb.len);
		if (extra == 61)
			ok(msg && !strstr(msg, "nested") && strstr(msg, "expected strings in"),
			   "64 levels are read (and refused for their meaning)");
		else
			ok(msg && strstr(msg, "d.yaml:3: nested deeper than 64 levels"),
			   "65 levels are refused, with the file and the line");
		free(msg);
		conf_release(&c);
	}
	conf_init(&c);
	const char *good = "worker:\n  lease: 36525d\n  poll_interval: 1d\n";
	ok(conf_load_buffer(&c, "ok.yaml", good, strlen(good)) == 0 &&
	   c.lease == DURATION_MAX && c.poll_interval == 86400, "the longest durations load");
	conf_release(&c);
	static const char *const badv[] = {
		"worker:\n  lease: 1e308d\n", "worker:\n  lease: 1e309s\n", "worker:\n  lease: nan\n",
		"worker:\n  lease: inf\n", "worker:\n  lease: -1s\n",
		"worker:\n  lease: 99999999999999999999d\n", "worker:\n  poll_interval: 2d\n",
		"limits:\n  bytes: 18446744073709551616\n", "auth:\n  token_ttl: 1e308d\n",
		"worker:\n  jobs: \" 3\"\n",
	};
	for (size_t i = 0; i < sizeof(badv) / sizeof(badv[0]); i++) {
		char name[96];
		conf_init(&c);
		xsnprintf(name, sizeof(name), "refused: %.*s", (int)strcspn(badv[i] + 8, "\n"), badv[i] + 8);
		ok(conf_load_buffer(&c, "v.yaml", badv[i], strlen(badv[i])) == MD_EXIT_CONFIG, name);
		conf_release(&c);
	}
	conf_init(&c);
	ok(conf_load_buffer(&c, "nul.yaml", "log:\0x", 6) == MD_EXIT_CONFIG, "a NUL byte is refused");
	conf_release(&c);
	sb_release(&sb);
}

/* ffprobe's flat output for a 64x48 H.264 + AAC MP4 of 1 s at 10 fps */
static const char probe_mp4[] =
		"streams.stream.0.index=0\n"
		"streams.stream.0.codec_name=\"h264\"\n"
		"streams.stream.0.codec_type=\"video\"\n"
		"streams.stream.0.width=64\n"
		"streams.stream.0.height=48\n"
		"streams.stream.0.pix_fmt=\"yuv420p\"\n"
		"streams.stream.0.avg_frame_rate=\"10/1\"\n"
		"streams.stream.0.nb_read_packets=\"10\"\n"
		"streams.stream.0.disposition.attached_pic=0\n"
		"streams.stream.1.index=1\n"
		"streams.stream.1.codec_name=\"aac\"\n"
		"streams.stream.1.codec_type=\"audio\"\n"
		"streams.stream.1.avg_frame_rate=\"0/0\"\n"
		"streams.stream.1.nb_read_packets=\"45\"\n"
		"streams.stream.1.disposition.attached_pic=0\n"
		"format.format_name=\"mov,mp4,m4a,3gp,3g2,mj2\"\n"
		"format.duration=\"1.000000\"\n"
	;

/* probe_mp4 with the line starting with key replaced by "key=value" */
static char *probe_with(const char *key, const char *value)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = probe_mp4;

	while (*p) {
		size_t len = strcspn(p, "\n");
		if (!strncmp(p, key, strlen(key)) && p[strlen(key)] == '=')
			sb_addf(&sb, "%s=%s\n", key, value);
		else
			sb_addf(&sb, "%.*s\n", (int)len, p);
		p += len + (p[len] == '\n');
	}
	return sb_detach(&sb, NULL);
}

static void test_probe_output(void)
{
	static const struct {
		const char *key, *value, *why;      /* why NULL: accepted */
	} cases[] = {
		{ "streams.stream.0.width", "99999999999999999999", "exceeds the limit" },
		{ "streams.stream.0.width", "-5", "cannot read the picture size" },
		{ "streams.stream.0.width", "N/A", "cannot read the picture size" },
		{ "streams.stream.0.height", "4294967344", "exceeds the limit" },
		{ "format.duration", "1e308", "exceeds the limit" },
		{ "format.duration", "nan", NULL },
		{ "format.duration", "inf", NULL },
		{ "format.duration", "-3", NULL },
		{ "streams.stream.0.avg_frame_rate", "\"30000/1001\"", NULL },
		{ "streams.stream.0.avg_frame_rate", "\"0/0\"", NULL },
		{ "streams.stream.0.avg_frame_rate", "\"1e308/1e-308\"", NULL },
		{ "streams.stream.0.avg_frame_rate", "\"nan/1\"", NULL },
		{ "streams.stream.0.nb_read_packets", "\"99999999999999999999999\"", NULL },
		{ "streams.stream.0.nb_read_packets", "\"-7\"", "no frames" },
		{ "format.format_name", "\"hls\"", "is not accepted" },
		{ "streams.stream.0.codec_type", "\"audio\"", "audio only" },
	};
	struct conf c;
	struct probe p;
	char *why;

	conf_init(&c);
	ok(probe_from_ffprobe(&c, probe_mp4, strlen(probe_mp4), &p, &why) == 0 &&
	   p.kind == MD_KIND_VIDEO && p.width == 64 && p.height == 48 && p.frames == 10 &&
	   p.fps == 10 && p.duration == 1 && p.has_audio && !strcmp(p.ext, "mp4"),
	   "ffprobe's output for an MP4 is read and accepted");
	is_str(p.json.buf, "{\"format\":\"mov,mp4,m4a,3gp,3g2,mj2\",\"kind\":\"video\",\"width\":64,"
	       "\"height\":48,\"rotation\":0,\"frames\":10,\"duration\":1.000,\"fps\":10.000,"
	       "\"video_codec\":\"h264\",\"pix_fmt\":\"yuv420p\",\"audio_codec\":\"aac\","
	       "\"source\":{\"duration\":1,\"bit_rate\":0,\"video_codec\":\"h264\",\"profile\":\"\","
	       "\"pix_fmt\":\"yuv420p\",\"color_range\":\"\",\"color_transfer\":\"\",\"width\":64,"
	       "\"height\":48,\"coded_width\":0,\"coded_height\":0,\"sar\":[0,0],\"rotation\":0,"
	       "\"fps\":10,\"max_fps\":0,\"audio_codec\":\"aac\",\"channels\":0}}",
	       "its probe JSON, with what a job reads of the source");
	probe_release(&p);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = probe_with(cases[i].key, cases[i].value), name[160];
		int rc = probe_from_ffprobe(&c, text, strlen(text), &p, &why);

		xsnprintf(name, sizeof(name), "%s=%s is %s", cases[i].key, cases[i].value,
			 cases[i].why ? cases[i].why : "accepted, with sane numbers");
		if (cases[i].why)
			ok(rc == 1 && why && strstr(why, cases[i].why), name);
		else
			ok(rc == 0 && isfinite(p.duration) && p.duration >= 0 && isfinite(p.fps) &&
			   p.fps >= 0 && p.frames > 0 && !strstr(p.json.buf, "nan") &&
			   !strstr(p.json.buf, "inf"), name);
		if (!rc)
			probe_release(&p);
		free(why);
		free(text);
	}
	ok(probe_from_ffprobe(&c, "", 0, &p, &why) == 1, "no output at all is rejected");
	free(why);
	conf_release(&c);
}

static void test_ref_line(void)
{
	static const char sha[] = "2ccb30cc2275833cd3c1aa9347bfd21feb36870b87dfa8d0a319c115265461d8";
	static const struct {
		const char *line;
		int want;
		const char *ref;
	} cases[] = {
		{ "12\tabc\tpending", REF_OK, "12" },
		{ "12 rest", REF_OK, "12" },
		{ "", REF_SKIP, NULL },
		{ "-\tx", REF_SKIP, NULL },
		{ "junk", REF_BAD, "junk" },
		{ "0", REF_BAD, "0" },
		{ "99999999999999999999", REF_BAD, "99999999999999999999" },
		{ "{\"post_id\":7,\"media\":\"x\"}", REF_OK, "7" },
		{ "{\"post_id\":null,\"media\":\"SHA\"}", REF_OK, "SHA" },
		{ " { \"a\" : [1, {\"post_id\": 9}], \"post_id\" : 8 } ", REF_SKIP, NULL },
		{ "{\"a\":[1,{\"post_id\":9}],\"post_id\":8}", REF_OK, "8" },
		{ "{\"path\":\"x\\\"post_id\\\":1,\",\"error\":\"bad\"}", REF_SKIP, NULL },
		{ "{\"path\":\"\\\"media\\\":\\\"SHA\\\"\",\"error\":\"bad\"}", REF_SKIP, NULL },
		{ "{\"post_id\":1", REF_SKIP, NULL },
		{ "{\"post_id\":1.5}", REF_SKIP, NULL },
		{ "{\"post_id\":-1}", REF_SKIP, NULL },
		{ "{\"post_id\":1} trailing", REF_SKIP, NULL },
		{ "{}", REF_SKIP, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf line = STRBUF_INIT, name = STRBUF_INIT;
		char *ref;
		const char *want = cases[i].ref;

		for (const char *p = cases[i].line; *p; p++)
			if (!strncmp(p, "SHA", 3)) {
				sb_adds(&line, sha);
				p += 2;
			} else {
				sb_addch(&line, *p);
			}
		int rc = ref_from_line(line.buf, line.len, &ref);
		sb_addf(&name, "ref_from_line '%s' gives %s", cases[i].line,
			rc == REF_OK ? "a reference" : rc == REF_SKIP ? "nothing" : "an error");
		ok(rc == cases[i].want && (want ? ref && !strcmp(ref, !strcmp(want, "SHA") ? sha : want)
					       : !ref), name.buf);
		free(ref);
		sb_release(&line);
		sb_release(&name);
	}
	char *ref;
	ok(ref_from_line("12\0003", 4, &ref) == REF_BAD, "a NUL inside the field makes it bad");
	free(ref);
}

static void test_json(void)
{
	struct strbuf sb = STRBUF_INIT;

	json_add_str(&sb, "a\"b\\c\nd\te\x01");
	is_str(sb.buf, "\"a\\\"b\\\\c\\nd\\te\\u0001\"", "JSON escapes quotes, backslashes, controls");
	sb_reset(&sb);
	json_add_str(&sb, "caf\xc3\xa9 \xff\xfe end");
	is_str(sb.buf, "\"caf\xc3\xa9 \\ufffd\\ufffd end\"", "valid UTF-8 kept, invalid bytes become U+FFFD");
	sb_reset(&sb);
	tsv_add(&sb, "a\tb\nc\\d");
	is_str(sb.buf, "a\\tb\\nc\\\\d", "TSV escapes tab, newline, backslash");
	sb_reset(&sb);
	json_flatten("[\"cats\",\"d\\\"q\"]", &sb);
	is_str(sb.buf, "cats,d\"q", "json_flatten of an array");
	sb_reset(&sb);
	json_flatten("{\"mp4\":\"http://x/a.mp4\",\"thumb\":\"t.jpg\"}", &sb);
	is_str(sb.buf, "mp4=http://x/a.mp4,thumb=t.jpg", "json_flatten of an object");
	sb_reset(&sb);
	json_flatten("[]", &sb);
	is_str(sb.buf, "", "json_flatten of an empty array");
	sb_release(&sb);

	struct emit e;
	FILE *f = tmpfile();
	char line[256];
	emit_begin(&e, 1);
	emit_int(&e, "id", 7);
	emit_str(&e, "s", NULL);
	emit_bool(&e, "b", 1);
	emit_raw(&e, "t", "[\"x\"]", NULL);
	ok(!emit_end(&e, f), "emit_end writes a JSON record");
	rewind(f);
	ok(fgets(line, sizeof(line), f) != NULL, "the record can be read back");
	is_str(line, "{\"id\":7,\"s\":null,\"b\":true,\"t\":[\"x\"]}\n", "JSON record shape");
	fclose(f);
}

/* Each writer on hostile input: the exact bytes it must produce. */
static void test_quote(void)
{
	static const struct { const char *in, *json, *xml, *logfmt; } t[] = {
		{ "plain", "\"plain\"", "plain", "plain" },
		{ "", "\"\"", "", "\"\"" },
		{ "a b=c", "\"a b=c\"", "a b=c", "\"a b=c\"" },
		{ "<&>\"'", "\"<&>\\\"'\"", "&lt;&amp;&gt;&quot;&apos;", "\"<&>\\\"'\"" },
		{ "l1\nl2\r\t", "\"l1\\nl2\\r\\t\"", "l1&#10;l2&#13;&#9;", "\"l1\\nl2\\r\\t\"" },
		{ "\x01\x1b[31m\x7f", "\"\\u0001\\u001b[31m\\u007f\"",
		  "\xef\xbf\xbd\xef\xbf\xbd[31m\x7f",
		  "\"\\u0001\\u001b[31m\\u007f\"" },
		/* U+FFFE, U+FFFF: valid UTF-8 and JSON, not XML 1.0 characters */
		{ "\xef\xbf\xbe\xef\xbf\xbf", "\"\xef\xbf\xbe\xef\xbf\xbf\"",
		  "\xef\xbf\xbd\xef\xbf\xbd", "\xef\xbf\xbe\xef\xbf\xbf" },
		/* U+0085 (C1), U+2028: escaped where a reader may take them for a newline */
		{ "\xc2\x85\xe2\x80\xa8", "\"\\u0085\\u2028\"", "\xc2\x85\xe2\x80\xa8",
		  "\"\\u0085\\u2028\"" },
		/* overlong '/', CESU surrogate, past U+10FFFF, F5-FF, truncated */
		{ "\xc0\xaf", "\"\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd", "\"\\xc0\\xaf\"" },
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"",
		  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "\"\\xed\\xa0\\x80\"" },
		{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"",
		  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "\"\\xf4\\x90\\x80\\x80\"" },
		{ "x\xff\xfe", "\"x\\ufffd\\ufffd\"", "x\xef\xbf\xbd\xef\xbf\xbd",
		  "\"x\\xff\\xfe\"" },
		{ "\xe2\x82", "\"\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd", "\"\\xe2\\x82\"" },
		/* valid: 2, 3 and 4 bytes, the last code point */
		{ "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf",
		  "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"",
		  "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf",
		  "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf" },
	};
	struct strbuf sb = STRBUF_INIT;
	char name[64];

	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		sb_reset(&sb);
		json_add_str(&sb, t[i].in);
		xsnprintf(name, sizeof(name), "json_add_str, case %zu", i);
		is_str(sb.buf, t[i].json, name);
		sb_reset(&sb);
		xml_add_text(&sb, t[i].in);
		xsnprintf(name, sizeof(name), "xml_add_text, case %zu", i);
		is_str(sb.buf, t[i].xml, name);
		sb_reset(&sb);
		logfmt_add_val(&sb, t[i].in);
		xsnprintf(name, sizeof(name), "logfmt_add_val, case %zu", i);
		is_str(sb.buf, t[i].logfmt, name);
	}
	sb_reset(&sb);
	tsv_add(&sb, "a\tb\r\nc\\\xff");
	is_str(sb.buf, "a\\tb\\r\\nc\\\\\xff", "tsv_add: one field on one line");
	sb_reset(&sb);
	json_flatten("[\"\\ud83d\\ude00\",\"\\ud800x\",\"\\u0000\",\"\\u12\"]", &sb);
	is_str(sb.buf, "\xf0\x9f\x98\x80,\xef\xbf\xbdx,\xef\xbf\xbd,\xef\xbf\xbd" "12",
	       "json_flatten: surrogate pairs joined, lone ones, NUL and bad escapes are U+FFFD");
	sb_release(&sb);

	int64_t id = 5;
	ok(!cursor_parse("1", &id) && id == 1, "cursor 1");
	ok(!cursor_parse("9223372036854775807", &id) && id == INT64_MAX, "cursor 2^63-1");
	id = 5;
	ok(cursor_parse("9223372036854775808", &id) && id == 5,
	   "cursor 2^63 refused, id untouched");
	ok(cursor_parse("99999999999999999999", &id), "cursor past 64 bits refused");
	ok(cursor_parse("0", &id), "cursor 0 refused");
	ok(cursor_parse("007", &id), "cursor with a leading zero refused");
	ok(cursor_parse("-1", &id) && cursor_parse("+1", &id), "signed cursor refused");
	ok(cursor_parse(" 1", &id) && cursor_parse("1 ", &id) && cursor_parse("1\n", &id),
	   "cursor with spaces refused");
	ok(cursor_parse("", &id) && cursor_parse("0x10", &id) && cursor_parse("1e3", &id),
	   "empty, hex and exponent cursors refused");
}

static void test_hash(void)
{
	struct hash h;
	char hex[65];

	hash_init(&h);
	hash_update(&h, "abc", 3);
	hash_final(&h, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "SHA-256 of 'abc' (FIPS 180-2 vector)");
	ok(hash_is_hex(hex), "a digest is 64 lowercase hex");
	ok(!hash_is_hex("BA7816BF"), "short or uppercase is not a digest");
}

static void test_store_helpers(void)
{
	char t[33];
	int64_t id;
	char *u;

	trace_id_new(t);
	ok(trace_id_valid(t), "a new trace id is valid");
	ok(!trace_id_valid("00000000000000000000000000000000"), "all-zero trace id is invalid");
	ok(!trace_id_valid("ABCDEF0123456789abcdef0123456789"), "uppercase trace id is invalid");
	ok(ref_is_post_id("123", &id) && id == 123, "123 is a post id");
	ok(!ref_is_post_id("12a", &id), "12a is not a post id");
	ok(!ref_is_post_id("0", &id), "0 is not a post id");
	ok(!ref_is_post_id("99999999999999999999", &id), "overflowing number is not a post id");
	int in_range = 1;
	for (int a = 1; a <= 12; a++) {
		double d = retry_delay(10, 3600, a), base = 10 * (double)(1 << (a - 1));
		if (base > 3600)
			base = 3600;
		if (d < base * 0.8 - 1e-9 || d > base * 1.2 + 1e-9)
			in_range = 0;
	}
	ok(in_range, "retry delay is min(max, base*2^(n-1)) within +-20%");
	u = store_redact_url("postgres://md:s3cret@db.example/md?sslmode=require");
	ok(!strstr(u, "s3cret") && strstr(u, "***"), "password hidden in a postgres:// URL");
	free(u);
	u = store_redact_url("host=/tmp dbname=md password='se cret' user=md");
	ok(!strstr(u, "se cret") && strstr(u, "user=md"), "password hidden in a keyword string");
	free(u);
	u = store_redact_url("sqlite:/var/lib/md.db");
	is_str(u, "sqlite:/var/lib/md.db", "a SQLite URL is left alone");
	free(u);
}


static char *write_file(const char *name, const char *text)
{
	char *p = xstrfmt("%s/%s", tmpdir, name);
	FILE *f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
	chmod(p, 0600);
	return p;
}

static void test_conf(void)
{
	struct conf c;
	char *p;

	conf_init(&c);
	ok(conf_profile(&c, "mp4") && conf_profile(&c, "thumb") && conf_profile(&c, "probe") &&
	   conf_profile(&c, "noop"), "built-in profiles exist without a config file");
	ok(conf_profile(&c, "mp4")->kinds == (MD_KIND_VIDEO | MD_KIND_ANIMATED),
	   "mp4 applies to video and animated");
	p = write_file("good.yaml",
		"database: sqlite:/x.db\n"
		"storage:\n  path: /srv/md\n  keep_originals: false\n"
		"worker:\n  jobs: 3\n  lease: 2m\n  retry_base: 0s\n"
		"limits:\n  bytes: 1MiB\n"
		"profiles:\n  gray:\n    kinds: [image]\n    output: g.png\n"
		"    steps:\n      - [ffmpeg, -i, \"{input}\", \"{output}\"]\n");
	ok(conf_load(&c, p) == 0, "a good config loads");
	is_str(c.db_url, "sqlite:/x.db", "database from the file");
	is_str(c.storage, "/srv/md", "storage.path from the file");
	ok(!c.keep_originals && c.worker_jobs == 3 && c.lease == 120 && c.retry_base == 0 &&
	   c.max_bytes == 1u << 20, "values parsed with their units");
	const struct profile *g = conf_profile(&c, "gray");
	ok(g && g->kinds == MD_KIND_IMAGE && g->nsteps == 1 && !strcmp(g->steps[0][2], "{input}"),
	   "a profile from the file");
	free(p);
	conf_release(&c);

	conf_init(&c);
	p = write_file("bad.yaml", "worker:\n  jobs: 2\n  leese: 30s\n");
	fflush(stdout);
	ok(conf_load(&c, p) == MD_EXIT_CONFIG, "an unknown key is a config error (78)");
	free(p);
	conf_release(&c);
	conf_init(&c);
	p = write_file("bad2.yaml", "worker:\n  lease: soon\n");
	ok(conf_load(&c, p) == MD_EXIT_CONFIG, "a bad duration is a config error");
	free(p);
	conf_release(&c);
	conf_init(&c);
	p = write_file("bad3.yaml", "worker: [unclosed\n");
	ok(conf_load(&c, p) == MD_EXIT_CONFIG, "broken YAML is a config error");
	free(p);
	conf_release(&c);
}

static void test_conf_umask(void)
{
	static const char *const badv[] = { "0700", "1777", "8", "", "0o27", "00027", "-1", "[7]" };
	struct conf c;
	char *why;

	conf_init(&c);
	ok(c.umask == 027, "storage.umask is 027 without a file");
	why = conf_error(&c, "storage:\n  umask: 022\n", 21);
	ok(!why && c.umask == 022, "storage.umask: 022");
	free(why);
	why = conf_error(&c, "storage:\n  umask: 7\n", 19);
	ok(!why && c.umask == 07, "storage.umask: 7");
	free(why);
	conf_release(&c);
	for (size_t i = 0; i < sizeof(badv) / sizeof(badv[0]); i++) {
		char *y = xstrfmt("storage:\n  umask: %s\n", badv[i]), *name;
		conf_init(&c);
		why = conf_error(&c, y, strlen(y));
		name = xstrfmt("storage.umask '%s' is refused, naming the key", badv[i]);
		ok(why && strstr(why, "d.yaml:2:") && strstr(why, "'umask'"), name);
		free(name);
		free(why);
		free(y);
		conf_release(&c);
	}
}

static void test_jwt(void)
{
	static const char key[] = "0123456789abcdef0123456789abcdef";
	static const char want[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
		"eyJzdWIiOiJhbGljZSIsImlzcyI6Im1lbWVkcm9pZCIsImlhdCI6MTAwMCwiZXhwIjoyMDAwfQ."
		"wcJq1ozLEtPZ4aGQSORY3l79rpDZYzim9DJSlk0KnEw";
	struct jwt_claims c;
	const char *why;
	char *t = jwt_sign(key, strlen(key), "alice", 1000, 2000);

	is_str(t, want, "jwt_sign: the token an independent HMAC gives");
	ok(t && !jwt_verify(key, strlen(key), t, strlen(t), 1500, &c, &why) &&
	   !strcmp(c.sub, "alice") && c.iat == 1000 && c.exp == 2000 && c.nbf == 0,
	   "jwt_verify: a good token gives its claims");
	is_str(c.json, "{\"sub\":\"alice\",\"iss\":\"memedroid\",\"iat\":1000,\"exp\":2000}",
	       "jwt_verify: the claims as compact JSON");
	jwt_claims_release(&c);
	ok(t && jwt_verify(key, strlen(key), t, strlen(t), 2000, &c, &why) == -1 &&
	   !strcmp(why, "expired") && !c.sub && !c.json, "jwt_verify: expired at exp");
	ok(t && jwt_verify("other", 5, t, strlen(t), 1500, &c, &why) == -1 &&
	   !strcmp(why, "bad signature"), "jwt_verify: another key is a bad signature");
	if (t) {
		char *u = xstrdup(t);

		u[strlen(u) - 1] = 'x';     /* 'w' = 110000, 'x' = 110001: an unused bit */
		ok(jwt_verify(key, strlen(key), u, strlen(u), 1500, &c, &why) == -1 &&
		   strstr(why, "base64url"), "jwt_verify: unused low bits set are refused");
		ok(jwt_verify(key, strlen(key), t, strlen(t) - 1, 1500, &c, &why) == -1,
		   "jwt_verify: the length given is honoured");
		free(u);
	}
	free(t);
	ok(!jwt_sign(key, strlen(key), "a b", 1000, 2000) && !jwt_sign(key, strlen(key), "a", 2, 2) &&
	   !jwt_sign(key, 0, "a", 1, 2) && !jwt_sign(key, strlen(key), "a", 1, JWT_TIME_MAX + 1),
	   "jwt_sign: a bad name, times or key give NULL");
	ok(jwt_secret_weakness(key) != NULL, "16 hex digits twice are weak");
	ok(jwt_secret_weakness("Zq3v9LkX2mW8pR4tY7uB1nC6dF0gH5jS") == NULL, "a random secret is fine");
	ok(jwt_secret_weakness("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") != NULL, "32 'a's are weak");
	ok(jwt_secret_weakness("Ab3dE6gH9kLm2nPqAb3dE6gH9kLm2nPqA") != NULL,
	   "a 16-byte run repeated is weak");
	ok(jwt_secret_weakness("short") != NULL, "a short secret is weak");
}

static void note_progress(void *arg, double seconds)
{
	*(double *)arg = seconds;
}

static void test_spawn(void)
{
	struct spawn_result r;
	struct strbuf out = STRBUF_INIT, why = STRBUF_INIT;
	char *ok_argv[] = { "sh", "-c", "echo out; echo err-line >&2", NULL };
	char *fail_argv[] = { "sh", "-c", "echo boom >&2; exit 3", NULL };
	char *slow_argv[] = { "sleep", "30", NULL };
	char *none_argv[] = { "md-no-such-program", NULL };
	struct spawn_opts o = { .argv = ok_argv, .stdin_fd = -1, .out = &out };

	ok(spawn_run(&o, &r) == 0, "a child exiting 0 succeeds");
	is_str(out.buf, "out\n", "its stdout is captured");
	ok(strstr(r.tail, "err-line") != NULL, "its stderr tail is kept");
	o.argv = fail_argv;
	o.out = NULL;
	ok(spawn_run(&o, &r) == -1 && r.ran, "a child exiting 3 fails");
	spawn_describe(&r, &why);
	is_str(why.buf, "exited with 3: boom", "the failure is described with the stderr tail");
	o.argv = slow_argv;
	o.timeout = 0.3;
	ok(spawn_run(&o, &r) == -1 && r.timed_out, "a child over its timeout is killed");
	/* a child whose progress file stops growing is stopped */
	char *prog = xstrfmt("%s/progress", tmpdir);
	char *stall_cmd = xstrfmt("echo a > '%s'; sleep 0.1; echo b >> '%s'; exec sleep 30", prog, prog);
	char *stall_argv[] = { "sh", "-c", stall_cmd, NULL };
	o.argv = stall_argv;
	o.timeout = 20;
	o.progress_path = prog;
	o.stall_timeout = 0.5;
	ok(spawn_run(&o, &r) == -1 && r.stalled && !r.timed_out, "a child without progress is stopped as stalled");
	/* ffmpeg -progress: the last out_time_us reaches on_progress */
	char *prog_cmd = xstrfmt("printf 'frame=1\\nout_time_us=N/A\\nprogress=continue\\n' > '%s'; "
				 "printf 'frame=9\\nout_time_us=1500000\\nprogress=continue\\n' >> '%s'; "
				 "printf 'frame=20\\nout_time_us=2500000\\nprogress=end\\n' >> '%s'",
				 prog, prog, prog);
	char *prog_argv[] = { "sh", "-c", prog_cmd, NULL };
	double seen = -1;
	o.argv = prog_argv;
	o.stall_timeout = 0;
	o.on_progress = note_progress;
	o.progress_arg = &seen;
	ok(spawn_run(&o, &r) == 0 && seen == 2.5, "on_progress hears the last out_time_us (2.5 s)");
	o.on_progress = NULL;
	free(prog_cmd);
	o.progress_path = NULL;
	free(stall_cmd);
	free(prog);
	o.argv = none_argv;
	o.timeout = 0;
	ok(spawn_run(&o, &r) == -1 && r.exec_errno && !r.ran, "a missing program is an exec error");
	ok(spawn_have("sh") && !spawn_have("md-no-such-program"), "spawn_have looks at PATH");
	sb_release(&out);
	sb_release(&why);
}

#include "test-storage.c"
#include "test-source.c"
#include "test-spawn.c"
#include "test-probe.c"
#include "test-auth.c"
#include "test-store.c"
#include "test-frames.c"
#include "test-blurhash.c"
#include "test-rendition.c"
#include "test-hls.c"
#include "test-sigv4.c"
#include "test-log.c"
#include "test-progress.c"

int main(void)
{
	log_init("test-lib");
	log_set_level(LOG_ERROR);
	log_set_format(LOG_FORMAT_TEXT);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_strbuf();
	test_parsers();
	test_parser_ranges();
	test_parse_time();
	test_conf_limits();
	test_probe_output();
	test_probe_kind();
	test_probe_rules();
	test_ref_line();
	test_json();
	test_quote();
	test_hash();
	test_store_helpers();
	test_conf();
	test_conf_umask();
	test_jwt();
	test_auth();
	test_spawn();
	test_spawn_api();
	test_storage();
	test_source();
	test_hls();
	test_store_users_policy();
	test_store_jobs_policy();
	test_store_work_policy();
	test_store_posts_policy();
	test_store_enqueue_policy();
	test_store_read_policy();
	test_store_content_policy();
	test_store_janitor_policy();
	test_pack();
	test_frames();
	test_web();
	test_frames_web_conf();
	test_blurhash_reference();
	test_blurhash_shape();
	test_rendition_list();
	test_sigv4();
	test_log();
	test_progress();
	remove_tree(tmpdir);
	printf("1..%d\n", ntests);
	return failed ? 1 : 0;
}
