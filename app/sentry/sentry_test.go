package sentry_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scaling-aws/scaling-aws/app"
	apphttp "github.com/scaling-aws/scaling-aws/app/http"
	"github.com/scaling-aws/scaling-aws/app/sentry"
	"github.com/scaling-aws/scaling-aws/app/worker"
)

// collector is a real HTTP server on 127.0.0.1 playing the DSN's host: it
// receives the SDK's envelopes as Sentry's ingestion endpoint would.
type collector struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
	paths  []string
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.bodies = append(c.bodies, string(b))
		c.paths = append(c.paths, r.URL.Path)
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"00000000000000000000000000000000"}`)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) dsn() string { return "http://public@" + c.Listener.Addr().String() + "/42" }

// events decodes the event items of every envelope received.
func (c *collector) events(t *testing.T) []map[string]any {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for _, body := range c.bodies {
		sc := bufio.NewScanner(strings.NewReader(body))
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		sc.Scan() // envelope header
		for sc.Scan() {
			var item struct{ Type string }
			json.Unmarshal(sc.Bytes(), &item)
			if !sc.Scan() {
				break
			}
			if item.Type == "event" {
				var ev map[string]any
				if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
					t.Fatalf("event payload: %v", err)
				}
				out = append(out, ev)
			}
		}
	}
	return out
}

func (c *collector) all() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.bodies, "\n")
}

// failingPosts fails every read: with a panic (nil map write), an internal
// error, or a 503-worthy unavailability, by post id.
type failingPosts struct{ app.PostStore }

func (failingPosts) Post(ctx context.Context, id int64) (*app.Post, error) {
	switch id {
	case 1:
		var m map[string]int
		m["x"] = 1
	case 2:
		return nil, errors.New("dial tcp 10.0.0.5:3306: connect: connection refused")
	case 3:
		return nil, app.Unavailable(errors.New("redis: i/o timeout"), "the cache is failing over")
	}
	return &app.Post{ID: id, UserID: 1, Body: "ok"}, nil
}

// secrets are sent on every request: none may reach Sentry.
var secrets = map[string]string{
	"Cookie":          "session=s3cr3t-cookie; rw_until=1",
	"Authorization":   "Bearer s3cr3t-bearer",
	"X-Origin-Verify": "s3cr3t-origin-verify",
}

func serve(t *testing.T, rep *sentry.Reporter, logs io.Writer) (*httptest.Server, *slog.Logger) {
	t.Helper()
	log := slog.New(rep.Handler(slog.NewJSONHandler(logs, nil)))
	srv := &apphttp.Server{Role: apphttp.RoleRead, Posts: failingPosts{}, Logger: log}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, log
}

func get(t *testing.T, url string) (int, time.Duration) {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"?cursor=s3cr3t-query", nil)
	for k, v := range secrets {
		req.Header.Set(k, v)
	}
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, time.Since(start)
}

// TestEnvelopes: a recovered panic (500, and the app serves on), an
// internal error (one event, not two: the request line marked
// cause_logged is skipped), a 503 (a breadcrumb, no event) and a worker's
// dead-lettered job reach the collector as events with the environment and
// release, and no header, cookie, query or secret field.
func TestEnvelopes(t *testing.T) {
	c := newCollector(t)
	rep, err := sentry.New(sentry.Options{DSN: c.dsn(), Environment: "prod", Release: "scaling-app@abc123"})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	ts, log := serve(t, rep, &logs)
	// In this order (a slice, not a map, whose order Go randomizes): the 503 comes before
	// the internal error, whose event must carry it as a breadcrumb.
	for _, r := range []struct {
		id   string
		want int
	}{{"1", 500}, {"3", 503}, {"2", 500}, {"4", 200}} {
		if code, _ := get(t, ts.URL+"/api/posts/"+r.id); code != r.want {
			t.Errorf("post %s: %d, want %d", r.id, code, r.want)
		}
	}
	// A thumbnail job that fails for good (an original that does not decode).
	w := &worker.Worker{Queue: nopQueue{}, Photos: photos{}, Blobs: blobs{}, Logger: log,
		Thumbnail: func([]byte, int, int) ([]byte, error) {
			return nil, app.Errorf(app.EINVALID, "the original does not decode: unexpected EOF")
		}}
	w.Handle(context.Background(), app.Message{ID: "m1", Job: app.ThumbnailJob{PhotoID: 7}, Attempt: 1})
	// A record that carries a secret-looking field by mistake.
	log.Error("something else failed", "err", errors.New("boom"), "db_password", "s3cr3t-field")

	if !rep.Flush(5 * time.Second) {
		t.Fatal("flush timed out")
	}
	evs := c.events(t)
	titles := map[string]map[string]any{}
	for _, ev := range evs {
		exc := exception(ev)
		titles[exc["type"].(string)] = ev
		if ev["environment"] != "prod" || ev["release"] != "scaling-app@abc123" || ev["level"] != "error" {
			t.Errorf("event %v: environment %v release %v level %v", exc["type"], ev["environment"], ev["release"], ev["level"])
		}
	}
	for _, want := range []string{"panic serving request", "internal error", "thumbnail job failed for good, dead-lettering without retry", "something else failed"} {
		if _, ok := titles[want]; !ok {
			t.Errorf("no event %q; got %d events: %v", want, len(evs), keys(titles))
		}
	}
	if len(evs) != 4 {
		t.Errorf("%d events, want 4 (one per failure; no request-line duplicate, no 503): %v", len(evs), keys(titles))
	}
	if p := titles["panic serving request"]; p != nil {
		exc := exception(p)
		if !strings.Contains(exc["value"].(string), "nil map") {
			t.Errorf("panic event value %v", exc["value"])
		}
		if !strings.Contains(mustJSON(exc["stacktrace"]), "failingPosts") {
			t.Errorf("panic event stack lacks the panicking frame: %s", mustJSON(exc["stacktrace"]))
		}
		req, _ := p["request"].(map[string]any)
		if req["method"] != "GET" || req["url"] != "/api/posts/1" {
			t.Errorf("panic event request %v", req)
		}
	}
	// The 503 is a breadcrumb on a later event.
	if ie := titles["internal error"]; ie != nil && !strings.Contains(mustJSON(ie["breadcrumbs"]), "dependency unavailable") {
		t.Errorf("the 503 is not a breadcrumb of the next event: %s", mustJSON(ie["breadcrumbs"]))
	}
	all := c.all()
	if strings.Contains(all, "s3cr3t") {
		i := strings.Index(all, "s3cr3t")
		t.Errorf("a secret reached Sentry: ...%s...", all[max(0, i-200):min(len(all), i+50)])
	}
	if c.paths[0] != "/api/42/envelope/" {
		t.Errorf("envelope path %s", c.paths[0])
	}
	if code, _ := get(t, ts.URL+"/api/posts/4"); code != 200 {
		t.Errorf("after the failures: %d", code)
	}
}

// TestHangingSentry: with a Sentry host that accepts connections and never
// answers, and one that refuses them, failing requests answer as fast as
// without Sentry, and Flush gives up at its deadline.
func TestHangingSentry(t *testing.T) {
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			conn, err := hang.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, conn) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	refused, _ := net.Listen("tcp", "127.0.0.1:0")
	refusedAddr := refused.Addr().String()
	refused.Close()

	for name, addr := range map[string]string{"hanging": hang.Addr().String(), "refusing": refusedAddr} {
		t.Run(name, func(t *testing.T) {
			rep, err := sentry.New(sentry.Options{DSN: "http://public@" + addr + "/42", Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			ts, _ := serve(t, rep, io.Discard)
			start := time.Now()
			var slowest time.Duration
			for range 200 {
				for _, id := range []string{"1", "2"} {
					code, d := get(t, ts.URL+"/api/posts/"+id)
					if code != 500 {
						t.Fatalf("post %s: %d", id, code)
					}
					slowest = max(slowest, d)
				}
			}
			if total := time.Since(start); total > 5*time.Second || slowest > time.Second {
				t.Errorf("400 failing requests took %v, the slowest %v, with Sentry %s", total, slowest, name)
			}
			fstart := time.Now()
			rep.Flush(300 * time.Millisecond)
			if d := time.Since(fstart); d > 2*time.Second {
				t.Errorf("Flush(300ms) took %v", d)
			}
		})
	}
}

func TestCheckDSN(t *testing.T) {
	if err := sentry.CheckDSN("https://abc123@o1.ingest.sentry.io/4507"); err != nil {
		t.Errorf("valid DSN: %v", err)
	}
	for _, bad := range []string{"abc123@o1.ingest.sentry.io/4507", "ftp://k@h/1", "https://o1.ingest.sentry.io/4507",
		"https://k@/1", "https://k@h", "https://k@h:x/1", "https://k@h/", "%zz"} {
		err := sentry.CheckDSN(bad)
		if err == nil {
			t.Errorf("CheckDSN(%q) accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "k@") || strings.Contains(err.Error(), "abc123") {
			t.Errorf("CheckDSN(%q) echoes the DSN: %v", bad, err)
		}
	}
	if _, err := sentry.New(sentry.Options{DSN: "https://s3cr3t@host"}); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("New with a bad DSN: %v", err)
	}
}

// TestHandlerKeepsLogging: records below WARN still reach the wrapped
// handler, with WithAttrs and WithGroup, and enabled levels are kept.
func TestHandlerKeepsLogging(t *testing.T) {
	c := newCollector(t)
	rep, _ := sentry.New(sentry.Options{DSN: c.dsn()})
	var buf bytes.Buffer
	log := slog.New(rep.Handler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError})))
	log.With("role", "read").WithGroup("job").Error("grouped failure", "photo_id", 7)
	log.Info("not logged at level error")
	log.Warn("not logged either, but a breadcrumb")
	rep.Flush(5 * time.Second)
	if !strings.Contains(buf.String(), `"role":"read","job":{"photo_id":7}`) || strings.Contains(buf.String(), "not logged") {
		t.Errorf("logs: %s", buf.String())
	}
	evs := c.events(t)
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	if f := mustJSON(evs[0]["contexts"].(map[string]any)["log"]); !strings.Contains(f, `"job.photo_id":7`) || !strings.Contains(f, `"role":"read"`) {
		t.Errorf("event fields %s", f)
	}
}

// exception is the event's first exception (the SDK sends a list).
func exception(ev map[string]any) map[string]any {
	if l, ok := ev["exception"].([]any); ok && len(l) > 0 {
		return l[0].(map[string]any)
	}
	if m, ok := ev["exception"].(map[string]any); ok {
		return m["values"].([]any)[0].(map[string]any)
	}
	return map[string]any{"type": ""}
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

type nopQueue struct{ app.Queue }

func (nopQueue) Ack(context.Context, app.Message) error                { return nil }
func (nopQueue) DeadLetter(context.Context, app.Message, string) error { return nil }

type photos struct{ app.PhotoStore }

func (photos) Photo(_ context.Context, id int64) (*app.Photo, error) {
	return &app.Photo{ID: id, Status: app.PhotoPending, OriginalKey: "originals/1/x.jpg"}, nil
}
func (photos) SetPhotoFailed(context.Context, int64) error { return nil }

type blobs struct{ app.BlobStore }

func (blobs) Blob(context.Context, string) (io.ReadCloser, string, error) {
	return io.NopCloser(strings.NewReader("\xff\xd8 truncated")), "image/jpeg", nil
}
