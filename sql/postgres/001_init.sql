-- memedroid schema, PostgreSQL.  The same tables and meaning as
-- sql/sqlite/001_init.sql: bigint identity ids, timestamptz times, jsonb
-- for probe metadata, job results and rendition metadata.
-- schema_migrations is created by md-db migrate itself.
--
-- Hashes and names use the "C" collation: they compare and sort byte by
-- byte, as in SQLite (the feed lists tags and renditions in that order),
-- and sorting 64-hex-digit keys stays cheap whatever the database locale.

CREATE TABLE users (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	username      text COLLATE "C" NOT NULL UNIQUE,
	email         text UNIQUE,
	password_hash text,
	created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE media (
	sha256     text COLLATE "C" PRIMARY KEY CHECK (length(sha256) = 64),
	kind       text NOT NULL CHECK (kind IN ('image', 'animated', 'video')),
	mime       text NOT NULL,
	format     text NOT NULL,          -- demuxer the probe accepted
	ext        text NOT NULL,          -- extension of the stored original
	bytes      bigint NOT NULL,
	width      integer,
	height     integer,
	duration   double precision,
	probe      jsonb NOT NULL DEFAULT '{}',   -- duration, codecs, fps...
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE posts (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	owner      bigint NOT NULL REFERENCES users(id),
	media      text COLLATE "C" NOT NULL REFERENCES media(sha256),
	caption    text NOT NULL DEFAULT '',
	status     text NOT NULL DEFAULT 'pending'
	           CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
	error      text,
	trace_id   text COLLATE "C" NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX posts_newest ON posts (created_at DESC, id DESC);
CREATE INDEX posts_status_newest ON posts (status, created_at DESC, id DESC);
CREATE INDEX posts_owner_newest ON posts (owner, created_at DESC, id DESC);
CREATE INDEX posts_media ON posts (media);

CREATE TABLE tags (
	id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text COLLATE "C" NOT NULL UNIQUE
);

CREATE TABLE post_tags (
	post_id bigint NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
	tag_id  bigint NOT NULL REFERENCES tags(id),
	PRIMARY KEY (post_id, tag_id)
);
CREATE INDEX post_tags_tag ON post_tags (tag_id, post_id);

CREATE TABLE jobs (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- no foreign key: jobs are made only for media the store just resolved,
	-- and the per-row check would cost a third of a bulk enqueue
	media        text COLLATE "C" NOT NULL,
	profile      text COLLATE "C" NOT NULL,
	queue        text COLLATE "C" NOT NULL DEFAULT 'default',
	state        text NOT NULL DEFAULT 'available'
	             CHECK (state IN ('available', 'running', 'succeeded', 'dead', 'cancelled')),
	priority     integer NOT NULL DEFAULT 0,
	run_at       timestamptz NOT NULL DEFAULT now(),
	attempts     integer NOT NULL DEFAULT 0,
	max_attempts integer NOT NULL DEFAULT 5,
	locked_by    text,
	lease_until  timestamptz,
	last_error   text,
	result       jsonb,                -- key, files, bytes, probe
	trace_id     text,
	created_at   timestamptz NOT NULL DEFAULT now(),
	started_at   timestamptz,
	finished_at  timestamptz,
	finalized_at timestamptz
);
-- the claim path sees only available jobs, however many finished ones exist
CREATE INDEX jobs_claim ON jobs (priority, run_at, id) WHERE state = 'available';
CREATE INDEX jobs_claim_queue ON jobs (queue, priority, run_at, id) WHERE state = 'available';
CREATE INDEX jobs_media_profile ON jobs (media, profile);
-- by id, not media: ids grow, so bulk inserts append instead of scattering
CREATE INDEX jobs_unfinalized ON jobs (id) WHERE finalized_at IS NULL;
CREATE INDEX jobs_running ON jobs (locked_by, lease_until) WHERE state = 'running';

CREATE TABLE renditions (
	media       text COLLATE "C" NOT NULL REFERENCES media(sha256),
	profile     text COLLATE "C" NOT NULL,
	storage_key text NOT NULL,
	bytes       bigint NOT NULL,
	metadata    jsonb NOT NULL DEFAULT '{}',
	created_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (media, profile)
);

-- the feed cache: md-finalize bumps the version whenever posts change,
-- md-feed --out re-renders only when it moved
CREATE TABLE feed_state (
	id         integer PRIMARY KEY CHECK (id = 1),
	version    bigint NOT NULL,
	changed_at timestamptz NOT NULL
);
INSERT INTO feed_state VALUES (1, 0, now());
