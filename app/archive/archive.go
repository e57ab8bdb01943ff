// Package archive is the archive job: it moves the rows of posts and photos
// older than a retention window out of MySQL, into Parquet files in the
// object store and from there into the data warehouse (Redshift), so that
// MySQL keeps only a limited period of data (the seed: "store only a limited
// time period of data in the database, while storing the rest in a data
// warehouse such as Redshift").
//
// A pass (Job.Run) takes a MySQL named lock, then, per table, finishes any
// batch an earlier pass left halfway and archives the oldest whole UTC days
// past the window, one day at a time, each day in batches of at most
// BatchRows rows in id order. Each batch goes through the same steps, each
// recorded in the archive_batches table before the next starts:
//
//	written   its rows' count and checksum are recorded, then its Parquet
//	          file is written to the object store, under
//	          PREFIX + TABLE/dt=YYYY-MM-DD/part-FIRSTID-LASTID.parquet
//	          (.../dt=YYYY-MM-DD/shard=N/part-... for content shard N > 0)
//	verified  the object was read back and its row count and checksum match
//	          the rows read from MySQL
//	loaded    the warehouse holds exactly the file's rows (skipped when no
//	          warehouse is configured)
//	deleted   the rows are deleted from MySQL, in the transaction that
//	          records this state
//
// So a crash at any point leaves a batch in a known state, and the next pass
// resumes it from there: a row is deleted from MySQL only once a verified
// copy of it is in the object store (and loaded), and loading a file twice
// leaves its rows in the warehouse once (LoadStatements).
//
// With sharded content, a pass runs on each shard's primary (Job.Shard), each
// with its own archive_batches and lock; all load the same warehouse tables.
//
// The package imports no other adapter: it is given the primary's pool, an
// app.BlobStore and a Warehouse, and cmd/scaling-app wires them.
package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/scaling-aws/scaling-aws/app"
)

// Steps at which Job.Crash is called: each names what has just become
// durable, so a test can stop the pass at any point of a batch's life.
const (
	// StepRecorded: the batch is recorded in state written, its object is
	// not written yet.
	StepRecorded = "recorded"
	// StepWritten: the object is written.
	StepWritten = "written"
	// StepVerify: the object was read back and matched; state not updated.
	StepVerify = "verify"
	// StepVerified: the batch is recorded in state verified.
	StepVerified = "verified"
	// StepLoad: the warehouse load committed; state not updated.
	StepLoad = "load"
	// StepLoaded: the batch is recorded in state loaded.
	StepLoaded = "loaded"
	// StepDelete: the rows are deleted in the open transaction, which
	// rolls back if Crash returns an error.
	StepDelete = "delete"
	// StepDeleted: the deletion and state deleted are committed.
	StepDeleted = "deleted"
)

// Batch states in archive_batches.state.
const (
	stateWritten  = "written"
	stateVerified = "verified"
	stateLoaded   = "loaded"
	stateDeleted  = "deleted"
)

// Defaults of Job.
const (
	// DefaultBatchRows is the default of Job.BatchRows: 10,000 rows of at
	// most 1 KB (posts) make a Parquet file of at most about 10 MB, held in
	// memory twice (rows and file) by the job; a DELETE of 10,000 rows by
	// primary key holds its row locks for milliseconds and makes one binlog
	// event of at most about 10 MB, which the replicas apply without
	// lagging; and COPY loads such a file in seconds (Redshift advises files
	// of 1 MB to 1 GB after compression). A day at the seed's load (1 TB of
	// new content a month, about 33 million posts a day) is then about 3,300
	// files.
	DefaultBatchRows = 10000
	// DefaultPrefix is the default of Job.Prefix.
	DefaultPrefix = "archive/"
	// DefaultLockWait is the default of Job.LockWait: long enough to ride
	// out a previous pass releasing the lock, short enough that a second
	// runner exits at once.
	DefaultLockWait = 10 * time.Second
	// DefaultCallTimeout is the default of Job.CallTimeout: a statement or
	// object-store call on one batch of at most a few MB takes well under a
	// second; two minutes leaves room for a loaded server, not a hung one.
	DefaultCallTimeout = 2 * time.Minute
	// maxRedo bounds how many times one batch is archived again because its
	// rows changed (a user edited or deleted a post) between the read and
	// the delete.
	maxRedo = 3
)

// Warehouse runs SQL statements in the data warehouse. Redshift implements
// it; tests record the statements.
type Warehouse interface {
	// Exec runs the statements in order as one transaction and waits until
	// it has committed: all of them take effect, or none.
	Exec(ctx context.Context, sqls []string) error
}

// Job is one archive pass's configuration. Run runs a pass.
type Job struct {
	// DB is the MySQL primary's pool (archive reads must see the latest
	// writes, and it deletes), with times parsed in UTC (mysql.Config's
	// settings). Required.
	DB *sql.DB
	// Blobs is the archive bucket. Encryption at rest is the bucket's
	// default (SSE), set by the infrastructure. Required.
	Blobs app.BlobStore
	// Bucket is the archive bucket's name, for the s3:// URIs of COPY.
	// Required.
	Bucket string
	// Prefix starts every object key. Default: DefaultPrefix.
	Prefix string
	// Shard is the content shard DB is the primary of (0 to 15), which names
	// its files apart: shard=N/ after the day for N > 0. Default: 0, the
	// database of users (and the only one when content is not sharded).
	Shard int
	// RetentionDays is the window kept in MySQL: a UTC day is archived once
	// all of it is older than now minus RetentionDays days. Required, 1 to
	// 3650.
	RetentionDays int
	// BatchRows is the most rows per batch (one file). Default:
	// DefaultBatchRows.
	BatchRows int
	// Tables are the tables archived, among TableNames. Default: all of
	// TableNames.
	Tables []string
	// Warehouse receives each file. Nil: the load step is skipped (the
	// files are still written and verified) and the pass logs so.
	Warehouse Warehouse
	// CopyRoleARN is the IAM role Redshift assumes to read the bucket in
	// COPY. Required with Warehouse.
	CopyRoleARN string
	// LockWait is how long a pass waits for the named lock before deciding
	// another pass holds it. Default: DefaultLockWait.
	LockWait time.Duration
	// CallTimeout bounds each MySQL statement and object-store call.
	// Default: DefaultCallTimeout.
	CallTimeout time.Duration
	// Now is the clock. Default: time.Now.
	Now app.Clock
	// Logger receives one line per batch and per pass. Default:
	// slog.Default().
	Logger *slog.Logger
	// Crash, when set (tests only), is called with each Step* as it is
	// reached; an error it returns stops the pass there, as a crash would.
	Crash func(step string) error
}

// Result sums up a pass.
type Result struct {
	// Locked is true when another pass held the lock: this one did nothing.
	Locked bool
	// Batches and Rows count the batches finished (state deleted) and their
	// rows, resumed ones included.
	Batches int
	Rows    int64
	// Days are the days archived, as table/YYYY-MM-DD.
	Days []string
}

// LockName is the MySQL named lock a pass holds, one per database. MySQL
// and MariaDB cap lock names at 64 characters: a long database name is
// hashed.
func LockName(database string) string {
	const p = "scaling-app-archive:"
	if len(p)+len(database) > 64 {
		h := sha256.Sum256([]byte(database))
		return p + hex.EncodeToString(h[:])[:40]
	}
	return p + database
}

func (j *Job) withDefaults() (*Job, error) {
	o := *j
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.BatchRows <= 0 {
		o.BatchRows = DefaultBatchRows
	}
	if o.Tables == nil {
		o.Tables = TableNames
	}
	if o.LockWait <= 0 {
		o.LockWait = DefaultLockWait
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Crash == nil {
		o.Crash = func(string) error { return nil }
	}
	switch {
	case o.DB == nil || o.Blobs == nil:
		return nil, errors.New("archive: Job needs DB and Blobs")
	case o.Bucket == "":
		return nil, errors.New("archive: Job needs Bucket")
	case o.RetentionDays < 1 || o.RetentionDays > 3650:
		return nil, fmt.Errorf("archive: RetentionDays %d must be 1 to 3650", o.RetentionDays)
	case o.Shard < 0 || o.Shard > 15:
		return nil, fmt.Errorf("archive: Shard %d must be 0 to 15", o.Shard)
	case o.Warehouse != nil && o.CopyRoleARN == "":
		return nil, errors.New("archive: a Warehouse needs CopyRoleARN")
	}
	for _, t := range o.Tables {
		if tables[t] == nil {
			return nil, fmt.Errorf("archive: unknown table %q, want one of %s", t, strings.Join(TableNames, ", "))
		}
	}
	return &o, nil
}

// Run runs one pass: it returns when every table is archived up to the
// window, with an error at the first failure (the next pass resumes from
// there), or at once with Result.Locked when another pass holds the lock.
// Cancelling ctx stops the pass between statements, as a crash would.
func (j *Job) Run(ctx context.Context) (*Result, error) {
	o, err := j.withDefaults()
	if err != nil {
		return nil, err
	}
	// The named lock belongs to this connection: held while the connection
	// lives, released by the server if the job dies.
	lctx, cancel := context.WithTimeout(ctx, o.LockWait+o.CallTimeout)
	defer cancel()
	conn, err := o.DB.Conn(lctx)
	if err != nil {
		return nil, fmt.Errorf("archive: connect to MySQL: %w", err)
	}
	defer conn.Close()
	var dbName sql.NullString
	if err := conn.QueryRowContext(lctx, "SELECT DATABASE()").Scan(&dbName); err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	lock := LockName(dbName.String)
	var got sql.NullInt64
	if err := conn.QueryRowContext(lctx, "SELECT GET_LOCK(?, ?)", lock, int(math.Ceil(o.LockWait.Seconds()))).Scan(&got); err != nil {
		return nil, fmt.Errorf("archive: take lock %s: %w", lock, err)
	}
	if !got.Valid {
		return nil, fmt.Errorf("archive: take lock %s: the server returned NULL (an error)", lock)
	}
	if got.Int64 != 1 {
		o.Logger.Info("archive: another pass holds the lock, nothing to do", "lock", lock, "waited", o.LockWait)
		return &Result{Locked: true}, nil
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		conn.ExecContext(rctx, "DO RELEASE_LOCK(?)", lock)
	}()
	p := &pass{Job: o, conn: conn, lock: lock, res: &Result{}}
	now := o.Now().UTC()
	p.cutoff = now.AddDate(0, 0, -o.RetentionDays)
	o.Logger.Info("archive: pass started", "shard", o.Shard, "retention_days", o.RetentionDays, "cutoff", p.cutoff,
		"tables", o.Tables, "batch_rows", o.BatchRows, "warehouse", o.Warehouse != nil)
	if o.Warehouse == nil {
		o.Logger.Info("archive: no warehouse configured (WAREHOUSE_WORKGROUP is empty): " +
			"files are written and verified in the object store, the load step is skipped")
	}
	for _, name := range o.Tables {
		if err := p.table(ctx, tables[name]); err != nil {
			return p.res, err
		}
	}
	o.Logger.Info("archive: pass done", "batches", p.res.Batches, "rows", p.res.Rows, "days", p.res.Days)
	return p.res, nil
}

// pass is the state of one Run.
type pass struct {
	*Job
	conn   *sql.Conn
	lock   string
	cutoff time.Time
	res    *Result
}

// record is one row of archive_batches.
type record struct {
	day         time.Time
	first, last int64
	n           int
	sum         []byte
	key         string
	state       string
}

func (p *pass) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, p.CallTimeout)
}

// checkLock fails when this pass no longer holds the lock (its connection
// was lost and the server released it), so two passes never interleave.
func (p *pass) checkLock(ctx context.Context) error {
	ctx, cancel := p.call(ctx)
	defer cancel()
	var mine sql.NullInt64
	if err := p.conn.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?) = CONNECTION_ID()", p.lock).Scan(&mine); err != nil {
		return fmt.Errorf("archive: check lock %s: %w", p.lock, err)
	}
	if !mine.Valid || mine.Int64 != 1 {
		return fmt.Errorf("archive: lost lock %s", p.lock)
	}
	return nil
}

func (p *pass) table(ctx context.Context, t table) error {
	recs, err := p.unfinished(ctx, t)
	if err != nil {
		return err
	}
	for _, r := range recs {
		p.Logger.Info("archive: resuming batch", "table", t.name(), "day", r.day.Format(time.DateOnly),
			"first_id", r.first, "last_id", r.last, "state", r.state)
		if err := p.finish(ctx, t, r); err != nil {
			return err
		}
	}
	done := map[time.Time]bool{}
	for {
		if err := p.checkLock(ctx); err != nil {
			return err
		}
		var oldest sql.NullTime
		cctx, cancel := p.call(ctx)
		err := p.DB.QueryRowContext(cctx, "SELECT MIN(created_at) FROM "+t.name()).Scan(&oldest)
		cancel()
		if err != nil {
			return fmt.Errorf("archive: oldest row of %s: %w", t.name(), err)
		}
		if !oldest.Valid {
			return nil
		}
		day := oldest.Time.UTC().Truncate(24 * time.Hour)
		if day.AddDate(0, 0, 1).After(p.cutoff) {
			return nil
		}
		if done[day] {
			return fmt.Errorf("archive: rows of %s created on %s are still in MySQL after archiving that day",
				t.name(), day.Format(time.DateOnly))
		}
		if err := p.day(ctx, t, day); err != nil {
			return err
		}
		done[day] = true
		p.res.Days = append(p.res.Days, t.name()+"/"+day.Format(time.DateOnly))
	}
}

// day archives every row of t created on day, batch by batch in id order.
func (p *pass) day(ctx context.Context, t table, day time.Time) error {
	var lo, hi sql.NullInt64
	cctx, cancel := p.call(ctx)
	err := p.DB.QueryRowContext(cctx, "SELECT MIN(id), MAX(id) FROM "+t.name()+
		" WHERE created_at >= ? AND created_at < ?", day, day.AddDate(0, 0, 1)).Scan(&lo, &hi)
	cancel()
	if err != nil {
		return fmt.Errorf("archive: id span of %s on %s: %w", t.name(), day.Format(time.DateOnly), err)
	}
	p.Logger.Info("archive: archiving day", "table", t.name(), "day", day.Format(time.DateOnly),
		"first_id", lo.Int64, "last_id", hi.Int64)
	for cursor := lo.Int64; lo.Valid && cursor <= hi.Int64; {
		if err := p.checkLock(ctx); err != nil {
			return err
		}
		cctx, cancel := p.call(ctx)
		b, err := t.read(cctx, p.DB, day, cursor, hi.Int64, p.BatchRows, false)
		cancel()
		if err != nil {
			return fmt.Errorf("archive: %w", err)
		}
		if b.n == 0 {
			return nil
		}
		r := &record{day: day, first: b.first, last: b.last, key: p.key(t, day, b.first, b.last)}
		if err := p.write(ctx, t, r, b, true); err != nil {
			return err
		}
		if err := p.finish(ctx, t, r); err != nil {
			return err
		}
		cursor = b.last + 1
	}
	return nil
}

func (p *pass) key(t table, day time.Time, first, last int64) string {
	shard := ""
	if p.Shard > 0 {
		shard = fmt.Sprintf("shard=%d/", p.Shard)
	}
	return fmt.Sprintf("%s%s/dt=%s/%spart-%d-%d.parquet", p.Prefix, t.name(), day.Format(time.DateOnly), shard, first, last)
}

func (p *pass) unfinished(ctx context.Context, t table) ([]*record, error) {
	ctx, cancel := p.call(ctx)
	defer cancel()
	rows, err := p.DB.QueryContext(ctx, `SELECT day, first_id, last_id, row_count, checksum, object_key, state
		FROM archive_batches WHERE table_name = ? AND state <> ? ORDER BY first_id`, t.name(), stateDeleted)
	if err != nil {
		return nil, fmt.Errorf("archive: read progress of %s: %w", t.name(), err)
	}
	defer rows.Close()
	var out []*record
	for rows.Next() {
		r := &record{}
		if err := rows.Scan(&r.day, &r.first, &r.last, &r.n, &r.sum, &r.key, &r.state); err != nil {
			return nil, fmt.Errorf("archive: read progress of %s: %w", t.name(), err)
		}
		r.day = r.day.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// write records r in state written with b's count and checksum (a new
// record when insert is set), then puts b's file under r.key. Recording
// first means no object is ever left that no record names: after a crash
// between the two, verify finds the object missing and writes it again
// from the rows then in MySQL, under the same key. Writing again
// overwrites: the object then holds the rows now in MySQL.
func (p *pass) write(ctx context.Context, t table, r *record, b *batch, insert bool) error {
	data, err := b.encode()
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	now := p.Now().UTC()
	cctx, cancel := p.call(ctx)
	var res sql.Result
	if insert {
		res, err = p.DB.ExecContext(cctx, `INSERT INTO archive_batches
			(table_name, day, first_id, last_id, row_count, checksum, object_key, state, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.name(), r.day.Format(time.DateOnly), r.first, r.last, b.n, b.sum, r.key, stateWritten, now, now)
	} else {
		res, err = p.DB.ExecContext(cctx, `UPDATE archive_batches SET row_count = ?, checksum = ?, state = ?, updated_at = ?
			WHERE table_name = ? AND first_id = ? AND state = ?`, b.n, b.sum, stateWritten, now, t.name(), r.first, r.state)
	}
	cancel()
	if err == nil {
		err = onlyOne(res, r)
	}
	if err != nil {
		return fmt.Errorf("archive: record batch %s: %w", r.key, err)
	}
	r.n, r.sum, r.state = b.n, b.sum, stateWritten
	if err := p.Crash(StepRecorded); err != nil {
		return err
	}
	cctx, cancel = p.call(ctx)
	err = p.Blobs.PutBlob(cctx, r.key, "application/vnd.apache.parquet", bytes.NewReader(data), int64(len(data)))
	cancel()
	if err != nil {
		return fmt.Errorf("archive: write %s: %w", r.key, err)
	}
	return p.Crash(StepWritten)
}

// setState records r's new state, if its record is still in r's state:
// only one pass moves a batch on, even if two ever ran at once (a pass that
// lost its lock between two checks).
func (p *pass) setState(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, t table, r *record, state string) error {
	ctx, cancel := p.call(ctx)
	defer cancel()
	res, err := q.ExecContext(ctx, `UPDATE archive_batches SET state = ?, updated_at = ?
		WHERE table_name = ? AND first_id = ? AND state = ?`, state, p.Now().UTC(), t.name(), r.first, r.state)
	if err == nil {
		err = onlyOne(res, r)
	}
	if err != nil {
		return fmt.Errorf("archive: record batch %s %s: %w", r.key, state, err)
	}
	r.state = state
	return nil
}

// onlyOne checks that a statement on r's record matched it (the driver
// counts matched rows: mysql.Config sets ClientFoundRows).
func onlyOne(res sql.Result, r *record) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("its record is no longer in state %s: another pass moved it on", r.state)
	}
	return nil
}

// finish takes r from its recorded state to deleted.
func (p *pass) finish(ctx context.Context, t table, r *record) error {
	for redo := 0; ; {
		switch {
		case r.state == stateWritten:
			err := p.verify(ctx, t, r)
			if app.ErrorCode(err) != app.ENOTFOUND {
				if err != nil {
					return err
				}
				continue
			}
			if redo++; redo > maxRedo {
				return fmt.Errorf("archive: object %s is still missing after writing it %d times", r.key, maxRedo)
			}
			p.Logger.Warn("archive: object missing (a pass stopped before writing it): writing it again",
				"table", t.name(), "object", r.key)
			cctx, cancel := p.call(ctx)
			cur, err := t.read(cctx, p.DB, r.day, r.first, r.last, 0, false)
			cancel()
			if err != nil {
				return fmt.Errorf("archive: %w", err)
			}
			if err := p.write(ctx, t, r, cur, false); err != nil {
				return err
			}
		case r.state == stateVerified && p.Warehouse != nil:
			if err := p.load(ctx, t, r); err != nil {
				return err
			}
		case r.state == stateVerified || r.state == stateLoaded:
			cur, err := p.delete(ctx, t, r)
			if err != nil {
				return err
			}
			if cur == nil {
				p.res.Batches++
				p.res.Rows += int64(r.n)
				p.Logger.Info("archive: batch archived", "table", t.name(), "day", r.day.Format(time.DateOnly),
					"first_id", r.first, "last_id", r.last, "rows", r.n, "object", r.key,
					"loaded", p.Warehouse != nil)
				return nil
			}
			if redo++; redo > maxRedo {
				return fmt.Errorf("archive: the rows of %s (ids %d to %d) changed %d times while being archived; "+
					"the next pass tries again", t.name(), r.first, r.last, maxRedo)
			}
			p.Logger.Warn("archive: rows changed since they were archived (a post edited or deleted): archiving the batch again",
				"table", t.name(), "first_id", r.first, "last_id", r.last, "rows_archived", r.n, "rows_now", cur.n)
			if err := p.write(ctx, t, r, cur, false); err != nil {
				return err
			}
		case r.state == stateDeleted:
			return nil
		default:
			return fmt.Errorf("archive: batch %s has unknown state %q", r.key, r.state)
		}
	}
}

// verify reads r's object back and checks that it holds r's rows.
func (p *pass) verify(ctx context.Context, t table, r *record) error {
	cctx, cancel := p.call(ctx)
	defer cancel()
	rc, _, err := p.Blobs.Blob(cctx, r.key)
	if app.ErrorCode(err) == app.ENOTFOUND {
		return err
	}
	if err != nil {
		return fmt.Errorf("archive: read back %s: %w", r.key, err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return fmt.Errorf("archive: read back %s: %w", r.key, err)
	}
	got, err := t.decode(data)
	if err != nil {
		return fmt.Errorf("archive: verify %s: %w; nothing is deleted from MySQL", r.key, err)
	}
	if got.n != r.n || !bytes.Equal(got.sum, r.sum) || got.n > 0 && (got.first < r.first || got.last > r.last) {
		return fmt.Errorf("archive: verify %s: the object holds %d rows (ids %d to %d, sha256 %x), MySQL had %d "+
			"(ids %d to %d, sha256 %x): the object was changed or damaged; nothing is deleted from MySQL, "+
			"and the batch stays in state written until the object is deleted and the row in archive_batches "+
			"for table %s first_id %d with it (the next pass then archives the rows again)",
			r.key, got.n, got.first, got.last, got.sum, r.n, r.first, r.last, r.sum, t.name(), r.first)
	}
	if err := p.Crash(StepVerify); err != nil {
		return err
	}
	if err := p.setState(ctx, p.DB, t, r, stateVerified); err != nil {
		return err
	}
	return p.Crash(StepVerified)
}

// load replaces, in one warehouse transaction, whatever rows of r's id range
// and day this shard loaded before, and any copy of the file's rows from
// another shard, with the file's: loading a file again (after a crash before
// its state was recorded) leaves its rows there once.
func (p *pass) load(ctx context.Context, t table, r *record) error {
	if err := p.Warehouse.Exec(ctx, LoadStatements(t.name(), t.columnsDDL(), p.Bucket, r.key, p.CopyRoleARN,
		p.Shard, r.day, r.first, r.last)); err != nil {
		return fmt.Errorf("archive: load %s into the warehouse: %w; nothing is deleted from MySQL", r.key, err)
	}
	if err := p.Crash(StepLoad); err != nil {
		return err
	}
	if err := p.setState(ctx, p.DB, t, r, stateLoaded); err != nil {
		return err
	}
	return p.Crash(StepLoaded)
}

// delete deletes r's rows from MySQL if they are still exactly the rows
// archived, and records state deleted in the same transaction. When they
// changed (edited or deleted by their user since), it deletes nothing and
// returns them as they are now, to be archived again.
func (p *pass) delete(ctx context.Context, t table, r *record) (*batch, error) {
	cctx, cancel := p.call(ctx)
	defer cancel()
	tx, err := p.DB.BeginTx(cctx, nil)
	if err != nil {
		return nil, fmt.Errorf("archive: delete batch %s: %w", r.key, err)
	}
	defer tx.Rollback()
	// The record first, FOR UPDATE: a pass that would delete the same batch
	// waits here, then finds it deleted (and must not take the rows' absence
	// for a change to archive again).
	var state string
	if err := tx.QueryRowContext(cctx, "SELECT state FROM archive_batches WHERE table_name = ? AND first_id = ? FOR UPDATE",
		t.name(), r.first).Scan(&state); err != nil {
		return nil, fmt.Errorf("archive: delete batch %s: read its record: %w", r.key, err)
	}
	if state != r.state {
		return nil, fmt.Errorf("archive: delete batch %s: its record is in state %s, not %s: another pass moved it on",
			r.key, state, r.state)
	}
	// FOR UPDATE: no user can change these rows between the check and the
	// delete.
	cur, err := t.read(cctx, tx, r.day, r.first, r.last, 0, true)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	if cur.n != r.n || !bytes.Equal(cur.sum, r.sum) {
		return cur, nil
	}
	res, err := tx.ExecContext(cctx, "DELETE FROM "+t.name()+
		" WHERE id BETWEEN ? AND ? AND created_at >= ? AND created_at < ?", r.first, r.last, r.day, r.day.AddDate(0, 0, 1))
	if err != nil {
		return nil, fmt.Errorf("archive: delete batch %s: %w", r.key, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(r.n) {
		return nil, fmt.Errorf("archive: delete batch %s: deleted %d rows, want %d (%v); rolled back", r.key, n, r.n, err)
	}
	prev := r.state
	if err := p.setState(cctx, tx, t, r, stateDeleted); err != nil {
		return nil, err
	}
	if err := p.Crash(StepDelete); err != nil {
		r.state = prev
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		r.state = prev
		return nil, fmt.Errorf("archive: delete batch %s: commit: %w", r.key, err)
	}
	return nil, p.Crash(StepDeleted)
}
