package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scaling-aws/scaling-aws/app"
)

// logLines is a concurrency-safe buffer of slog JSON lines.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

// records returns the decoded lines whose msg is msg.
func (l *logLines) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// instrumented builds a Server logging JSON at level into the returned
// buffer, and h wrapped by its instrument middleware.
func instrumented(t *testing.T, level slog.Level, h http.HandlerFunc) (*Server, http.Handler, *logLines) {
	t.Helper()
	lines := &logLines{}
	f := newFixture(t, &Server{SlowRequest: 50 * time.Millisecond})
	f.s.Logger = slog.New(slog.NewJSONHandler(lines, &slog.HandlerOptions{Level: level}))
	return f.s, f.s.instrument(h), lines
}

// TestRequestLogLevels: the contract's request line (status, method, path,
// duration_ms) at ERROR for a 5xx that is not a 503, WARN for a 503, INFO
// only when slow, nothing at info level for a fast success or a 4xx.
func TestRequestLogLevels(t *testing.T) {
	var s *Server
	s, h, lines := instrumented(t, slog.LevelInfo, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/internal":
			s.Error(w, r, errors.New("dial tcp 10.0.0.5:3306: i/o timeout"))
		case "/unavailable":
			s.Error(w, r, app.Unavailable(errors.New("redis: i/o timeout"), "the session store is unavailable"))
		case "/bad-gateway":
			w.WriteHeader(http.StatusBadGateway)
		case "/slow":
			time.Sleep(60 * time.Millisecond)
		case "/missing":
			s.Error(w, r, app.Errorf(app.ENOTFOUND, "no such post"))
		}
	})
	for _, p := range []string{"/internal", "/unavailable", "/bad-gateway", "/slow", "/fast", "/missing"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	got := map[string]map[string]any{}
	for _, rec := range lines.records(t, "request") {
		got[rec["path"].(string)] = rec
	}
	for path, want := range map[string]struct {
		level       string
		status      float64
		causeLogged bool
	}{
		"/internal":    {"ERROR", 500, true},
		"/unavailable": {"WARN", 503, false},
		"/bad-gateway": {"ERROR", 502, false},
		"/slow":        {"INFO", 200, false},
	} {
		rec, ok := got[path]
		if !ok {
			t.Errorf("%s: no request line", path)
			continue
		}
		if rec["level"] != want.level || rec["status"] != want.status || rec["method"] != "GET" {
			t.Errorf("%s: %v, want level %s status %v", path, rec, want.level, want.status)
		}
		if d, ok := rec["duration_ms"].(float64); !ok || d < 0 || (path == "/slow" && d < 60) {
			t.Errorf("%s: duration_ms %v", path, rec["duration_ms"])
		}
		if cl, _ := rec[app.LogCauseLogged].(bool); cl != want.causeLogged {
			t.Errorf("%s: %s = %v, want %v", path, app.LogCauseLogged, rec[app.LogCauseLogged], want.causeLogged)
		}
	}
	for _, path := range []string{"/fast", "/missing"} {
		if rec, ok := got[path]; ok {
			t.Errorf("%s logged at info level: %v", path, rec)
		}
	}
	if n := len(lines.records(t, "internal error")); n != 1 {
		t.Errorf("%d internal error records, want 1 (the cause, before the request line)", n)
	}
}

// TestRequestLogDebugEveryRequest: at debug level every request has its line.
func TestRequestLogDebugEveryRequest(t *testing.T) {
	_, h, lines := instrumented(t, slog.LevelDebug, func(w http.ResponseWriter, r *http.Request) {})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/fast", nil))
	recs := lines.records(t, "request")
	if len(recs) != 1 || recs[0]["level"] != "DEBUG" || recs[0]["status"] != 200.0 {
		t.Errorf("debug request lines: %v", recs)
	}
}

// TestPanicAnswers500AndServesOn: a panicking handler answers 500 with the
// generic body, the panic is logged at ERROR and the next request is served.
func TestPanicAnswers500AndServesOn(t *testing.T) {
	s, h, lines := instrumented(t, slog.LevelInfo, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/boom" {
			var m map[string]int
			m["x"] = 1 // a nil map write: a real runtime panic
		}
	})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/boom", nil))
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"code":"internal"`) || strings.Contains(w.Body.String(), "nil map") {
		t.Errorf("panic answered %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/after", nil))
	if w.Code != 200 {
		t.Errorf("request after the panic: %d", w.Code)
	}
	p := lines.records(t, "panic serving request")
	if len(p) != 1 || p[0]["level"] != "ERROR" || !strings.Contains(p[0]["panic"].(string), "nil map") {
		t.Errorf("panic records: %v", p)
	}
	if ie := lines.records(t, "internal error"); len(ie) != 0 {
		t.Errorf("the panic was also logged as an internal error (two records for one failure): %v", ie)
	}
	for _, rec := range lines.records(t, "request") {
		if rec["path"] == "/boom" && (rec["level"] != "ERROR" || rec[app.LogCauseLogged] != true) {
			t.Errorf("panicked request line: %v", rec)
		}
	}
	if s.InFlight() != 0 {
		t.Errorf("in flight after the panic: %d", s.InFlight())
	}
}

// TestInFlight counts requests held in a handler, on InFlight and on
// /metrics, and back to zero once they end.
func TestInFlight(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	f := newFixture(t, &Server{})
	h := f.s.instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	}))
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/held", nil))
		}()
		<-entered
	}
	if n := f.s.InFlight(); n != 3 {
		t.Errorf("InFlight = %d with 3 held, want 3", n)
	}
	// /metrics is itself a request in flight while it answers.
	if r := f.do("GET", "/metrics", ""); !strings.Contains(r.Body.String(), "app_http_requests_in_flight 4\n") {
		t.Errorf("/metrics with 3 held requests:\n%s", grepLines(r.Body.String(), "in_flight"))
	}
	close(release)
	wg.Wait()
	if n := f.s.InFlight(); n != 0 {
		t.Errorf("InFlight = %d after the requests ended", n)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
