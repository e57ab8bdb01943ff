package mysql

import (
	"context"
	"database/sql"
	"errors"
	"time"

	drv "github.com/go-sql-driver/mysql"

	"github.com/scaling-aws/scaling-aws/app"
)

// Compile-time checks that DB implements the domain interfaces.
var (
	_ app.UserStore    = (*DB)(nil)
	_ app.PostStore    = (*DB)(nil)
	_ app.PhotoStore   = (*DB)(nil)
	_ app.SessionStore = (*DB)(nil)
)

const errDupEntry = 1062

func (db *DB) now() time.Time { return db.opts.Now().UTC().Truncate(time.Microsecond) }

// CreateUser implements app.UserStore.
func (db *DB) CreateUser(ctx context.Context, u *User) error {
	ctx, cancel := db.writeCtx(ctx)
	defer cancel()
	u.CreatedAt = db.now()
	res, err := db.primary.ExecContext(ctx,
		`INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?)`,
		u.Name, u.PasswordHash, u.CreatedAt)
	var me *drv.MySQLError
	if errors.As(err, &me) && me.Number == errDupEntry {
		return app.Errorf(app.ECONFLICT, "user name %q is taken", u.Name)
	}
	if err != nil {
		return internal("create user", err)
	}
	u.ID, err = res.LastInsertId()
	return err
}

// UserByName implements app.UserStore. It reads the primary: a user who has
// just signed up logs in next, before a replica may have the row.
func (db *DB) UserByName(ctx context.Context, name string) (*User, error) {
	ctx, cancel := db.readCtx(ctx)
	defer cancel()
	u := &User{}
	err := db.primary.QueryRowContext(ctx,
		`SELECT id, name, password_hash, created_at FROM users WHERE name = ?`, name).
		Scan(&u.ID, &u.Name, &u.PasswordHash, &u.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, app.Errorf(app.ENOTFOUND, "user not found")
	}
	if err != nil {
		return nil, internal("user by name", err)
	}
	return u, nil
}

// CreateSession implements app.SessionStore.
func (db *DB) CreateSession(ctx context.Context, s *Session) error {
	ctx, cancel := db.writeCtx(ctx)
	defer cancel()
	_, err := db.primary.ExecContext(ctx,
		`INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (?, ?, ?)`,
		app.HashToken(s.Token), s.UserID, s.ExpiresAt.UTC())
	if err != nil {
		return internal("create session", err)
	}
	return nil
}

// Session implements app.SessionStore. It reads the primary, since a session
// is used right after it is created.
func (db *DB) Session(ctx context.Context, token string) (*Session, error) {
	ctx, cancel := db.readCtx(ctx)
	defer cancel()
	s := &Session{Token: token}
	err := db.primary.QueryRowContext(ctx,
		`SELECT user_id, expires_at FROM sessions WHERE token_hash = ? AND expires_at > ?`,
		app.HashToken(token), db.now()).Scan(&s.UserID, &s.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, app.Errorf(app.EUNAUTHORIZED, "session expired or unknown")
	}
	if err != nil {
		return nil, internal("session", err)
	}
	return s, nil
}

// DeleteSession implements app.SessionStore. Expired sessions are removed
// along the way, a few at a time, so the table does not grow without bound.
func (db *DB) DeleteSession(ctx context.Context, token string) error {
	ctx, cancel := db.writeCtx(ctx)
	defer cancel()
	if _, err := db.primary.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`,
		app.HashToken(token)); err != nil {
		return internal("delete session", err)
	}
	if _, err := db.primary.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ? LIMIT 100`,
		db.now()); err != nil {
		return internal("expire sessions", err)
	}
	return nil
}

// CreatePost implements app.PostStore.
func (db *DB) CreatePost(ctx context.Context, p *Post) error {
	ctx, cancel := db.writeCtx(ctx)
	defer cancel()
	p.CreatedAt = db.now()
	p.UpdatedAt = p.CreatedAt
	res, err := db.primary.ExecContext(ctx,
		`INSERT INTO posts (user_id, body, created_at, updated_at) VALUES (?, ?, ?, ?)`,
		p.UserID, p.Body, p.CreatedAt, p.UpdatedAt)
	if err != nil {
		return internal("create post", err)
	}
	p.ID, err = res.LastInsertId()
	return err
}

// Post implements app.PostStore.
func (db *DB) Post(ctx context.Context, id int64) (*Post, error) {
	p := &Post{}
	err := db.read(ctx, func(ctx context.Context, q *sql.DB) error {
		return q.QueryRowContext(ctx,
			`SELECT id, user_id, body, created_at, updated_at FROM posts WHERE id = ?`, id).
			Scan(&p.ID, &p.UserID, &p.Body, &p.CreatedAt, &p.UpdatedAt)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, app.Errorf(app.ENOTFOUND, "post %d not found", id)
	}
	if err != nil {
		return nil, internal("post", err)
	}
	return p, nil
}

// ownerError tells apart, on the primary, a missing post from another
// user's post after a conditional write matched no row.
func (db *DB) ownerError(ctx context.Context, id int64) error {
	var owner int64
	err := db.primary.QueryRowContext(ctx, `SELECT user_id FROM posts WHERE id = ?`, id).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		return app.Errorf(app.ENOTFOUND, "post %d not found", id)
	}
	if err != nil {
		return internal("post owner", err)
	}
	return app.Errorf(app.EFORBIDDEN, "post %d belongs to another user", id)
}

// UpdatePost implements app.PostStore with one conditional UPDATE.
func (db *DB) UpdatePost(ctx context.Context, p *Post) error {
	ctx, cancel := db.writeCtx(ctx)
	defer cancel()
	p.UpdatedAt = db.now()
	res, err := db.primary.ExecContext(ctx,
		`UPDATE posts SET body = ?, updated_at = ? WHERE id = ? AND user_id = ?`,
		p.Body, p.UpdatedAt, p.ID, p.UserID)
	if err != nil {
		return internal("update post", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return internal("update post", err)
	} else if n == 0 {
		return db.ownerError(ctx, p.ID)
	}
	err = db.primary.QueryRowContext(ctx, `SELECT created_at FROM posts WHERE id = ?`, p.ID).Scan(&p.CreatedAt)
	if err != nil {
		return internal("update post", err)
	}
	return nil
}

// DeletePost implements app.PostStore.
func (db *DB) DeletePost(ctx context.Context, id, userID int64) error {
	ctx, cancel := db.writeCtx(ctx)
	defer cancel()
	res, err := db.primary.ExecContext(ctx, `DELETE FROM posts WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return internal("delete post", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return internal("delete post", err)
	} else if n == 0 {
		return db.ownerError(ctx, id)
	}
	return nil
}

// PostsByUser implements app.PostStore with keyset pagination on the
// (user_id, id) index: each page costs the same however deep it is.
func (db *DB) PostsByUser(ctx context.Context, userID, cursor int64, limit int) (*PostPage, error) {
	if cursor <= 0 {
		cursor = 1<<63 - 1
	}
	page := &PostPage{Posts: []*Post{}}
	err := db.read(ctx, func(ctx context.Context, q *sql.DB) error {
		page.Posts = page.Posts[:0]
		rows, err := q.QueryContext(ctx,
			`SELECT id, user_id, body, created_at, updated_at FROM posts
			 WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, userID, cursor, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p := &Post{}
			if err := rows.Scan(&p.ID, &p.UserID, &p.Body, &p.CreatedAt, &p.UpdatedAt); err != nil {
				return err
			}
			page.Posts = append(page.Posts, p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, internal("posts by user", err)
	}
	if len(page.Posts) > limit {
		page.Posts = page.Posts[:limit]
		page.NextCursor = page.Posts[limit-1].ID
	}
	return page, nil
}

// CreatePhoto implements app.PhotoStore.
func (db *DB) CreatePhoto(ctx context.Context, p *Photo) error {
	ctx, cancel := db.writeCtx(ctx)
	defer cancel()
	p.CreatedAt = db.now()
	p.UpdatedAt = p.CreatedAt
	res, err := db.primary.ExecContext(ctx,
		`INSERT INTO photos (user_id, status, content_type, original_key, thumb_key, width, height, created_at, updated_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.UserID, p.Status, p.ContentType, p.OriginalKey, p.ThumbKey, p.Width, p.Height, p.CreatedAt, p.UpdatedAt)
	if err != nil {
		return internal("create photo", err)
	}
	p.ID, err = res.LastInsertId()
	return err
}

// Photo implements app.PhotoStore.
func (db *DB) Photo(ctx context.Context, id int64) (*Photo, error) {
	p := &Photo{}
	err := db.read(ctx, func(ctx context.Context, q *sql.DB) error {
		return q.QueryRowContext(ctx,
			`SELECT id, user_id, status, content_type, original_key, thumb_key, width, height, created_at, updated_at
			 FROM photos WHERE id = ?`, id).
			Scan(&p.ID, &p.UserID, &p.Status, &p.ContentType, &p.OriginalKey, &p.ThumbKey,
				&p.Width, &p.Height, &p.CreatedAt, &p.UpdatedAt)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, app.Errorf(app.ENOTFOUND, "photo %d not found", id)
	}
	if err != nil {
		return nil, internal("photo", err)
	}
	return p, nil
}

// DeletePhoto implements app.PhotoStore.
func (db *DB) DeletePhoto(ctx context.Context, id int64) error {
	ctx, cancel := db.writeCtx(ctx)
	defer cancel()
	if _, err := db.primary.ExecContext(ctx, `DELETE FROM photos WHERE id = ?`, id); err != nil {
		return internal("delete photo", err)
	}
	return nil
}

// SetPhotoReady implements app.PhotoStore.
func (db *DB) SetPhotoReady(ctx context.Context, id int64, thumbKey string) error {
	ctx, cancel := db.writeCtx(ctx)
	defer cancel()
	_, err := db.primary.ExecContext(ctx,
		`UPDATE photos SET status = ?, thumb_key = ?, updated_at = ? WHERE id = ?`,
		app.PhotoReady, thumbKey, db.now(), id)
	if err != nil {
		return internal("photo ready", err)
	}
	return nil
}

// SetPhotoFailed implements app.PhotoStore.
func (db *DB) SetPhotoFailed(ctx context.Context, id int64) error {
	ctx, cancel := db.writeCtx(ctx)
	defer cancel()
	_, err := db.primary.ExecContext(ctx,
		`UPDATE photos SET status = ?, updated_at = ? WHERE id = ? AND status <> ?`,
		app.PhotoFailed, db.now(), id, app.PhotoReady)
	if err != nil {
		return internal("photo failed", err)
	}
	return nil
}

// Type aliases keep the method signatures short.
type (
	// User is app.User.
	User = app.User
	// Post is app.Post.
	Post = app.Post
	// PostPage is app.PostPage.
	PostPage = app.PostPage
	// Photo is app.Photo.
	Photo = app.Photo
	// Session is app.Session.
	Session = app.Session
)
