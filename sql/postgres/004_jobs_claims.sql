-- How many times the job has been claimed.  Unlike attempts, it never
-- goes down (a release gives the attempt back, not the claim), so the
-- pair (id, claims) names one run of the job: the fencing token.  Every
-- heartbeat, result and state change of a running job is conditional on
-- it, and the files of a run are published under keys that carry it.
ALTER TABLE jobs ADD COLUMN claims integer NOT NULL DEFAULT 0;
