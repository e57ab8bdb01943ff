package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MoveOptions tunes MoveBuckets. The zero value is usable.
type MoveOptions struct {
	// Wait is how long the move waits after flipping the map before it
	// deletes the rows from the old shard, so that every server has read the
	// new map and no read goes to the old shard any more. Default: three
	// times the map refresh of ShardOptions (6s by default).
	Wait time.Duration
	// ReplicaWait bounds the wait for the new shard's replicas to hold every
	// copied row before the map sends reads there. Default: 60s.
	ReplicaWait time.Duration
	// BatchUsers is how many users are copied, verified or deleted per
	// statement. Default: 200.
	BatchUsers int
	// Logger receives the progress. Default: slog.Default().
	Logger *slog.Logger
}

// MoveReport counts what a MoveBuckets run did.
type MoveReport struct {
	// Buckets are the buckets now on the new shard.
	Buckets []int
	// Users is how many users' rows were moved.
	Users int
	// Copied and Deleted count rows written to the new shard and deleted
	// from the old one, posts and photos together.
	Copied, Deleted int
}

// contentTable is a table MoveBuckets moves, with its columns and how to
// scan them.
type contentTable struct {
	name, kind string
	cols       []string
	// kinds holds one letter per column: i integer, s string, t time.
	kinds string
	// hash is the SQL expression of a row's checksum, equal on both servers
	// for equal rows.
	hash string
}

var contentTables = []contentTable{
	{name: "posts", kind: kindPost, cols: []string{"id", "user_id", "body", "created_at", "updated_at"}, kinds: "iistt",
		hash: "MD5(CONCAT_WS('|', id, user_id, LENGTH(body), body, created_at, updated_at))"},
	{name: "photos", kind: kindPhoto, cols: []string{"id", "user_id", "status", "content_type", "original_key", "thumb_key",
		"width", "height", "created_at", "updated_at"}, kinds: "iissssiitt",
		hash: "MD5(CONCAT_WS('|', id, user_id, status, content_type, LENGTH(original_key), original_key, " +
			"LENGTH(thumb_key), thumb_key, width, height, created_at, updated_at))"},
}

// bucketState is where a bucket stands in a move from -> to.
type bucketState int

const (
	// onSource: the source owns it; the whole move is to do.
	onSource bucketState = iota
	// frozen: no shard owns it (a run stopped after the flip's first step):
	// nobody writes it; copy, verify and hand it to the target.
	frozen
	// onTarget: the target owns it; the map may still need its row, and
	// the source's rows are deleted.
	onTarget
)

// MoveBuckets moves buckets from shard from to shard to, with no row lost
// and the service up:
//
//  1. copy: every row of the buckets' users is copied to the target while
//     writes go on (an upsert: rerunning it is harmless);
//  2. flip: the buckets' rows in the source's shard_owned are locked
//     exclusively, which holds the writes of those users (they wait, or get
//     503 and retry); the rows changed meanwhile are copied again; counts
//     and every row's checksum are compared; the source stops owning the
//     buckets (the lock's transaction deletes them);
//  3. the target starts owning them, its replicas are waited for, and the
//     map on shard 0 names the target: servers read it within their refresh
//     and writes refused by the source's fence read it at once;
//  4. after Wait, the rows are deleted from the source.
//
// Each step is idempotent and the state of each bucket is read from the
// shards first, so a run that stopped anywhere is finished by running the
// same command again; a bucket already moved is only cleaned up.
func (s *Sharded) MoveBuckets(ctx context.Context, from, to int, buckets []int, o MoveOptions) (*MoveReport, error) {
	if from < 0 || from >= len(s.shards) || to < 0 || to >= len(s.shards) || from == to {
		return nil, fmt.Errorf("move from shard %d to shard %d: both must differ and be below DB_SHARD_COUNT=%d",
			from, to, len(s.shards))
	}
	if len(buckets) == 0 {
		return nil, errors.New("move: no bucket given")
	}
	if o.Wait <= 0 {
		o.Wait = 3 * s.opts.MapRefresh
	}
	if o.ReplicaWait <= 0 {
		o.ReplicaWait = time.Minute
	}
	if o.BatchUsers <= 0 {
		o.BatchUsers = 200
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	mv := &mover{s: s, src: s.shards[from], dst: s.shards[to], from: from, to: to, o: o,
		rep: &MoveReport{Buckets: buckets}, in: map[int]bool{}}
	for _, b := range buckets {
		if b < 0 || b >= Buckets {
			return nil, fmt.Errorf("move: bucket %d is not in 0..%d", b, Buckets-1)
		}
		mv.in[b] = true
	}
	states, err := mv.states(ctx, buckets)
	if err != nil {
		return nil, err
	}
	var todo, flip []int
	for _, b := range buckets {
		switch states[b] {
		case onSource:
			todo = append(todo, b)
			flip = append(flip, b)
		case frozen:
			flip = append(flip, b)
		}
	}
	o.Logger.Info("moving buckets", "from", from, "to", to, "buckets", len(buckets), "to_copy", len(todo),
		"to_flip", len(flip))
	if len(flip) > 0 {
		if err := mv.sync(ctx, false); err != nil {
			return nil, fmt.Errorf("move: copy: %w", err)
		}
		if err := mv.flip(ctx, todo); err != nil {
			return nil, fmt.Errorf("move: flip: %w", err)
		}
		if err := mv.raiseSeq(ctx); err != nil {
			return nil, fmt.Errorf("move: %w", err)
		}
		if _, err := mv.dst.primary.ExecContext(ctx, `INSERT IGNORE INTO shard_owned (bucket) VALUES `+
			placeholders(len(flip), "(?)"), ints(flip)...); err != nil {
			return nil, fmt.Errorf("move: target shard %d takes the buckets: %w", to, err)
		}
		if err := mv.waitReplicas(ctx); err != nil {
			return nil, fmt.Errorf("move: %w", err)
		}
	}
	// The map row of every bucket, flipped now or by an earlier run.
	vals := make([]any, 0, 2*len(buckets))
	for _, b := range buckets {
		vals = append(vals, b, to)
	}
	if _, err := s.shards[0].primary.ExecContext(ctx, `INSERT INTO shard_map (bucket, shard) VALUES `+
		placeholders(len(buckets), "(?, ?)")+` ON DUPLICATE KEY UPDATE shard = VALUES(shard)`, vals...); err != nil {
		return nil, fmt.Errorf("move: write the shard map on shard 0: %w", err)
	}
	o.Logger.Info("shard map flipped; waiting before deleting from the source", "wait", o.Wait)
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(o.Wait):
	}
	if err := mv.cleanup(ctx); err != nil {
		return nil, fmt.Errorf("move: delete from source shard %d: %w", from, err)
	}
	o.Logger.Info("buckets moved", "from", from, "to", to, "buckets", len(buckets), "users", mv.rep.Users,
		"copied", mv.rep.Copied, "deleted", mv.rep.Deleted)
	return mv.rep, nil
}

type mover struct {
	s        *Sharded
	src, dst *DB
	from, to int
	o        MoveOptions
	rep      *MoveReport
	in       map[int]bool
}

// states reads each bucket's state from the map and both fences, refusing
// a bucket that is neither being moved from -> to nor already moved.
func (mv *mover) states(ctx context.Context, buckets []int) (map[int]bucketState, error) {
	m, err := mv.s.loadMap(ctx)
	if err != nil {
		return nil, err
	}
	owned := func(db *DB) (map[int]bool, error) {
		rows, err := db.primary.QueryContext(ctx, `SELECT bucket FROM shard_owned WHERE bucket IN (`+
			placeholders(len(buckets), "?")+`)`, ints(buckets)...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		got := map[int]bool{}
		for rows.Next() {
			var b int
			if err := rows.Scan(&b); err != nil {
				return nil, err
			}
			got[b] = true
		}
		return got, rows.Err()
	}
	srcOwns, err := owned(mv.src)
	if err != nil {
		return nil, fmt.Errorf("read source shard %d's buckets: %w", mv.from, err)
	}
	dstOwns, err := owned(mv.dst)
	if err != nil {
		return nil, fmt.Errorf("read target shard %d's buckets: %w", mv.to, err)
	}
	st := map[int]bucketState{}
	for _, b := range buckets {
		on := int(m.shard[b])
		switch {
		case srcOwns[b] && dstOwns[b]:
			return nil, fmt.Errorf("bucket %d is owned by both shard %d and shard %d: resolve by hand "+
				"(delete it from the shard_owned of the one the map, %d, does not name)", b, mv.from, mv.to, on)
		case dstOwns[b]:
			st[b] = onTarget
		case srcOwns[b] && on == mv.from:
			st[b] = onSource
		case !srcOwns[b] && on == mv.from:
			st[b] = frozen
		default:
			return nil, fmt.Errorf("bucket %d is on shard %d, not on shard %d: nothing to move from there", b, on, mv.from)
		}
	}
	return st, nil
}

// users returns the users of the moved buckets that have rows on src or
// dst, in id order.
func (mv *mover) users(ctx context.Context) ([]int64, error) {
	set := map[int64]bool{}
	for _, db := range []*DB{mv.src, mv.dst} {
		for _, t := range contentTables {
			// A loose scan of the (user_id, id) index: one step per user.
			last := int64(-1)
			for {
				rows, err := db.primary.QueryContext(ctx, `SELECT DISTINCT user_id FROM `+t.name+
					` WHERE user_id > ? ORDER BY user_id LIMIT 1000`, last)
				if err != nil {
					return nil, err
				}
				n := 0
				for rows.Next() {
					var u int64
					if err := rows.Scan(&u); err != nil {
						rows.Close()
						return nil, err
					}
					n, last = n+1, u
					if mv.in[BucketOf(u)] {
						set[u] = true
					}
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					return nil, err
				}
				if n < 1000 {
					break
				}
			}
		}
	}
	us := make([]int64, 0, len(set))
	for u := range set {
		us = append(us, u)
	}
	sort.Slice(us, func(i, j int) bool { return us[i] < us[j] })
	return us, nil
}

// sync makes the target's rows of the buckets' users equal the source's.
// With verify (under the flip's lock) it then checks, per batch of users,
// that both hold the same rows with the same checksums, and records in
// moved_ids the rows whose id does not carry their user's bucket.
func (mv *mover) sync(ctx context.Context, verify bool) error {
	us, err := mv.users(ctx)
	if err != nil {
		return err
	}
	mv.rep.Users = len(us)
	for i := 0; i < len(us); i += mv.o.BatchUsers {
		batch := us[i:min(i+mv.o.BatchUsers, len(us))]
		for _, t := range contentTables {
			if err := mv.syncBatch(ctx, t, batch, verify); err != nil {
				return fmt.Errorf("%s of users %d..%d: %w", t.name, batch[0], batch[len(batch)-1], err)
			}
		}
	}
	return nil
}

func (mv *mover) hashes(ctx context.Context, q *sql.DB, t contentTable, users []int64) (map[int64]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, `+t.hash+` FROM `+t.name+` WHERE user_id IN (`+
		placeholders(len(users), "?")+`)`, int64s(users)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	h := map[int64]string{}
	for rows.Next() {
		var id int64
		var sum string
		if err := rows.Scan(&id, &sum); err != nil {
			return nil, err
		}
		h[id] = sum
	}
	return h, rows.Err()
}

func (mv *mover) syncBatch(ctx context.Context, t contentTable, users []int64, verify bool) error {
	srcH, err := mv.hashes(ctx, mv.src.primary, t, users)
	if err != nil {
		return err
	}
	dstH, err := mv.hashes(ctx, mv.dst.primary, t, users)
	if err != nil {
		return err
	}
	var copyIDs, delIDs []int64
	for id, h := range srcH {
		if dstH[id] != h {
			copyIDs = append(copyIDs, id)
		}
	}
	for id := range dstH {
		if _, ok := srcH[id]; !ok {
			delIDs = append(delIDs, id)
		}
	}
	for i := 0; i < len(copyIDs); i += 100 {
		if err := mv.copyRows(ctx, t, copyIDs[i:min(i+100, len(copyIDs))]); err != nil {
			return err
		}
	}
	if len(delIDs) > 0 {
		if _, err := mv.dst.primary.ExecContext(ctx, `DELETE FROM `+t.name+` WHERE id IN (`+
			placeholders(len(delIDs), "?")+`)`, int64s(delIDs)...); err != nil {
			return err
		}
	}
	mv.rep.Copied += len(copyIDs)
	if !verify {
		return nil
	}
	got, err := mv.hashes(ctx, mv.dst.primary, t, users)
	if err != nil {
		return err
	}
	if len(got) != len(srcH) {
		return fmt.Errorf("verify: target has %d rows, source %d", len(got), len(srcH))
	}
	for id, h := range srcH {
		if got[id] != h {
			return fmt.Errorf("verify: row %d differs on the target (checksum %q, source %q)", id, got[id], h)
		}
	}
	if mv.from != 0 {
		return nil
	}
	// Rows leaving shard 0 whose id does not carry their user's bucket.
	return mv.recordMoved(ctx, t, users)
}

func (mv *mover) recordMoved(ctx context.Context, t contentTable, users []int64) error {
	rows, err := mv.src.primary.QueryContext(ctx, `SELECT id, user_id FROM `+t.name+` WHERE user_id IN (`+
		placeholders(len(users), "?")+`)`, int64s(users)...)
	if err != nil {
		return err
	}
	var vals []any
	for rows.Next() {
		var id, uid int64
		if err := rows.Scan(&id, &uid); err != nil {
			rows.Close()
			return err
		}
		if b, ok := IDBucket(id); !ok || b != BucketOf(uid) {
			vals = append(vals, t.kind, id, uid)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i := 0; i < len(vals); i += 300 {
		part := vals[i:min(i+300, len(vals))]
		if _, err := mv.s.shards[0].primary.ExecContext(ctx, `INSERT IGNORE INTO moved_ids (kind, id, user_id) VALUES `+
			placeholders(len(part)/3, "(?, ?, ?)"), part...); err != nil {
			return fmt.Errorf("record moved ids: %w", err)
		}
	}
	return nil
}

// copyRows upserts the source's rows ids into the target.
func (mv *mover) copyRows(ctx context.Context, t contentTable, ids []int64) error {
	cols := strings.Join(t.cols, ", ")
	rows, err := mv.src.primary.QueryContext(ctx, `SELECT `+cols+` FROM `+t.name+` WHERE id IN (`+
		placeholders(len(ids), "?")+`)`, int64s(ids)...)
	if err != nil {
		return err
	}
	var vals []any
	n := 0
	for rows.Next() {
		dest := make([]any, len(t.kinds))
		for i, k := range t.kinds {
			switch k {
			case 'i':
				dest[i] = new(int64)
			case 's':
				dest[i] = new(string)
			case 't':
				dest[i] = new(time.Time)
			}
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return err
		}
		for _, d := range dest {
			switch v := d.(type) {
			case *int64:
				vals = append(vals, *v)
			case *string:
				vals = append(vals, *v)
			case *time.Time:
				vals = append(vals, *v)
			}
		}
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if n == 0 {
		return nil // deleted on the source meanwhile; the next pass sees it
	}
	upd := make([]string, 0, len(t.cols))
	for _, c := range t.cols[1:] {
		upd = append(upd, c+" = VALUES("+c+")")
	}
	_, err = mv.dst.primary.ExecContext(ctx, `INSERT INTO `+t.name+` (`+cols+`) VALUES `+
		placeholders(n, "("+placeholders(len(t.cols), "?")+")")+` ON DUPLICATE KEY UPDATE `+strings.Join(upd, ", "), vals...)
	return err
}

// flip holds the writes of the buckets the source still owns (an exclusive
// lock on their shard_owned rows: fenced writes wait for it), copies and
// verifies everything again, and ends the source's ownership in the same
// transaction. If anything fails, the transaction rolls back and the
// source still owns the buckets: nothing changed for the service.
func (mv *mover) flip(ctx context.Context, owned []int) error {
	if len(owned) == 0 {
		// Frozen buckets (a run stopped after the source let them go): no
		// write reaches them, copy and verify with no lock.
		return mv.sync(ctx, true)
	}
	conn, err := mv.src.primary.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	list := placeholders(len(owned), "?")
	rows, err := tx.QueryContext(ctx, `SELECT bucket FROM shard_owned WHERE bucket IN (`+list+`) FOR UPDATE`, ints(owned)...)
	if err != nil {
		return fmt.Errorf("lock the buckets on source shard %d: %w", mv.from, err)
	}
	rows.Close()
	start := time.Now()
	if err := mv.sync(ctx, true); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM shard_owned WHERE bucket IN (`+list+`)`, ints(owned)...); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	mv.o.Logger.Info("buckets flipped: the source shard no longer takes their writes", "from", mv.from,
		"writes_held", time.Since(start).String())
	return nil
}

// raiseSeq sets the target's id sequence above every seq the source has
// issued, so that the moved users' new ids sort above their moved ones:
// a user's posts stay newest first by id (their pages' order and cursor).
// A row with an explicit id raises InnoDB's counter; the trim of nextID
// keeps the highest row, so MAX(id) is the counter.
func (mv *mover) raiseSeq(ctx context.Context) error {
	var top int64
	if err := mv.src.primary.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM id_seq`).Scan(&top); err != nil {
		return fmt.Errorf("read source shard %d's id sequence: %w", mv.from, err)
	}
	if top == 0 {
		return nil
	}
	if _, err := mv.dst.primary.ExecContext(ctx, `INSERT IGNORE INTO id_seq (id) VALUES (?)`, top); err != nil {
		return fmt.Errorf("raise target shard %d's id sequence to %d: %w", mv.to, top, err)
	}
	return nil
}

// waitReplicas waits until each replica of the target holds the buckets'
// rows as its primary does, so that reads routed there by the new map find
// them.
func (mv *mover) waitReplicas(ctx context.Context) error {
	if len(mv.dst.replicas) == 0 {
		mv.o.Logger.Warn("the target shard has no replicas configured here, so the move cannot wait for them: "+
			"reads on its replicas may miss the copied rows for as long as they lag; run the move with the read "+
			"tier's environment (DB_SHARD_<i>_REPLICAS)", "shard", mv.to)
		return nil
	}
	us, err := mv.users(ctx)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(mv.o.ReplicaWait)
	for _, r := range mv.dst.replicas {
		for i := 0; i < len(us); i += mv.o.BatchUsers {
			batch := us[i:min(i+mv.o.BatchUsers, len(us))]
			for _, t := range contentTables {
				want, err := mv.hashes(ctx, mv.dst.primary, t, batch)
				if err != nil {
					return err
				}
				for {
					got, err := mv.hashes(ctx, r.db, t, batch)
					if err == nil && equalHashes(got, want) {
						break
					}
					if time.Now().After(deadline) {
						return fmt.Errorf("replica %s of target shard %d does not hold the copied %s after %s (err %v): "+
							"check its replication, then run the move again", r.addr, mv.to, t.name, mv.o.ReplicaWait, err)
					}
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(100 * time.Millisecond):
					}
				}
			}
		}
	}
	return nil
}

func equalHashes(a, b map[int64]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// cleanup deletes the buckets' rows from the source, after checking that
// the source owns none of them and that the map names the target.
func (mv *mover) cleanup(ctx context.Context) error {
	st, err := mv.states(ctx, mv.rep.Buckets)
	if err != nil {
		return err
	}
	m, err := mv.s.loadMap(ctx)
	if err != nil {
		return err
	}
	for _, b := range mv.rep.Buckets {
		if st[b] != onTarget || int(m.shard[b]) != mv.to {
			return fmt.Errorf("bucket %d is not yet on shard %d: refusing to delete from shard %d", b, mv.to, mv.from)
		}
	}
	// Only the source's users this time.
	us, err := mv.users(ctx)
	if err != nil {
		return err
	}
	for i := 0; i < len(us); i += mv.o.BatchUsers {
		batch := us[i:min(i+mv.o.BatchUsers, len(us))]
		for _, t := range contentTables {
			res, err := mv.src.primary.ExecContext(ctx, `DELETE FROM `+t.name+` WHERE user_id IN (`+
				placeholders(len(batch), "?")+`)`, int64s(batch)...)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			mv.rep.Deleted += int(n)
		}
	}
	return nil
}

// ParseBuckets reads a bucket list such as "0-511" or "3,5,7-9".
func ParseBuckets(s string) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b >= Buckets || a > b {
			return nil, fmt.Errorf("bucket list %q: %q is not a bucket (0..%d) or a range such as 0-511", s, part, Buckets-1)
		}
		for i := a; i <= b; i++ {
			if !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
	}
	return out, nil
}

func placeholders(n int, one string) string {
	return strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
}

func ints(xs []int) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func int64s(xs []int64) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}
