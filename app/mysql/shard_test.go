package mysql_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scaling-aws/scaling-aws/app"
	"github.com/scaling-aws/scaling-aws/app/apptest"
	"github.com/scaling-aws/scaling-aws/app/mysql"
)

func TestShardIDs(t *testing.T) {
	seen := map[int64]bool{}
	for _, tc := range []struct {
		seq            int64
		origin, bucket int
	}{{1, 0, 0}, {1, 1, 0}, {1, 0, 1}, {2, 0, 0}, {1<<38 - 1, 15, 1023}, {12345, 3, 517}} {
		id, err := mysql.ComposeID(tc.seq, tc.origin, tc.bucket)
		if err != nil {
			t.Fatalf("ComposeID%v: %v", tc, err)
		}
		if b, ok := mysql.IDBucket(id); !ok || b != tc.bucket {
			t.Errorf("IDBucket(ComposeID%v = %d) = %d %v, want %d true", tc, id, b, ok, tc.bucket)
		}
		if id >= 1<<53 || id < 1<<52 {
			t.Errorf("ComposeID%v = %d, want in [2^52, 2^53) (exact in JavaScript, above every legacy id)", tc, id)
		}
		if seen[id] {
			t.Errorf("ComposeID%v = %d issued twice", tc, id)
		}
		seen[id] = true
	}
	for _, legacy := range []int64{1, 2, 1023, 1 << 40, 1<<52 - 1} {
		if b, ok := mysql.IDBucket(legacy); ok {
			t.Errorf("IDBucket(%d) = %d true, want an id issued before sharding (false)", legacy, b)
		}
	}
	for _, bad := range []struct {
		seq            int64
		origin, bucket int
	}{{0, 0, 0}, {1 << 38, 0, 0}, {1, 16, 0}, {1, 0, 1024}, {1, -1, 0}} {
		if id, err := mysql.ComposeID(bad.seq, bad.origin, bad.bucket); err == nil {
			t.Errorf("ComposeID%v = %d, want an error", bad, id)
		}
	}
	if mysql.BucketOf(1) != 1 || mysql.BucketOf(1024) != 0 || mysql.BucketOf(1025) != 1 {
		t.Error("BucketOf is not user id mod 1024")
	}
	for in, want := range map[string]string{"0-3": "0,1,2,3", "5,1-2,2": "5,1,2", "1023": "1023"} {
		got, err := mysql.ParseBuckets(in)
		if err != nil || strings.Trim(strings.Join(strings.Fields(fmt.Sprint(got)), ","), "[]") != want {
			t.Errorf("ParseBuckets(%q) = %v %v, want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1024", "3-1", "a", "1,,2", "-1"} {
		if got, err := mysql.ParseBuckets(in); err == nil {
			t.Errorf("ParseBuckets(%q) = %v, want an error", in, got)
		}
	}
}

// shardPair is shard 0 (the existing schema) and shard 1 (the shard
// schema), two databases on the shared servers, each with its replica.
type shardPair struct {
	m0, m1   *apptest.MySQL
	db0, db1 *mysql.DB
}

func newShardPair(t *testing.T, o mysql.Options) *shardPair {
	t.Helper()
	ctx := context.Background()
	p := &shardPair{m0: apptest.NewMySQL(t), m1: apptest.NewMySQL(t)}
	if err := mysql.Migrate(ctx, p.m0.Primary, slog.Default()); err != nil {
		t.Fatal(err)
	}
	if err := mysql.MigrateShard(ctx, p.m1.Primary, slog.Default()); err != nil {
		t.Fatal(err)
	}
	p.m0.Sync(t)
	var err error
	if p.db0, err = mysql.Open(ctx, p.m0.Primary, []string{p.m0.Replica.Addr}, o); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.db0.Close() })
	if p.db1, err = mysql.OpenShard(ctx, p.m1.Primary, []string{p.m1.Replica.Addr}, o); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.db1.Close() })
	return p
}

func (p *shardPair) router(t *testing.T, refresh time.Duration) *mysql.Sharded {
	t.Helper()
	s, err := mysql.NewSharded(context.Background(), []*mysql.DB{p.db0, p.db1}, mysql.ShardOptions{MapRefresh: refresh})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// count returns how many rows of table the database holds for user.
func count(t *testing.T, m *apptest.MySQL, table string, user int64) int {
	t.Helper()
	var n int
	if err := m.PrimaryDB.QueryRow("SELECT COUNT(*) FROM `"+m.Primary.DBName+"`."+table+" WHERE user_id = ?", user).
		Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func fastMove() mysql.MoveOptions {
	return mysql.MoveOptions{Wait: 300 * time.Millisecond, BatchUsers: 2}
}

// TestShardRouting: a user's content lives on the shard of their bucket and
// every read and write of it goes there, found by id with no scatter.
func TestShardRouting(t *testing.T) {
	ctx := context.Background()
	p := newShardPair(t, mysql.Options{})
	s := p.router(t, 100*time.Millisecond)
	a, b := mustUser(t, p.db0, "alice"), mustUser(t, p.db0, "bob")
	if s.ShardOfUser(a.ID) != 0 || s.ShardOfUser(b.ID) != 0 {
		t.Fatalf("an empty map must put every bucket on shard 0")
	}
	// Bob's bucket goes to shard 1 before he writes anything.
	if _, err := s.MoveBuckets(ctx, 0, 1, []int{mysql.BucketOf(b.ID)}, fastMove()); err != nil {
		t.Fatal(err)
	}
	if s.ShardOfUser(b.ID) != 1 || s.ShardOfUser(a.ID) != 0 {
		t.Fatalf("after the move: alice on %d, bob on %d; want 0 and 1", s.ShardOfUser(a.ID), s.ShardOfUser(b.ID))
	}
	pa, pb := &app.Post{UserID: a.ID, Body: "from alice"}, &app.Post{UserID: b.ID, Body: "from bob"}
	for _, post := range []*app.Post{pa, pb} {
		if err := s.CreatePost(ctx, post); err != nil {
			t.Fatal(err)
		}
		if bk, ok := mysql.IDBucket(post.ID); !ok || bk != mysql.BucketOf(post.UserID) {
			t.Errorf("post id %d carries bucket %d %v, want its user's %d", post.ID, bk, ok, mysql.BucketOf(post.UserID))
		}
	}
	if count(t, p.m0, "posts", a.ID) != 1 || count(t, p.m1, "posts", a.ID) != 0 ||
		count(t, p.m1, "posts", b.ID) != 1 || count(t, p.m0, "posts", b.ID) != 0 {
		t.Fatal("posts are not on their user's shard")
	}
	p.m0.Sync(t)
	p.m1.Sync(t)
	for _, want := range []*app.Post{pa, pb} {
		var src app.ReadSource
		got, err := s.Post(app.WithReadSource(ctx, &src), want.ID)
		if err != nil || got.Body != want.Body || got.UserID != want.UserID {
			t.Errorf("Post(%d) = %+v %v, want %q", want.ID, got, err, want.Body)
		}
		if !src.Replica {
			t.Errorf("Post(%d) was not read from its shard's replica", want.ID)
		}
		page, err := s.PostsByUser(ctx, want.UserID, 0, 10)
		if err != nil || len(page.Posts) != 1 || page.Posts[0].ID != want.ID {
			t.Errorf("PostsByUser(%d) = %+v %v", want.UserID, page, err)
		}
	}
	// Alice may not change Bob's post, on another shard: forbidden, not missing.
	wantCode(t, s.UpdatePost(ctx, &app.Post{ID: pb.ID, UserID: a.ID, Body: "x"}), app.EFORBIDDEN)
	wantCode(t, s.DeletePost(ctx, pb.ID, a.ID), app.EFORBIDDEN)
	pb.Body = "edited"
	if err := s.UpdatePost(ctx, pb); err != nil || pb.CreatedAt.IsZero() {
		t.Fatalf("UpdatePost: %v (created %v)", err, pb.CreatedAt)
	}
	if got, err := s.Post(app.WithPrimary(ctx), pb.ID); err != nil || got.Body != "edited" {
		t.Errorf("after the update: %+v %v", got, err)
	}
	if err := s.DeletePost(ctx, pb.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.Post(app.WithPrimary(ctx), pb.ID)
	wantCode(t, err, app.ENOTFOUND)
	wantCode(t, s.DeletePost(ctx, pb.ID, b.ID), app.ENOTFOUND)
	_, err = s.Post(ctx, 1<<52|999<<14|1)
	wantCode(t, err, app.ENOTFOUND)

	// Photos: created, processed by the worker, read, deleted on Bob's shard.
	ph := &app.Photo{UserID: b.ID, Status: app.PhotoPending, ContentType: "image/png", OriginalKey: "o/1", Width: 2, Height: 3}
	if err := s.CreatePhoto(ctx, ph); err != nil {
		t.Fatal(err)
	}
	if count(t, p.m1, "photos", b.ID) != 1 || count(t, p.m0, "photos", b.ID) != 0 {
		t.Fatal("the photo is not on its user's shard")
	}
	if err := s.SetPhotoReady(ctx, ph.ID, "t/1"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPhotoFailed(ctx, ph.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.Photo(app.WithPrimary(ctx), ph.ID)
	if err != nil || got.Status != app.PhotoReady || got.ThumbKey != "t/1" {
		t.Errorf("Photo after ready then failed: %+v %v, want ready with t/1", got, err)
	}
	if err := s.DeletePhoto(ctx, ph.ID); err != nil || count(t, p.m1, "photos", b.ID) != 0 {
		t.Errorf("DeletePhoto: %v", err)
	}
	if err := s.SetPhotoReady(ctx, ph.ID, "t/2"); err != nil {
		t.Errorf("SetPhotoReady of a deleted photo: %v, want nil as with one database", err)
	}
}

// TestMoveBuckets moves two buckets holding rows issued before sharding
// from shard 0 to shard 1 while their users and others write and read; then
// runs the move again (a no-op), finishes a move stopped halfway, and checks
// that a server whose map is old is fenced off the old shard.
func TestMoveBuckets(t *testing.T) {
	ctx := context.Background()
	p := newShardPair(t, mysql.Options{WriteTimeout: 10 * time.Second})
	// Before sharding: one database, AUTO_INCREMENT ids.
	var users []*app.User
	legacy := map[int64][]int64{} // user -> post ids
	legacyPhotos := map[int64]int64{}
	for i := 0; i < 5; i++ {
		u := mustUser(t, p.db0, fmt.Sprintf("user%d", i))
		users = append(users, u)
		for j := 0; j < 7; j++ {
			post := &app.Post{UserID: u.ID, Body: fmt.Sprintf("legacy %d|%d", i, j)}
			if err := p.db0.CreatePost(ctx, post); err != nil {
				t.Fatal(err)
			}
			legacy[u.ID] = append(legacy[u.ID], post.ID)
		}
		ph := &app.Photo{UserID: u.ID, Status: app.PhotoPending, ContentType: "image/png", OriginalKey: "o", Width: 1, Height: 1}
		if err := p.db0.CreatePhoto(ctx, ph); err != nil {
			t.Fatal(err)
		}
		legacyPhotos[u.ID] = ph.ID
	}
	p.m0.Sync(t)
	stale := p.router(t, time.Hour) // reads the map once, before the move
	s := p.router(t, 100*time.Millisecond)
	stay, moving, moving2 := users[0], users[1], users[2]
	buckets := []int{mysql.BucketOf(moving.ID), mysql.BucketOf(moving2.ID)}

	// Writers and readers during the move.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	written := map[int64][]int64{}
	var unexpected []error
	held := 0
	for _, u := range []*app.User{stay, moving} {
		wg.Add(1)
		go func(u *app.User) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				post := &app.Post{UserID: u.ID, Body: fmt.Sprintf("during %d", i)}
				err := s.CreatePost(ctx, post)
				_, rerr := s.Post(ctx, legacy[u.ID][0])
				mu.Lock()
				switch {
				case err == nil:
					written[u.ID] = append(written[u.ID], post.ID)
				case u == moving && app.ErrorCode(err) == app.EUNAVAILABLE:
					held++ // held by the flip: the client retries
				default:
					unexpected = append(unexpected, fmt.Errorf("write of user %d: %w", u.ID, err))
				}
				if rerr != nil {
					unexpected = append(unexpected, fmt.Errorf("read of user %d during the move: %w", u.ID, rerr))
				}
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}(u)
	}
	time.Sleep(50 * time.Millisecond)
	rep, err := s.MoveBuckets(ctx, 0, 1, buckets, fastMove())
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("MoveBuckets: %v", err)
	}
	for _, e := range unexpected {
		t.Error(e)
	}
	if len(written[moving.ID]) == 0 || len(written[stay.ID]) == 0 {
		t.Fatalf("no write succeeded during the move (moving %d, staying %d, held %d)",
			len(written[moving.ID]), len(written[stay.ID]), held)
	}
	t.Logf("move: %+v; writes during it: moving user %d (%d held), other user %d",
		rep, len(written[moving.ID]), held, len(written[stay.ID]))

	// No row lost: every legacy row and every acknowledged write is on
	// shard 1, none left on shard 0; the other users did not move.
	for _, u := range []*app.User{moving, moving2} {
		want := len(legacy[u.ID]) + len(written[u.ID])
		if n := count(t, p.m1, "posts", u.ID); n != want {
			t.Errorf("user %d: %d posts on shard 1, want %d", u.ID, n, want)
		}
		if count(t, p.m0, "posts", u.ID) != 0 || count(t, p.m0, "photos", u.ID) != 0 || count(t, p.m1, "photos", u.ID) != 1 {
			t.Errorf("user %d: rows left on shard 0 or photo missing on shard 1", u.ID)
		}
		for _, id := range append(append([]int64{}, legacy[u.ID]...), written[u.ID]...) {
			if _, err := s.Post(app.WithPrimary(ctx), id); err != nil {
				t.Errorf("Post(%d) of moved user %d: %v", id, u.ID, err)
			}
		}
		page, err := s.PostsByUser(app.WithPrimary(ctx), u.ID, 0, 1000)
		if err != nil || len(page.Posts) != want {
			t.Errorf("PostsByUser(%d) after the move: %d posts %v, want %d", u.ID, len(page.Posts), err, want)
		}
		for i := 1; err == nil && i < len(page.Posts); i++ {
			if page.Posts[i].CreatedAt.After(page.Posts[i-1].CreatedAt) {
				t.Errorf("user %d's page is not newest first after the move: post %d (%s) above post %d (%s)", u.ID,
					page.Posts[i-1].ID, page.Posts[i-1].CreatedAt, page.Posts[i].ID, page.Posts[i].CreatedAt)
				break
			}
		}
		if ph, err := s.Photo(app.WithPrimary(ctx), legacyPhotos[u.ID]); err != nil || ph.UserID != u.ID {
			t.Errorf("legacy photo %d of moved user %d: %+v %v", legacyPhotos[u.ID], u.ID, ph, err)
		}
		if err := s.SetPhotoReady(ctx, legacyPhotos[u.ID], "thumb"); err != nil {
			t.Error(err)
		}
	}
	if n := count(t, p.m0, "posts", stay.ID); n != len(legacy[stay.ID])+len(written[stay.ID]) || count(t, p.m1, "posts", stay.ID) != 0 {
		t.Errorf("the staying user's posts moved or were lost: %d on shard 0", n)
	}
	// Again: nothing to do.
	if rep, err := s.MoveBuckets(ctx, 0, 1, buckets, fastMove()); err != nil || rep.Copied != 0 || rep.Deleted != 0 {
		t.Errorf("second run: %+v %v, want nothing copied or deleted", rep, err)
	}
	// A server that has not read the map since: its write is refused by
	// shard 0's fence, it reads the map and writes on shard 1.
	late := &app.Post{UserID: moving.ID, Body: "stale map"}
	if err := stale.CreatePost(ctx, late); err != nil {
		t.Fatalf("write with an old map: %v", err)
	}
	if count(t, p.m0, "posts", moving.ID) != 0 {
		t.Fatal("a server with an old map wrote on the old shard")
	}
	if got, err := s.Post(app.WithPrimary(ctx), late.ID); err != nil || got.Body != late.Body {
		t.Errorf("the stale server's write: %+v %v", got, err)
	}

	// A move stopped right after the flip's first step (shard 0 let bucket
	// go, shard 1 does not own it yet): its users' writes are held, and the
	// same command finishes it.
	third := users[3]
	b3 := mysql.BucketOf(third.ID)
	if _, err := p.m0.PrimaryDB.Exec("DELETE FROM `"+p.m0.Primary.DBName+"`.shard_owned WHERE bucket = ?", b3); err != nil {
		t.Fatal(err)
	}
	err = s.CreatePost(ctx, &app.Post{UserID: third.ID, Body: "frozen"})
	if app.ErrorCode(err) != app.EUNAVAILABLE || !strings.Contains(app.ErrorMessage(err), "moving") {
		t.Errorf("write to a bucket owned by no shard: %v, want unavailable, moving", err)
	}
	if _, err := s.MoveBuckets(ctx, 0, 1, []int{b3}, fastMove()); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if count(t, p.m1, "posts", third.ID) != len(legacy[third.ID]) || count(t, p.m0, "posts", third.ID) != 0 {
		t.Error("the resumed move did not move the rows")
	}
	if err := s.CreatePost(ctx, &app.Post{UserID: third.ID, Body: "after"}); err != nil {
		t.Errorf("write after the resumed move: %v", err)
	}
	if _, err := s.MoveBuckets(ctx, 0, 1, []int{b3}, fastMove()); err != nil {
		t.Errorf("a third run of a finished move: %v", err)
	}
	// "Moving" to shard 0 a bucket shard 0 holds already only cleans shard 1:
	// the rows on shard 0 stay.
	before := count(t, p.m0, "posts", stay.ID)
	if _, err := s.MoveBuckets(ctx, 1, 0, []int{mysql.BucketOf(stay.ID)}, fastMove()); err != nil ||
		count(t, p.m0, "posts", stay.ID) != before || s.ShardOfUser(stay.ID) != 0 {
		t.Errorf("moving to a shard that holds the bucket already: %v, %d posts left of %d", err,
			count(t, p.m0, "posts", stay.ID), before)
	}
	// A server still running with one shard (a rolling deploy) inserts on
	// shard 0 with AUTO_INCREMENT, which the sharded ids have raised: its id
	// looks sharded but carries another bucket. It is found on shard 0, and
	// after its user's bucket moves, through moved_ids.
	mixed := users[4]
	odd := &app.Post{UserID: mixed.ID, Body: "from a one-shard server"}
	if err := p.db0.CreatePost(ctx, odd); err != nil {
		t.Fatal(err)
	}
	if b, ok := mysql.IDBucket(odd.ID); !ok || b == mysql.BucketOf(mixed.ID) || s.ShardOfUser(mixed.ID) != 0 {
		t.Fatalf("id %d (bucket %d %v) does not exercise a misleading id", odd.ID, b, ok)
	}
	p.m0.Sync(t)
	if got, err := s.Post(ctx, odd.ID); err != nil || got.Body != odd.Body {
		t.Errorf("a one-shard server's post on shard 0: %+v %v", got, err)
	}
	if _, err := s.MoveBuckets(ctx, 0, 1, []int{mysql.BucketOf(mixed.ID)}, fastMove()); err != nil {
		t.Fatal(err)
	}
	p.m1.Sync(t)
	if got, err := s.Post(ctx, odd.ID); err != nil || got.Body != odd.Body {
		t.Errorf("a one-shard server's post after its bucket moved: %+v %v", got, err)
	}
	if _, err := s.MoveBuckets(ctx, 1, 1, []int{1}, fastMove()); err == nil {
		t.Error("a move from a shard to itself is accepted")
	}
	if _, err := s.MoveBuckets(ctx, 0, 2, []int{1}, fastMove()); err == nil {
		t.Error("a move to a shard beyond the count is accepted")
	}
}

// TestShardDown: shard 1 is a private primary and replica. With its
// primary hung, its users still read (from the replica) and their writes
// get a quick "data shard unavailable"; with its replica hung too, their
// reads get it as well; the other users are served throughout.
func TestShardDown(t *testing.T) {
	ctx := context.Background()
	m0 := apptest.NewMySQL(t)
	srv, rsrv, c1, r1 := apptest.StartMariaDBPair(t, m0.Primary.User, m0.Primary.Passwd)
	admin, err := sql.Open("mysql", c1.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE shard1"); err != nil {
		t.Fatal(err)
	}
	c1.DBName = "shard1"
	if err := mysql.Migrate(ctx, m0.Primary, slog.Default()); err != nil {
		t.Fatal(err)
	}
	if err := mysql.MigrateShard(ctx, c1, slog.Default()); err != nil {
		t.Fatal(err)
	}
	o := mysql.Options{ReadTimeout: 300 * time.Millisecond, WriteTimeout: 500 * time.Millisecond}
	db0, err := mysql.Open(ctx, m0.Primary, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	defer db0.Close()
	db1, err := mysql.OpenShard(ctx, c1, []string{r1.Addr}, o)
	if err != nil {
		t.Fatal(err)
	}
	defer db1.Close()
	s, err := mysql.NewSharded(ctx, []*mysql.DB{db0, db1}, mysql.ShardOptions{MapRefresh: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	up, down := mustUser(t, db0, "up"), mustUser(t, db0, "down")
	if _, err := s.MoveBuckets(ctx, 0, 1, []int{mysql.BucketOf(down.ID)}, fastMove()); err != nil {
		t.Fatal(err)
	}
	pu, pd := &app.Post{UserID: up.ID, Body: "u"}, &app.Post{UserID: down.ID, Body: "d"}
	for _, post := range []*app.Post{pu, pd} {
		if err := s.CreatePost(ctx, post); err != nil {
			t.Fatal(err)
		}
	}
	if err := db1.Ping(ctx); err != nil {
		t.Fatalf("shard 1 not ready: %v", err)
	}
	apptest.SyncPair(t, c1, r1)

	srv.Pause()
	defer srv.Resume()
	if got, err := s.Post(ctx, pd.ID); err != nil || got.Body != "d" {
		t.Errorf("with shard 1's primary hung, a read of its user: %+v %v, want it from the replica", got, err)
	}
	if page, err := s.PostsByUser(ctx, down.ID, 0, 10); err != nil || len(page.Posts) != 1 {
		t.Errorf("with shard 1's primary hung, its user's page: %+v %v", page, err)
	}
	err = s.CreatePost(ctx, &app.Post{UserID: down.ID, Body: "d1"})
	if app.ErrorCode(err) != app.EUNAVAILABLE || !strings.Contains(app.ErrorMessage(err), "data shard is unavailable") {
		t.Errorf("with shard 1's primary hung, a write of its user: %v, want unavailable naming the data shard", err)
	}
	rsrv.Pause()
	defer rsrv.Resume()
	start := time.Now()
	_, rerr := s.Post(ctx, pd.ID)
	werr := s.CreatePost(ctx, &app.Post{UserID: down.ID, Body: "d2"})
	_, lerr := s.PostsByUser(ctx, down.ID, 0, 10)
	for _, err := range []error{rerr, werr, lerr} {
		if app.ErrorCode(err) != app.EUNAVAILABLE || !strings.Contains(app.ErrorMessage(err), "data shard is unavailable") {
			t.Errorf("the down shard's user: %v, want unavailable naming the data shard", err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("three calls to the hung shard took %s, want each bounded by its timeout", d)
	}
	// The other users, and readiness (shard 0), are unaffected.
	if got, err := s.Post(ctx, pu.ID); err != nil || got.Body != "u" {
		t.Errorf("the other user's read: %+v %v", got, err)
	}
	if err := s.CreatePost(ctx, &app.Post{UserID: up.ID, Body: "u2"}); err != nil {
		t.Errorf("the other user's write: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("readiness with shard 1 down: %v, want ready (shard 0 holds the map and users)", err)
	}
	if err := db1.Ping(ctx); err == nil {
		t.Error("shard 1's own check passes while it is hung")
	}
	srv.Resume()
	rsrv.Resume()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.Post(ctx, pd.ID)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shard 1 back, its user still fails: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.CreatePost(ctx, &app.Post{UserID: down.ID, Body: "back"}); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("write after shard 1 is back: %v", err)
	}
}

// TestMoveVerifyFails: when the target does not hold exactly the source's
// rows (here a trigger on the target alters every copied body), the move
// stops at the check: the source keeps the bucket, its writes and reads go
// on there, nothing is deleted; once the target is fixed the same command
// moves it.
func TestMoveVerifyFails(t *testing.T) {
	ctx := context.Background()
	p := newShardPair(t, mysql.Options{})
	s := p.router(t, 100*time.Millisecond)
	u := mustUser(t, p.db0, "victim")
	for i := 0; i < 3; i++ {
		if err := s.CreatePost(ctx, &app.Post{UserID: u.ID, Body: fmt.Sprint("row ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	trigger := "`" + p.m1.Primary.DBName + "`.corrupt"
	for _, q := range []string{
		"CREATE TRIGGER " + trigger + " BEFORE INSERT ON `" + p.m1.Primary.DBName + "`.posts FOR EACH ROW SET NEW.body = CONCAT(NEW.body, '!')",
	} {
		if _, err := p.m1.PrimaryDB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	b := mysql.BucketOf(u.ID)
	_, err := s.MoveBuckets(ctx, 0, 1, []int{b}, fastMove())
	if err == nil || !strings.Contains(err.Error(), "verify") {
		t.Fatalf("move onto a target that alters rows: %v, want a verify error", err)
	}
	var owned int
	p.m0.PrimaryDB.QueryRow("SELECT COUNT(*) FROM `"+p.m0.Primary.DBName+"`.shard_owned WHERE bucket = ?", b).Scan(&owned)
	if owned != 1 || s.ShardOfUser(u.ID) != 0 || count(t, p.m0, "posts", u.ID) != 3 {
		t.Fatalf("after a failed check: shard 0 owns %d, map says %d, %d rows on shard 0; want 1, 0, 3",
			owned, s.ShardOfUser(u.ID), count(t, p.m0, "posts", u.ID))
	}
	if err := s.CreatePost(ctx, &app.Post{UserID: u.ID, Body: "still here"}); err != nil || count(t, p.m0, "posts", u.ID) != 4 {
		t.Errorf("a write after the failed move: %v, want it on shard 0", err)
	}
	if _, err := p.m1.PrimaryDB.Exec("DROP TRIGGER " + trigger); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MoveBuckets(ctx, 0, 1, []int{b}, fastMove()); err != nil {
		t.Fatalf("the move once the target is fixed: %v", err)
	}
	if count(t, p.m1, "posts", u.ID) != 4 || count(t, p.m0, "posts", u.ID) != 0 {
		t.Errorf("after the fixed move: %d rows on shard 1, %d on shard 0; want 4 and 0",
			count(t, p.m1, "posts", u.ID), count(t, p.m0, "posts", u.ID))
	}
}
