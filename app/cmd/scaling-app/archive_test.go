package main

import (
	"bytes"
	"context"
	"database/sql"
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
	backend := s3mem.New()
	if err := backend.CreateBucket("scaling-archive"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	host, port, _ := strings.Cut(m.Primary.Addr, ":")
	env := map[string]string{
		"DB_HOST": host, "DB_PORT": port, "DB_NAME": m.Primary.DBName,
		"DB_USER": m.Primary.User, "DB_PASSWORD": m.Primary.Passwd,
		"ARCHIVE_BUCKET": "scaling-archive", "S3_ENDPOINT": srv.URL, "RETENTION_DAYS": "30",
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
