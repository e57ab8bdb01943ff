package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/scaling-aws/scaling-aws/app/apptest"
	"github.com/scaling-aws/scaling-aws/app/mysql"
)

// TestRunArchive runs the binary's archive role against the real MariaDB
// and an S3-compatible server: an old post leaves MySQL for the bucket, a
// recent one stays, the pass exits without error and logs that the
// warehouse load is skipped (no WAREHOUSE_WORKGROUP).
func TestRunArchive(t *testing.T) {
	m := apptest.NewMySQL(t)
	backend, s3URL := archiveBucket(t)
	host, port, _ := strings.Cut(m.Primary.Addr, ":")
	env := map[string]string{
		"DB_HOST": host, "DB_PORT": port, "DB_NAME": m.Primary.DBName,
		"DB_USER": m.Primary.User, "DB_PASSWORD": m.Primary.Passwd,
		"ARCHIVE_BUCKET": "scaling-archive", "S3_ENDPOINT": s3URL, "RETENTION_DAYS": "30",
	}
	ctx := context.Background()
	// The write tier has not migrated yet: the pass refuses to start.
	var logs bytes.Buffer
	err := run(ctx, []string{"-role", "archive"}, envOf(env), &logs)
	if err == nil || !strings.Contains(err.Error(), "the database is not ready") {
		t.Fatalf("archive before migrations: %v, want the database is not ready", err)
	}
	if err := run(ctx, []string{"-migrate-only"}, envOf(env), &logs); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", mysql.Config(m.Primary).FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	old, recent := time.Now().UTC().AddDate(0, 0, -40), time.Now().UTC()
	if _, err := db.Exec("INSERT INTO users (id, name, password_hash, created_at) VALUES (1, 'ann', 'x', NOW())"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO posts (id, user_id, body, created_at, updated_at) VALUES (7, 1, 'old', ?, ?), (8, 1, 'recent', ?, ?)",
		old, old, recent, recent); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	if err := run(ctx, []string{"-role", "archive"}, envOf(env), &logs); err != nil {
		t.Fatalf("archive pass: %v\n%s", err, logs.String())
	}
	var ids []string
	rows, _ := db.Query("SELECT id FROM posts")
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	if strings.Join(ids, ",") != "8" {
		t.Errorf("posts left %v, want only the recent one (8)", ids)
	}
	key := "archive/posts/dt=" + old.Format(time.DateOnly) + "/part-7-7.parquet"
	if _, err := backend.HeadObject("scaling-archive", key); err != nil {
		t.Errorf("object %s: %v", key, err)
	}
	for _, want := range []string{"no warehouse configured", "archive: batch archived", "archive: pass done"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}

// TestRunArchiveSharded runs the archive role with two content shards (shard
// 1 a private server): each shard's old post leaves its MySQL for its own
// file, recent ones stay; then, with shard 1 unreachable, shard 0 is still
// archived and the pass fails naming shard 1.
func TestRunArchiveSharded(t *testing.T) {
	m := apptest.NewMySQL(t)
	_, c1, _ := privateDatabase(t, m)
	backend, s3URL := archiveBucket(t)
	host, port, _ := strings.Cut(m.Primary.Addr, ":")
	_, port1, _ := strings.Cut(c1.Addr, ":")
	env := map[string]string{
		"DB_HOST": host, "DB_PORT": port, "DB_NAME": m.Primary.DBName,
		"DB_USER": m.Primary.User, "DB_PASSWORD": m.Primary.Passwd,
		"DB_SHARD_COUNT": "2", "DB_SHARD_1_HOST": "127.0.0.1", "DB_SHARD_1_PORT": port1,
		"ARCHIVE_BUCKET": "scaling-archive", "S3_ENDPOINT": s3URL, "RETENTION_DAYS": "30",
	}
	ctx := context.Background()
	if err := run(ctx, []string{"-migrate-only"}, envOf(env), io.Discard); err != nil {
		t.Fatal(err)
	}
	shard0, err := sql.Open("mysql", mysql.Config(m.Primary).FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer shard0.Close()
	c1db := c1.Clone()
	c1db.DBName = m.Primary.DBName
	shard1, err := sql.Open("mysql", mysql.Config(c1db).FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer shard1.Close()
	old, recent := time.Now().UTC().AddDate(0, 0, -40), time.Now().UTC()
	insert := func(db *sql.DB, id int64, created time.Time) {
		t.Helper()
		if _, err := db.Exec("INSERT INTO posts (id, user_id, body, created_at, updated_at) VALUES (?, 1, 'x', ?, ?)",
			id, created, created); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := shard0.Exec("INSERT INTO users (id, name, password_hash, created_at) VALUES (1, 'ann', 'x', NOW())"); err != nil {
		t.Fatal(err)
	}
	insert(shard0, 7, old)
	insert(shard0, 8, recent)
	insert(shard1, 9, old)
	insert(shard1, 10, recent)
	ids := func(db *sql.DB) string {
		t.Helper()
		var out []string
		rows, err := db.Query("SELECT id FROM posts ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			rows.Scan(&id)
			out = append(out, id)
		}
		return strings.Join(out, ",")
	}
	var logs bytes.Buffer
	if err := run(ctx, []string{"-role", "archive"}, envOf(env), &logs); err != nil {
		t.Fatalf("archive pass: %v\n%s", err, logs.String())
	}
	if got0, got1 := ids(shard0), ids(shard1); got0 != "8" || got1 != "10" {
		t.Errorf("posts left: shard 0 %q, shard 1 %q; want only the recent ones (8, 10)", got0, got1)
	}
	day := old.Format(time.DateOnly)
	for _, key := range []string{"archive/posts/dt=" + day + "/part-7-7.parquet", "archive/posts/dt=" + day + "/shard=1/part-9-9.parquet"} {
		if _, err := backend.HeadObject("scaling-archive", key); err != nil {
			t.Errorf("object %s: %v", key, err)
		}
	}

	insert(shard0, 11, old)
	down := maps.Clone(env)
	_, closed, _ := strings.Cut(apptest.ClosedAddr(), ":")
	down["DB_SHARD_1_PORT"] = closed
	logs.Reset()
	err = run(ctx, []string{"-role", "archive"}, envOf(down), &logs)
	if err == nil || !strings.Contains(err.Error(), "shard 1") {
		t.Errorf("archive with shard 1 unreachable: %v, want an error naming shard 1", err)
	}
	if got := ids(shard0); got != "8" {
		t.Errorf("shard 0 keeps %q with shard 1 unreachable, want 8: its old post archived all the same", got)
	}
}

// archiveBucket starts an in-process S3-compatible server (gofakes3) holding the bucket
// scaling-archive, stopped when the test ends, and sets the test AWS credentials in the
// environment; it returns the backend and the server's URL.
func archiveBucket(t *testing.T) (*s3mem.Backend, string) {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("scaling-archive"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return backend, srv.URL
}
