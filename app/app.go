// Package app holds the domain of the bundled scaling-aws service: its types
// (users, sessions, posts, photos, jobs), the interfaces its adapters implement
// (stores, cache, blob storage, queue) and its error codes.
//
// It follows the Standard Package Layout: this package imports no adapter;
// adapters live in subpackages (mysql, redis, s3, sqs, redisq, http, worker,
// thumb) that do not import each other, and cmd/scaling-app wires them.
package app

import (
	"context"
	"crypto/sha256"
	"time"
)

// MaxPostBytes is the largest post body accepted, the seed's "1 KB per write".
// Larger bodies are refused with ETOOLARGE, never truncated.
const MaxPostBytes = 1024

// User is a person who signs up and writes posts.
type User struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// PasswordHash is the bcrypt hash; never serialized.
	PasswordHash []byte    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
}

// Session is a logged-in user's session. Token is the secret the client
// holds; stores keep only its hash.
type Session struct {
	Token     string
	UserID    int64
	ExpiresAt time.Time
}

// HashToken returns the hash under which a session token is stored, so that
// a leaked table or cache dump does not hand out live sessions.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Post is a short text of at most MaxPostBytes bytes written by a user.
type Post struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"user_id"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PostPage is one page of a user's posts, newest first. NextCursor is zero on
// the last page.
type PostPage struct {
	Posts      []*Post `json:"posts"`
	NextCursor int64   `json:"next_cursor,omitempty"`
}

// PhotoStatus is where a photo is in its asynchronous processing.
type PhotoStatus string

// Photo statuses.
const (
	// PhotoPending means the original is stored and a thumbnail job is queued.
	PhotoPending PhotoStatus = "pending"
	// PhotoReady means the thumbnail is stored.
	PhotoReady PhotoStatus = "ready"
	// PhotoFailed means the thumbnail job was dead-lettered.
	PhotoFailed PhotoStatus = "failed"
)

// Photo is an uploaded image and its thumbnail.
type Photo struct {
	ID          int64       `json:"id"`
	UserID      int64       `json:"user_id"`
	Status      PhotoStatus `json:"status"`
	ContentType string      `json:"content_type"`
	// OriginalKey and ThumbKey are object keys; clients get URLs instead.
	OriginalKey string    `json:"-"`
	ThumbKey    string    `json:"-"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// UserStore stores users.
type UserStore interface {
	// CreateUser inserts u and sets its ID. A taken name is ECONFLICT.
	CreateUser(ctx context.Context, u *User) error
	// UserByName returns the user with that name, or ENOTFOUND.
	UserByName(ctx context.Context, name string) (*User, error)
}

// PostStore stores posts. The MySQL adapter implements it, and the cache
// layer implements it again over the MySQL one.
type PostStore interface {
	// CreatePost inserts p and sets its ID and times.
	CreatePost(ctx context.Context, p *Post) error
	// Post returns the post with that id, or ENOTFOUND.
	Post(ctx context.Context, id int64) (*Post, error)
	// UpdatePost changes the body of post p.ID if it belongs to p.UserID:
	// ENOTFOUND when it does not exist, EFORBIDDEN when it is another user's.
	UpdatePost(ctx context.Context, p *Post) error
	// DeletePost deletes post id if it belongs to userID, with the same
	// errors as UpdatePost.
	DeletePost(ctx context.Context, id, userID int64) error
	// PostsByUser returns up to limit posts of userID, newest first, with
	// ids below cursor (cursor 0 means from the newest).
	PostsByUser(ctx context.Context, userID, cursor int64, limit int) (*PostPage, error)
}

// PhotoStore stores photo records.
type PhotoStore interface {
	// CreatePhoto inserts p and sets its ID and times.
	CreatePhoto(ctx context.Context, p *Photo) error
	// Photo returns the photo with that id, or ENOTFOUND.
	Photo(ctx context.Context, id int64) (*Photo, error)
	// DeletePhoto deletes the record, used to undo a failed upload.
	DeletePhoto(ctx context.Context, id int64) error
	// SetPhotoReady records the thumbnail. Applying it twice is harmless.
	SetPhotoReady(ctx context.Context, id int64, thumbKey string) error
	// SetPhotoFailed marks the photo failed unless it is already ready.
	SetPhotoFailed(ctx context.Context, id int64) error
}

// SessionStore stores sessions where every instance sees them (MySQL or
// Redis), never in one instance's memory.
type SessionStore interface {
	// CreateSession stores s.
	CreateSession(ctx context.Context, s *Session) error
	// Session returns the unexpired session for token, or EUNAUTHORIZED.
	Session(ctx context.Context, token string) (*Session, error)
	// DeleteSession removes the session; an unknown token is not an error.
	DeleteSession(ctx context.Context, token string) error
}

// Pinger reports whether a dependency is reachable, for /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}

type primaryKey struct{}

// WithPrimary returns a context whose reads go to the primary database, not
// to a replica (and bypass the in-process cache): read-your-own-writes for a
// client that has just written.
func WithPrimary(ctx context.Context) context.Context {
	return context.WithValue(ctx, primaryKey{}, true)
}

// UsePrimary reports whether reads under ctx must go to the primary.
func UsePrimary(ctx context.Context) bool {
	v, _ := ctx.Value(primaryKey{}).(bool)
	return v
}

// Clock returns the current time; tests inject a fixed one.
type Clock func() time.Time

// ViewCounter counts the views of posts and serves the counts (the DynamoDB
// adapter; docs/decisions.md, "Per-post view counters in DynamoDB").
type ViewCounter interface {
	// View counts one view of post id. It makes no network call: views are
	// summed in memory and written in batches.
	View(id int64)
	// Views returns post id's view count, and false when it is not known
	// within the counter's short deadline (the store slow, down or
	// throttling): the post is then served without it.
	Views(ctx context.Context, id int64) (n int64, ok bool)
}
