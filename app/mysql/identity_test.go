package mysql_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/scaling-aws/scaling-aws/app"
	"github.com/scaling-aws/scaling-aws/app/apptest"
	"github.com/scaling-aws/scaling-aws/app/mysql"
)

// TestCopyIdentity: users and sessions reach the identity database with
// their ids, a second run copies only what shard 0 gained meanwhile, the
// identity database's own users get ids above the gap, and a clash of
// names is refused, naming the user.
func TestCopyIdentity(t *testing.T) {
	ctx := context.Background()
	m0, mi := apptest.NewMySQL(t), apptest.NewMySQL(t)
	if err := mysql.Migrate(ctx, m0.Primary, slog.Default()); err != nil {
		t.Fatal(err)
	}
	if err := mysql.MigrateIdentity(ctx, mi.Primary, slog.Default()); err != nil {
		t.Fatal(err)
	}
	db0, err := mysql.Open(ctx, m0.Primary, nil, mysql.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db0.Close()
	idb, err := mysql.OpenIdentity(ctx, mi.Primary, nil, mysql.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer idb.Close()
	if err := idb.Ping(ctx); err != nil {
		t.Fatalf("identity readiness: %v", err)
	}
	var users []*app.User
	for _, n := range []string{"ann", "ben", "cat"} {
		users = append(users, mustUser(t, db0, n))
	}
	sess := &app.Session{Token: "tok-ann", UserID: users[0].ID, ExpiresAt: time.Now().Add(time.Hour)}
	if err := db0.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	expired := &app.Session{Token: "tok-old", UserID: users[1].ID, ExpiresAt: time.Now().Add(-time.Hour)}
	if err := db0.CreateSession(ctx, expired); err != nil {
		t.Fatal(err)
	}
	o := mysql.CopyOptions{IDGap: 1000, Batch: 2}
	rep, err := mysql.CopyIdentity(ctx, db0, idb, o)
	if err != nil {
		t.Fatal(err)
	}
	last := users[len(users)-1].ID
	if rep.Users != 3 || rep.Copied != 3 || rep.Sessions != 1 || rep.NextUserID != last+1000 {
		t.Errorf("first copy: %+v", rep)
	}
	for _, u := range users {
		got, err := idb.UserByName(ctx, u.Name)
		if err != nil || got.ID != u.ID || string(got.PasswordHash) != string(u.PasswordHash) {
			t.Errorf("user %s in the identity database: %+v %v", u.Name, got, err)
		}
	}
	if s, err := idb.Session(ctx, "tok-ann"); err != nil || s.UserID != users[0].ID {
		t.Errorf("the session in the identity database: %+v %v", s, err)
	}
	_, err = idb.Session(ctx, "tok-old")
	wantCode(t, err, app.EUNAUTHORIZED)

	// Meanwhile: an old server signs a user up on shard 0, a new one in the
	// identity database, above the gap.
	late := mustUser(t, db0, "dan")
	fresh := mustUser(t, idb, "eve")
	if fresh.ID < last+1000 {
		t.Errorf("the identity database issued id %d, want at least %d (above the gap)", fresh.ID, last+1000)
	}
	rep, err = mysql.CopyIdentity(ctx, db0, idb, o)
	if err != nil || rep.Copied != 1 || rep.Users != 4 || rep.NextUserID != 0 {
		t.Errorf("second copy: %+v %v, want dan only, the id gap left alone", rep, err)
	}
	if got, err := idb.UserByName(ctx, "dan"); err != nil || got.ID != late.ID {
		t.Errorf("dan after the second copy: %+v %v", got, err)
	}
	if rep, err := mysql.CopyIdentity(ctx, db0, idb, o); err != nil || rep.Copied != 0 {
		t.Errorf("third copy: %+v %v, want nothing to write", rep, err)
	}
	// Two sign-ups of one name on both sides: refused, naming it.
	mustUser(t, idb, "fay")
	mustUser(t, db0, "fay")
	if _, err := mysql.CopyIdentity(ctx, db0, idb, o); err == nil || !strings.Contains(err.Error(), `"fay"`) {
		t.Errorf("a name clash: %v, want an error naming fay", err)
	}
}

// TestMigrateFederation: shard 0 keeps its foreign keys to users unless
// federation is set up; its readiness then waits for their removal.
func TestMigrateFederation(t *testing.T) {
	ctx := context.Background()
	m := apptest.NewMySQL(t)
	if err := mysql.Migrate(ctx, m.Primary, slog.Default()); err != nil {
		t.Fatal(err)
	}
	fks := func() int {
		t.Helper()
		var n int
		if err := m.PrimaryDB.QueryRow(`SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS
			WHERE CONSTRAINT_SCHEMA = ? AND REFERENCED_TABLE_NAME = 'users' AND TABLE_NAME IN ('posts', 'photos')`,
			m.Primary.DBName).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := fks(); n != 2 {
		t.Fatalf("without federation: %d foreign keys from posts and photos to users, want 2 (the schema as before)", n)
	}
	db, err := mysql.Open(ctx, m.Primary, nil, mysql.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.RequireFederationSchema()
	if err := db.Ping(ctx); err == nil || !strings.Contains(err.Error(), "federation schema of shard 0 not migrated") {
		t.Errorf("readiness with federation before its migration: %v", err)
	}
	for i := 0; i < 2; i++ {
		if err := mysql.MigrateFederation(ctx, m.Primary, slog.Default()); err != nil {
			t.Fatalf("MigrateFederation run %d: %v", i+1, err)
		}
	}
	if n := fks(); n != 0 {
		t.Errorf("with federation: %d foreign keys left, want 0", n)
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("readiness after the federation migration: %v", err)
	}
	// A post of a user shard 0 does not know (one of the identity database).
	if err := db.CreatePost(ctx, &app.Post{UserID: 1_000_123, Body: "from the identity database"}); err != nil {
		t.Errorf("a post of a user of the identity database: %v", err)
	}
}
