package mysql_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	drv "github.com/go-sql-driver/mysql"

	"github.com/scaling-aws/scaling-aws/app"
	"github.com/scaling-aws/scaling-aws/app/apptest"
	"github.com/scaling-aws/scaling-aws/app/mysql"
)

// open migrates a fresh test database and opens it with the real replica,
// or with the given replica addresses.
func open(t *testing.T, m *apptest.MySQL, o mysql.Options, replicas ...string) *mysql.DB {
	t.Helper()
	ctx := context.Background()
	if err := mysql.Migrate(ctx, m.Primary, slog.Default()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	m.Sync(t)
	if replicas == nil {
		replicas = []string{m.Replica.Addr}
	}
	db, err := mysql.Open(ctx, m.Primary, replicas, o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustUser(t *testing.T, db *mysql.DB, name string) *app.User {
	t.Helper()
	u := &app.User{Name: name, PasswordHash: []byte("x")}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := app.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func TestMigrateConcurrently(t *testing.T) {
	m := apptest.NewMySQL(t)
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = mysql.Migrate(context.Background(), m.Primary, slog.Default())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
	var version int
	var dirty bool
	if err := m.PrimaryDB.QueryRow("SELECT version, dirty FROM `"+m.Primary.DBName+"`.schema_migrations").
		Scan(&version, &dirty); err != nil {
		t.Fatal(err)
	}
	if version != mysql.SchemaVersion || dirty {
		t.Errorf("schema version %d dirty %v, want %d clean", version, dirty, mysql.SchemaVersion)
	}
	// Applying again is a no-op.
	if err := mysql.Migrate(context.Background(), m.Primary, slog.Default()); err != nil {
		t.Errorf("second migrate: %v", err)
	}
}

func TestUsersAndSessions(t *testing.T) {
	m := apptest.NewMySQL(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	db := open(t, m, mysql.Options{Now: func() time.Time { return now }})
	ctx := context.Background()
	u := mustUser(t, db, "alice")
	if u.ID == 0 || !u.CreatedAt.Equal(now) {
		t.Errorf("created user %+v", u)
	}
	wantCode(t, db.CreateUser(ctx, &app.User{Name: "alice", PasswordHash: []byte("y")}), app.ECONFLICT)
	got, err := db.UserByName(ctx, "alice")
	if err != nil || got.ID != u.ID || string(got.PasswordHash) != "x" {
		t.Fatalf("UserByName = %+v, %v", got, err)
	}
	_, err = db.UserByName(ctx, "bob")
	wantCode(t, err, app.ENOTFOUND)

	s := &app.Session{Token: "tok", UserID: u.ID, ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Session(ctx, "tok"); err != nil || got.UserID != u.ID {
		t.Fatalf("Session = %+v, %v", got, err)
	}
	var n int
	m.PrimaryDB.QueryRow("SELECT COUNT(*) FROM `" + m.Primary.DBName + "`.sessions WHERE token_hash = 'tok'").Scan(&n)
	if n != 0 {
		t.Error("the raw token is stored; only its hash should be")
	}
	_, err = db.Session(ctx, "other")
	wantCode(t, err, app.EUNAUTHORIZED)
	now = now.Add(2 * time.Hour)
	_, err = db.Session(ctx, "tok")
	wantCode(t, err, app.EUNAUTHORIZED)
	if err := db.DeleteSession(ctx, "tok"); err != nil {
		t.Fatal(err)
	}
}

func TestPosts(t *testing.T) {
	m := apptest.NewMySQL(t)
	db := open(t, m, mysql.Options{})
	ctx := app.WithPrimary(context.Background())
	alice, bob := mustUser(t, db, "alice"), mustUser(t, db, "bob")
	var ids []int64
	for i := range 5 {
		p := &app.Post{UserID: alice.ID, Body: fmt.Sprintf("post %d", i)}
		if err := db.CreatePost(ctx, p); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	p, err := db.Post(ctx, ids[0])
	if err != nil || p.Body != "post 0" || p.UserID != alice.ID {
		t.Fatalf("Post = %+v, %v", p, err)
	}
	_, err = db.Post(ctx, 999999)
	wantCode(t, err, app.ENOTFOUND)

	// Pages of 2, newest first, until the cursor runs out.
	var seen []int64
	var cursor int64
	for pages := 0; ; pages++ {
		page, err := db.PostsByUser(ctx, alice.ID, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Posts {
			seen = append(seen, p.ID)
		}
		if page.NextCursor == 0 {
			if pages != 2 {
				t.Errorf("got %d pages, want 3", pages+1)
			}
			break
		}
		cursor = page.NextCursor
	}
	if fmt.Sprint(seen) != fmt.Sprint([]int64{ids[4], ids[3], ids[2], ids[1], ids[0]}) {
		t.Errorf("paged ids %v, want %v reversed", seen, ids)
	}
	if page, err := db.PostsByUser(ctx, bob.ID, 0, 10); err != nil || len(page.Posts) != 0 || page.NextCursor != 0 {
		t.Errorf("bob's posts = %+v, %v", page, err)
	}

	// Same body twice still counts as found (CLIENT_FOUND_ROWS).
	for range 2 {
		if err := db.UpdatePost(ctx, &app.Post{ID: ids[0], UserID: alice.ID, Body: "edited"}); err != nil {
			t.Fatalf("update own post: %v", err)
		}
	}
	wantCode(t, db.UpdatePost(ctx, &app.Post{ID: ids[0], UserID: bob.ID, Body: "hijack"}), app.EFORBIDDEN)
	wantCode(t, db.UpdatePost(ctx, &app.Post{ID: 999999, UserID: alice.ID, Body: "x"}), app.ENOTFOUND)
	if p, _ := db.Post(ctx, ids[0]); p.Body != "edited" {
		t.Errorf("body after updates = %q, want edited", p.Body)
	}
	wantCode(t, db.DeletePost(ctx, ids[1], bob.ID), app.EFORBIDDEN)
	if err := db.DeletePost(ctx, ids[1], alice.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.DeletePost(ctx, ids[1], alice.ID), app.ENOTFOUND)
}

// TestReadRouting covers the read path over the database tiers: reads go to
// the replica (seen here because it lags behind), to the primary for
// read-your-own-writes, and to the primary when the replica is down.
func TestReadRouting(t *testing.T) {
	m := apptest.NewMySQL(t)
	db := open(t, m, mysql.Options{})
	down := open(t, m, mysql.Options{}, apptest.ClosedAddr())
	mixed := open(t, m, mysql.Options{}, apptest.ClosedAddr(), m.Replica.Addr)
	ctx := context.Background()
	alice := mustUser(t, db, "alice")
	p := &app.Post{UserID: alice.ID, Body: "old"}
	if err := db.CreatePost(ctx, p); err != nil {
		t.Fatal(err)
	}
	m.Sync(t)
	if got, err := db.Post(ctx, p.ID); err != nil || got.Body != "old" {
		t.Fatalf("replica read = %+v, %v", got, err)
	}

	m.StopReplication(t)
	if err := db.UpdatePost(ctx, &app.Post{ID: p.ID, UserID: alice.ID, Body: "new"}); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Post(ctx, p.ID); err != nil || got.Body != "old" {
		t.Errorf("read under lag = %+v, %v; want the replica's stale \"old\"", got, err)
	}
	if got, err := db.Post(app.WithPrimary(ctx), p.ID); err != nil || got.Body != "new" {
		t.Errorf("read-your-writes read = %+v, %v; want \"new\" from the primary", got, err)
	}
	page, err := db.PostsByUser(app.WithPrimary(ctx), alice.ID, 0, 10)
	if err != nil || len(page.Posts) != 1 || page.Posts[0].Body != "new" {
		t.Errorf("read-your-writes list = %+v, %v", page, err)
	}

	// A replica that is down: the read falls back to the primary, no error.
	if got, err := down.Post(ctx, p.ID); err != nil || got.Body != "new" {
		t.Errorf("read with replica down = %+v, %v; want \"new\" from the primary", got, err)
	}
	// One dead and one live replica: every read succeeds.
	for range 4 {
		if _, err := mixed.Post(ctx, p.ID); err != nil {
			t.Errorf("read with one replica down: %v", err)
		}
	}
}

func TestPhotos(t *testing.T) {
	m := apptest.NewMySQL(t)
	db := open(t, m, mysql.Options{})
	ctx := app.WithPrimary(context.Background())
	alice := mustUser(t, db, "alice")
	p := &app.Photo{UserID: alice.ID, Status: app.PhotoPending, ContentType: "image/png",
		OriginalKey: "originals/1/a.png", Width: 10, Height: 20}
	if err := db.CreatePhoto(ctx, p); err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		if err := db.SetPhotoReady(ctx, p.ID, "thumbs/1.jpg"); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetPhotoFailed(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	got, err := db.Photo(ctx, p.ID)
	if err != nil || got.Status != app.PhotoReady || got.ThumbKey != "thumbs/1.jpg" || got.Width != 10 {
		t.Errorf("photo = %+v, %v; a late failure must not undo ready", got, err)
	}
	if err := db.DeletePhoto(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	_, err = db.Photo(ctx, p.ID)
	wantCode(t, err, app.ENOTFOUND)
}

// TestReplicaLagHealth: with MaxReplicaLag set, a replica whose replication
// is stopped leaves the rotation and reads go to the primary; it comes back
// once replication runs again.
func TestReplicaLagHealth(t *testing.T) {
	m := apptest.NewMySQL(t)
	db := open(t, m, mysql.Options{MaxReplicaLag: 30 * time.Second, HealthInterval: time.Hour})
	ctx := context.Background()
	alice := mustUser(t, db, "alice")
	p := &app.Post{UserID: alice.ID, Body: "old"}
	if err := db.CreatePost(ctx, p); err != nil {
		t.Fatal(err)
	}
	m.Sync(t)
	m.StopReplication(t)
	db.CheckReplicas(ctx)
	if err := db.UpdatePost(ctx, &app.Post{ID: p.ID, UserID: alice.ID, Body: "new"}); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Post(ctx, p.ID); err != nil || got.Body != "new" {
		t.Errorf("read with the replica out of rotation = %+v, %v; want \"new\" from the primary", got, err)
	}
	m.StartReplication(t)
	m.Sync(t)
	db.CheckReplicas(ctx)
	m.StopReplication(t) // stopped again, but the health check has not run
	if err := db.UpdatePost(ctx, &app.Post{ID: p.ID, UserID: alice.ID, Body: "newer"}); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Post(ctx, p.ID); err != nil || got.Body != "new" {
		t.Errorf("read with the replica back in rotation = %+v, %v; want its \"new\"", got, err)
	}
}

// TestReadiness: not ready before the migrations, ready after.
func TestReadiness(t *testing.T) {
	m := apptest.NewMySQL(t)
	db, err := mysql.Open(context.Background(), m.Primary, nil, mysql.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "not migrated") {
		t.Errorf("Ping before migrating: %v, want not migrated", err)
	}
	if err := mysql.Migrate(context.Background(), m.Primary, slog.Default()); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(context.Background()); err != nil {
		t.Errorf("Ping after migrating: %v", err)
	}
	if mysql.SchemaVersion != 4 || mysql.ShardSchemaVersion != 3 {
		t.Errorf("SchemaVersion = %d, ShardSchemaVersion = %d, want 4 and 3 (the newest files in migrations/ "+
			"and shard_migrations/)", mysql.SchemaVersion, mysql.ShardSchemaVersion)
	}
	if _, err := m.PrimaryDB.Exec("UPDATE `" + m.Primary.DBName + "`.schema_migrations SET dirty = 1"); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "dirty") {
		t.Errorf("Ping with a dirty schema: %v", err)
	}
}

// TestReplicaHangs: a replica whose mysqld is stopped (SIGSTOP: its port
// still accepts connections, nothing answers) while reads are sent to it.
// Each read answers within ReadTimeout plus a primary read, from the primary,
// and later reads skip the replica at once; writes are not affected.
func TestReplicaHangs(t *testing.T) {
	m := apptest.NewMySQL(t)
	srv, rc := apptest.StartMariaDB(t, m.Primary.User, m.Primary.Passwd)
	rc.DBName = m.Primary.DBName
	ctx := context.Background()
	// The private server stands in for the replica: same schema, its own rows.
	admin := rc.Clone()
	admin.DBName = ""
	if err := exec(admin, "CREATE DATABASE `"+rc.DBName+"`"); err != nil {
		t.Fatal(err)
	}
	if err := mysql.Migrate(ctx, rc, slog.Default()); err != nil {
		t.Fatal(err)
	}
	db := open(t, m, mysql.Options{ReadTimeout: 500 * time.Millisecond, HealthInterval: time.Hour}, srv.Addr)
	alice := mustUser(t, db, "alice")
	p := &app.Post{UserID: alice.ID, Body: "from the primary"}
	if err := db.CreatePost(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := exec(rc, fmt.Sprintf(`SET foreign_key_checks = 0; INSERT INTO posts (id, user_id, body, created_at, updated_at)
		VALUES (%d, %d, 'from the replica', NOW(), NOW())`, p.ID, alice.ID)); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Post(ctx, p.ID); err != nil || got.Body != "from the replica" {
		t.Fatalf("read before the hang = %+v, %v; want the replica's row", got, err)
	}

	srv.Pause()
	type result struct {
		body string
		err  error
		took time.Duration
	}
	read := func() result {
		done := make(chan result, 1)
		go func() {
			start := time.Now()
			got, err := db.Post(ctx, p.ID)
			r := result{err: err, took: time.Since(start)}
			if got != nil {
				r.body = got.Body
			}
			done <- r
		}()
		select {
		case r := <-done:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("a read blocked for 10s on the hung replica")
			return result{}
		}
	}
	r := read()
	if r.err != nil || r.body != "from the primary" || r.took > 2*time.Second {
		t.Errorf("read during the hang = %q, %v in %s; want the primary's row within 2s", r.body, r.err, r.took)
	}
	r = read()
	if r.err != nil || r.body != "from the primary" || r.took > 300*time.Millisecond {
		t.Errorf("next read = %q, %v in %s; want the primary's row at once (replica marked unhealthy)", r.body, r.err, r.took)
	}
	if page, err := db.PostsByUser(ctx, alice.ID, 0, 10); err != nil || len(page.Posts) != 1 {
		t.Errorf("list during the hang = %+v, %v", page, err)
	}
	start := time.Now()
	if err := db.UpdatePost(ctx, &app.Post{ID: p.ID, UserID: alice.ID, Body: "edited"}); err != nil || time.Since(start) > time.Second {
		t.Errorf("write during the hang: %v in %s", err, time.Since(start))
	}
	start = time.Now()
	db.CheckReplicas(ctx) // bounded too
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("health check of the hung replica took %s", took)
	}
}

// TestTimeoutIsUnavailable: a database call that times out is coded
// "unavailable" (503 with Retry-After), not internal.
func TestTimeoutIsUnavailable(t *testing.T) {
	m := apptest.NewMySQL(t)
	srv, rc := apptest.StartMariaDB(t, m.Primary.User, m.Primary.Passwd)
	rc.DBName = m.Primary.DBName
	admin := rc.Clone()
	admin.DBName = ""
	if err := exec(admin, "CREATE DATABASE `"+rc.DBName+"`"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// The private server is the primary here, with no replica.
	if err := mysql.Migrate(ctx, rc, slog.Default()); err != nil {
		t.Fatal(err)
	}
	db, err := mysql.Open(ctx, rc, nil, mysql.Options{ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustUser(t, db, "bob")
	srv.Pause()
	defer srv.Resume()
	start := time.Now()
	_, err = db.UserByName(ctx, "bob")
	wantCode(t, err, "unavailable")
	err = db.CreatePost(ctx, &app.Post{UserID: 1, Body: "x"})
	wantCode(t, err, "unavailable")
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("two calls on a hung primary took %s, want about 600ms", took)
	}
}

func exec(c *drv.Config, q string) error {
	c = c.Clone()
	c.MultiStatements = true
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(q)
	return err
}
