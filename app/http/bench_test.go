package http

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scaling-aws/scaling-aws/app"
)

// hitPosts answers every read with the same post, as a local-cache hit
// does: what is left is the HTTP layer's own cost.
type hitPosts struct {
	app.PostStore
	p app.Post
}

func (h *hitPosts) Post(_ context.Context, id int64) (*app.Post, error) {
	p := h.p
	p.ID = id
	return &p, nil
}

// BenchmarkCachedRead measures GET /api/posts/{id} through the whole
// handler (routing, metrics, cookies, JSON) on a cache hit with a 1 KB post.
// Run: go test ./app/http -run '^$' -bench CachedRead -benchmem
func BenchmarkCachedRead(b *testing.B) {
	reg := prometheus.NewRegistry()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := &Server{Role: RoleRead, Posts: &hitPosts{p: app.Post{UserID: 7, Body: strings.Repeat("a", 1024),
		CreatedAt: now, UpdatedAt: now}}, Logger: quiet, Registerer: reg, Gatherer: reg}
	h := s.Handler()
	r := httptest.NewRequest("GET", "/api/posts/12345", nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
	if w.code != 200 {
		b.Fatalf("status %d", w.code)
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(b []byte) (int, error) { return io.Discard.Write(b) }
