package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/scaling-aws/scaling-aws/app"
	"github.com/scaling-aws/scaling-aws/app/apptest"
	apphttp "github.com/scaling-aws/scaling-aws/app/http"
	"github.com/scaling-aws/scaling-aws/app/mysql"
	"github.com/scaling-aws/scaling-aws/app/redis"
	"github.com/scaling-aws/scaling-aws/app/redisq"
	apps3 "github.com/scaling-aws/scaling-aws/app/s3"
	"github.com/scaling-aws/scaling-aws/app/thumb"
	"github.com/scaling-aws/scaling-aws/app/worker"
)

type options struct {
	role        apphttp.Role
	redisAddr   string // "" for the test Redis
	replicaAddr string // "" for the test replica
	blobs       func(app.BlobStore) app.BlobStore
	queue       func(app.Queue) app.Queue
	singleBox   bool // no cache: sessions and posts in MySQL, inline thumbnails
	// visibility of the Redis queue. Default: -1, redeliver at once, so that
	// tests drive retries with RunOnce without waiting.
	visibility time.Duration
}

type stack struct {
	t      *testing.T
	url    string
	m      *apptest.MySQL
	db     *mysql.DB
	rc     *goredis.Client
	q      *redisq.Queue
	w      *worker.Worker
	s3     *s3mem.Backend
	blobs  app.BlobStore
	prefix string
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newStack wires the app as cmd/scaling-app does, on the test servers.
func newStack(t *testing.T, o options) *stack {
	t.Helper()
	ctx := context.Background()
	m := apptest.NewMySQL(t)
	redisAddr, prefix := apptest.Redis(t)
	if o.redisAddr != "" {
		redisAddr = o.redisAddr
	}
	if err := mysql.Migrate(ctx, m.Primary, quiet); err != nil {
		t.Fatal(err)
	}
	m.Sync(t)
	replica := m.Replica.Addr
	if o.replicaAddr != "" {
		replica = o.replicaAddr
	}
	reg := prometheus.NewRegistry()
	db, err := mysql.Open(ctx, m.Primary, []string{replica}, mysql.Options{Logger: quiet, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rc := redis.NewClient(redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rc.Close() })

	backend := s3mem.New()
	backend.CreateBucket("photos")
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(s3srv.Close)
	var blobs app.BlobStore = apps3.New(apptest.AWSConfig(), "photos", s3srv.URL)
	if o.blobs != nil {
		blobs = o.blobs(blobs)
	}
	s := &stack{t: t, m: m, db: db, rc: rc, s3: backend, blobs: blobs, prefix: prefix}
	var queue app.Queue
	if o.visibility == 0 {
		o.visibility = -1
	}
	if o.redisAddr == "" {
		s.q, err = redisq.New(ctx, rc, redisq.Options{Stream: prefix + "jobs", Visibility: o.visibility, Block: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		queue = s.q
	}
	if o.queue != nil {
		queue = o.queue(queue)
	}
	s.w = &worker.Worker{Queue: queue, Photos: db, Blobs: blobs, Thumbnail: thumb.Make, MaxAttempts: 3,
		Logger: quiet, Registerer: reg}
	cache := redis.NewPostCache(rc, db, redis.CacheOptions{Prefix: prefix, Logger: quiet, Registerer: reg})
	t.Cleanup(cache.Close)
	srv := &apphttp.Server{
		Role: o.role, Users: db, Photos: db, Blobs: blobs, Queue: queue,
		Sessions:   redis.NewSessions(rc, prefix, nil),
		Posts:      cache,
		BcryptCost: 4, MaxPhotoBytes: 256 << 10, MaxPhotoPixels: 1_000_000,
		Logger: quiet, Registerer: reg, Gatherer: reg,
		Ready: []apphttp.Check{{Name: "database", Pinger: db},
			{Name: "cache", Pinger: redis.Pinger{C: rc}, Optional: true}},
	}
	if o.singleBox {
		srv.Sessions, srv.Posts = db, db
		s.w.Queue = worker.Inline{W: s.w}
		srv.Queue = s.w.Queue
		srv.Ready = srv.Ready[:1]
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	s.url = hs.URL
	return s
}

// client is an HTTP client with its own cookies (session, sticky window).
type client struct {
	t     *testing.T
	s     *stack
	hc    *http.Client
	token string
}

func (s *stack) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: s.t, s: s, hc: &http.Client{Jar: jar}}
}

type response struct {
	status int
	body   []byte
	header http.Header
}

func (r response) json() map[string]any {
	var v map[string]any
	json.Unmarshal(r.body, &v)
	return v
}

func (r response) code() string {
	e, _ := r.json()["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (c *client) do(method, path, ctype string, body []byte) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.s.url+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, body: b, header: res.Header}
}

func (c *client) call(method, path, body string) response {
	c.t.Helper()
	return c.do(method, path, "application/json", []byte(body))
}

// signUp creates a user and logs in with the session cookie.
func (c *client) signUp(name string) int64 {
	c.t.Helper()
	creds := `{"name":"` + name + `","password":"correct horse"}`
	r := c.call("POST", "/api/users", creds)
	if r.status != 201 {
		c.t.Fatalf("sign up %s: %d %s", name, r.status, r.body)
	}
	id := int64(r.json()["id"].(float64))
	if r := c.call("POST", "/api/sessions", creds); r.status != 201 {
		c.t.Fatalf("log in %s: %d %s", name, r.status, r.body)
	}
	return id
}

func (c *client) post(body string) int64 {
	c.t.Helper()
	b, _ := json.Marshal(map[string]string{"body": body})
	r := c.call("POST", "/api/posts", string(b))
	if r.status != 201 {
		c.t.Fatalf("create post: %d %s", r.status, r.body)
	}
	return int64(r.json()["id"].(float64))
}

func (s *stack) count(table string) int {
	s.t.Helper()
	var n int
	if err := s.m.PrimaryDB.QueryRow("SELECT COUNT(*) FROM `" + s.m.Primary.DBName + "`." + table).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

func (s *stack) objects() int {
	s.t.Helper()
	res, err := s.s3.ListBucket("photos", &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil {
		s.t.Fatal(err)
	}
	return len(res.Contents)
}

func pngImage(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 100, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// flakyBlobs fails the first n thumbnail writes, like a transient S3 error.
type flakyBlobs struct {
	app.BlobStore
	failures atomic.Int32
}

func (f *flakyBlobs) PutBlob(ctx context.Context, key, ct string, r io.Reader, size int64) error {
	if strings.HasPrefix(key, "thumbs/") && f.failures.Add(-1) >= 0 {
		return errors.New("injected S3 failure")
	}
	return f.BlobStore.PutBlob(ctx, key, ct, r, size)
}

// brokenQueue refuses every job, like an SQS outage.
type brokenQueue struct{ app.Queue }

func (brokenQueue) Enqueue(context.Context, app.ThumbnailJob) error {
	return errors.New("injected queue failure at 10.0.0.1")
}
