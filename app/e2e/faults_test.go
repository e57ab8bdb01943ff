package e2e_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scaling-aws/scaling-aws/app"
	"github.com/scaling-aws/scaling-aws/app/apptest"
	"github.com/scaling-aws/scaling-aws/app/mysql"
	"github.com/scaling-aws/scaling-aws/app/redis"
)

// TestNoStaleCacheAfterLag: the replica stops applying (STOP SLAVE
// SQL_THREAD), a post is edited on the primary, and once the write's fence
// has expired a reader gets the old row from the replica. That row is served
// but must not be cached: when replication catches up, the next read sees the
// edit, not the stale row for CACHE_TTL (5 minutes).
func TestNoStaleCacheAfterLag(t *testing.T) {
	m := apptest.NewMySQL(t)
	addr, prefix := apptest.Redis(t)
	ctx := context.Background()
	if err := mysql.Migrate(ctx, m.Primary, quiet); err != nil {
		t.Fatal(err)
	}
	m.Sync(t)
	db, err := mysql.Open(ctx, m.Primary, []string{m.Replica.Addr}, mysql.Options{Logger: quiet, HealthInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rc := redis.NewClient(redis.Options{Addr: addr})
	defer rc.Close()
	const fenceTTL = 1500 * time.Millisecond
	reg := prometheus.NewRegistry()
	cache := redis.NewPostCache(rc, db, redis.CacheOptions{Prefix: prefix, FenceTTL: fenceTTL,
		LocalTTL: 100 * time.Millisecond, Logger: quiet, Registerer: reg})
	defer cache.Close()

	u := &app.User{Name: "alice", PasswordHash: []byte("x")}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	p := &app.Post{UserID: u.ID, Body: "v1"}
	if err := cache.CreatePost(ctx, p); err != nil {
		t.Fatal(err)
	}
	m.Sync(t)
	db.CheckReplicas(ctx) // lag measured: 0
	if got, err := cache.Post(ctx, p.ID); err != nil || got.Body != "v1" {
		t.Fatalf("first read = %+v, %v", got, err)
	}
	if n, _ := rc.Exists(ctx, prefix+"post:"+itoa(p.ID)).Result(); n != 1 {
		t.Fatal("a read from an up-to-date replica was not cached; the test needs caching to work")
	}

	m.StopReplication(t)
	db.CheckReplicas(ctx) // lag unknown: the SQL thread is stopped
	if err := cache.UpdatePost(ctx, &app.Post{ID: p.ID, UserID: u.ID, Body: "v2"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(fenceTTL + 200*time.Millisecond) // the fences are gone
	if got, err := cache.Post(ctx, p.ID); err != nil || got.Body != "v1" {
		t.Fatalf("read under lag = %+v, %v; want the replica's stale v1 (served, not cached)", got, err)
	}

	m.StartReplication(t)
	m.Sync(t)
	db.CheckReplicas(ctx)
	time.Sleep(200 * time.Millisecond) // past LocalTTL
	if got, err := cache.Post(ctx, p.ID); err != nil || got.Body != "v2" {
		t.Errorf("read after the lag ended = %+v, %v; want v2 (the stale v1 was cached)", got, err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
