-- The outbox of md-finalize --exec: one row for each post a finalizer
-- with a hook finished, written in the transaction that finished it and
-- deleted once the hook exited 0, so the hook runs at least once per
-- finished post.  run_at is when the row is due: a finalizer claims a
-- due row by moving run_at past the longest the hook may take, so two
-- finalizers never run one row at once and a finalizer killed before its
-- hook ended leaves the row due again later; a failed hook moves it to
-- its next try.  attempts counts the claims: (id, attempts) names one
-- run of the hook, and only that run may clear or delay the row.  key is
-- the idempotency key the hook is given: the same on every try of the
-- row, new for every row.
CREATE TABLE hook_outbox (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	post_id    bigint NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
	status     text NOT NULL,          -- what the post was finished as
	key        text COLLATE "C" NOT NULL,
	attempts   integer NOT NULL DEFAULT 0,
	run_at     timestamptz NOT NULL DEFAULT now(),
	last_error text,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hook_outbox_due ON hook_outbox (run_at, id);
CREATE INDEX hook_outbox_post ON hook_outbox (post_id);
