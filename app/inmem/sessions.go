// Package inmem holds in-process layers over the shared stores. They keep
// no state of their own that another instance would need: every entry is a
// short-lived copy of what the shared store says.
package inmem

import (
	"context"
	"sync"
	"time"

	"github.com/scaling-aws/scaling-aws/app"
)

// SessionCache is an app.SessionStore that remembers successful lookups of
// the store below for a short TTL, so that a client's burst of requests
// costs one lookup. Misses are never remembered, so a session created on
// another instance is accepted at once; the price is that a session deleted
// (logout) on another instance is still accepted here for up to TTL.
// Deletions through this instance take effect at once.
type SessionCache struct {
	store app.SessionStore
	ttl   time.Duration
	now   app.Clock
	max   int

	mu sync.Mutex
	m  map[string]cached
}

type cached struct {
	s   app.Session
	exp time.Time
}

var _ app.SessionStore = (*SessionCache)(nil)

// NewSessionCache returns the layer over store. ttl is how long a lookup is
// remembered; max bounds the entries (default 10000); now may be nil.
func NewSessionCache(store app.SessionStore, ttl time.Duration, max int, now app.Clock) *SessionCache {
	if max <= 0 {
		max = 10000
	}
	if now == nil {
		now = time.Now
	}
	return &SessionCache{store: store, ttl: ttl, now: now, max: max, m: make(map[string]cached)}
}

// CreateSession implements app.SessionStore.
func (c *SessionCache) CreateSession(ctx context.Context, s *app.Session) error {
	return c.store.CreateSession(ctx, s)
}

// Session implements app.SessionStore.
func (c *SessionCache) Session(ctx context.Context, token string) (*app.Session, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[token]
	c.mu.Unlock()
	if ok && now.Before(e.exp) && now.Before(e.s.ExpiresAt) {
		s := e.s
		return &s, nil
	}
	s, err := c.store.Session(ctx, token)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		for k, old := range c.m {
			if !now.Before(old.exp) || len(c.m) >= c.max {
				delete(c.m, k)
			}
			if len(c.m) < c.max/2 {
				break
			}
		}
	}
	c.m[token] = cached{s: *s, exp: now.Add(c.ttl)}
	c.mu.Unlock()
	return s, nil
}

// DeleteSession implements app.SessionStore.
func (c *SessionCache) DeleteSession(ctx context.Context, token string) error {
	c.mu.Lock()
	delete(c.m, token)
	c.mu.Unlock()
	return c.store.DeleteSession(ctx, token)
}
