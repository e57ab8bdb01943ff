package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scaling-aws/scaling-aws/app"
)

// FeedOptions tunes a Feed. The zero value is usable.
type FeedOptions struct {
	// Refresh is how often each shard's newest posts are read again. A new
	// post shows in the feed within it. Default: 2s (each server asks each
	// shard one indexed LIMIT query per Refresh, whatever its traffic).
	Refresh time.Duration
	// Size is how many posts the feed keeps, the largest limit it serves.
	// Default: 100 (the API's largest page).
	Size int
	// Logger receives shard failures. Default: slog.Default().
	Logger *slog.Logger
}

// Feed is the global "latest posts" read across every shard. It is a merge
// kept in memory and refreshed every Refresh in the background, not a
// query per request: a request costs no database call at all, and the
// shards see Size rows per server per Refresh. A denormalized feed table
// on shard 0, written on every post, was the alternative: it would send
// every write of every shard to shard 0 again, the write load sharding
// takes off it. A shard that fails keeps its last posts in the merge (the
// feed misses only its newest), so a shard down does not empty the feed.
type Feed struct {
	shards []*DB
	opts   FeedOptions
	cur    atomic.Pointer[feedState]

	mu    sync.Mutex // one refresh at a time
	parts [][]*Post  // each shard's last good answer
	start sync.Once

	ctx    context.Context // the refresh loop's, cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type feedState struct {
	posts []*Post
	at    time.Time
}

// NewFeed returns the feed over shards (one shard: the single database).
// It reads nothing until the first LatestPosts, so servers that never serve
// the feed (workers) never query for it.
func NewFeed(shards []*DB, o FeedOptions) *Feed {
	if o.Refresh <= 0 {
		o.Refresh = 2 * time.Second
	}
	if o.Size <= 0 {
		o.Size = 100
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Feed{shards: shards, opts: o, parts: make([][]*Post, len(shards)), ctx: ctx, cancel: cancel}
}

// Close stops the refresh.
func (f *Feed) Close() error {
	f.cancel()
	f.wg.Wait()
	return nil
}

// LatestPosts returns up to limit of the newest posts of all users, newest
// first, as of the last refresh (at most Refresh old). The first call reads
// the shards itself and starts the refresh.
func (f *Feed) LatestPosts(ctx context.Context, limit int) ([]*Post, error) {
	if limit < 1 || limit > f.opts.Size {
		return nil, app.Errorf(app.EINVALID, "limit must be from 1 to %d", f.opts.Size)
	}
	st := f.cur.Load()
	if st == nil {
		if err := f.refresh(ctx, false); err != nil {
			return nil, err
		}
		f.start.Do(func() {
			f.wg.Add(1)
			go f.loop()
		})
		st = f.cur.Load()
	}
	return st.posts[:min(limit, len(st.posts))], nil
}

func (f *Feed) loop() {
	defer f.wg.Done()
	t := time.NewTicker(f.opts.Refresh)
	defer t.Stop()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
			f.refresh(f.ctx, true)
		}
	}
}

// refresh asks every shard at once for its newest posts and merges them.
// It fails only when no shard has ever answered. Unless forced, it does
// nothing when a concurrent first call has just done it.
func (f *Feed) refresh(ctx context.Context, force bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !force && f.cur.Load() != nil {
		return nil
	}
	errs := make([]error, len(f.shards))
	got := make([][]*Post, len(f.shards))
	var wg sync.WaitGroup
	for i, db := range f.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = db.newestPosts(ctx, f.opts.Size)
		}()
	}
	wg.Wait()
	answered := false
	var merged []*Post
	for i := range f.shards {
		if errs[i] == nil {
			f.parts[i] = got[i]
		} else if ctx.Err() == nil {
			f.opts.Logger.Warn("feed: a shard did not answer; its last posts stay in the feed", "shard", i, "err", errs[i])
		}
		answered = answered || f.parts[i] != nil
		merged = append(merged, f.parts[i]...)
	}
	if !answered {
		return app.Unavailable(fmt.Errorf("feed: %v", errs), "the latest posts are unavailable: retry in a few seconds")
	}
	sort.Slice(merged, func(a, b int) bool {
		if !merged[a].CreatedAt.Equal(merged[b].CreatedAt) {
			return merged[a].CreatedAt.After(merged[b].CreatedAt)
		}
		return merged[a].ID > merged[b].ID
	})
	// A row copied by a bucket move in progress is on two shards for a while.
	seen := map[int64]bool{}
	out := make([]*Post, 0, f.opts.Size)
	for _, p := range merged {
		if !seen[p.ID] && len(out) < f.opts.Size {
			seen[p.ID] = true
			out = append(out, p)
		}
	}
	f.cur.Store(&feedState{posts: out, at: time.Now()})
	return nil
}

// newestPosts reads the newest posts of this database (a replica when one
// is healthy) by the posts_created index.
func (db *DB) newestPosts(ctx context.Context, limit int) ([]*Post, error) {
	posts := []*Post{}
	err := db.read(ctx, func(ctx context.Context, q *sql.DB) error {
		posts = posts[:0]
		rows, err := q.QueryContext(ctx, `SELECT id, user_id, body, created_at, updated_at FROM posts
			ORDER BY created_at DESC, id DESC LIMIT ?`, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p := &Post{}
			if err := rows.Scan(&p.ID, &p.UserID, &p.Body, &p.CreatedAt, &p.UpdatedAt); err != nil {
				return err
			}
			posts = append(posts, p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, internal("newest posts", err)
	}
	return posts, nil
}
