package archive

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftdata"
	"github.com/aws/aws-sdk-go-v2/service/redshiftdata/types"
)

// WarehouseTable is the warehouse table of a MySQL table: posts go to
// posts_archive.
func WarehouseTable(table string) string { return table + "_archive" }

// StagingTable is the temporary table a load copies one file into before it
// replaces the warehouse table's rows.
func StagingTable(table string) string { return WarehouseTable(table) + "_load" }

// ShardColumn is the column the warehouse tables add to the MySQL table's:
// the content shard whose archive job loaded the row.
const ShardColumn = "shard"

// LoadStatements are the statements that load one file of shard's, holding
// the rows of day with ids first to last, into the warehouse, run as one
// transaction: a merge by replacing existing rows through a staging table
// (Redshift developer guide, "Performing a merge operation by replacing
// existing rows"):
//
//  1. CREATE TABLE IF NOT EXISTS, so a new warehouse needs no setup step:
//     the MySQL columns and shard, sorted by created_at (the warehouse's
//     queries are by time, and every statement below is pruned to one day);
//  2. CREATE TEMP TABLE, the staging table with the file's columns, private
//     to the session;
//  3. COPY of the file into it, by position (Parquet columns in order);
//  4. DELETE of this shard's rows of the file's id range and day: exactly
//     what an earlier load of this file put there, including rows deleted
//     from MySQL since (ranges of one shard's files of a day do not overlap;
//     the shards' ids interleave, so the range alone would reach other
//     shards' rows);
//  5. DELETE of the rows with the file's ids from any other shard, within the
//     day (a row a bucket move copied, archived on both shards; ids are
//     unique across shards, so that is the same row);
//  6. INSERT of the file's rows, tagged with the shard; 7. DROP of the
//     staging table.
//
// So loading a file again leaves its rows there once, as the file has them.
// COPY reads every object whose key starts with the path given; the keys
// end in ".parquet", so no other file of the job starts with this one's.
func LoadStatements(table, columnsDDL, bucket, key, roleARN string, shard int, day time.Time, first, last int64) []string {
	wt, st := WarehouseTable(table), StagingTable(table)
	from, to := day.Format(time.DateOnly)+" 00:00:00", day.AddDate(0, 0, 1).Format(time.DateOnly)+" 00:00:00"
	return []string{
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s, %s SMALLINT NOT NULL) SORTKEY (created_at)", wt, columnsDDL, ShardColumn),
		fmt.Sprintf("CREATE TEMP TABLE %s (%s)", st, columnsDDL),
		fmt.Sprintf("COPY %s FROM %s IAM_ROLE %s FORMAT AS PARQUET", st, quote("s3://"+bucket+"/"+key), quote(roleARN)),
		fmt.Sprintf("DELETE FROM %s WHERE %s = %d AND id BETWEEN %d AND %d AND created_at >= '%s' AND created_at < '%s'",
			wt, ShardColumn, shard, first, last, from, to),
		fmt.Sprintf("DELETE FROM %s USING %s WHERE %s.id = %s.id AND %s.created_at >= '%s' AND %s.created_at < '%s'",
			wt, st, wt, st, wt, from, wt, to),
		fmt.Sprintf("INSERT INTO %s SELECT %s.*, %d FROM %s", wt, st, shard, st),
		fmt.Sprintf("DROP TABLE %s", st),
	}
}

// quote makes a Redshift string literal. The values quoted (bucket, key,
// role ARN) are checked by the configuration to hold none of these
// characters; quoting is the second line of defence.
func quote(s string) string {
	return "'" + strings.NewReplacer(`'`, `''`, `\`, `\\`).Replace(s) + "'"
}

// DataAPI is the part of the Redshift Data API client Redshift uses.
type DataAPI interface {
	BatchExecuteStatement(ctx context.Context, in *redshiftdata.BatchExecuteStatementInput,
		opts ...func(*redshiftdata.Options)) (*redshiftdata.BatchExecuteStatementOutput, error)
	DescribeStatement(ctx context.Context, in *redshiftdata.DescribeStatementInput,
		opts ...func(*redshiftdata.Options)) (*redshiftdata.DescribeStatementOutput, error)
	CancelStatement(ctx context.Context, in *redshiftdata.CancelStatementInput,
		opts ...func(*redshiftdata.Options)) (*redshiftdata.CancelStatementOutput, error)
}

// Redshift is a Warehouse in a Redshift Serverless workgroup, reached
// through the Redshift Data API (HTTPS, IAM-authenticated: no database
// password, no connection to the cluster's port). With WorkgroupName and
// Database and no secret, the Data API signs in as the caller's IAM
// identity (temporary credentials, redshift-serverless:GetCredentials).
type Redshift struct {
	// Client is the Data API client. Required.
	Client DataAPI
	// Workgroup is the Serverless workgroup name or ARN. Required.
	Workgroup string
	// Database is the database. Required (Serverless creates "dev").
	Database string
	// Timeout bounds one Exec, from submission to commit; on expiry the
	// statement is cancelled (its transaction rolls back). Default: 15
	// minutes (a Serverless workgroup resuming from idle takes a few
	// minutes; loading one file of at most a few MB takes seconds).
	Timeout time.Duration
	// PollInterval is the first wait between two DescribeStatement calls,
	// doubled up to 5s. Default: 500ms.
	PollInterval time.Duration
}

var _ Warehouse = (*Redshift)(nil)

// NewRedshift returns the warehouse of workgroup and database. endpoint,
// when set, replaces AWS's (tests).
func NewRedshift(cfg aws.Config, workgroup, database, endpoint string) *Redshift {
	c := redshiftdata.NewFromConfig(cfg, func(o *redshiftdata.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return &Redshift{Client: c, Workgroup: workgroup, Database: database}
}

// Exec implements Warehouse with BatchExecuteStatement, whose statements
// run serially as one transaction (all roll back if one fails), and polls
// DescribeStatement until the batch has finished, failed or was aborted.
func (r *Redshift) Exec(ctx context.Context, sqls []string) error {
	timeout, poll := r.Timeout, r.PollInterval
	if timeout <= 0 {
		timeout = 15 * time.Minute
	}
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := r.Client.BatchExecuteStatement(ctx, &redshiftdata.BatchExecuteStatementInput{
		Sqls: sqls, WorkgroupName: aws.String(r.Workgroup), Database: aws.String(r.Database),
		StatementName: aws.String("scaling-app-archive"),
	})
	if err != nil {
		return fmt.Errorf("redshift data api: submit to workgroup %s database %s: %w", r.Workgroup, r.Database, err)
	}
	id := aws.ToString(out.Id)
	for {
		d, err := r.Client.DescribeStatement(ctx, &redshiftdata.DescribeStatementInput{Id: aws.String(id)})
		if err == nil {
			switch d.Status {
			case types.StatusStringFinished:
				return nil
			case types.StatusStringFailed, types.StatusStringAborted:
				return fmt.Errorf("redshift data api: statement %s %s: %s", id, d.Status, aws.ToString(d.Error))
			}
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			r.cancel(id)
			if err == nil {
				err = ctx.Err()
			}
			return fmt.Errorf("redshift data api: statement %s not finished within %s, cancelled: %w", id, timeout, err)
		case <-t.C:
		}
		// A describe error (throttling, a network fault) is retried: it only
		// reads.
		poll = min(2*poll, 5*time.Second)
	}
}

// cancel asks, best effort, to cancel statement id, within 10s.
func (r *Redshift) cancel(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.Client.CancelStatement(ctx, &redshiftdata.CancelStatementInput{Id: aws.String(id)})
}
