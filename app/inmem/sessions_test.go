package inmem_test

import (
	"context"
	"testing"
	"time"

	"github.com/scaling-aws/scaling-aws/app"
	"github.com/scaling-aws/scaling-aws/app/inmem"
)

// store is an app.SessionStore over a map that counts lookups; it stands
// for the shared store (Redis or MySQL, tested in their packages).
type store struct {
	m       map[string]app.Session
	lookups int
}

func (s *store) CreateSession(_ context.Context, x *app.Session) error { s.m[x.Token] = *x; return nil }
func (s *store) DeleteSession(_ context.Context, t string) error       { delete(s.m, t); return nil }
func (s *store) Session(_ context.Context, t string) (*app.Session, error) {
	s.lookups++
	x, ok := s.m[t]
	if !ok {
		return nil, app.Errorf(app.EUNAUTHORIZED, "unknown")
	}
	return &x, nil
}

func TestSessionCache(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	shared := &store{m: map[string]app.Session{}}
	a := inmem.NewSessionCache(shared, time.Second, 0, clock)
	b := inmem.NewSessionCache(shared, time.Second, 0, clock)
	ctx := context.Background()

	// A miss is not remembered: a session created on A is seen on B at once.
	if _, err := b.Session(ctx, "tok"); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Fatalf("unknown token: %v", err)
	}
	a.CreateSession(ctx, &app.Session{Token: "tok", UserID: 7, ExpiresAt: now.Add(time.Hour)})
	for range 3 {
		if s, err := b.Session(ctx, "tok"); err != nil || s.UserID != 7 {
			t.Fatalf("lookup on B: %+v, %v", s, err)
		}
	}
	if shared.lookups != 2 {
		t.Errorf("shared lookups = %d, want 2 (one miss, then one per TTL)", shared.lookups)
	}
	// Logout on A: at once on A; on B after at most the TTL.
	a.Session(ctx, "tok")
	a.DeleteSession(ctx, "tok")
	if _, err := a.Session(ctx, "tok"); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Errorf("A after its own logout: %v", err)
	}
	if _, err := b.Session(ctx, "tok"); err != nil {
		t.Errorf("B within the TTL: %v (accepted for up to the TTL, by design)", err)
	}
	now = now.Add(time.Second)
	if _, err := b.Session(ctx, "tok"); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Errorf("B after the TTL: %v, want unauthorized", err)
	}
	// A session's own expiry wins over the TTL.
	a.CreateSession(ctx, &app.Session{Token: "short", UserID: 1, ExpiresAt: now.Add(time.Millisecond)})
	a.Session(ctx, "short")
	now = now.Add(2 * time.Millisecond)
	delete(shared.m, "short") // the shared store has expired it too
	if _, err := a.Session(ctx, "short"); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Errorf("expired session served from the cache: %v", err)
	}
}

func TestSessionCacheBounded(t *testing.T) {
	shared := &store{m: map[string]app.Session{}}
	c := inmem.NewSessionCache(shared, time.Hour, 10, nil)
	ctx := context.Background()
	for i := range 100 {
		tok := string(rune('a' + i))
		c.CreateSession(ctx, &app.Session{Token: tok, UserID: int64(i), ExpiresAt: time.Now().Add(time.Hour)})
		if s, err := c.Session(ctx, tok); err != nil || s.UserID != int64(i) {
			t.Fatalf("session %d: %+v, %v", i, s, err)
		}
	}
	shared.lookups = 0
	hits := 0
	for i := range 100 {
		c.Session(ctx, string(rune('a'+i)))
	}
	hits = 100 - shared.lookups
	if hits > 10 {
		t.Errorf("%d cached entries, want at most 10", hits)
	}
}
