// Package redis is the Redis adapter: shared sessions, and the cache-aside
// layer that implements app.PostStore over the database's PostStore, with an
// in-process layer for the hottest keys.
package redis

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
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
	// Timeout bounds dial, read and write, kept short so that a dead or
	// stalled Redis degrades to the database (cache) or fails with
	// "unavailable" (sessions) quickly. A caller's context deadline, when
	// shorter, bounds a call too. Default: 300ms.
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
		// A request's deadline also bounds its Redis calls.
		ContextTimeoutEnabled: true,
		MaxRetries:            -1, // a failed cache call falls back to MySQL instead of retrying
		// One dial attempt: go-redis would otherwise retry a refused dial 5
		// times, 100ms apart, holding every request that needs a connection.
		DialerRetries: 1,
		// RESP2: the app uses no RESP3 feature, and with RESP3 go-redis
		// checks for push notifications around every command.
		Protocol: 2,
	}
	if o.TLS {
		ro.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return goredis.NewClient(ro)
}

// SetLogger sends go-redis's own messages (failed dials and the like) to
// log as warnings, instead of unstructured lines on stderr.
func SetLogger(log *slog.Logger) { goredis.SetLogger(slogAdapter{log}) }

type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Printf(ctx context.Context, format string, v ...any) {
	a.log.WarnContext(ctx, "redis client", "msg", fmt.Sprintf(format, v...))
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

// CreateSession implements app.SessionStore. The value is "userID:expiry"
// (Unix ms), so that a lookup is one GET; the key expires with the session.
func (s *Sessions) CreateSession(ctx context.Context, sess *app.Session) error {
	ttl := sess.ExpiresAt.Sub(s.now())
	if ttl <= 0 {
		return app.Errorf(app.EINVALID, "session already expired")
	}
	v := strconv.FormatInt(sess.UserID, 10) + ":" + strconv.FormatInt(sess.ExpiresAt.UnixMilli(), 10)
	if err := s.c.Set(ctx, s.key(sess.Token), v, ttl).Err(); err != nil {
		return wrap("create session", err)
	}
	return nil
}

// Session implements app.SessionStore.
func (s *Sessions) Session(ctx context.Context, token string) (*app.Session, error) {
	v, err := s.c.Get(ctx, s.key(token)).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, app.Errorf(app.EUNAUTHORIZED, "session expired or unknown")
	}
	if err != nil {
		return nil, wrap("session", err)
	}
	uid, exp, ok := strings.Cut(v, ":")
	id, err1 := strconv.ParseInt(uid, 10, 64)
	ms, err2 := strconv.ParseInt(exp, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return nil, errors.New("redis session: malformed session value")
	}
	sess := &app.Session{Token: token, UserID: id, ExpiresAt: time.UnixMilli(ms).UTC()}
	if !s.now().Before(sess.ExpiresAt) {
		return nil, app.Errorf(app.EUNAUTHORIZED, "session expired or unknown")
	}
	return sess, nil
}

// DeleteSession implements app.SessionStore.
func (s *Sessions) DeleteSession(ctx context.Context, token string) error {
	if err := s.c.Del(ctx, s.key(token)).Err(); err != nil {
		return wrap("delete session", err)
	}
	return nil
}

// Pinger adapts a client to app.Pinger.
type Pinger struct {
	// C is the client pinged.
	C goredis.UniversalClient
}

// Ping implements app.Pinger.
func (p Pinger) Ping(ctx context.Context) error { return p.C.Ping(ctx).Err() }

// wrap marks a failed Redis call as the session store being unavailable
// (app.EUNAVAILABLE), so a Redis outage or stall is answered 503 with
// Retry-After, not 500; the operation and cause stay for the logs.
func wrap(op string, err error) error {
	return app.Unavailable(fmt.Errorf("redis %s: %w", op, err), "the session store is unavailable, retry later")
}
