package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scaling-aws/scaling-aws/app"
)

// Sharding (docs/database.md, "Sharding"). Content (posts, photos) is split
// by user over up to MaxShards databases. A user belongs to one of Buckets
// fixed buckets, user id mod Buckets; a map on shard 0 (table shard_map)
// says which shard holds each bucket, so a shard is added by moving buckets
// (MoveBuckets), never by rehashing every user.
const (
	// Buckets is the number of logical buckets: 64 per shard at the most
	// shards (MaxShards), so moving whole buckets balances shards to within
	// about 1.6%; 1024 map rows are read in one query every refresh; and a
	// bucket fits in the 10 low bits of an id.
	Buckets = 1024
	// MaxShards is the most shards DB_SHARD_COUNT accepts: 4 bits of an id
	// name the shard that issued it.
	MaxShards = 16

	bucketBits = 10
	originBits = 4
	seqBits    = 38
	// shardedID marks ids issued with more than one shard. Ids issued
	// before (AUTO_INCREMENT on the single database) are below it, and every
	// id stays below 1<<53, the largest integer a JavaScript client reads
	// exactly.
	shardedID = int64(1) << (bucketBits + originBits + seqBits)
)

// BucketOf returns the bucket of a user. User ids are AUTO_INCREMENT, so
// consecutive sign-ups fall in consecutive buckets and spread evenly.
func BucketOf(userID int64) int { return int(uint64(userID) % Buckets) }

// ComposeID returns the id of a post or photo issued by shard origin for a
// user of bucket: 1<<52 | seq<<14 | origin<<10 | bucket. The bucket lets a
// read by id find the shard without asking every shard; the issuing shard
// keeps ids unique although every shard counts seq on its own, also after
// a bucket moves to another shard.
func ComposeID(seq int64, origin, bucket int) (int64, error) {
	if seq <= 0 || seq >= 1<<seqBits {
		return 0, fmt.Errorf("id sequence %d out of range 1..2^%d-1", seq, seqBits)
	}
	if origin < 0 || origin >= MaxShards || bucket < 0 || bucket >= Buckets {
		return 0, fmt.Errorf("shard %d or bucket %d out of range", origin, bucket)
	}
	return shardedID | seq<<(bucketBits+originBits) | int64(origin)<<bucketBits | int64(bucket), nil
}

// IDBucket returns the bucket carried by an id, and false for an id issued
// before sharding (or not a valid id at all), which carries none.
func IDBucket(id int64) (int, bool) {
	if id&shardedID == 0 || id >= shardedID<<1 {
		return 0, false
	}
	return int(id & (Buckets - 1)), true
}

// ShardOptions tunes a Sharded. The zero value is usable.
type ShardOptions struct {
	// MapRefresh is how often the bucket map is read again from shard 0.
	// Default: 2s (a moved bucket's reads follow it within this; writes
	// never depend on it, see fence).
	MapRefresh time.Duration
	// Logger receives map refresh failures. Default: slog.Default().
	Logger *slog.Logger
}

// Sharded stores posts and photos over several shards, each a DB (a
// primary and its replicas). Users and sessions stay on shard 0: wire
// Shard(0) as the UserStore and SessionStore.
type Sharded struct {
	shards []*DB
	m      atomic.Pointer[shardMap]
	opts   ShardOptions

	refreshMu   sync.Mutex
	lastRefresh time.Time

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Compile-time checks that Sharded implements the content interfaces.
var (
	_ app.PostStore  = (*Sharded)(nil)
	_ app.PhotoStore = (*Sharded)(nil)
	_ app.Pinger     = (*Sharded)(nil)
)

// shardMap is one reading of shard_map.
type shardMap struct {
	shard [Buckets]uint8
	// moved is true when some bucket is off shard 0: only then may an id
	// issued before sharding be elsewhere than on shard 0.
	moved bool
}

// NewSharded routes over shards (shards[0] the existing database, migrated
// with Migrate; the others with MigrateShard). It reads the bucket map now,
// failing if it cannot or if the map names a shard beyond len(shards), and
// then refreshes it every MapRefresh until Close. Close does not close the
// shards.
func NewSharded(ctx context.Context, shards []*DB, o ShardOptions) (*Sharded, error) {
	if len(shards) < 1 || len(shards) > MaxShards {
		return nil, fmt.Errorf("sharding needs 1 to %d shards, got %d", MaxShards, len(shards))
	}
	if o.MapRefresh <= 0 {
		o.MapRefresh = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Sharded{shards: shards, opts: o}
	m, err := s.loadMap(ctx)
	if err != nil {
		return nil, err
	}
	s.m.Store(m)
	s.lastRefresh = time.Now()
	lctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(1)
	go s.refreshLoop(lctx)
	return s, nil
}

// Close stops the map refresh.
func (s *Sharded) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// Shard returns shard i.
func (s *Sharded) Shard(i int) *DB { return s.shards[i] }

// Ping checks shard 0, which holds the map and the users: without it no
// request can be served. The other shards are reported apart (readiness
// checks that do not fail /readyz), since a shard down affects only its
// users.
func (s *Sharded) Ping(ctx context.Context) error { return s.shards[0].Ping(ctx) }

// ShardOfUser returns the shard that holds a user's content, by the map
// this server holds now.
func (s *Sharded) ShardOfUser(userID int64) int { return int(s.m.Load().shard[BucketOf(userID)]) }

func (s *Sharded) loadMap(ctx context.Context) (*shardMap, error) {
	ctx, cancel := context.WithTimeout(ctx, s.shards[0].opts.ReadTimeout)
	defer cancel()
	rows, err := s.shards[0].primary.QueryContext(ctx, `SELECT bucket, shard FROM shard_map`)
	if err != nil {
		return nil, internal("read the shard map (table shard_map on shard 0)", err)
	}
	defer rows.Close()
	m := &shardMap{}
	for rows.Next() {
		var b, sh int
		if err := rows.Scan(&b, &sh); err != nil {
			return nil, internal("read the shard map", err)
		}
		if b < 0 || b >= Buckets {
			continue
		}
		if sh >= len(s.shards) {
			return nil, fmt.Errorf("the shard map puts bucket %d on shard %d, but DB_SHARD_COUNT=%d: "+
				"set DB_SHARD_COUNT to at least %d with that shard's DB_SHARD_%d_* settings", b, sh, len(s.shards), sh+1, sh)
		}
		m.shard[b] = uint8(sh)
		m.moved = m.moved || sh != 0
	}
	if err := rows.Err(); err != nil {
		return nil, internal("read the shard map", err)
	}
	return m, nil
}

func (s *Sharded) refreshLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.MapRefresh)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := s.refresh(ctx, 0)
		if ctx.Err() != nil {
			return
		}
		// The last map keeps serving: reads follow it, and writes are
		// fenced on each shard whatever map the server holds.
		if err != nil && !failing {
			s.opts.Logger.Warn("shard map refresh failing; routing by the last map read", "err", err)
		} else if err == nil && failing {
			s.opts.Logger.Info("shard map refresh works again")
		}
		failing = err != nil
	}
}

// refresh reads the map again, unless it was read less than minAge ago
// (many writers meeting a moved bucket at once refresh it once).
func (s *Sharded) refresh(ctx context.Context, minAge time.Duration) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	if minAge > 0 && time.Since(s.lastRefresh) < minAge {
		return nil
	}
	m, err := s.loadMap(ctx)
	if err != nil {
		return err
	}
	s.m.Store(m)
	s.lastRefresh = time.Now()
	return nil
}

// kinds of content: the table, and the kind recorded in moved_ids.
const (
	kindPost  = "post"
	kindPhoto = "photo"
)

// movedUser looks up, on shard 0, the user of a row moved off shard 0 whose
// id does not carry its bucket (moved_ids, written by MoveBuckets).
func (s *Sharded) movedUser(ctx context.Context, kind string, id int64) (int64, bool, error) {
	var uid int64
	err := s.shards[0].read(ctx, func(ctx context.Context, q *sql.DB) error {
		return q.QueryRowContext(ctx, `SELECT user_id FROM moved_ids WHERE kind = ? AND id = ?`, kind, id).Scan(&uid)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, s.shardErr(0, internal("moved id", err))
	}
	return uid, true, nil
}

// shardOfID returns the shard of a post or photo by its id: the bucket it
// carries, or for an id issued before sharding shard 0, unless moved_ids
// says its user's bucket moved.
func (s *Sharded) shardOfID(ctx context.Context, kind string, id int64) (int, error) {
	m := s.m.Load()
	if b, ok := IDBucket(id); ok {
		return int(m.shard[b]), nil
	}
	if !m.moved {
		return 0, nil
	}
	uid, ok, err := s.movedUser(ctx, kind, id)
	if err != nil || !ok {
		return 0, err
	}
	return s.ShardOfUser(uid), nil
}

// elsewhere is where to look again after a row was not found on shard
// tried by its id's bucket, -1 for nowhere. An id can carry another bucket
// than its user's only if shard 0's AUTO_INCREMENT issued it (a server still
// running with one shard, after ids of the sharded form raised the counter):
// such a row is on shard 0, or where moved_ids says its user's bucket went.
//
// An id from before sharding was routed by moved_ids already, but read on a
// replica of shard 0 that may lag behind the move: it is asked again on the
// primary.
func (s *Sharded) elsewhere(ctx context.Context, kind string, id int64, tried int) (int, error) {
	if !s.m.Load().moved {
		return -1, nil
	}
	_, sharded := IDBucket(id)
	uid, ok, err := s.movedUser(app.WithPrimary(ctx), kind, id)
	if err != nil {
		return -1, err
	}
	sh := -1
	switch {
	case ok:
		sh = s.ShardOfUser(uid)
	case sharded:
		sh = 0
	}
	if sh == tried {
		return -1, nil
	}
	return sh, nil
}

// shardErr turns a shard's unavailability into the client's message: only
// this user's data is unreachable, the rest of the service works.
func (s *Sharded) shardErr(shard int, err error) error {
	var e *app.Error
	if err == nil || app.ErrorCode(err) != app.EUNAVAILABLE || errors.As(err, &e) && e.Message == msgMoving {
		return err
	}
	if len(s.shards) == 1 {
		return err
	}
	return app.Unavailable(fmt.Errorf("shard %d: %w", shard, err),
		"this user's data shard is unavailable: retry in a few seconds (other users are not affected)")
}

const msgMoving = "this user's data is moving to another shard: retry in a few seconds"

// notOwned is a write refused by a shard's fence: the bucket of userID is
// not (or no longer) on that shard.
type notOwned struct{ userID int64 }

func (e *notOwned) Error() string {
	return fmt.Sprintf("bucket %d of user %d is not on this shard", BucketOf(e.userID), e.userID)
}

var errNoRow = errors.New("no such row")

// fence locks, in share mode within tx, the row of userID's bucket in the
// shard's shard_owned, or returns *notOwned. MoveBuckets deletes that row
// under an exclusive lock when it flips the bucket, so it waits for the
// writes in flight, and every write after it fails here and is routed again:
// no write lands on the old shard after the flip, whatever map the writing
// server held.
func fence(ctx context.Context, tx *sql.Tx, userID int64) error {
	var b int
	err := tx.QueryRowContext(ctx, `SELECT bucket FROM shard_owned WHERE bucket = ? LOCK IN SHARE MODE`,
		BucketOf(userID)).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return &notOwned{userID: userID}
	}
	return err
}

// inTx runs fn in a transaction on shard's primary under WriteTimeout.
func (s *Sharded) inTx(ctx context.Context, shard int, fn func(ctx context.Context, tx *sql.Tx) error) error {
	db := s.shards[shard]
	ctx, cancel := db.writeCtx(ctx)
	defer cancel()
	tx, err := db.primary.BeginTx(ctx, nil)
	if err != nil {
		return internal("begin", err)
	}
	if err := fn(ctx, tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return internal("commit", err)
	}
	return nil
}

// moveWait bounds how long a write refused by a shard's fence waits for the
// map to name the bucket's new shard: a move hands the bucket over in about
// a second (the target's replicas catch up, then the map is written).
const moveWait = 2 * time.Second

// awaitMove reads the map again until it names another shard than refused
// for userID's bucket, within moveWait; else the bucket is in the middle of
// its move (503, msgMoving).
func (s *Sharded) awaitMove(ctx context.Context, userID int64, refused int, cause error) (int, error) {
	deadline := time.Now().Add(moveWait)
	for {
		if err := s.refresh(ctx, 100*time.Millisecond); err != nil {
			return 0, s.shardErr(0, err)
		}
		if sh := s.ShardOfUser(userID); sh != refused {
			return sh, nil
		}
		if time.Now().After(deadline) {
			return 0, app.Unavailable(cause, msgMoving)
		}
		select {
		case <-ctx.Done():
			return 0, app.Unavailable(cause, msgMoving)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// userWrite runs fn, fenced, on the shard of userID. When the shard refuses
// (the bucket moved and this server's map is old) it waits for the map to
// name the new shard (awaitMove) and retries there once.
func (s *Sharded) userWrite(ctx context.Context, userID int64, fn func(ctx context.Context, tx *sql.Tx, shard int) error) error {
	var no *notOwned
	sh := s.ShardOfUser(userID)
	for attempt := 0; ; attempt++ {
		err := s.inTx(ctx, sh, func(ctx context.Context, tx *sql.Tx) error {
			if err := fence(ctx, tx, userID); err != nil {
				return err
			}
			return fn(ctx, tx, sh)
		})
		if !errors.As(err, &no) {
			return s.shardErr(sh, errCode(err))
		}
		if attempt > 0 {
			return app.Unavailable(err, msgMoving)
		}
		if sh, err = s.awaitMove(ctx, userID, sh, err); err != nil {
			return err
		}
	}
}

// idWrite runs fn, fenced by the row's user, on the shard of photo id;
// errNoRow when no shard has it.
func (s *Sharded) idWrite(ctx context.Context, id int64, fn func(ctx context.Context, tx *sql.Tx) error) error {
	sh, err := s.shardOfID(ctx, kindPhoto, id)
	if err != nil {
		return err
	}
	var no *notOwned
	for attempt := 0; attempt < 3; attempt++ {
		err = s.inTx(ctx, sh, func(ctx context.Context, tx *sql.Tx) error {
			var uid int64
			err := tx.QueryRowContext(ctx, `SELECT user_id FROM photos WHERE id = ? FOR UPDATE`, id).Scan(&uid)
			if errors.Is(err, sql.ErrNoRows) {
				return errNoRow
			}
			if err != nil {
				return internal("photo owner", err)
			}
			if err := fence(ctx, tx, uid); err != nil {
				return err
			}
			return fn(ctx, tx)
		})
		switch {
		case errors.As(err, &no):
			if attempt > 0 {
				return app.Unavailable(err, msgMoving)
			}
			if sh, err = s.awaitMove(ctx, no.userID, sh, err); err != nil {
				return err
			}
		case errors.Is(err, errNoRow):
			alt, aerr := s.elsewhere(ctx, kindPhoto, id, sh)
			if aerr != nil {
				return aerr
			}
			if alt < 0 {
				return errNoRow
			}
			sh = alt
		default:
			return s.shardErr(sh, errCode(err))
		}
	}
	return err
}

// errCode keeps app errors and wraps the rest as internal (or unavailable).
func errCode(err error) error {
	var e *app.Error
	if err == nil || errors.As(err, &e) {
		return err
	}
	return internal("write", err)
}

// nextID draws the next id of a row of userID on shard, within tx.
func nextID(ctx context.Context, tx *sql.Tx, shard int, userID int64) (int64, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO id_seq () VALUES ()`)
	if err != nil {
		return 0, internal("next id", err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return 0, internal("next id", err)
	}
	if seq%1024 == 0 {
		// The table needs only its last row (the counter); dropping the older
		// ones now and then keeps it small. InnoDB keeps the counter.
		if _, err := tx.ExecContext(ctx, `DELETE FROM id_seq WHERE id < ?`, seq); err != nil {
			return 0, internal("trim id sequence", err)
		}
	}
	return ComposeID(seq, shard, BucketOf(userID))
}

// CreatePost implements app.PostStore on the author's shard.
func (s *Sharded) CreatePost(ctx context.Context, p *Post) error {
	return s.userWrite(ctx, p.UserID, func(ctx context.Context, tx *sql.Tx, sh int) error {
		id, err := nextID(ctx, tx, sh, p.UserID)
		if err != nil {
			return err
		}
		now := s.shards[sh].now()
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO posts (id, user_id, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			id, p.UserID, p.Body, now, now); err != nil {
			return internal("create post", err)
		}
		p.ID, p.CreatedAt, p.UpdatedAt = id, now, now
		return nil
	})
}

// Post implements app.PostStore: one query on the shard its id names.
func (s *Sharded) Post(ctx context.Context, id int64) (*Post, error) {
	sh, err := s.shardOfID(ctx, kindPost, id)
	if err != nil {
		return nil, err
	}
	p, err := s.shards[sh].Post(ctx, id)
	if app.ErrorCode(err) == app.ENOTFOUND {
		alt, aerr := s.elsewhere(ctx, kindPost, id, sh)
		if aerr != nil {
			return nil, aerr
		}
		if alt >= 0 {
			sh = alt
			p, err = s.shards[sh].Post(ctx, id)
		}
	}
	return p, s.shardErr(sh, err)
}

// ownerError tells apart a missing post from another user's post after a
// fenced write matched no row.
func (s *Sharded) ownerError(ctx context.Context, id int64) error {
	p, err := s.Post(app.WithPrimary(ctx), id)
	if err != nil {
		return err
	}
	if p != nil {
		return app.Errorf(app.EFORBIDDEN, "post %d belongs to another user", id)
	}
	return app.Errorf(app.ENOTFOUND, "post %d not found", id)
}

// UpdatePost implements app.PostStore on the author's shard.
func (s *Sharded) UpdatePost(ctx context.Context, p *Post) error {
	err := s.userWrite(ctx, p.UserID, func(ctx context.Context, tx *sql.Tx, sh int) error {
		now := s.shards[sh].now()
		res, err := tx.ExecContext(ctx, `UPDATE posts SET body = ?, updated_at = ? WHERE id = ? AND user_id = ?`,
			p.Body, now, p.ID, p.UserID)
		if err != nil {
			return internal("update post", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return internal("update post", err)
		} else if n == 0 {
			return errNoRow
		}
		p.UpdatedAt = now
		return tx.QueryRowContext(ctx, `SELECT created_at FROM posts WHERE id = ?`, p.ID).Scan(&p.CreatedAt)
	})
	if errors.Is(err, errNoRow) {
		return s.ownerError(ctx, p.ID)
	}
	return err
}

// DeletePost implements app.PostStore on the author's shard.
func (s *Sharded) DeletePost(ctx context.Context, id, userID int64) error {
	err := s.userWrite(ctx, userID, func(ctx context.Context, tx *sql.Tx, _ int) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM posts WHERE id = ? AND user_id = ?`, id, userID)
		if err != nil {
			return internal("delete post", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return internal("delete post", err)
		} else if n == 0 {
			return errNoRow
		}
		return nil
	})
	if errors.Is(err, errNoRow) {
		return s.ownerError(ctx, id)
	}
	return err
}

// PostsByUser implements app.PostStore on the user's shard: a user's posts
// are all on one shard, so a page is one query, as with one database.
func (s *Sharded) PostsByUser(ctx context.Context, userID, cursor int64, limit int) (*PostPage, error) {
	sh := s.ShardOfUser(userID)
	page, err := s.shards[sh].PostsByUser(ctx, userID, cursor, limit)
	return page, s.shardErr(sh, err)
}

// CreatePhoto implements app.PhotoStore on the owner's shard.
func (s *Sharded) CreatePhoto(ctx context.Context, p *Photo) error {
	return s.userWrite(ctx, p.UserID, func(ctx context.Context, tx *sql.Tx, sh int) error {
		id, err := nextID(ctx, tx, sh, p.UserID)
		if err != nil {
			return err
		}
		now := s.shards[sh].now()
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO photos (id, user_id, status, content_type, original_key, thumb_key, width, height, created_at, updated_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, p.UserID, p.Status, p.ContentType, p.OriginalKey, p.ThumbKey, p.Width, p.Height, now, now); err != nil {
			return internal("create photo", err)
		}
		p.ID, p.CreatedAt, p.UpdatedAt = id, now, now
		return nil
	})
}

// Photo implements app.PhotoStore on the shard its id names.
func (s *Sharded) Photo(ctx context.Context, id int64) (*Photo, error) {
	sh, err := s.shardOfID(ctx, kindPhoto, id)
	if err != nil {
		return nil, err
	}
	p, err := s.shards[sh].Photo(ctx, id)
	if app.ErrorCode(err) == app.ENOTFOUND {
		alt, aerr := s.elsewhere(ctx, kindPhoto, id, sh)
		if aerr != nil {
			return nil, aerr
		}
		if alt >= 0 {
			sh = alt
			p, err = s.shards[sh].Photo(ctx, id)
		}
	}
	return p, s.shardErr(sh, err)
}

// DeletePhoto implements app.PhotoStore.
func (s *Sharded) DeletePhoto(ctx context.Context, id int64) error {
	err := s.idWrite(ctx, id, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM photos WHERE id = ?`, id); err != nil {
			return internal("delete photo", err)
		}
		return nil
	})
	if errors.Is(err, errNoRow) {
		return nil
	}
	return err
}

// SetPhotoReady implements app.PhotoStore.
func (s *Sharded) SetPhotoReady(ctx context.Context, id int64, thumbKey string) error {
	err := s.idWrite(ctx, id, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE photos SET status = ?, thumb_key = ?, updated_at = ? WHERE id = ?`,
			app.PhotoReady, thumbKey, s.shards[0].now(), id); err != nil {
			return internal("photo ready", err)
		}
		return nil
	})
	if errors.Is(err, errNoRow) {
		return nil
	}
	return err
}

// SetPhotoFailed implements app.PhotoStore.
func (s *Sharded) SetPhotoFailed(ctx context.Context, id int64) error {
	err := s.idWrite(ctx, id, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE photos SET status = ?, updated_at = ? WHERE id = ? AND status <> ?`,
			app.PhotoFailed, s.shards[0].now(), id, app.PhotoReady); err != nil {
			return internal("photo failed", err)
		}
		return nil
	})
	if errors.Is(err, errNoRow) {
		return nil
	}
	return err
}
