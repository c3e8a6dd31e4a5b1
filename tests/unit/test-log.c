/*
 * test-log.c - log lines (lib/log.c) in their three forms: each key once,
 * typed JSON values, the human form's composition, hostile values that
 * cannot forge a line, the journald priority and JOURNAL_STREAM's test.
 * Included by test-lib.c.
 */

/* The line the fields f (NULL-terminated pairs) make in format fmt. */
static char *log_line_of(int fmt, int level, int journal, const char *msg, const char *time,
			 const char **kv)
{
	struct log_field f[16];
	struct log_line l = { .format = fmt, .level = level, .journal = journal, .tool = "md-work",
			      .msg = msg, .time = time, .fields = f };
	struct strbuf sb = STRBUF_INIT;

	for (; kv && kv[0] && l.nfields < 16; kv += 2)
		f[l.nfields++] = (struct log_field){ kv[0], kv[1] };
	log_format_line(&sb, &l);
	return sb_detach(&sb, NULL);
}

static void is_line(int fmt, int level, const char *msg, const char **kv, const char *want,
		    const char *name)
{
	char *got = log_line_of(fmt, level, 0, msg, NULL, kv);

	is_str(got, want, name);
	free(got);
}

static void test_log_forms(void)
{
	const char *job[] = { "error", "ffmpeg exited 1", LOG_NUM "retry_in", "4.0", LOG_NUM "attempt", "2",
			      LOG_NUM "job_id", "68", "media", "3f2a", "profile", "mp4", "worker", "h:1",
			      "trace_id", "abc", NULL };
	const char *done[] = { LOG_NUM "seconds", "2.1", LOG_NUM "job_id", "68", "profile", "mp4", NULL };
	char *got;

	is_line(LOG_FORMAT_TEXT, LOG_INFO, "job succeeded", done,
		"level=info tool=md-work msg=\"job succeeded\" seconds=2.1 job_id=68 profile=mp4\n",
		"text: logfmt, numbers bare, no time when none is given");
	is_line(LOG_FORMAT_JSON, LOG_INFO, "job succeeded", done,
		"{\"level\":\"info\",\"tool\":\"md-work\",\"msg\":\"job succeeded\",\"seconds\":2.1,"
		"\"job_id\":68,\"profile\":\"mp4\"}\n", "json: LOG_NUM values are numbers, others strings");
	is_line(LOG_FORMAT_HUMAN, LOG_INFO, "job succeeded", done, "md-work: job 68 mp4 succeeded in 2.1 s\n",
		"human: the job's id and profile after 'job', the time in seconds");
	is_line(LOG_FORMAT_HUMAN, LOG_WARN, "job failed, will retry", job,
		"md-work: warning: job 68 mp4 failed, will retry in 4.0 s (attempt 2): ffmpeg exited 1\n",
		"human: a warning says so; no worker, trace_id or media; the error last");
	is_line(LOG_FORMAT_HUMAN, LOG_ERROR, "cannot ingest", (const char *[]){ "path", "a b.png", "error",
		"not media", NULL }, "md-work: error: cannot ingest 'a b.png': not media\n",
		"human: an error says so; the path follows the message");
	is_line(LOG_FORMAT_HUMAN, LOG_INFO, "no such post", (const char *[]){ LOG_NUM "post_id", "7",
		"media", "3f2a", "x", "two words", NULL }, "md-work: no such post (post 7, x='two words')\n",
		"human: other fields between parentheses");
	is_line(LOG_FORMAT_HUMAN, LOG_INFO, "user added", (const char *[]){ "user", "bob", NULL },
		"md-work: user 'bob' added\n", "human: a user's name quoted after 'user'");
	is_line(LOG_FORMAT_HUMAN, LOG_INFO, "jobs rescued", (const char *[]){ LOG_NUM "job_id", "9", NULL },
		"md-work: jobs rescued (job 9)\n", "human: 'jobs' is not 'job'");
	got = log_line_of(LOG_FORMAT_TEXT, LOG_DEBUG, 0, "m", "2024-01-02T03:04:05.006Z", NULL);
	is_str(got, "time=2024-01-02T03:04:05.006Z level=debug tool=md-work msg=m\n", "text: the time first");
	free(got);
	got = log_line_of(LOG_FORMAT_JSON, LOG_WARN, 1, "m", NULL, NULL);
	is_str(got, "<4>{\"level\":\"warn\",\"tool\":\"md-work\",\"msg\":\"m\"}\n", "journal: <4> before a warning");
	free(got);
	got = log_line_of(LOG_FORMAT_TEXT, LOG_ERROR, 1, "m", NULL, NULL);
	ok(!strncmp(got, "<3>level=error ", 15), "journal: <3> before an error");
	free(got);
	got = log_line_of(LOG_FORMAT_HUMAN, LOG_DEBUG, 1, "m", NULL, NULL);
	is_str(got, "<7>md-work: m\n", "journal: <7> before debug, whatever the form");
	free(got);
}

static void test_log_fields(void)
{
	const char *dup[] = { LOG_NUM "job_id", "1", "job_id", "2", "msg", "forged", "level", "x",
			      "time", "t", "tool", "t", "", "empty", "k", "v", NULL };
	const char *typed[] = { LOG_NUM "a", "-0.5e+3", LOG_NUM "b", "012", LOG_NUM "c", "1.",
				LOG_NUM "d", "x", LOG_BOOL "e", "true", LOG_BOOL "f", "1", NULL };

	is_line(LOG_FORMAT_TEXT, LOG_INFO, "m", dup, "level=info tool=md-work msg=m job_id=1 k=v\n",
		"each key once, the first given wins; time, level, tool, msg and '' cannot be given");
	is_line(LOG_FORMAT_JSON, LOG_INFO, "m", typed,
		"{\"level\":\"info\",\"tool\":\"md-work\",\"msg\":\"m\",\"a\":-0.5e+3,\"b\":\"012\",\"c\":\"1.\","
		"\"d\":\"x\",\"e\":true,\"f\":\"1\"}\n", "json: only JSON numbers and true/false go bare");
}

static void test_log_hostile(void)
{
	const char *name = "a\nlevel=error msg=forged\r\x1b[31m\xc2\x9b" "2J\xe2\x80\xae\\\xff.png";
	const char *kv[] = { "path", name, NULL };
	char *got;

	got = log_line_of(LOG_FORMAT_HUMAN, LOG_ERROR, 0, name, NULL, kv);
	is_str(got, "md-work: error: a\\nlevel=error msg=forged\\r\\x1b[31m\\u009b2J\\u202e\\\\\\xff.png "
	       "'a\\nlevel=error msg=forged\\r\\x1b[31m\\u009b2J\\u202e\\\\\\xff.png'\n",
	       "human: controls, C1, bidi, backslash and bad bytes escaped, in the message and fields");
	free(got);
	for (int fmt = LOG_FORMAT_TEXT; fmt <= LOG_FORMAT_HUMAN; fmt++) {
		got = log_line_of(fmt, LOG_ERROR, 0, name, NULL, kv);
		ok(!strchr(got, '\n')[1] && !strchr(got, '\r') && !strchr(got, '\x1b'),
		   fmt == LOG_FORMAT_TEXT ? "text: a hostile name stays in its line, no escape byte" :
		   fmt == LOG_FORMAT_JSON ? "json: a hostile name stays in its line, no escape byte" :
		   "human: a hostile name stays in its line, no escape byte");
		free(got);
	}
}

static void test_log_parse(void)
{
	char stream[64];
	struct stat st;
	int fmt = -1, fd;

	ok(!log_parse_format("human", &fmt) && fmt == LOG_FORMAT_HUMAN, "'human' names the human form");
	ok(!log_parse_format("text", &fmt) && fmt == LOG_FORMAT_TEXT && !log_parse_format("json", &fmt) &&
	   fmt == LOG_FORMAT_JSON, "'text' and 'json' too");
	ok(log_parse_format("auto", &fmt) && log_parse_format("", &fmt) && log_parse_format("JSON", &fmt),
	   "'auto', '' and 'JSON' are refused");
	xsnprintf(stream, sizeof(stream), "%s/journal", tmpdir);
	fd = open(stream, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || fstat(fd, &st)) {
		ok(0, "a file for JOURNAL_STREAM");
		return;
	}
	xsnprintf(stream, sizeof(stream), "%llu:%llu", (unsigned long long)st.st_dev,
		  (unsigned long long)st.st_ino);
	ok(log_journal_match(stream, fd), "JOURNAL_STREAM naming the fd's device and inode matches");
	xsnprintf(stream, sizeof(stream), "%llu:%llu", (unsigned long long)st.st_dev,
		  (unsigned long long)st.st_ino + 1);
	ok(!log_journal_match(stream, fd), "another inode does not");
	ok(!log_journal_match(NULL, fd) && !log_journal_match("", fd) && !log_journal_match("1:", fd) &&
	   !log_journal_match(":1", fd) && !log_journal_match("1:2x", fd) && !log_journal_match("-1:2", fd),
	   "an absent or malformed JOURNAL_STREAM does not");
	close(fd);
}

static void test_log(void)
{
	test_log_forms();
	test_log_fields();
	test_log_hostile();
	test_log_parse();
}
