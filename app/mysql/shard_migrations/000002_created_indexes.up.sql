-- As migrations/000003_archive on shard 0: the indexes on created_at that
-- the archive job and the latest-posts feed (feed.go: a backward scan of
-- posts_created, LIMIT 100) read instead of sorting the table.
ALTER TABLE posts ADD KEY posts_created (created_at);
ALTER TABLE photos ADD KEY photos_created (created_at);
