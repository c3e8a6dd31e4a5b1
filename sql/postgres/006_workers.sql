-- The workers that run, as each md-work registers itself and heartbeats:
-- md-status lists them, idle ones too, and a worker whose heartbeat
-- stopped is found gone (gone_at) by the next worker or md-janitor, which
-- rescue its running jobs then, without waiting for their leases.
CREATE TABLE workers (
	id         text PRIMARY KEY,            -- host:pid, as in jobs.locked_by
	host       text NOT NULL,
	pid        integer NOT NULL,
	queues     text NOT NULL DEFAULT '',    -- comma-separated; '': every queue
	slots      integer NOT NULL,            -- -j
	version    text NOT NULL,
	started_at timestamptz NOT NULL DEFAULT now(),
	beat_at    timestamptz NOT NULL DEFAULT now(),
	gone_at    timestamptz                  -- when it was found gone
);
CREATE INDEX workers_live ON workers (beat_at) WHERE gone_at IS NULL;
