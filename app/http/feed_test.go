package http

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scaling-aws/scaling-aws/app"
)

type fakeFeed struct {
	posts []*app.Post
	err   error
	limit int
}

func (f *fakeFeed) LatestPosts(_ context.Context, limit int) ([]*app.Post, error) {
	f.limit = limit
	return f.posts[:min(limit, len(f.posts))], f.err
}

func TestLatestPosts(t *testing.T) {
	feed := &fakeFeed{posts: []*app.Post{{ID: 3, UserID: 1, Body: "c"}, {ID: 2, UserID: 2, Body: "b"}}}
	h := (&Server{Latest: feed, Logger: quiet}).Handler()
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		return w
	}
	if w := get("/api/posts"); w.Code != 200 || feed.limit != defaultLimit ||
		!strings.Contains(w.Body.String(), `"posts":[{"id":3,"user_id":1,"body":"c"`) {
		t.Errorf("GET /api/posts: %d %s (limit %d)", w.Code, w.Body, feed.limit)
	}
	if w := get("/api/posts?limit=1"); w.Code != 200 || strings.Contains(w.Body.String(), `"id":2`) {
		t.Errorf("limit=1: %d %s", w.Code, w.Body)
	}
	for _, bad := range []string{"0", "101", "x"} {
		if w := get("/api/posts?limit=" + bad); w.Code != 400 {
			t.Errorf("limit=%s: %d, want 400", bad, w.Code)
		}
	}
	feed.err = app.Unavailable(errors.New("all shards down"), "the latest posts are unavailable")
	if w := get("/api/posts"); w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Errorf("feed unavailable: %d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	// Without a feed the path only takes POST, as before.
	w := httptest.NewRecorder()
	(&Server{Logger: quiet}).Handler().ServeHTTP(w, httptest.NewRequest("GET", "/api/posts", nil))
	if w.Code != 405 {
		t.Errorf("GET /api/posts with no feed: %d, want 405", w.Code)
	}
}
