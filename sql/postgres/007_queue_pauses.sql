-- Queues paused for maintenance (md-job pause QUEUE): workers claim no job
-- of a queue named here until md-job resume removes it; running jobs go
-- on.  md-status lists them.
CREATE TABLE queue_pauses (
	queue     text PRIMARY KEY,
	paused_by text NOT NULL,                 -- user@host of the md-job run
	paused_at timestamptz NOT NULL DEFAULT now()
);
