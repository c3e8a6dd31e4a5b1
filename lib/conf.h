/*
 * conf.h - configuration: built-in defaults, the YAML file, environment
 * and command-line flags, in that increasing order of precedence.
 *
 * Call order:
 *   struct conf c; conf_init(&c);          built-in defaults
 *   conf_load(&c, flag_path)               finds and reads the YAML file
 *                                          (--config, $MD_CONFIG, XDG, /etc)
 *   ...c.path names the file read, NULL when there was none...
 *   conf_apply_env(&c)                     MD_DB, MD_STORAGE, MD_HOME...
 *   ...the tool then stores its flags over the fields...
 *   conf_release(&c)
 *
 * conf_load() reads one file: the first of flag_path, $MD_CONFIG,
 * $XDG_CONFIG_HOME/memedroid/config.yaml (or ~/.config/...) that exists,
 * and else the system file, CONF_SYSTEM_FILE or $MD_CONFIG_SYSTEM.  The
 * system file is skipped when $MD_CONFIG_NOSYSTEM is set to anything but
 * "" or "0" (as git's GIT_CONFIG_NOSYSTEM), so that a test or a demo
 * never reads the host's settings.
 *
 * conf_load() returns 0, or MD_EXIT_CONFIG after logging an error that
 * names the file, the line and the key ("FILE:LINE: unknown key 'x'").
 * Unknown keys and bad values are errors, never ignored.  A file is at
 * most 1 MiB, 64 levels deep and 100000 values: beyond, it is refused
 * ("FILE:LINE: nested deeper than 64 levels") before it can exhaust the
 * stack or the memory.
 *
 * Profiles: the built-ins (probe, mp4, thumb, noop, frames, web) are
 * always present; a profile of the same name in the file replaces the
 * built-in (and is a plain profile then: no hook), others are added.  The
 * sections frames: and web: set what those two built-ins do (frames.h,
 * web.h).  Step argv templates may use {input}, {output}, {workdir},
 * {outdir}, {threads}, {duration} (the source's, in seconds, 0 when unknown)
 * and {tonemap} (the filters that bring an HDR source to SDR, else "null").
 * "passthrough" is a second list of steps, run instead of "steps" when the
 * source can be copied as it is (already H.264 Main or High, yuv420p,
 * limited range, square pixels, at most 60 fps, stereo AAC or no audio,
 * its long side at most "passthrough_max_size": source.h).  An ffmpeg
 * step reads exactly one input, written "-i {input}", and an ffprobe step
 * "{input}" (or "-i {input}"): the worker puts its input options (local
 * files only, the probed demuxer, the pixel cap) before that input, so
 * a step reading anything else ("-i file:{input}", a second -i,
 * "movie={input}") is refused at load.
 */
#ifndef MD_CONF_H
#define MD_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "storage.h"

/* The system-wide config file ($MD_CONFIG_SYSTEM overrides it). */
#define CONF_SYSTEM_FILE "/etc/memedroid/config.yaml"

enum md_kind {
	MD_KIND_IMAGE = 1,
	MD_KIND_ANIMATED = 2,
	MD_KIND_VIDEO = 4,
	MD_KIND_ALL = 7,
};

/* "image" | "animated" | "video" <-> bit; returns 0 for unknown names. */
unsigned kind_from_name(const char *name);
const char *kind_name(unsigned kind);

/*
 * What a profile's main output is, so that the worker can check it before
 * publishing it (verify.h): the key output_kind of a profile, "video",
 * "image", "json", "zip", "hls" or "file"; when it is not set, the output's
 * name tells (.mp4 .m4v .mov .mkv .webm: video, .jpg .jpeg .png: image,
 * .json, .zip, .m3u8: hls, anything else: file).
 */
enum output_kind {
	OUTPUT_NONE,            /* the profile has no output */
	OUTPUT_FILE,            /* any non-empty file */
	OUTPUT_VIDEO,
	OUTPUT_IMAGE,
	OUTPUT_JSON,
	OUTPUT_ZIP,
	OUTPUT_HLS,             /* a master playlist and its folders (hls.h) */
};

/* "video" ... <-> enum output_kind; returns -1 for unknown names. */
int output_kind_from_name(const char *name);
const char *output_kind_name(enum output_kind k);
/* The kind an output of this file name is when the profile does not say. */
enum output_kind output_kind_of_file(const char *name);

/* Work of a built-in profile done in C around its steps: frames.h, web.h. */
enum profile_hook {
	HOOK_NONE,
	HOOK_FRAMES,            /* frames packed into the ZIP after the step */
	HOOK_WEB,               /* the output's format chosen from the source */
	HOOK_THUMB,             /* the output's format: thumb.format */
};

struct profile {
	char *name;
	unsigned kinds;         /* MD_KIND_* bits it applies to */
	char *queue;
	char *output;           /* main output file name, NULL: no output */
	enum output_kind output_kind;
	int max_side;           /* video, image: longest side at most, 0: any */
	int width;              /* image: exactly this wide, 0: any */
	int max_attempts;       /* 0: the worker default */
	int placeholder;        /* image: its BlurHash in the metadata (placeholder.h) */
	int nsteps;
	char ***steps;          /* nsteps NULL-terminated argv templates */
	/* passthrough: these steps instead when the source can be copied as
	 * it is (source.h), its long side at most pass_max_size, its bit rate
	 * at most pass_max_kbps */
	int npass;
	char ***pass;
	int pass_max_size;      /* 0: no cap */
	int pass_max_kbps;      /* the source's bit rate at most, 0: no cap */
	enum profile_hook hook; /* built-ins only: a profile of the file has none */
};

/*
 * The shortest worker.lease: the worker renews leases every third of it,
 * so a renewal has at least 1.6 s to reach the database before another
 * worker may take the job over.  Shorter ones are refused at load (78).
 */
#define LEASE_MIN 5.0

/* The most rungs of an HLS ladder (hls.h). */
#define HLS_MAX_RUNGS 8

struct conf {
	char *path;             /* the file read, or NULL */
	char *db_url;
	char *jwt_secret;       /* auth.jwt_secret: signs md-user tokens */
	double token_ttl;       /* auth.token_ttl: default lifetime of a token */
	char *storage;
	struct storage_conf s3;   /* storage: endpoint, region, keys... (s3://) */
	int log_format;         /* enum log_format; AUTO unless set */
	int log_level;

	int keep_originals;
	int umask;              /* storage.umask: the umask of every tool (027) */

	int worker_jobs;        /* 0: auto */
	int worker_threads;
	int worker_batch;       /* largest claim of short jobs */
	double lease;           /* seconds, at least LEASE_MIN */
	double heartbeat;       /* seconds between a worker's heartbeats */
	double job_timeout;     /* at least 1 s */
	double stall_timeout;   /* ffmpeg without progress this long is stopped:
				 * 0 (off) or at least 5 s */
	double retry_base;
	double retry_max;
	int max_attempts;
	double poll_interval;   /* 100 ms to 1 d */
	double grace;
	int nice;
	/* limits of every job command (see conf_cpu_limit) */
	uint64_t rlimit_as;     /* worker.memory_limit, bytes, 0: unlimited,
				 * MEMORY_AUTO: from threads */
	uint64_t rlimit_fsize;  /* worker.file_size_limit, bytes, 0: unlimited */
	double rlimit_cpu;      /* worker.cpu_limit, seconds, 0: unlimited,
				 * < 0: job_timeout x threads */
	int sandbox;            /* worker.sandbox: Landlock confinement */

	uint64_t max_bytes;
	double max_duration;
	int max_width;
	int max_height;
	int64_t max_frames;
	double max_pixels_frames;
	double probe_timeout;
	/* md-janitor (janitor.*): see md-janitor(1) */
	double jan_stuck_after;         /* a processing post with no job left this long fails */
	double jan_pending_after;       /* a pending post with no job this long is enqueued */
	double jan_orphan_grace;        /* temp, work and unreferenced files older than this go */
	double jan_retention;           /* finished, finalized jobs older than this are pruned */
	char *jan_profiles;             /* comma-separated: what pending posts get */
	/* the built-in profiles frames and web (frames.h, web.h) */
	double frames_fps;              /* frames.fps: frames a second */
	int frames_max;                 /* frames.max: frames at most */
	int web_max_side;               /* web.max_side */
	int web_webp;                   /* web.format: webp, else jpeg */
	int thumb_webp;                 /* thumb.format: webp, else jpeg */

	int nprofiles;
	struct profile *profiles;

	int hls_ladder[HLS_MAX_RUNGS];  /* hls.ladder: short sides, sorted */
	int hls_nladder;
};

void conf_init(struct conf *c);
int conf_load(struct conf *c, const char *flag_path);
/*
 * The YAML text buf[len] as if read from a file called name (for the
 * messages), with no search and no permission checks.  Returns 0 or
 * MD_EXIT_CONFIG, like conf_load; never exits (short of memory).
 */
int conf_load_buffer(struct conf *c, const char *name, const char *buf, size_t len);
void conf_apply_env(struct conf *c);
void conf_release(struct conf *c);

/*
 * SIGHUP: read the configuration again (c->path, or the search of
 * conf_load when no file was read) and apply the environment.  The
 * database, the storage and the log settings stay as they are: the tool
 * holds them open.  Returns 0 with *c replaced, or MD_EXIT_CONFIG with *c
 * untouched after conf_load logged what is wrong.
 */
int conf_reload(struct conf *c);

/* Profile by name, or NULL. */
const struct profile *conf_profile(const struct conf *c, const char *name);

#define MEMORY_AUTO UINT64_MAX

/*
 * The address-space limit of a job command in bytes, 0 for none:
 * memory_limit when set, else 512 MiB x (threads + 2).
 */
uint64_t conf_memory_limit(const struct conf *c);

/*
 * The CPU time limit of a job command in seconds, 0 for none: cpu_limit
 * when set, else job_timeout x threads (a step that keeps its threads busy
 * for the whole job timeout).
 */
double conf_cpu_limit(const struct conf *c);

/*
 * The largest decoded frame a job command may make, in pixels: the
 * width x height limits, each rounded up by 128 for the codecs' padding.
 */
long long conf_max_pixels(const struct conf *c);

/*
 * The value parsers, one per kind, used by the config file and by every
 * command-line option alike.  Each returns 0 and sets its output, or -1
 * for anything outside its grammar or range; the output is then left
 * alone.  None accepts signs (but parse_int's '-'), spaces, exponents,
 * hex, inf or nan, so no value can overflow a conversion later.
 *
 * parse_duration: DIGITS[.DIGITS][UNIT], UNIT one of ms s m h d (none:
 * seconds), into seconds in [0, DURATION_MAX]: "30s", "1.5h", "7d".
 * parse_size: DIGITS[.DIGITS][UNIT], UNIT one of B k K kB KB KiB M MB MiB
 * G GB GiB T TB TiB (none: bytes), into bytes up to UINT64_MAX.
 * parse_int: an optional '-' and decimal digits, within [min, max].
 * parse_time: a UTC time "YYYY-MM-DDTHH:MM:SS[.FRACTION][Z|+00:00]" (a
 * space instead of the T too) from 1970 to 9999, or "@SECONDS" since the
 * epoch up to TIME_MAX, into seconds since the epoch.
 */
#define DURATION_MAX 3155760000.0       /* 100 years of 365.25 days: 36525d */
#define TIME_MAX 253402300799LL         /* 9999-12-31T23:59:59Z */

int parse_duration(const char *s, double *secs);
int parse_size(const char *s, uint64_t *bytes);
int parse_int(const char *s, long long min, long long max, long long *out);
int parse_time(const char *s, double *t);

/* $MD_HOME, or $XDG_DATA_HOME/memedroid, or ~/.local/share/memedroid. */
char *md_home(void);

#endif
