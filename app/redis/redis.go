// Package redis is the Redis adapter: shared sessions, and the cache-aside
// layer that implements app.PostStore over the database's PostStore, with an
// in-process layer for the hottest keys.
package redis

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/scaling-aws/scaling-aws/app"
)

// Options configures the Redis client.
type Options struct {
	// Addr is host:port.
	Addr string
	// Password is the AUTH password or token. Default: none.
	Password string
	// TLS turns on TLS (ElastiCache in-transit encryption).
	TLS bool
	// PoolSize caps connections. Default: go-redis's (10 per CPU).
	PoolSize int
	// Timeout bounds dial, read and write, kept short so that a dead Redis
	// degrades to the database quickly. Default: 300ms.
	Timeout time.Duration
}

// NewClient returns a go-redis client for o. It does not connect yet.
func NewClient(o Options) *goredis.Client {
	if o.Timeout <= 0 {
		o.Timeout = 300 * time.Millisecond
	}
	ro := &goredis.Options{
		Addr:         o.Addr,
		Password:     o.Password,
		PoolSize:     o.PoolSize,
		DialTimeout:  o.Timeout,
		ReadTimeout:  o.Timeout,
		WriteTimeout: o.Timeout,
		MaxRetries:   -1, // a failed cache call falls back to MySQL instead of retrying
	}
	if o.TLS {
		ro.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return goredis.NewClient(ro)
}

// Sessions is an app.SessionStore in Redis: each session is one key, under
// the hash of its token, expiring with the session.
type Sessions struct {
	c      goredis.UniversalClient
	prefix string
	now    app.Clock
}

var _ app.SessionStore = (*Sessions)(nil)

// NewSessions returns sessions stored through c under keys starting with
// prefix. now may be nil for time.Now.
func NewSessions(c goredis.UniversalClient, prefix string, now app.Clock) *Sessions {
	if now == nil {
		now = time.Now
	}
	return &Sessions{c: c, prefix: prefix, now: now}
}

func (s *Sessions) key(token string) string {
	return s.prefix + "sess:" + hex.EncodeToString(app.HashToken(token))
}

// CreateSession implements app.SessionStore.
func (s *Sessions) CreateSession(ctx context.Context, sess *app.Session) error {
	ttl := sess.ExpiresAt.Sub(s.now())
	if ttl <= 0 {
		return app.Errorf(app.EINVALID, "session already expired")
	}
	if err := s.c.Set(ctx, s.key(sess.Token), sess.UserID, ttl).Err(); err != nil {
		return wrap("create session", err)
	}
	return nil
}

// Session implements app.SessionStore.
func (s *Sessions) Session(ctx context.Context, token string) (*app.Session, error) {
	k := s.key(token)
	pipe := s.c.Pipeline()
	get := pipe.Get(ctx, k)
	ttl := pipe.PTTL(ctx, k)
	_, err := pipe.Exec(ctx)
	if errors.Is(err, goredis.Nil) {
		return nil, app.Errorf(app.EUNAUTHORIZED, "session expired or unknown")
	}
	if err != nil {
		return nil, wrap("session", err)
	}
	uid, err := strconv.ParseInt(get.Val(), 10, 64)
	if err != nil {
		return nil, wrap("session value", err)
	}
	return &app.Session{Token: token, UserID: uid, ExpiresAt: s.now().Add(ttl.Val())}, nil
}

// DeleteSession implements app.SessionStore.
func (s *Sessions) DeleteSession(ctx context.Context, token string) error {
	if err := s.c.Del(ctx, s.key(token)).Err(); err != nil {
		return wrap("delete session", err)
	}
	return nil
}

// Pinger adapts a client to app.Pinger.
type Pinger struct{ C goredis.UniversalClient }

// Ping implements app.Pinger.
func (p Pinger) Ping(ctx context.Context) error { return p.C.Ping(ctx).Err() }

type redisError struct {
	op  string
	err error
}

func (e *redisError) Error() string { return "redis " + e.op + ": " + e.err.Error() }
func (e *redisError) Unwrap() error { return e.err }

func wrap(op string, err error) error { return &redisError{op: op, err: err} }
