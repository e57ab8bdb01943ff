-- Progress of the archive job (app/archive): one row per batch of rows moved
-- out of MySQL, from the moment its Parquet file is in the object store until
-- its rows are deleted here. The job resumes from this table after a crash at
-- any step. row_count, not rows: ROWS is a reserved word in MySQL 8.
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

-- The job finds the oldest day still in MySQL (MIN(created_at)) and the id
-- span of one day (MIN(id), MAX(id) over a created_at range, the index's
-- entries carrying the primary key): both read this index instead of
-- scanning the table. InnoDB adds a secondary index online (no table lock).
ALTER TABLE posts ADD KEY posts_created (created_at);
ALTER TABLE photos ADD KEY photos_created (created_at);
