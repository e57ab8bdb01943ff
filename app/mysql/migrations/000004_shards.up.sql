-- Sharding, on shard 0 (the existing database). Nothing reads these tables
-- while DB_SHARD_COUNT is 1.
--
-- shard_map: which shard holds each of the 1024 buckets (bucket = user id
-- mod 1024). A bucket without a row is on shard 0, so the empty table is
-- today's single database.
CREATE TABLE shard_map (
  bucket SMALLINT UNSIGNED NOT NULL PRIMARY KEY,
  shard TINYINT UNSIGNED NOT NULL
) ENGINE=InnoDB;

-- shard_owned: the buckets this database accepts writes for (every shard
-- has one). A write locks its bucket's row in share mode in the same
-- transaction, so a bucket move, which deletes the row under an exclusive
-- lock, is a fence: no write lands on the old shard after it, whatever map
-- the writing server holds. Shard 0 starts owning every bucket.
CREATE TABLE shard_owned (
  bucket SMALLINT UNSIGNED NOT NULL PRIMARY KEY
) ENGINE=InnoDB;

INSERT INTO shard_owned (bucket)
SELECT a.n + 4 * b.n + 16 * c.n + 64 * d.n + 256 * e.n
FROM (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) a
CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) b
CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) c
CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) d
CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) e;

-- id_seq: the sequence of the ids this shard issues with more than one
-- shard (id = 1<<52 | seq<<14 | shard<<10 | bucket).
CREATE TABLE id_seq (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY
) ENGINE=InnoDB;

-- moved_ids: rows moved off shard 0 whose id does not carry their user's
-- bucket (ids issued before sharding), so GET /api/posts/{id} finds them
-- with one lookup instead of asking every shard.
CREATE TABLE moved_ids (
  kind VARCHAR(8) NOT NULL,
  id BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  PRIMARY KEY (kind, id)
) ENGINE=InnoDB;
