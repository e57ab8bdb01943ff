package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/scaling-aws/scaling-aws/app"
)

// CacheOptions tunes a PostCache. The zero value is usable.
type CacheOptions struct {
	// Prefix starts every key. Default: "".
	Prefix string
	// TTL is how long a post stays in Redis. Default: 5m.
	TTL time.Duration
	// LocalTTL is how long a post stays in the in-process layer. Other
	// instances' writes cannot reach that layer, so this is the staleness a
	// reader on another instance may see. Default: 1s.
	LocalTTL time.Duration
	// LocalSize caps the in-process layer's entries. Default: 10000.
	LocalSize int
	// FenceTTL is how long after a write the cache refuses to be filled, so a
	// reader that fetched the old row from a lagging replica cannot put it
	// back. It is also the lag bound of the fills: a row a replica returned
	// is cached only when the store reports that replica's lag as known and
	// under FenceTTL (app.ReadSource), since only then is every write it may
	// miss still fenced. A row from a replica whose lag is unknown
	// (replication stopped, not measured) or larger is served, not cached.
	// Default: 5s.
	FenceTTL time.Duration
	// PageSize is the only list page size cached (first page only).
	// Default: 20.
	PageSize int
	// DownFor is how long Redis is skipped after an error, so that an outage
	// costs one failed call per period rather than one per read. Default: 1s.
	DownFor time.Duration
	// Now is the clock. Default: time.Now.
	Now app.Clock
	// Logger receives degradation warnings. Default: slog.Default().
	Logger *slog.Logger
	// Registerer receives the cache metrics. Default: none.
	Registerer prometheus.Registerer
	// Reader, when set, answers the cache's GETs: a client of the replication group's
	// reader endpoint, so reads scale with replicas while one thread of the primary serves
	// only the writes, fences and fills. The reader endpoint is a DNS name, not a load
	// balancer: it splits new connections evenly over the replicas (over the primary when
	// there is none), so the spread is per pooled connection, even across a fleet of
	// servers (ElastiCache guide, "Finding replication group endpoints"). What a replica may miss is a write younger than its replication lag
	// (milliseconds): a GET there can return the value a write has just deleted, served
	// and kept in the in-process layer for at most LocalTTL, the staleness other
	// instances accept already; a fill still goes to the primary with NX, which a fence
	// refuses. A failed read falls back to the primary for that read (the replicas'
	// trouble does not mark the cache down). Default: nil, every command on the primary.
	Reader goredis.UniversalClient
}

func (o CacheOptions) withDefaults() CacheOptions {
	if o.TTL <= 0 {
		o.TTL = 5 * time.Minute
	}
	if o.LocalTTL <= 0 {
		o.LocalTTL = time.Second
	}
	if o.LocalSize <= 0 {
		o.LocalSize = 10000
	}
	if o.FenceTTL <= 0 {
		o.FenceTTL = 5 * time.Second
	}
	if o.PageSize <= 0 {
		o.PageSize = 20
	}
	if o.DownFor <= 0 {
		o.DownFor = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// fence is the value a write leaves in place of a cached entry; fills use
// SET NX, so they cannot overwrite it until it expires.
const fence = "-"

// tombstone is the local layer's fence: set at once by a write on this
// instance, it sends reads of the key to the store until it expires.
var tombstone any = struct{ tombstone bool }{true}

// PostCache is a cache-aside app.PostStore over another (the database's).
// Reads look in an in-process layer, then Redis, then the store, with
// concurrent misses on one key collapsed into one store read (singleflight).
// Writes go to the store, then invalidate. When Redis fails, reads and writes
// go on against the store alone. Reads under app.WithPrimary bypass the cache.
type PostCache struct {
	c     goredis.UniversalClient
	store app.PostStore
	o     CacheOptions
	group singleflight.Group
	local *local

	downUntil atomic.Int64
	requests  *prometheus.CounterVec

	fences    chan string
	done      chan struct{}
	closeOnce sync.Once
}

var _ app.PostStore = (*PostCache)(nil)

// NewPostCache returns the cache layer over store. Close it to flush the
// invalidations still queued.
func NewPostCache(c goredis.UniversalClient, store app.PostStore, o CacheOptions) *PostCache {
	o = o.withDefaults()
	pc := &PostCache{c: c, store: store, o: o, local: newLocal(o.LocalSize),
		fences: make(chan string, 4096), done: make(chan struct{})}
	go pc.fencer()
	pc.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "app_cache_requests_total",
		Help: "Cache lookups by layer (local, redis) and result (hit, miss, error, skipped); fills refused because a lagging replica served the read (layer fill, result replica_lag); GETs answered by the reader endpoint or failed there and retried on the primary (layer reader, result ok or error).",
	}, []string{"layer", "result"})
	if o.Registerer != nil {
		o.Registerer.MustRegister(pc.requests)
	}
	return pc
}

func (pc *PostCache) postKey(id int64) string {
	return pc.o.Prefix + "post:" + strconv.FormatInt(id, 10)
}
func (pc *PostCache) pageKey(uid int64) string {
	return pc.o.Prefix + "posts:user:" + strconv.FormatInt(uid, 10)
}

func (pc *PostCache) up() bool {
	if time.Now().UnixNano() < pc.downUntil.Load() {
		pc.requests.WithLabelValues("redis", "skipped").Inc()
		return false
	}
	return true
}

func (pc *PostCache) failed(op string, err error) {
	pc.requests.WithLabelValues("redis", "error").Inc()
	if pc.downUntil.Swap(time.Now().Add(pc.o.DownFor).UnixNano()) < time.Now().UnixNano() {
		pc.o.Logger.Warn("cache unavailable, serving from the database", "op", op, "err", err)
	}
}

// get reads key through the local layer and Redis, or calls load and fills
// both. It never fails because of the cache. A key written recently (a
// local tombstone or a Redis fence) is read from the store and not filled.
func get[T any](ctx context.Context, pc *PostCache, key string, load func(context.Context) (*T, error)) (*T, error) {
	if app.UsePrimary(ctx) {
		return load(ctx)
	}
	now := pc.o.Now()
	flight := key
	v, ok := pc.local.get(key, now)
	if ok && v != tombstone {
		pc.requests.WithLabelValues("local", "hit").Inc()
		return v.(*T), nil
	}
	fencedHere := ok // a write on this instance, whose Redis fence may be in flight
	if fencedHere {
		flight += "#fenced"
	}
	pc.requests.WithLabelValues("local", "miss").Inc()
	v, err, _ := pc.group.Do(flight, func() (any, error) {
		// The shared call must not die with the first caller's request.
		ctx := context.WithoutCancel(ctx)
		fenced := fencedHere
		if !fenced && pc.up() {
			b, err := pc.read(ctx, key)
			switch {
			case err == nil && string(b) == fence:
				fenced = true
				pc.requests.WithLabelValues("redis", "miss").Inc()
			case err == nil:
				t := new(T)
				if err := json.Unmarshal(b, t); err == nil {
					pc.requests.WithLabelValues("redis", "hit").Inc()
					pc.local.fill(key, t, now.Add(pc.o.LocalTTL), now)
					return t, nil
				}
				pc.requests.WithLabelValues("redis", "miss").Inc()
			case errors.Is(err, goredis.Nil):
				pc.requests.WithLabelValues("redis", "miss").Inc()
			default:
				pc.failed("get", err)
			}
		}
		var src app.ReadSource
		t, err := load(app.WithReadSource(ctx, &src))
		if err != nil {
			return nil, err
		}
		if !fenced && pc.fresh(src) {
			pc.fill(ctx, key, t)
		}
		return t, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*T), nil
}

// read GETs key from the reader when one is set, and from the primary otherwise or when the
// reader fails (a miss on the reader is an answer, not a failure).
func (pc *PostCache) read(ctx context.Context, key string) ([]byte, error) {
	if pc.o.Reader != nil {
		b, err := pc.o.Reader.Get(ctx, key).Bytes()
		if err == nil || errors.Is(err, goredis.Nil) {
			pc.requests.WithLabelValues("reader", "ok").Inc()
			return b, err
		}
		pc.requests.WithLabelValues("reader", "error").Inc()
	}
	return pc.c.Get(ctx, key).Bytes()
}

// fresh reports whether a store read may be cached: it came from the
// primary, or from a replica whose lag is known and under FenceTTL, so any
// write it does not reflect is younger than FenceTTL and its fence is still
// in place. A stale row is never cached, so it is never served after the lag
// has ended.
func (pc *PostCache) fresh(src app.ReadSource) bool {
	if !src.Replica {
		return true
	}
	if src.LagKnown && src.LagBound < pc.o.FenceTTL {
		return true
	}
	pc.requests.WithLabelValues("fill", "replica_lag").Inc()
	return false
}

// fill caches v under key after a store read: in Redis unless a write's
// fence (or a fresher fill) is there, and then locally. When Redis is down
// only the local layer is filled, which still spares the database.
func (pc *PostCache) fill(ctx context.Context, key string, v any) {
	now := pc.o.Now()
	if pc.up() {
		b, err := json.Marshal(v)
		if err != nil {
			return
		}
		err = pc.c.SetArgs(ctx, key, b, goredis.SetArgs{Mode: "NX", TTL: pc.o.TTL}).Err()
		switch {
		case errors.Is(err, goredis.Nil):
			return // not set: what we read may predate that write
		case err != nil:
			pc.failed("fill", err)
		}
	}
	pc.local.fill(key, v, now.Add(pc.o.LocalTTL), now)
}

// invalidate fences keys after a write: at once in this instance's local
// layer (a tombstone), and in Redis through the fencer goroutine, which
// batches the fences of concurrent writes into one pipeline so that a write
// does not wait for a Redis round trip. If the batch queue is full the
// fence is set here, synchronously. If Redis is down the entries expire
// with their TTL; the write itself has succeeded and is not failed for it.
func (pc *PostCache) invalidate(ctx context.Context, keys ...string) {
	exp := pc.o.Now().Add(pc.o.FenceTTL)
	for _, k := range keys {
		pc.local.set(k, tombstone, exp)
	}
	if !pc.up() {
		pc.o.Logger.Warn("cache invalidation skipped, Redis down", "keys", keys)
		return
	}
	for i, k := range keys {
		select {
		case pc.fences <- k:
		default:
			pc.setFences(ctx, keys[i:])
			return
		}
	}
}

func (pc *PostCache) setFences(ctx context.Context, keys []string) {
	pipe := pc.c.Pipeline()
	for _, k := range keys {
		pipe.Set(ctx, k, fence, pc.o.FenceTTL)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		pc.failed("invalidate", err)
	}
}

// fencer sets the queued fences, as many per pipeline as are waiting.
func (pc *PostCache) fencer() {
	defer close(pc.done)
	ctx := context.Background()
	batch := make([]string, 0, 256)
	for k := range pc.fences {
		batch = append(batch[:0], k)
	more:
		for len(batch) < cap(batch) {
			select {
			case k, ok := <-pc.fences:
				if !ok {
					break more
				}
				batch = append(batch, k)
			default:
				break more
			}
		}
		pc.setFences(ctx, batch)
	}
}

// Close sets the fences still queued and stops the fencer. The cache must
// not be used afterwards.
func (pc *PostCache) Close() {
	pc.closeOnce.Do(func() {
		close(pc.fences)
		<-pc.done
	})
}

// Post implements app.PostStore.
func (pc *PostCache) Post(ctx context.Context, id int64) (*app.Post, error) {
	return get(ctx, pc, pc.postKey(id), func(ctx context.Context) (*app.Post, error) {
		return pc.store.Post(ctx, id)
	})
}

// PostsByUser implements app.PostStore. Only the first page of the default
// size is cached: it is the hot one (a profile's latest posts).
func (pc *PostCache) PostsByUser(ctx context.Context, userID, cursor int64, limit int) (*app.PostPage, error) {
	if cursor != 0 || limit != pc.o.PageSize {
		return pc.store.PostsByUser(ctx, userID, cursor, limit)
	}
	return get(ctx, pc, pc.pageKey(userID), func(ctx context.Context) (*app.PostPage, error) {
		return pc.store.PostsByUser(ctx, userID, cursor, limit)
	})
}

// CreatePost implements app.PostStore.
func (pc *PostCache) CreatePost(ctx context.Context, p *app.Post) error {
	if err := pc.store.CreatePost(ctx, p); err != nil {
		return err
	}
	pc.invalidate(ctx, pc.pageKey(p.UserID))
	return nil
}

// UpdatePost implements app.PostStore.
func (pc *PostCache) UpdatePost(ctx context.Context, p *app.Post) error {
	if err := pc.store.UpdatePost(ctx, p); err != nil {
		return err
	}
	pc.invalidate(ctx, pc.postKey(p.ID), pc.pageKey(p.UserID))
	return nil
}

// DeletePost implements app.PostStore.
func (pc *PostCache) DeletePost(ctx context.Context, id, userID int64) error {
	if err := pc.store.DeletePost(ctx, id, userID); err != nil {
		return err
	}
	pc.invalidate(ctx, pc.postKey(id), pc.pageKey(userID))
	return nil
}

// local is the in-process layer: a bounded map with per-entry expiry.
type local struct {
	mu  sync.RWMutex
	m   map[string]localEntry
	max int
}

type localEntry struct {
	v   any
	exp time.Time
}

func newLocal(max int) *local { return &local{m: make(map[string]localEntry), max: max} }

func (l *local) get(k string, now time.Time) (any, bool) {
	l.mu.RLock()
	e, ok := l.m[k]
	l.mu.RUnlock()
	if !ok || !now.Before(e.exp) {
		return nil, false
	}
	return e.v, true
}

func (l *local) set(k string, v any, exp time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) >= l.max {
		// Evict an arbitrary entry (map order is random): cheap, and hot
		// keys come straight back.
		for old := range l.m {
			delete(l.m, old)
			break
		}
	}
	l.m[k] = localEntry{v: v, exp: exp}
}

// fill sets k unless a live tombstone is there: a fill never undoes a
// write's fence.
func (l *local) fill(k string, v any, exp, now time.Time) {
	l.mu.RLock()
	e, ok := l.m[k]
	l.mu.RUnlock()
	if ok && e.v == tombstone && now.Before(e.exp) {
		return
	}
	l.set(k, v, exp)
}

// String describes the cache for logs.
func (pc *PostCache) String() string { return fmt.Sprintf("redis cache (prefix %q)", pc.o.Prefix) }
