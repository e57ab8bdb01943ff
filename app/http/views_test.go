package http

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/scaling-aws/scaling-aws/app"
)

// fakeViews counts views in memory; known false plays a counter that cannot
// tell the count in time (DynamoDB slow, down or throttling).
type fakeViews struct {
	mu    sync.Mutex
	n     map[int64]int64
	known bool
}

func (f *fakeViews) View(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n[id]++
}

func (f *fakeViews) Views(_ context.Context, id int64) (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n[id], f.known
}

// onePost stores post 5 only.
type onePost struct{ app.PostStore }

func (onePost) Post(_ context.Context, id int64) (*app.Post, error) {
	if id != 5 {
		return nil, app.Errorf(app.ENOTFOUND, "post %d not found", id)
	}
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	return &app.Post{ID: 5, UserID: 1, Body: "hello", CreatedAt: now, UpdatedAt: now}, nil
}

func TestGetPostCountsViews(t *testing.T) {
	get := func(h http.Handler, path string) (int, map[string]any) {
		t.Helper()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		var v map[string]any
		if w.Code == 200 {
			if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
				t.Fatalf("%s: %v in %s", path, err, w.Body)
			}
		}
		return w.Code, v
	}
	views := &fakeViews{n: map[int64]int64{5: 41}, known: true}
	h := (&Server{Role: RoleRead, Posts: onePost{}, Views: views, Logger: quiet}).Handler()
	code, v := get(h, "/api/posts/5")
	if code != 200 || v["views"] != float64(42) || v["body"] != "hello" {
		t.Errorf("counted read: %d %v, want 200 with the post and views 42", code, v)
	}
	if code, _ := get(h, "/api/posts/6"); code != 404 || views.n[6] != 0 {
		t.Errorf("missing post: %d and %d views counted, want 404 and none", code, views.n[6])
	}

	views.known = false
	code, v = get(h, "/api/posts/5")
	if _, has := v["views"]; code != 200 || has || v["id"] != float64(5) || views.n[5] != 43 {
		t.Errorf("count unknown: %d %v with %d views counted, want 200, the post without views, and the view counted (43)",
			code, v, views.n[5])
	}

	h = (&Server{Role: RoleRead, Posts: onePost{}, Logger: quiet}).Handler()
	if code, v := get(h, "/api/posts/5"); code != 200 || v["views"] != nil {
		t.Errorf("no counter: %d %v, want today's answer (no views field)", code, v)
	}
}
