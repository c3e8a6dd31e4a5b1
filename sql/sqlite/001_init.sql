-- memedroid schema, SQLite.  Times are UTC text: 2026-11-25T09:00:00.000Z,
-- so they sort as strings and read well in sqlite3.

CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE,
	email         TEXT UNIQUE,
	password_hash TEXT,
	created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE media (
	sha256     TEXT PRIMARY KEY CHECK (length(sha256) = 64),
	kind       TEXT NOT NULL CHECK (kind IN ('image', 'animated', 'video')),
	mime       TEXT NOT NULL,
	format     TEXT NOT NULL,          -- demuxer the probe accepted
	ext        TEXT NOT NULL,          -- extension of the stored original
	bytes      INTEGER NOT NULL,
	width      INTEGER,
	height     INTEGER,
	duration   REAL,
	probe      TEXT NOT NULL DEFAULT '{}',   -- JSON: duration, codecs, fps...
	created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) WITHOUT ROWID;

CREATE TABLE posts (
	id         INTEGER PRIMARY KEY,
	owner      INTEGER NOT NULL REFERENCES users(id),
	media      TEXT NOT NULL REFERENCES media(sha256),
	caption    TEXT NOT NULL DEFAULT '',
	status     TEXT NOT NULL DEFAULT 'pending'
	           CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
	error      TEXT,
	trace_id   TEXT NOT NULL,
	created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
	updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX posts_newest ON posts (created_at DESC, id DESC);
CREATE INDEX posts_status_newest ON posts (status, created_at DESC, id DESC);
CREATE INDEX posts_owner_newest ON posts (owner, created_at DESC, id DESC);
CREATE INDEX posts_media ON posts (media);

CREATE TABLE tags (
	id   INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE
);

CREATE TABLE post_tags (
	post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
	tag_id  INTEGER NOT NULL REFERENCES tags(id),
	PRIMARY KEY (post_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX post_tags_tag ON post_tags (tag_id, post_id);

CREATE TABLE jobs (
	id           INTEGER PRIMARY KEY,
	-- no foreign key: jobs are made only for media the store just resolved
	media        TEXT NOT NULL,
	profile      TEXT NOT NULL,
	queue        TEXT NOT NULL DEFAULT 'default',
	state        TEXT NOT NULL DEFAULT 'available'
	             CHECK (state IN ('available', 'running', 'succeeded', 'dead', 'cancelled')),
	priority     INTEGER NOT NULL DEFAULT 0,
	run_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
	attempts     INTEGER NOT NULL DEFAULT 0,
	max_attempts INTEGER NOT NULL DEFAULT 5,
	locked_by    TEXT,
	lease_until  TEXT,
	last_error   TEXT,
	result       TEXT,                 -- JSON: key, files, bytes, probe
	trace_id     TEXT,
	created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
	started_at   TEXT,
	finished_at  TEXT,
	finalized_at TEXT
);
-- the claim path sees only available jobs, however many finished ones exist
CREATE INDEX jobs_claim ON jobs (priority, run_at, id) WHERE state = 'available';
CREATE INDEX jobs_claim_queue ON jobs (queue, priority, run_at, id) WHERE state = 'available';
CREATE INDEX jobs_media_profile ON jobs (media, profile);
CREATE INDEX jobs_unfinalized ON jobs (id) WHERE finalized_at IS NULL;
CREATE INDEX jobs_running ON jobs (locked_by, lease_until) WHERE state = 'running';

CREATE TABLE renditions (
	media       TEXT NOT NULL REFERENCES media(sha256),
	profile     TEXT NOT NULL,
	storage_key TEXT NOT NULL,
	bytes       INTEGER NOT NULL,
	metadata    TEXT NOT NULL DEFAULT '{}',
	created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
	PRIMARY KEY (media, profile)
) WITHOUT ROWID;

-- the feed cache: md-finalize bumps the version whenever posts change,
-- md-feed --out re-renders only when it moved
CREATE TABLE feed_state (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	version    INTEGER NOT NULL,
	changed_at TEXT NOT NULL
);
INSERT INTO feed_state VALUES (1, 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
