-- Jobs are found by media through a B-tree on a 64-bit hash of the media
-- hash, not on the 64-character text itself.  Media hashes are random, so
-- every new job landed on a random leaf of the (media, profile) index: on
-- a bulk enqueue that index cost as much as the table and the other four
-- indexes together.  An 8-byte key is a quarter of the size, many jobs of
-- one media share a posting list, and a lookup is
--     hashtextextended(media, 0) = hashtextextended($1, 0) AND media = $1
-- (the second term settles the rare collision).  A hash index would have
-- done the same for single jobs but chains every job of one media in one
-- bucket.
DROP INDEX jobs_media_profile;
CREATE INDEX jobs_media ON jobs (hashtextextended(media, 0));
