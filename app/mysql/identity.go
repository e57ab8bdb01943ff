package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Federation: users and sessions in an identity database of their own
// (IDENTITY_DB_*), so that logins and sessions scale apart from the
// content. The identity DB is a DB opened with OpenIdentity; it implements
// app.UserStore and app.SessionStore with the same SQL as shard 0.

// CopyOptions tunes CopyIdentity. The zero value is usable.
type CopyOptions struct {
	// IDGap is how far above shard 0's highest user id the identity
	// database's AUTO_INCREMENT is set after the first copy, so that the
	// users old servers still create on shard 0 during the rollout (ids
	// below the gap) never collide with those created in the identity
	// database (ids above it); the next copy brings them over. Default:
	// 1,000,000 (far more sign-ups than a rollout of minutes takes).
	IDGap int64
	// Batch is how many rows are read and written per statement.
	// Default: 500.
	Batch int
	// Logger receives the progress. Default: slog.Default().
	Logger *slog.Logger
}

// CopyReport counts what CopyIdentity did.
type CopyReport struct {
	// Users and Sessions are the rows of shard 0 found in the identity
	// database after the copy (all of them, or the copy fails).
	Users, Sessions int
	// Copied counts the users written (new or changed) this run.
	Copied int
	// NextUserID is where the identity database's ids continue, when this
	// run set it (0: left as it was).
	NextUserID int64
}

// CopyIdentity copies every user and every unexpired session of from
// (shard 0) to to (the identity database), keeping ids, and verifies that
// the identity database holds all of them, by count and by a checksum of
// every user row. It is idempotent: rows already there are left or
// refreshed, so it can run before the rollout of IDENTITY_DB_* (the bulk)
// and once more after it (what old servers wrote meanwhile). A user of
// shard 0 whose id or name the identity database holds for another user
// (two sign-ups racing during the rollout) is not copied and fails the
// run, naming it.
func CopyIdentity(ctx context.Context, from, to *DB, o CopyOptions) (*CopyReport, error) {
	if o.IDGap <= 0 {
		o.IDGap = 1_000_000
	}
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	rep := &CopyReport{}
	src, dst := from.primary, to.primary
	var conflicts []string
	skip := map[int64]bool{}
	var srcMax int64
	for last := int64(0); ; {
		rows, err := src.QueryContext(ctx, `SELECT id, name, password_hash, created_at FROM users WHERE id > ? ORDER BY id LIMIT ?`,
			last, o.Batch)
		if err != nil {
			return nil, fmt.Errorf("read users of shard 0: %w", err)
		}
		type user struct {
			id      int64
			name    string
			hash    []byte
			created time.Time
		}
		var batch []user
		for rows.Next() {
			var u user
			if err := rows.Scan(&u.id, &u.name, &u.hash, &u.created); err != nil {
				rows.Close()
				return nil, err
			}
			batch = append(batch, u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(batch) == 0 {
			break
		}
		last = batch[len(batch)-1].id
		srcMax = last
		// What the identity database holds under these ids or names.
		args := make([]any, 0, 2*len(batch))
		for _, u := range batch {
			args = append(args, u.id)
		}
		for _, u := range batch {
			args = append(args, u.name)
		}
		ph := placeholders(len(batch), "?")
		drows, err := dst.QueryContext(ctx, `SELECT id, name, password_hash FROM users WHERE id IN (`+ph+`) OR name IN (`+ph+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("read users of the identity database: %w", err)
		}
		byID, byName := map[int64]string{}, map[string]int64{}
		hashes := map[int64]string{}
		for drows.Next() {
			var id int64
			var name string
			var hash []byte
			if err := drows.Scan(&id, &name, &hash); err != nil {
				drows.Close()
				return nil, err
			}
			byID[id], byName[strings.ToLower(name)], hashes[id] = name, id, string(hash)
		}
		drows.Close()
		if err := drows.Err(); err != nil {
			return nil, err
		}
		var vals []any
		n := 0
		for _, u := range batch {
			name, idTaken := byID[u.id]
			owner, nameTaken := byName[strings.ToLower(u.name)]
			switch {
			case idTaken && !strings.EqualFold(name, u.name), nameTaken && owner != u.id:
				conflicts = append(conflicts, fmt.Sprintf("user %d %q", u.id, u.name))
				skip[u.id] = true
				continue
			case idTaken && hashes[u.id] == string(u.hash):
				continue // copied by an earlier run
			}
			vals = append(vals, u.id, u.name, u.hash, u.created)
			n++
		}
		if n > 0 {
			if _, err := dst.ExecContext(ctx, `INSERT INTO users (id, name, password_hash, created_at) VALUES `+
				placeholders(n, "(?, ?, ?, ?)")+` ON DUPLICATE KEY UPDATE password_hash = VALUES(password_hash)`, vals...); err != nil {
				return nil, fmt.Errorf("write users to the identity database: %w", err)
			}
			rep.Copied += n
		}
	}
	// Sessions of the copied users, unexpired ones only.
	now := from.now()
	for last := []byte{}; ; {
		rows, err := src.QueryContext(ctx, `SELECT token_hash, user_id, expires_at FROM sessions
			WHERE token_hash > ? AND expires_at > ? ORDER BY token_hash LIMIT ?`, last, now, o.Batch)
		if err != nil {
			return nil, fmt.Errorf("read sessions of shard 0: %w", err)
		}
		var vals []any
		n, read := 0, 0
		for rows.Next() {
			var tok []byte
			var uid int64
			var exp time.Time
			if err := rows.Scan(&tok, &uid, &exp); err != nil {
				rows.Close()
				return nil, err
			}
			read++
			last = tok
			if !skip[uid] {
				vals = append(vals, tok, uid, exp)
				n++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if n > 0 {
			if _, err := dst.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, expires_at) VALUES `+
				placeholders(n, "(?, ?, ?)")+` ON DUPLICATE KEY UPDATE expires_at = VALUES(expires_at)`, vals...); err != nil {
				return nil, fmt.Errorf("write sessions to the identity database: %w", err)
			}
		}
		if read < o.Batch {
			break
		}
	}
	if len(conflicts) > 0 {
		return nil, fmt.Errorf("%d users of shard 0 clash with other users of the identity database (same id or name) "+
			"and were not copied: %s; rename or remove one of each pair, then run -copy-identity again",
			len(conflicts), strings.Join(conflicts[:min(10, len(conflicts))], ", "))
	}
	// Verify: every user of shard 0 is in the identity database, equal.
	sum := func(q *sql.DB) (int, string, error) {
		var n int
		var s string
		err := q.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('|', id, name, HEX(password_hash),
			created_at))), 0) FROM users WHERE id <= ?`, srcMax).Scan(&n, &s)
		return n, s, err
	}
	sn, ss, err := sum(src)
	if err != nil {
		return nil, err
	}
	dn, ds, err := sum(dst)
	if err != nil {
		return nil, err
	}
	if sn != dn || ss != ds {
		return nil, fmt.Errorf("verify: shard 0 has %d users up to id %d (checksum %s), the identity database %d (%s): "+
			"run -copy-identity again; if it persists, users were created in the identity database below id %d",
			sn, srcMax, ss, dn, ds, srcMax)
	}
	rep.Users = sn
	var missing int
	if err := src.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE expires_at > ?`, now).Scan(&rep.Sessions); err != nil {
		return nil, err
	}
	// Sessions are checked by count of shard 0's unexpired ones the identity
	// database lacks, a batch at a time.
	for last := []byte{}; ; {
		rows, err := src.QueryContext(ctx, `SELECT token_hash FROM sessions WHERE token_hash > ? AND expires_at > ?
			ORDER BY token_hash LIMIT ?`, last, now, o.Batch)
		if err != nil {
			return nil, err
		}
		var toks []any
		for rows.Next() {
			var tok []byte
			if err := rows.Scan(&tok); err != nil {
				rows.Close()
				return nil, err
			}
			toks, last = append(toks, tok), tok
		}
		rows.Close()
		if len(toks) == 0 {
			break
		}
		var have int
		if err := dst.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE token_hash IN (`+
			placeholders(len(toks), "?")+`)`, toks...).Scan(&have); err != nil {
			return nil, err
		}
		missing += len(toks) - have
		if len(toks) < o.Batch {
			break
		}
	}
	if missing > 0 {
		return nil, fmt.Errorf("verify: %d unexpired sessions of shard 0 are not in the identity database: run -copy-identity again", missing)
	}
	// Ids: the identity database continues far above shard 0's, unless it
	// already issues ids of its own (an earlier run set the gap).
	var dstMax int64
	if err := dst.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM users`).Scan(&dstMax); err != nil {
		return nil, err
	}
	if dstMax <= srcMax {
		rep.NextUserID = srcMax + o.IDGap
		if _, err := dst.ExecContext(ctx, fmt.Sprintf("ALTER TABLE users AUTO_INCREMENT = %d", rep.NextUserID)); err != nil {
			return nil, fmt.Errorf("set the identity database's next user id: %w", err)
		}
	}
	o.Logger.Info("identity copied", "users", rep.Users, "copied", rep.Copied, "sessions", rep.Sessions,
		"next_user_id", rep.NextUserID)
	return rep, nil
}
