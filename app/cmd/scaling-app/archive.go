package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	drv "github.com/go-sql-driver/mysql"

	"github.com/scaling-aws/scaling-aws/app/archive"
	"github.com/scaling-aws/scaling-aws/app/mysql"
	apps3 "github.com/scaling-aws/scaling-aws/app/s3"
)

// archiveNetTimeout is the MySQL driver's network read and write timeout
// for the archive job, instead of the API's 10s: finding the id span of a
// day reads that day's entries of the created_at index (tens of millions
// at the seed's load), which may take longer than 10s before the answer's
// first byte. Every statement still has a deadline (archive.DefaultCallTimeout).
const archiveNetTimeout = 5 * time.Minute

// runArchive runs one pass of the archive job (APP_ROLE=archive) and
// returns: nil when the pass finished or another pass holds the lock, the
// pass's error otherwise (the process then exits 1 and the next pass
// resumes where this one stopped).
func runArchive(ctx context.Context, cfg *Config, awsCfg aws.Config, dbCfg *drv.Config, log *slog.Logger) error {
	dc := dbCfg.Clone()
	dc.ReadTimeout, dc.WriteTimeout = archiveNetTimeout, archiveNetTimeout
	// Three connections at most are in use: the lock's, one statement's
	// and a delete's transaction.
	db, err := mysql.Open(ctx, dc, nil, mysql.Options{MaxOpenConns: 4, Logger: log})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Ping(ctx); err != nil {
		return fmt.Errorf("archive: the database is not ready (migrations run on the write tier): %w", err)
	}
	job := &archive.Job{
		DB: db.Primary(), Blobs: apps3.New(awsCfg, cfg.ArchiveBucket, cfg.S3Endpoint), Bucket: cfg.ArchiveBucket,
		Prefix: cfg.ArchivePrefix, RetentionDays: cfg.RetentionDays, BatchRows: cfg.ArchiveBatchRows, Logger: log,
	}
	if cfg.WarehouseWorkgroup != "" {
		job.Warehouse = archive.NewRedshift(awsCfg, cfg.WarehouseWorkgroup, cfg.WarehouseDatabase, "")
		job.CopyRoleARN = cfg.WarehouseCopyRoleARN
	}
	if n := len(cfg.DBShards); n > 1 {
		// Rows on shards 1 and up stay in MySQL: the pass's progress table and the
		// warehouse's idempotent load (by id range) are shard 0's (docs/app.md).
		log.Warn("archive: only shard 0 is archived; the other shards keep all their rows", "shards", n)
	}
	if _, err := job.Run(ctx); err != nil {
		log.Error("archive pass failed; the next pass resumes from archive_batches", "err", err)
		return err
	}
	return nil
}
