-- The schema of shards 1 and up (DB_SHARD_<i>_*): the content tables of
-- migrations/ (posts 000001, photos 000002) without their FOREIGN KEY to
-- users, which stay on shard 0 (or in the identity database). Ids are
-- always given by the app (they carry the bucket), never AUTO_INCREMENT.
CREATE TABLE posts (
  id BIGINT NOT NULL PRIMARY KEY,
  user_id BIGINT NOT NULL,
  body VARCHAR(1024) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  KEY posts_user (user_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE photos (
  id BIGINT NOT NULL PRIMARY KEY,
  user_id BIGINT NOT NULL,
  status VARCHAR(16) NOT NULL,
  content_type VARCHAR(64) NOT NULL,
  original_key VARCHAR(255) NOT NULL,
  thumb_key VARCHAR(255) NOT NULL DEFAULT '',
  width INT NOT NULL,
  height INT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  KEY photos_user (user_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The buckets this shard accepts writes for: none until a bucket is moved
-- here (scaling-app -move-buckets). See migrations/000004_shards.up.sql.
CREATE TABLE shard_owned (
  bucket SMALLINT UNSIGNED NOT NULL PRIMARY KEY
) ENGINE=InnoDB;

CREATE TABLE id_seq (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY
) ENGINE=InnoDB;
