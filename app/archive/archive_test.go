package archive_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/parquet-go/parquet-go"

	"github.com/scaling-aws/scaling-aws/app"
	"github.com/scaling-aws/scaling-aws/app/apptest"
	"github.com/scaling-aws/scaling-aws/app/archive"
	"github.com/scaling-aws/scaling-aws/app/mysql"
	apps3 "github.com/scaling-aws/scaling-aws/app/s3"
)

const (
	bucket = "archive-bucket"
	role   = "arn:aws:iam::123456789012:role/warehouse-copy"
)

// now is the test's clock: with 30 days of retention the cutoff is
// 2026-02-08 12:00 UTC, so 02-05, 02-06 and 02-07 are archived and 02-08 is
// not (part of it is inside the window).
var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// post is a post row as the test compares it: times in microseconds.
type post struct {
	ID        int64  `parquet:"id"`
	UserID    int64  `parquet:"user_id"`
	Body      string `parquet:"body"`
	CreatedAt int64  `parquet:"created_at,timestamp(microsecond)"`
	UpdatedAt int64  `parquet:"updated_at,timestamp(microsecond)"`
}

type env struct {
	t       *testing.T
	db      *sql.DB
	backend *s3mem.Backend
	blobs   *apps3.Blobs
	wh      *fakeWarehouse
	logs    *bytes.Buffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	m := apptest.NewMySQL(t)
	ctx := context.Background()
	if err := mysql.Migrate(ctx, m.Primary, slog.Default()); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", mysql.Config(m.Primary).FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	e := &env{t: t, db: db, backend: backend, blobs: apps3.New(apptest.AWSConfig(), bucket, srv.URL), logs: &bytes.Buffer{}}
	e.wh = &fakeWarehouse{blobs: e.blobs}
	return e
}

func (e *env) exec(q string, args ...any) sql.Result {
	e.t.Helper()
	res, err := e.db.Exec(q, args...)
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return res
}

// seed inserts posts on several days, in an order that makes the ids of
// 02-06 and 02-07 interleave (one 02-07 post is written between 02-06 ones,
// as when app servers' clocks differ around midnight), and returns them.
func (e *env) seed() []post {
	e.t.Helper()
	e.exec("INSERT INTO users (id, name, password_hash, created_at) VALUES (1, 'ann', 'x', ?), (2, 'bob', 'x', ?)",
		now.AddDate(-1, 0, 0), now.AddDate(-1, 0, 0))
	at := func(day string, h, m int) time.Time {
		d, _ := time.Parse(time.DateOnly, day)
		return d.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + 123456*time.Microsecond)
	}
	created := []time.Time{
		at("2026-02-05", 0, 0), at("2026-02-05", 1, 0), at("2026-02-05", 9, 0), at("2026-02-05", 12, 0), at("2026-02-05", 23, 59),
		at("2026-02-06", 0, 1), at("2026-02-06", 8, 0), at("2026-02-06", 23, 58),
		at("2026-02-07", 0, 0), // written before the last 02-06 posts
		at("2026-02-06", 23, 59), at("2026-02-06", 23, 59),
		at("2026-02-07", 3, 0), at("2026-02-07", 23, 59),
		at("2026-02-08", 0, 0), at("2026-02-08", 11, 0), // inside the window on its last day
		at("2026-03-01", 10, 0),
	}
	var out []post
	for i, c := range created {
		body := fmt.Sprintf("post %d on %s: 日本語 and 'quotes'", i, c.Format(time.RFC3339Nano))
		res := e.exec("INSERT INTO posts (user_id, body, created_at, updated_at) VALUES (?, ?, ?, ?)",
			1+i%2, body, c, c.Add(time.Minute))
		id, _ := res.LastInsertId()
		out = append(out, post{ID: id, UserID: int64(1 + i%2), Body: body, CreatedAt: c.UnixMicro(),
			UpdatedAt: c.Add(time.Minute).UnixMicro()})
	}
	return out
}

func (e *env) job(crash func(string) error) *archive.Job {
	return &archive.Job{DB: e.db, Blobs: e.blobs, Bucket: bucket, RetentionDays: 30, BatchRows: 2,
		Warehouse: e.wh, CopyRoleARN: role, Tables: []string{"posts"}, LockWait: time.Second,
		Now: func() time.Time { return now }, Crash: crash,
		Logger: slog.New(slog.NewTextHandler(e.logs, nil))}
}

// mysqlPosts are the posts left in MySQL.
func (e *env) mysqlPosts() []post {
	e.t.Helper()
	rows, err := e.db.Query("SELECT id, user_id, body, created_at, updated_at FROM posts ORDER BY id")
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []post
	for rows.Next() {
		var p post
		var c, u time.Time
		if err := rows.Scan(&p.ID, &p.UserID, &p.Body, &c, &u); err != nil {
			e.t.Fatal(err)
		}
		p.CreatedAt, p.UpdatedAt = c.UnixMicro(), u.UnixMicro()
		out = append(out, p)
	}
	return out
}

// objects returns every archived row, read from every object in the bucket
// (sorted by id, duplicates kept), and the keys.
func (e *env) objects() ([]post, []string) {
	e.t.Helper()
	list, err := e.backend.ListBucket(bucket, &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil {
		e.t.Fatal(err)
	}
	var rows []post
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, o.Key)
		rows = append(rows, readObject(e.t, e.blobs, o.Key)...)
	}
	slices.SortFunc(rows, func(a, b post) int { return int(a.ID - b.ID) })
	return rows, keys
}

func readObject(t testing.TB, blobs app.BlobStore, key string) []post {
	t.Helper()
	rows, err := readPosts(blobs, key)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func readPosts(blobs app.BlobStore, key string) ([]post, error) {
	rc, _, err := blobs.Blob(context.Background(), key)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	rows, err := parquet.Read[post](bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("parquet %s: %w", key, err)
	}
	return rows, nil
}

func (e *env) states() map[string]int {
	e.t.Helper()
	rows, err := e.db.Query("SELECT state, COUNT(*) FROM archive_batches GROUP BY state")
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		rows.Scan(&s, &n)
		out[s] = n
	}
	return out
}

func archived(all []post) (old, kept []post) {
	cut := time.Date(2026, 2, 8, 0, 0, 0, 0, time.UTC).UnixMicro()
	for _, p := range all {
		if p.CreatedAt < cut {
			old = append(old, p)
		} else {
			kept = append(kept, p)
		}
	}
	return old, kept
}

// checkEnd checks the exact end state after the last pass: the posts inside
// the window are in MySQL, every other post is in exactly one object and
// once in the warehouse, with the same content, and every batch is deleted.
func (e *env) checkEnd(want []post) {
	e.t.Helper()
	old, kept := archived(want)
	if got := e.mysqlPosts(); !slices.Equal(got, kept) {
		e.t.Errorf("MySQL holds\n%v\nwant\n%v", got, kept)
	}
	if got, _ := e.objects(); !slices.Equal(got, old) {
		e.t.Errorf("the objects hold\n%v\nwant each archived post once\n%v", got, old)
	}
	if got := e.wh.rows("posts_archive"); !slices.Equal(got, old) {
		e.t.Errorf("the warehouse holds\n%v\nwant each archived post once\n%v", got, old)
	}
	st := e.states()
	if len(st) != 1 || st["deleted"] == 0 {
		e.t.Errorf("batch states %v, want all deleted", st)
	}
}

func TestArchive(t *testing.T) {
	e := newEnv(t)
	all := e.seed()
	ctx := context.Background()
	res, err := e.job(nil).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.checkEnd(all)
	old, _ := archived(all)
	// BatchRows 2: 02-05 has 5 posts (3 files), 02-06 5 (3), 02-07 3 (2).
	wantDays := []string{"posts/2026-02-05", "posts/2026-02-06", "posts/2026-02-07"}
	if res.Batches != 8 || res.Rows != int64(len(old)) || !slices.Equal(res.Days, wantDays) || res.Locked {
		t.Errorf("result %+v, want 8 batches of %d rows over %v", res, len(old), wantDays)
	}
	_, keys := e.objects()
	id := func(i int) int64 { return all[i].ID }
	wantKeys := []string{
		fmt.Sprintf("archive/posts/dt=2026-02-05/part-%d-%d.parquet", id(0), id(1)),
		fmt.Sprintf("archive/posts/dt=2026-02-05/part-%d-%d.parquet", id(2), id(3)),
		fmt.Sprintf("archive/posts/dt=2026-02-05/part-%d-%d.parquet", id(4), id(4)),
		fmt.Sprintf("archive/posts/dt=2026-02-06/part-%d-%d.parquet", id(5), id(6)),
		fmt.Sprintf("archive/posts/dt=2026-02-06/part-%d-%d.parquet", id(7), id(9)),
		fmt.Sprintf("archive/posts/dt=2026-02-06/part-%d-%d.parquet", id(10), id(10)),
		fmt.Sprintf("archive/posts/dt=2026-02-07/part-%d-%d.parquet", id(8), id(11)),
		fmt.Sprintf("archive/posts/dt=2026-02-07/part-%d-%d.parquet", id(12), id(12)),
	}
	slices.Sort(keys)
	slices.Sort(wantKeys)
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("object keys\n%v\nwant\n%v", keys, wantKeys)
	}
	// The exact statements of the first file's load.
	stmts := e.wh.batches()
	if len(stmts) != 8 {
		t.Fatalf("%d warehouse transactions, want one per file (8): %v", len(stmts), stmts)
	}
	cols := "id BIGINT NOT NULL, user_id BIGINT NOT NULL, body VARCHAR(1024) NOT NULL, " +
		"created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL"
	want := []string{
		"CREATE TABLE IF NOT EXISTS posts_archive (" + cols + ", shard SMALLINT NOT NULL) SORTKEY (created_at)",
		"CREATE TEMP TABLE posts_archive_load (" + cols + ")",
		fmt.Sprintf("COPY posts_archive_load FROM 's3://archive-bucket/archive/posts/dt=2026-02-05/part-%d-%d.parquet' "+
			"IAM_ROLE 'arn:aws:iam::123456789012:role/warehouse-copy' FORMAT AS PARQUET", id(0), id(1)),
		fmt.Sprintf("DELETE FROM posts_archive WHERE shard = 0 AND id BETWEEN %d AND %d "+
			"AND created_at >= '2026-02-05 00:00:00' AND created_at < '2026-02-06 00:00:00'", id(0), id(1)),
		"DELETE FROM posts_archive USING posts_archive_load WHERE posts_archive.id = posts_archive_load.id " +
			"AND posts_archive.created_at >= '2026-02-05 00:00:00' AND posts_archive.created_at < '2026-02-06 00:00:00'",
		"INSERT INTO posts_archive SELECT posts_archive_load.*, 0 FROM posts_archive_load",
		"DROP TABLE posts_archive_load",
	}
	if !slices.Equal(stmts[0], want) {
		t.Errorf("first load\n%q\nwant\n%q", stmts[0], want)
	}
	// A second pass has nothing to do.
	res, err = e.job(nil).Run(ctx)
	if err != nil || res.Batches != 0 || len(res.Days) != 0 {
		t.Errorf("second pass: %+v, %v; want nothing done", res, err)
	}
	if n := len(e.wh.batches()); n != 8 {
		t.Errorf("second pass issued %d more loads", n-8)
	}
	e.checkEnd(all)
}

var errCrash = errors.New("crash injected by the test")

// TestCrashResume stops a pass at every step of a batch, in the first batch
// and in the middle of a day (the fourth), checks at the crash that no row
// left MySQL without being in the warehouse, then runs a new pass and checks
// the exact end state.
func TestCrashResume(t *testing.T) {
	steps := []string{archive.StepRecorded, archive.StepWritten, archive.StepVerify, archive.StepVerified,
		archive.StepLoad, archive.StepLoaded, archive.StepDelete, archive.StepDeleted}
	for _, step := range steps {
		for _, nth := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s-%d", step, nth), func(t *testing.T) {
				e := newEnv(t)
				all := e.seed()
				calls := 0
				_, err := e.job(func(s string) error {
					if s == step {
						if calls++; calls == nth {
							return errCrash
						}
					}
					return nil
				}).Run(context.Background())
				if !errors.Is(err, errCrash) {
					t.Fatalf("crashing pass: %v, want the injected crash", err)
				}
				inMySQL := map[int64]bool{}
				for _, p := range e.mysqlPosts() {
					inMySQL[p.ID] = true
				}
				loaded := map[int64]post{}
				for _, p := range e.wh.rows("posts_archive") {
					loaded[p.ID] = p
				}
				gone := 0
				for _, p := range all {
					if !inMySQL[p.ID] {
						gone++
						if loaded[p.ID] != p {
							t.Errorf("post %d left MySQL but the warehouse has %+v", p.ID, loaded[p.ID])
						}
					}
				}
				// Batches of 2 rows: the crash at the nth batch's step leaves
				// the batches before it deleted, and that one too only at
				// StepDeleted (after its commit).
				wantGone := map[int]int{1: 0, 4: 5}[nth]
				if step == archive.StepDeleted {
					wantGone = map[int]int{1: 2, 4: 7}[nth]
				}
				if gone != wantGone {
					t.Errorf("%d posts left MySQL at the crash, want %d", gone, wantGone)
				}
				// No object is left that no batch record names (it would be
				// a duplicate for Spectrum, which reads the prefix).
				_, keys := e.objects()
				for _, k := range keys {
					var n int
					e.db.QueryRow("SELECT COUNT(*) FROM archive_batches WHERE object_key = ?", k).Scan(&n)
					if n != 1 {
						t.Errorf("object %s is named by %d batch records, want 1", k, n)
					}
				}
				if _, err := e.job(nil).Run(context.Background()); err != nil {
					t.Fatalf("resuming pass: %v", err)
				}
				e.checkEnd(all)
			})
		}
	}
}

// TestChecksumMismatch overwrites a file after it is written: the pass stops
// at verify, loads nothing and deletes nothing, and so does the next one.
func TestChecksumMismatch(t *testing.T) {
	e := newEnv(t)
	all := e.seed()
	ctx := context.Background()
	first := fmt.Sprintf("archive/posts/dt=2026-02-05/part-%d-%d.parquet", all[0].ID, all[1].ID)
	tampered := append([]post(nil), all[0], all[1])
	tampered[1].Body = "changed in the object store"
	var buf bytes.Buffer
	if err := parquet.Write(&buf, tampered); err != nil {
		t.Fatal(err)
	}
	_, err := e.job(func(s string) error {
		if s == archive.StepWritten {
			return e.blobs.PutBlob(ctx, first, "application/vnd.apache.parquet", bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		}
		return nil
	}).Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "verify "+first) || !strings.Contains(err.Error(), "nothing is deleted") {
		t.Fatalf("pass: %v, want a verify error naming %s", err, first)
	}
	for range 2 {
		if got := e.mysqlPosts(); !slices.Equal(got, all) {
			t.Errorf("MySQL lost posts: %v", got)
		}
		if n := len(e.wh.batches()); n != 0 {
			t.Errorf("%d loads issued, want none", n)
		}
		if st := e.states(); st["written"] != 1 || len(st) != 1 {
			t.Errorf("states %v, want the one batch written", st)
		}
		// The next pass stops at the same place.
		if _, err := e.job(nil).Run(ctx); err == nil || !strings.Contains(err.Error(), "verify "+first) {
			t.Errorf("next pass: %v, want the same verify error", err)
		}
	}
}

// TestLoadFails: a failed warehouse load stops the pass before any delete;
// the next pass loads the file and goes on.
func TestLoadFails(t *testing.T) {
	e := newEnv(t)
	all := e.seed()
	ctx := context.Background()
	e.wh.fail = errors.New("warehouse unreachable")
	_, err := e.job(nil).Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "warehouse unreachable") {
		t.Fatalf("pass: %v, want the load error", err)
	}
	if got := e.mysqlPosts(); !slices.Equal(got, all) {
		t.Errorf("MySQL lost posts after a failed load: %v", got)
	}
	if st := e.states(); st["verified"] != 1 || len(st) != 1 {
		t.Errorf("states %v, want the one batch verified", st)
	}
	e.wh.fail = nil
	if _, err := e.job(nil).Run(ctx); err != nil {
		t.Fatal(err)
	}
	e.checkEnd(all)
}

// TestNoWarehouse: with no warehouse the files are still written and
// verified, the rows deleted, and the log says the load was skipped.
func TestNoWarehouse(t *testing.T) {
	e := newEnv(t)
	all := e.seed()
	j := e.job(nil)
	j.Warehouse = nil
	res, err := j.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	old, kept := archived(all)
	if got := e.mysqlPosts(); !slices.Equal(got, kept) {
		t.Errorf("MySQL holds %v, want %v", got, kept)
	}
	if got, _ := e.objects(); !slices.Equal(got, old) {
		t.Errorf("objects hold %v, want %v", got, old)
	}
	if res.Batches != 8 || len(e.wh.batches()) != 0 {
		t.Errorf("%d batches, %d loads; want 8 and none", res.Batches, len(e.wh.batches()))
	}
	if !strings.Contains(e.logs.String(), "no warehouse configured") {
		t.Errorf("the log does not say the load is skipped:\n%s", e.logs)
	}
}

// TestLock: while another connection holds the lock, a pass waits LockWait,
// says so, returns Locked without an error and touches nothing.
func TestLock(t *testing.T) {
	e := newEnv(t)
	all := e.seed()
	ctx := context.Background()
	conn, err := e.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var dbName string
	conn.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&dbName)
	var got int
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", archive.LockName(dbName)).Scan(&got); err != nil || got != 1 {
		t.Fatalf("take the lock: %d %v", got, err)
	}
	start := time.Now()
	res, err := e.job(nil).Run(ctx)
	if err != nil || res == nil || !res.Locked {
		t.Fatalf("pass while locked: %+v, %v; want Locked and no error", res, err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("returned after %s, want after LockWait (1s)", d)
	}
	if !strings.Contains(e.logs.String(), "another pass holds the lock") {
		t.Errorf("log does not say why:\n%s", e.logs)
	}
	if got := e.mysqlPosts(); !slices.Equal(got, all) {
		t.Errorf("a locked-out pass changed MySQL")
	}
	conn.ExecContext(ctx, "DO RELEASE_LOCK(?)", archive.LockName(dbName))
	if res, err := e.job(nil).Run(ctx); err != nil || res.Locked {
		t.Fatalf("pass after release: %+v %v", res, err)
	}
	e.checkEnd(all)
}

// TestRowsChanged: a user edits one post and deletes every post of another
// batch after they were archived and loaded, before the delete. The pass
// deletes nothing that changed, archives those batches again and ends with
// the edit in the object store and the warehouse and the deleted posts gone
// from both.
func TestRowsChanged(t *testing.T) {
	e := newEnv(t)
	all := e.seed()
	loaded := 0
	res, err := e.job(func(s string) error {
		if s != archive.StepLoaded {
			return nil
		}
		switch loaded++; loaded {
		case 1:
			_, err := e.db.Exec("UPDATE posts SET body = 'edited', updated_at = ? WHERE id = ?", now, all[1].ID)
			return err
		case 3: // the second batch's first load (the 2nd is the first batch's again)
			_, err := e.db.Exec("DELETE FROM posts WHERE id IN (?, ?)", all[2].ID, all[3].ID)
			return err
		}
		return nil
	}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	all[1].Body, all[1].UpdatedAt = "edited", now.UnixMicro()
	all = slices.Delete(all, 2, 4)
	e.checkEnd(all)
	if res.Rows != int64(len(all)-3) {
		t.Errorf("%d rows archived, want %d", res.Rows, len(all)-3)
	}
	// The batch whose posts were all deleted ends as an empty file, loaded
	// again so that the warehouse lost them too.
	emptied := fmt.Sprintf("archive/posts/dt=2026-02-05/part-%d-%d.parquet", all[1].ID+1, all[2].ID-1)
	if rows := readObject(t, e.blobs, emptied); len(rows) != 0 {
		t.Errorf("%s holds %v, want no rows", emptied, rows)
	}
	if !strings.Contains(e.logs.String(), "rows changed since they were archived") {
		t.Errorf("the log does not tell about the redo:\n%s", e.logs)
	}
}

// TestPhotos archives photo records with the posts.
func TestPhotos(t *testing.T) {
	e := newEnv(t)
	e.seed()
	old := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	e.exec(`INSERT INTO photos (user_id, status, content_type, original_key, thumb_key, width, height, created_at, updated_at)
		VALUES (1, 'ready', 'image/png', 'originals/1/a.png', 'thumbs/1/a.jpg', 640, 480, ?, ?),
		       (2, 'pending', 'image/jpeg', 'originals/2/b.jpg', '', 0, 0, ?, ?)`, old, old, now, now)
	j := e.job(nil)
	j.Tables = nil // all
	res, err := j.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Days, "photos/2026-01-02") {
		t.Errorf("days %v, want photos/2026-01-02", res.Days)
	}
	var n int
	e.db.QueryRow("SELECT COUNT(*) FROM photos").Scan(&n)
	if n != 1 {
		t.Errorf("%d photos left, want the recent one", n)
	}
	_, keys := e.objects()
	var photoKey string
	for _, k := range keys {
		if strings.HasPrefix(k, "archive/photos/dt=2026-01-02/part-") {
			photoKey = k
		}
	}
	if photoKey == "" {
		t.Fatalf("no photos object in %v", keys)
	}
	type photo struct {
		ID          int64  `parquet:"id"`
		Status      string `parquet:"status"`
		OriginalKey string `parquet:"original_key"`
		Width       int32  `parquet:"width"`
		CreatedAt   int64  `parquet:"created_at,timestamp(microsecond)"`
	}
	rc, _, _ := e.blobs.Blob(context.Background(), photoKey)
	data, _ := io.ReadAll(rc)
	rc.Close()
	rows, err := parquet.Read[photo](bytes.NewReader(data), int64(len(data)))
	if err != nil || len(rows) != 1 || rows[0].Status != "ready" || rows[0].OriginalKey != "originals/1/a.png" ||
		rows[0].Width != 640 || rows[0].CreatedAt != old.UnixMicro() {
		t.Errorf("photos file holds %+v (%v)", rows, err)
	}
	var photoLoads int
	for _, b := range e.wh.batches() {
		if strings.HasPrefix(b[2], "COPY photos_archive_load FROM 's3://archive-bucket/"+photoKey+"'") {
			photoLoads++
		}
	}
	if photoLoads != 1 {
		t.Errorf("%d loads of %s, want 1", photoLoads, photoKey)
	}
}

// fakeWarehouse records each transaction's statements and models what
// Redshift would do with the statements the job issues (LoadStatements), so
// a test sees duplicates a repeated load would leave: COPY fills the staging
// table with the object's rows; the first DELETE removes one shard's rows of
// an id range and day, the second (USING) the rows with the staging table's
// ids within the day; INSERT appends the staging rows tagged with a shard;
// a transaction applies wholly or not at all.
type fakeWarehouse struct {
	blobs app.BlobStore
	fail  error

	mu     sync.Mutex
	txs    [][]string
	tables map[string][]whRow
}

// whRow is a row of a warehouse table: a post and the shard that loaded it.
type whRow struct {
	post
	shard int
}

var (
	createRe = regexp.MustCompile(`^CREATE TABLE IF NOT EXISTS (\w+) \(.*, shard SMALLINT NOT NULL\) SORTKEY \(created_at\)$`)
	stageRe  = regexp.MustCompile(`^CREATE TEMP TABLE (\w+) \(`)
	copyRe   = regexp.MustCompile(`^COPY (\w+) FROM 's3://` + bucket + `/([^']+)' IAM_ROLE '` + role + `' FORMAT AS PARQUET$`)
	rangeRe  = regexp.MustCompile(`^DELETE FROM (\w+) WHERE shard = (\d+) AND id BETWEEN (\d+) AND (\d+) AND created_at >= '([^']+)' AND created_at < '([^']+)'$`)
	usingRe  = regexp.MustCompile(`^DELETE FROM (\w+) USING (\w+) WHERE (\w+)\.id = (\w+)\.id AND (\w+)\.created_at >= '([^']+)' AND (\w+)\.created_at < '([^']+)'$`)
	insertRe = regexp.MustCompile(`^INSERT INTO (\w+) SELECT (\w+)\.\*, (\d+) FROM (\w+)$`)
	dropRe   = regexp.MustCompile(`^DROP TABLE (\w+)$`)
)

func (w *fakeWarehouse) Exec(ctx context.Context, sqls []string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail != nil {
		return w.fail
	}
	tables := map[string][]whRow{}
	for k, v := range w.tables {
		tables[k] = slices.Clone(v)
	}
	temp := map[string][]post{}
	known := func(name string) error {
		if _, ok := tables[name]; !ok {
			return fmt.Errorf("no table %s", name)
		}
		return nil
	}
	day := func(from, to string) func(whRow) bool {
		f, _ := time.Parse(time.DateTime, from)
		t, _ := time.Parse(time.DateTime, to)
		return func(r whRow) bool { return r.CreatedAt >= f.UnixMicro() && r.CreatedAt < t.UnixMicro() }
	}
	num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	for _, s := range sqls {
		if m := createRe.FindStringSubmatch(s); m != nil {
			if tables[m[1]] == nil {
				tables[m[1]] = []whRow{}
			}
		} else if m := stageRe.FindStringSubmatch(s); m != nil {
			temp[m[1]] = []post{}
		} else if m := copyRe.FindStringSubmatch(s); m != nil {
			if _, ok := temp[m[1]]; !ok {
				return fmt.Errorf("COPY into %s, not a staging table of this transaction", m[1])
			}
			if strings.HasPrefix(m[1], "posts_") {
				rows, err := readPosts(w.blobs, m[2])
				if err != nil {
					return err
				}
				temp[m[1]] = append(temp[m[1]], rows...)
			}
		} else if m := rangeRe.FindStringSubmatch(s); m != nil {
			if err := known(m[1]); err != nil {
				return err
			}
			shard, lo, hi, inDay := int(num(m[2])), num(m[3]), num(m[4]), day(m[5], m[6])
			tables[m[1]] = slices.DeleteFunc(tables[m[1]], func(r whRow) bool {
				return r.shard == shard && r.ID >= lo && r.ID <= hi && inDay(r)
			})
		} else if m := usingRe.FindStringSubmatch(s); m != nil {
			if m[3] != m[1] || m[5] != m[1] || m[7] != m[1] || m[4] != m[2] {
				return fmt.Errorf("the delete mixes up its tables: %q", s)
			}
			if err := known(m[1]); err != nil {
				return err
			}
			ids, inDay := map[int64]bool{}, day(m[6], m[8])
			for _, p := range temp[m[2]] {
				ids[p.ID] = true
			}
			tables[m[1]] = slices.DeleteFunc(tables[m[1]], func(r whRow) bool { return ids[r.ID] && inDay(r) })
		} else if m := insertRe.FindStringSubmatch(s); m != nil {
			if err := known(m[1]); err != nil {
				return err
			}
			if m[2] != m[4] {
				return fmt.Errorf("the insert mixes up its tables: %q", s)
			}
			for _, p := range temp[m[4]] {
				tables[m[1]] = append(tables[m[1]], whRow{p, int(num(m[3]))})
			}
		} else if m := dropRe.FindStringSubmatch(s); m != nil {
			if _, ok := temp[m[1]]; !ok {
				return fmt.Errorf("DROP of %s, not a staging table", m[1])
			}
			delete(temp, m[1])
		} else {
			return fmt.Errorf("the fake warehouse does not know %q", s)
		}
	}
	if len(temp) > 0 {
		return fmt.Errorf("staging tables left: %v", temp)
	}
	w.tables = tables
	w.txs = append(w.txs, sqls)
	return nil
}

func (w *fakeWarehouse) batches() [][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.txs)
}

// rows returns the posts of a warehouse table, by id.
func (w *fakeWarehouse) rows(table string) []post {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []post
	for _, r := range w.tables[table] {
		out = append(out, r.post)
	}
	slices.SortFunc(out, func(a, b post) int { return int(a.ID - b.ID) })
	return out
}

// TestJobChecks: a Job missing what it needs fails before touching anything.
func TestJobChecks(t *testing.T) {
	db, err := sql.Open("mysql", "u:p@tcp(127.0.0.1:1)/x")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	blobs := apps3.New(apptest.AWSConfig(), bucket, "http://127.0.0.1:1")
	ok := func() *archive.Job {
		return &archive.Job{DB: db, Blobs: blobs, Bucket: bucket, RetentionDays: 30}
	}
	for _, tc := range []struct {
		change func(*archive.Job)
		want   string
	}{
		{func(j *archive.Job) { j.DB = nil }, "needs DB and Blobs"},
		{func(j *archive.Job) { j.Bucket = "" }, "needs Bucket"},
		{func(j *archive.Job) { j.RetentionDays = 0 }, "RetentionDays 0 must be 1 to 3650"},
		{func(j *archive.Job) { j.Warehouse = &fakeWarehouse{} }, "needs CopyRoleARN"},
		{func(j *archive.Job) { j.Tables = []string{"users"} }, `unknown table "users"`},
	} {
		j := ok()
		tc.change(j)
		if _, err := j.Run(context.Background()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Run: %v, want %q", err, tc.want)
		}
	}
}

// TestLockLost: the server drops the pass's lock connection mid-pass (a
// network cut, a failover). The pass stops at its next check instead of
// going on unlocked, and the next pass finishes the work exactly.
func TestLockLost(t *testing.T) {
	e := newEnv(t)
	all := e.seed()
	ctx := context.Background()
	var dbName string
	e.db.QueryRow("SELECT DATABASE()").Scan(&dbName)
	killed := false
	_, err := e.job(func(s string) error {
		if s == archive.StepVerified && !killed {
			killed = true
			var holder int64
			if err := e.db.QueryRow("SELECT IS_USED_LOCK(?)", archive.LockName(dbName)).Scan(&holder); err != nil {
				return err
			}
			_, err := e.db.Exec("KILL CONNECTION ?", holder)
			return err
		}
		return nil
	}).Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "lock") {
		t.Fatalf("pass after losing its lock: %v, want an error about the lock", err)
	}
	if st := e.states(); st["deleted"] != 1 || len(st) != 1 {
		t.Errorf("states %v, want the batch in progress finished and no other started", st)
	}
	if _, err := e.job(nil).Run(ctx); err != nil {
		t.Fatal(err)
	}
	e.checkEnd(all)
}

// TestBatchTakenOver: while a pass is between the load and the delete of a
// batch, another one (which the lock should have kept out) deletes it. The
// first pass must stop, not take the rows' absence for an edit and archive
// the batch again as an empty file.
func TestBatchTakenOver(t *testing.T) {
	e := newEnv(t)
	all := e.seed()
	ctx := context.Background()
	key := fmt.Sprintf("archive/posts/dt=2026-02-05/part-%d-%d.parquet", all[0].ID, all[1].ID)
	_, err := e.job(func(s string) error {
		if s == archive.StepLoaded {
			e.exec("DELETE FROM posts WHERE id IN (?, ?)", all[0].ID, all[1].ID)
			e.exec("UPDATE archive_batches SET state = 'deleted' WHERE first_id = ?", all[0].ID)
		}
		return nil
	}).Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "another pass moved it on") {
		t.Fatalf("pass: %v, want it to stop on the batch another pass finished", err)
	}
	if rows := readObject(t, e.blobs, key); !slices.Equal(rows, all[:2]) {
		t.Errorf("%s holds %v, want the two archived posts", key, rows)
	}
	if got := e.wh.rows("posts_archive"); !slices.Equal(got, all[:2]) {
		t.Errorf("warehouse holds %v, want the two archived posts", got)
	}
}

// TestShards: two content shards archive into one bucket and one warehouse,
// each pass on its own primary. Shard 1's file of 2026-02-05 spans the ids
// of every shard 0 file of that day (the shards' ids interleave), and shard 1
// also holds a copy of one of shard 0's posts (a bucket move copied it before
// shard 0 archived it). Each shard's files are apart (shard=1/), each shard
// keeps its own progress, loading any file again changes nothing, and the
// warehouse holds every archived post once.
func TestShards(t *testing.T) {
	e := newEnv(t)
	all := e.seed()
	ctx := context.Background()
	m1 := apptest.NewMySQL(t)
	if err := mysql.MigrateShard(ctx, m1.Primary, slog.Default()); err != nil {
		t.Fatal(err)
	}
	db1, err := sql.Open("mysql", mysql.Config(m1.Primary).FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db1.Close()
	at := func(s string) time.Time { v, _ := time.Parse(time.DateTime, s); return v }
	copied := all[5] // 2026-02-06, on both shards
	first, last := at("2026-02-05 06:00:00").UnixMicro(), at("2026-02-05 18:00:00").UnixMicro()
	shard1 := []post{
		{ID: 0, UserID: 3, Body: "shard 1, first of the day", CreatedAt: first, UpdatedAt: first},
		{ID: 1 << 52, UserID: 3, Body: "shard 1, last of the day", CreatedAt: last, UpdatedAt: last},
		copied,
		{ID: 1<<52 + 1, UserID: 3, Body: "shard 1, recent", CreatedAt: now.UnixMicro(), UpdatedAt: now.UnixMicro()},
	}
	for _, p := range shard1 {
		if _, err := db1.Exec("INSERT INTO posts (id, user_id, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
			p.ID, p.UserID, p.Body, time.UnixMicro(p.CreatedAt).UTC(), time.UnixMicro(p.UpdatedAt).UTC()); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := e.job(nil).Run(ctx); err != nil {
		t.Fatalf("shard 0: %v", err)
	}
	j1 := e.job(nil)
	j1.DB, j1.Shard = db1, 1
	res, err := j1.Run(ctx)
	if err != nil {
		t.Fatalf("shard 1: %v", err)
	}
	if res.Rows != 3 {
		t.Errorf("shard 1 archived %d rows, want 3 (the two of 02-05 and the copy)", res.Rows)
	}
	var left int
	db1.QueryRow("SELECT COUNT(*) FROM posts").Scan(&left)
	if left != 1 {
		t.Errorf("shard 1 keeps %d posts, want the recent one", left)
	}
	_, keys := e.objects()
	span := "archive/posts/dt=2026-02-05/shard=1/part-0-" + strconv.FormatInt(1<<52, 10) + ".parquet"
	if !slices.Contains(keys, span) {
		t.Errorf("keys %v, want shard 1's file %s", keys, span)
	}
	old, _ := archived(all)
	want := append(slices.Clone(old), shard1[0], shard1[1])
	slices.SortFunc(want, func(a, b post) int { return int(a.ID - b.ID) })
	check := func(when string) {
		t.Helper()
		if got := e.wh.rows("posts_archive"); !slices.Equal(got, want) {
			t.Errorf("%s: the warehouse holds\n%v\nwant every archived post once\n%v", when, got, want)
		}
	}
	check("after both passes")
	// Every file loaded again, in the order of the first loads.
	for _, b := range e.wh.batches() {
		if err := e.wh.Exec(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	check("after every load again")
}
