-- How far into its media a running job's ffmpeg step is, in seconds of
-- media time, as md-work last heard from ffmpeg -progress; md-status
-- shows it beside the media's duration.  NULL: not known (no ffmpeg step
-- yet, or a profile without one).  Reset when the job is claimed.
ALTER TABLE jobs ADD COLUMN progress double precision;
