DROP TABLE archive_batches;
