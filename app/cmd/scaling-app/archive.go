package main

import (
	"context"
	"errors"
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

// runArchive runs one pass of the archive job (APP_ROLE=archive) on every
// content shard's primary in turn, and returns: nil when every shard's pass
// finished or found another pass holding its lock, the errors of the shards
// that failed otherwise (the process then exits 1 and the next pass resumes
// each where it stopped). A shard that fails does not keep the others from
// being archived.
func runArchive(ctx context.Context, cfg *Config, awsCfg aws.Config, dbCfg *drv.Config, log *slog.Logger) error {
	var errs []error
	for i := range cfg.DBShards {
		if err := archiveShard(ctx, cfg, awsCfg, dbCfg, i, log); err != nil {
			log.Error("archive pass failed; the next pass resumes from archive_batches", "shard", i, "err", err)
			errs = append(errs, fmt.Errorf("shard %d: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// archiveShard runs the pass on shard i's primary.
func archiveShard(ctx context.Context, cfg *Config, awsCfg aws.Config, dbCfg *drv.Config, i int, log *slog.Logger) error {
	dc, open := dbCfg.Clone(), mysql.Open
	if i > 0 {
		dc, open = cfg.shardDBConfig(i, dbCfg), mysql.OpenShard // a clone with the shard's address
	}
	dc.ReadTimeout, dc.WriteTimeout = archiveNetTimeout, archiveNetTimeout
	// Three connections at most are in use: the lock's, one statement's
	// and a delete's transaction.
	db, err := open(ctx, dc, nil, mysql.Options{MaxOpenConns: 4, Logger: log})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Ping(ctx); err != nil {
		return fmt.Errorf("archive: the database is not ready (migrations run on the write tier): %w", err)
	}
	job := &archive.Job{
		DB: db.Primary(), Blobs: apps3.New(awsCfg, cfg.ArchiveBucket, cfg.S3Endpoint), Bucket: cfg.ArchiveBucket,
		Prefix: cfg.ArchivePrefix, Shard: i, RetentionDays: cfg.RetentionDays, BatchRows: cfg.ArchiveBatchRows, Logger: log,
	}
	if cfg.WarehouseWorkgroup != "" {
		job.Warehouse = archive.NewRedshift(awsCfg, cfg.WarehouseWorkgroup, cfg.WarehouseDatabase, "")
		job.CopyRoleARN = cfg.WarehouseCopyRoleARN
	}
	_, err = job.Run(ctx)
	return err
}
