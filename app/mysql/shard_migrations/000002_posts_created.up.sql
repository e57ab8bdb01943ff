-- The global "latest posts" feed (feed.go) reads each shard's newest posts:
-- a backward scan of this index, LIMIT 100, instead of a full sort.
CREATE INDEX posts_created ON posts (created_at);
