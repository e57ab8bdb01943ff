-- Shard 0's schema for federation, applied (into its own migrations table,
-- schema_migrations_federation) only when an identity database is set
-- (IDENTITY_DB_HOST): new users then exist there only, so posts and photos
-- on shard 0 can no longer reference shard 0's users table (shards 1 and
-- up never did). The app never deletes a user and takes a post's user from
-- a session, so the constraints had no effect on what it does; dropping one
-- is a metadata change in InnoDB. Without federation they stay.
ALTER TABLE posts DROP FOREIGN KEY posts_user;
ALTER TABLE photos DROP FOREIGN KEY photos_user;
