package mysql_test

import (
	"context"
	"testing"
	"time"

	"github.com/scaling-aws/scaling-aws/app"
	"github.com/scaling-aws/scaling-aws/app/mysql"
)

// TestFeed: the latest posts of all users merge both shards newest first,
// follow new posts within the refresh, and keep a failing shard's last
// posts.
func TestFeed(t *testing.T) {
	ctx := context.Background()
	p := newShardPair(t, mysql.Options{})
	s := p.router(t, 100*time.Millisecond)
	a, b := mustUser(t, p.db0, "alice"), mustUser(t, p.db0, "bob")
	if _, err := s.MoveBuckets(ctx, 0, 1, []int{mysql.BucketOf(b.ID)}, fastMove()); err != nil {
		t.Fatal(err)
	}
	var want []int64 // newest first
	for i := 0; i < 6; i++ {
		post := &app.Post{UserID: []int64{a.ID, b.ID}[i%2], Body: "p"}
		if err := s.CreatePost(ctx, post); err != nil {
			t.Fatal(err)
		}
		want = append([]int64{post.ID}, want...)
		time.Sleep(2 * time.Millisecond) // distinct created_at
	}
	p.m0.Sync(t)
	p.m1.Sync(t)
	f := mysql.NewFeed([]*mysql.DB{p.db0, p.db1}, mysql.FeedOptions{Refresh: 100 * time.Millisecond, Size: 5})
	defer f.Close()
	ids := func(limit int) []int64 {
		t.Helper()
		posts, err := f.LatestPosts(ctx, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, p := range posts {
			out = append(out, p.ID)
		}
		return out
	}
	if got := ids(5); len(got) != 5 || got[0] != want[0] || got[1] != want[1] || got[4] != want[4] {
		t.Errorf("feed %v, want the newest five of %v across both shards", got, want)
	}
	if got := ids(2); len(got) != 2 || got[0] != want[0] {
		t.Errorf("feed limit 2: %v", got)
	}
	for _, bad := range []int{0, 6} {
		if _, err := f.LatestPosts(ctx, bad); app.ErrorCode(err) != app.EINVALID {
			t.Errorf("limit %d: %v, want invalid", bad, err)
		}
	}
	late := &app.Post{UserID: a.ID, Body: "late"}
	if err := s.CreatePost(ctx, late); err != nil {
		t.Fatal(err)
	}
	p.m0.Sync(t)
	deadline := time.Now().Add(5 * time.Second)
	for ids(1)[0] != late.ID {
		if time.Now().After(deadline) {
			t.Fatal("a new post never reached the feed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Shard 1 fails: its posts stay in the feed, shard 0's keep coming.
	p.db1.Close()
	later := &app.Post{UserID: a.ID, Body: "later"}
	if err := s.CreatePost(ctx, later); err != nil {
		t.Fatal(err)
	}
	p.m0.Sync(t)
	for ids(1)[0] != later.ID {
		if time.Now().After(deadline) {
			t.Fatal("with shard 1 failing, shard 0's new post never reached the feed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	fromB := 0
	posts, _ := f.LatestPosts(ctx, 5)
	for _, post := range posts {
		if post.UserID == b.ID {
			fromB++
		}
	}
	if fromB == 0 {
		t.Errorf("with shard 1 failing its posts left the feed: %v", ids(5))
	}
}
