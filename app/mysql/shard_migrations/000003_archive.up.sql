-- As migrations/000003_archive on shard 0: the archive job's progress, one
-- row per batch, kept on the shard whose rows it moves (the job runs a pass on
-- every shard's primary; app/archive).
CREATE TABLE archive_batches (
  table_name VARCHAR(64) NOT NULL,
  day DATE NOT NULL,
  first_id BIGINT NOT NULL,
  last_id BIGINT NOT NULL,
  row_count INT NOT NULL,
  checksum BINARY(32) NOT NULL,
  object_key VARCHAR(512) NOT NULL,
  state VARCHAR(16) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (table_name, first_id),
  KEY archive_batches_state (table_name, state, first_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
