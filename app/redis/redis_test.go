package redis_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/scaling-aws/scaling-aws/app"
	"github.com/scaling-aws/scaling-aws/app/apptest"
	"github.com/scaling-aws/scaling-aws/app/redis"
)

// posts is an in-memory app.PostStore standing in for the database below
// the cache (the database adapter has its own tests against MariaDB); it
// counts the reads that reach it.
type posts struct {
	mu    sync.Mutex
	m     map[int64]*app.Post
	reads atomic.Int64
	gate  chan struct{} // when set, reads wait on it
}

func newPosts() *posts { return &posts{m: map[int64]*app.Post{}} }

func (s *posts) CreatePost(_ context.Context, p *app.Post) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.ID = int64(len(s.m) + 1)
	c := *p
	s.m[p.ID] = &c
	return nil
}

func (s *posts) Post(_ context.Context, id int64) (*app.Post, error) {
	s.reads.Add(1)
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.m[id]
	if !ok {
		return nil, app.Errorf(app.ENOTFOUND, "post %d not found", id)
	}
	c := *p
	return &c, nil
}

func (s *posts) UpdatePost(_ context.Context, p *app.Post) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *p
	s.m[p.ID] = &c
	return nil
}

func (s *posts) DeletePost(_ context.Context, id, _ int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

func (s *posts) PostsByUser(_ context.Context, uid, _ int64, _ int) (*app.PostPage, error) {
	s.reads.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	page := &app.PostPage{Posts: []*app.Post{}}
	for _, p := range s.m {
		if p.UserID == uid {
			page.Posts = append(page.Posts, p)
		}
	}
	return page, nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup(t *testing.T, addr string) (*redis.PostCache, *posts, *clock, *prometheus.Registry) {
	t.Helper()
	_, prefix := apptest.Redis(t)
	c := redis.NewClient(redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	store := newPosts()
	clk := &clock{t: time.Now()}
	reg := prometheus.NewRegistry()
	pc := redis.NewPostCache(c, store, redis.CacheOptions{Prefix: prefix, Now: clk.now, Registerer: reg})
	t.Cleanup(pc.Close)
	return pc, store, clk, reg
}

func cacheCount(t *testing.T, reg *prometheus.Registry, layer, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["layer"] == layer && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestReadPathAndInvalidation(t *testing.T) {
	addr, _ := apptest.Redis(t)
	pc, store, clk, reg := setup(t, addr)
	ctx := context.Background()
	p := &app.Post{UserID: 7, Body: "v1"}
	if err := pc.CreatePost(ctx, p); err != nil {
		t.Fatal(err)
	}
	get := func(want string) {
		t.Helper()
		got, err := pc.Post(ctx, p.ID)
		if err != nil || got.Body != want {
			t.Fatalf("Post = %+v, %v; want body %q", got, err, want)
		}
	}
	get("v1") // miss everywhere: from the store
	get("v1") // in-process hit
	if n := store.reads.Load(); n != 1 {
		t.Fatalf("store reads = %d, want 1", n)
	}
	if hits := cacheCount(t, reg, "local", "hit"); hits != 1 {
		t.Errorf("local hits = %v, want 1", hits)
	}
	clk.t = clk.t.Add(2 * time.Second) // the in-process entry expires
	get("v1")                          // Redis hit
	if n := store.reads.Load(); n != 1 {
		t.Errorf("store reads after local expiry = %d, want 1 (served by Redis)", n)
	}
	if hits := cacheCount(t, reg, "redis", "hit"); hits != 1 {
		t.Errorf("redis hits = %v, want 1", hits)
	}

	if err := pc.UpdatePost(ctx, &app.Post{ID: p.ID, UserID: 7, Body: "v2"}); err != nil {
		t.Fatal(err)
	}
	get("v2") // invalidated: from the store; the fence stops the fill
	get("v2")
	if n := store.reads.Load(); n != 3 {
		t.Errorf("store reads after update = %d, want 3 (fenced key is not refilled)", n)
	}
	// Reads for read-your-own-writes skip the cache.
	if _, err := pc.Post(app.WithPrimary(ctx), p.ID); err != nil {
		t.Fatal(err)
	}
	if n := store.reads.Load(); n != 4 {
		t.Errorf("store reads after a primary read = %d, want 4", n)
	}
	if err := pc.DeletePost(ctx, p.ID, 7); err != nil {
		t.Fatal(err)
	}
	_, err := pc.Post(ctx, p.ID)
	if app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("read after delete: %v, want not_found", err)
	}
}

// TestRedisDown points the cache at a closed port: reads and writes go on
// against the store without errors.
func TestRedisDown(t *testing.T) {
	pc, store, clk, reg := setup(t, apptest.ClosedAddr())
	ctx := context.Background()
	p := &app.Post{UserID: 1, Body: "hello"}
	if err := pc.CreatePost(ctx, p); err != nil {
		t.Fatalf("write with Redis down: %v", err)
	}
	for i := range 3 {
		clk.t = clk.t.Add(time.Minute)
		got, err := pc.Post(ctx, p.ID)
		if err != nil || got.Body != "hello" {
			t.Fatalf("read %d with Redis down = %+v, %v", i, got, err)
		}
	}
	if err := pc.UpdatePost(ctx, &app.Post{ID: p.ID, UserID: 1, Body: "bye"}); err != nil {
		t.Fatalf("update with Redis down: %v", err)
	}
	if page, err := pc.PostsByUser(ctx, 1, 0, 20); err != nil || len(page.Posts) != 1 {
		t.Fatalf("list with Redis down = %+v, %v", page, err)
	}
	if store.reads.Load() < 4 {
		t.Errorf("store reads = %d, want every read served by the store", store.reads.Load())
	}
	// The in-process layer still works without Redis.
	clk.t = clk.t.Add(time.Minute) // past the update's local fence
	before := store.reads.Load()
	pc.Post(ctx, p.ID)
	pc.Post(ctx, p.ID)
	if n := store.reads.Load() - before; n != 1 {
		t.Errorf("two reads within the local TTL with Redis down made %d store reads, want 1", n)
	}
	if cacheCount(t, reg, "redis", "error") == 0 {
		t.Error("no Redis error counted")
	}
}

// TestStampede: concurrent misses on one key make one store read.
func TestStampede(t *testing.T) {
	addr, _ := apptest.Redis(t)
	pc, store, _, _ := setup(t, addr)
	ctx := context.Background()
	p := &app.Post{UserID: 1, Body: "hot"}
	pc.CreatePost(ctx, p)
	store.gate = make(chan struct{})
	const n = 50
	var started, done sync.WaitGroup
	started.Add(n)
	done.Add(n)
	errs := make(chan error, n)
	for range n {
		go func() {
			defer done.Done()
			started.Done()
			if _, err := pc.Post(ctx, p.ID); err != nil {
				errs <- err
			}
		}()
	}
	started.Wait()
	// Let the goroutines reach the cache before the one store read returns.
	// Without singleflight each of them would be inside the store by now.
	for store.reads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(store.gate)
	done.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := store.reads.Load(); got != 1 {
		t.Errorf("store reads = %d for %d concurrent misses, want 1", got, n)
	}
}

func TestSessions(t *testing.T) {
	addr, prefix := apptest.Redis(t)
	c := redis.NewClient(redis.Options{Addr: addr})
	defer c.Close()
	s := redis.NewSessions(c, prefix, nil)
	ctx := context.Background()
	sess := &app.Session{Token: "secret-token", UserID: 42, ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(ctx, "secret-token")
	if err != nil || got.UserID != 42 || got.ExpiresAt.Before(time.Now().Add(59*time.Minute)) {
		t.Fatalf("Session = %+v, %v", got, err)
	}
	if n, _ := c.Exists(ctx, prefix+"sess:secret-token").Result(); n != 0 {
		t.Error("the raw token is a key; only its hash should be")
	}
	if err := s.DeleteSession(ctx, "secret-token"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "secret-token"); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Errorf("deleted session: %v, want unauthorized", err)
	}
	if err := s.CreateSession(ctx, &app.Session{Token: "t", UserID: 1, ExpiresAt: time.Now().Add(-time.Second)}); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("expired session create: %v, want invalid", err)
	}
	// Expiry is checked against the (injected) clock, not only Redis's TTL.
	clk := &clock{t: time.Now()}
	s = redis.NewSessions(c, prefix, clk.now)
	if err := s.CreateSession(ctx, &app.Session{Token: "t2", UserID: 5, ExpiresAt: clk.t.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(2 * time.Hour)
	if _, err := s.Session(ctx, "t2"); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Errorf("session past its expiry: %v, want unauthorized", err)
	}
}

// TestInvalidationAcrossInstances: a write on instance A fences the key in
// Redis, so instance B, once its short local entry expires, reads the new
// value from the store instead of the old one from Redis.
func TestInvalidationAcrossInstances(t *testing.T) {
	addr, prefix := apptest.Redis(t)
	c := redis.NewClient(redis.Options{Addr: addr})
	defer c.Close()
	store := newPosts()
	clk := &clock{t: time.Now()}
	a := redis.NewPostCache(c, store, redis.CacheOptions{Prefix: prefix, Now: clk.now})
	b := redis.NewPostCache(c, store, redis.CacheOptions{Prefix: prefix, Now: clk.now})
	defer b.Close()
	ctx := context.Background()
	p := &app.Post{UserID: 1, Body: "v1"}
	a.CreatePost(ctx, p)
	if got, _ := b.Post(ctx, p.ID); got.Body != "v1" {
		t.Fatalf("B read %q", got.Body)
	}
	if err := a.UpdatePost(ctx, &app.Post{ID: p.ID, UserID: 1, Body: "v2"}); err != nil {
		t.Fatal(err)
	}
	a.Close() // sets the queued fences
	if v, _ := c.Get(ctx, prefix+"post:"+strconv.FormatInt(p.ID, 10)).Result(); v != "-" {
		t.Fatalf("Redis holds %q after the write, want the fence", v)
	}
	clk.t = clk.t.Add(2 * time.Second) // B's local entry expires
	if got, _ := b.Post(ctx, p.ID); got.Body != "v2" {
		t.Errorf("B read %q after A's write, want v2", got.Body)
	}
}

// TestRedisStallAndLoss: Redis hangs (SIGSTOP: the port still accepts
// connections, nothing answers) and then is gone. Session calls fail within
// the client's timeout with the code "unavailable" (503 with Retry-After in
// the HTTP layer, not 500 "internal"), and cached reads go on from the store.
func TestRedisStallAndLoss(t *testing.T) {
	srv := apptest.StartRedis(t)
	c := redis.NewClient(redis.Options{Addr: srv.Addr})
	defer c.Close()
	s := redis.NewSessions(c, "", nil)
	store := newPosts()
	pc := redis.NewPostCache(c, store, redis.CacheOptions{})
	defer pc.Close()
	ctx := context.Background()
	sess := &app.Session{Token: "tok", UserID: 7, ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	p := &app.Post{UserID: 7, Body: "hello"}
	if err := pc.CreatePost(ctx, p); err != nil {
		t.Fatal(err)
	}
	check := func(what string) {
		t.Helper()
		for name, call := range map[string]func() error{
			"Session":       func() error { _, err := s.Session(ctx, "tok"); return err },
			"CreateSession": func() error { return s.CreateSession(ctx, sess) },
			"DeleteSession": func() error { return s.DeleteSession(ctx, "tok") },
		} {
			start := time.Now()
			err := call()
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("%s: %s took %s, want under 2s", what, name, took)
			}
			if app.ErrorCode(err) != "unavailable" {
				t.Errorf("%s: %s: %v (code %q), want code \"unavailable\"", what, name, err, app.ErrorCode(err))
			}
		}
		start := time.Now()
		if got, err := pc.Post(ctx, p.ID); err != nil || got.Body != "hello" {
			t.Errorf("%s: cached read = %+v, %v; want it from the store", what, got, err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("%s: cached read took %s", what, took)
		}
	}
	srv.Pause()
	check("Redis stalled")
	srv.Resume()
	// The calls that timed out were still sent: a stalled Redis runs them when it resumes,
	// in whatever order they reached it (the DEL may land after the SET), so the client
	// cannot know their outcome. What must hold is that the store works again.
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Errorf("after the stall: %v", err)
	}
	if _, err := s.Session(ctx, "tok"); err != nil {
		t.Errorf("after the stall: %v", err)
	}
	srv.RestartRedis()
	srv.Pause() // and now it hangs again, with no data
	check("Redis restarted empty, then stalled")
}

// TestReaderAnswersTheGets: with a Reader, the cache's GETs go to it and everything else to
// the primary. Here the reader is another database of the same server, which the primary's
// fills never reach: every read past the in-process layer misses there and goes to the
// store, where a GET on the primary would have hit. A reader that fails (nothing listens)
// costs nothing: the GET is retried on the primary, which answers, and the cache stays up.
func TestReaderAnswersTheGets(t *testing.T) {
	addr, prefix := apptest.Redis(t)
	primary := redis.NewClient(redis.Options{Addr: addr})
	t.Cleanup(func() { primary.Close() })
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		reader      *goredis.Client
		storeReads  int64
		readerOK    float64
		readerError float64
	}{
		{"reader", goredis.NewClient(&goredis.Options{Addr: addr, DB: 1}), 3, 3, 0},
		{"reader down", goredis.NewClient(&goredis.Options{Addr: apptest.ClosedAddr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond}), 1, 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Cleanup(func() { tc.reader.Close() })
			store := newPosts()
			clk := &clock{t: time.Now()}
			reg := prometheus.NewRegistry()
			pc := redis.NewPostCache(primary, store, redis.CacheOptions{Prefix: prefix + tc.name + ":", Now: clk.now, Registerer: reg, Reader: tc.reader})
			t.Cleanup(pc.Close)
			p := &app.Post{UserID: 7, Body: "v1"}
			if err := pc.CreatePost(ctx, p); err != nil {
				t.Fatal(err)
			}
			clk.t = clk.t.Add(10 * time.Second) // past the write's fence
			for i := 0; i < 3; i++ {
				got, err := pc.Post(ctx, p.ID)
				if err != nil || got.Body != "v1" {
					t.Fatalf("read %d: Post = %+v, %v", i, got, err)
				}
				clk.t = clk.t.Add(2 * time.Second) // past the in-process layer
			}
			if n := store.reads.Load(); n != tc.storeReads {
				t.Errorf("store reads = %d, want %d", n, tc.storeReads)
			}
			if n := cacheCount(t, reg, "reader", "ok"); n != tc.readerOK {
				t.Errorf("reader ok = %v, want %v", n, tc.readerOK)
			}
			if n := cacheCount(t, reg, "reader", "error"); n != tc.readerError {
				t.Errorf("reader errors = %v, want %v", n, tc.readerError)
			}
			if n := cacheCount(t, reg, "redis", "error"); n != 0 {
				t.Errorf("the primary's errors = %v, want 0: a failing reader must not mark the cache down", n)
			}
		})
	}
}
