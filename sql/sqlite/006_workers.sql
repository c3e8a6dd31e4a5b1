-- The workers that run, as each md-work registers itself and heartbeats:
-- md-status lists them, idle ones too, and a worker whose heartbeat
-- stopped is found gone (gone_at) by the next worker or md-janitor, which
-- rescue its running jobs then, without waiting for their leases.
CREATE TABLE workers (
	id         TEXT PRIMARY KEY,            -- host:pid, as in jobs.locked_by
	host       TEXT NOT NULL,
	pid        INTEGER NOT NULL,
	queues     TEXT NOT NULL DEFAULT '',    -- comma-separated; '': every queue
	slots      INTEGER NOT NULL,            -- -j
	version    TEXT NOT NULL,
	started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
	beat_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
	gone_at    TEXT                         -- when it was found gone
);
CREATE INDEX workers_live ON workers (beat_at) WHERE gone_at IS NULL;
