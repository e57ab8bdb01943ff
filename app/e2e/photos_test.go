package e2e_test

import (
	"bytes"
	"context"
	"image/jpeg"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/scaling-aws/scaling-aws/app"
)

func (c *client) upload(data []byte) map[string]any {
	c.t.Helper()
	r := c.do("POST", "/api/photos", "image/png", data)
	if r.status != 202 {
		c.t.Fatalf("upload: %d %s", r.status, r.body)
	}
	return r.json()
}

func (s *stack) work(t *testing.T) int {
	t.Helper()
	n, err := s.w.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("worker: %v", err)
	}
	return n
}

// TestPhotoFlow: upload, original in S3 and MySQL, job on the Redis Streams
// queue, worker makes the thumbnail, client sees it ready with its URL; a
// redelivered job does nothing more.
func TestPhotoFlow(t *testing.T) {
	s := newStack(t, options{})
	alice := s.client()
	alice.signUp("alice")
	v := alice.upload(pngImage(t, 640, 320))
	id := strconv.Itoa(int(v["id"].(float64)))
	if v["status"] != "pending" || v["width"].(float64) != 640 || v["thumbnail_url"] != nil ||
		!strings.HasPrefix(v["original_url"].(string), "/media/originals/") {
		t.Fatalf("upload answer: %v", v)
	}
	if r := alice.call("GET", v["original_url"].(string), ""); r.status != 200 || r.header.Get("Content-Type") != "image/png" {
		t.Errorf("original: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if n := s.work(t); n != 1 {
		t.Fatalf("worker handled %d jobs, want 1", n)
	}
	r := alice.call("GET", "/api/photos/"+id, "")
	v = r.json()
	if v["status"] != "ready" || v["thumbnail_url"] != "/media/thumbs/"+id+".jpg" {
		t.Fatalf("photo after the job: %s", r.body)
	}
	r = alice.call("GET", v["thumbnail_url"].(string), "")
	img, err := jpeg.Decode(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("thumbnail is not a JPEG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 256 || b.Dy() != 128 {
		t.Errorf("thumbnail is %v, want 256x128", b)
	}

	// At-least-once: the same job delivered again changes nothing.
	objects := s.objects()
	if err := s.q.Enqueue(context.Background(), app.ThumbnailJob{PhotoID: int64(v["id"].(float64))}); err != nil {
		t.Fatal(err)
	}
	if n := s.work(t); n != 1 {
		t.Fatalf("redelivery: handled %d, want 1", n)
	}
	if s.objects() != objects {
		t.Errorf("redelivery wrote objects: %d, want %d", s.objects(), objects)
	}
	if r := alice.call("GET", "/api/photos/"+id, ""); r.json()["status"] != "ready" {
		t.Errorf("after redelivery: %s", r.body)
	}
	if !strings.Contains(metric(t, alice, `app_queue_jobs_total{result="duplicate"}`), " 1") {
		t.Error("the duplicate job was not counted")
	}
	if pending, _ := s.rc.XPending(context.Background(), s.prefix+"jobs", "workers").Result(); pending.Count != 0 {
		t.Errorf("%d jobs still pending", pending.Count)
	}
}

// TestPhotoRetry: a transient object store failure fails the first attempt;
// the redelivered job succeeds.
func TestPhotoRetry(t *testing.T) {
	var flaky *flakyBlobs
	s := newStack(t, options{blobs: func(b app.BlobStore) app.BlobStore {
		flaky = &flakyBlobs{BlobStore: b}
		flaky.failures.Store(1)
		return flaky
	}})
	alice := s.client()
	alice.signUp("alice")
	id := strconv.Itoa(int(alice.upload(pngImage(t, 50, 50))["id"].(float64)))
	s.work(t) // attempt 1 fails
	if r := alice.call("GET", "/api/photos/"+id, ""); r.json()["status"] != "pending" {
		t.Fatalf("after a failed attempt: %s, want pending", r.body)
	}
	s.work(t) // attempt 2, redelivered
	if r := alice.call("GET", "/api/photos/"+id, ""); r.json()["status"] != "ready" {
		t.Fatalf("after the retry: %s, want ready", r.body)
	}
	if n, _ := s.rc.XLen(context.Background(), s.q.DeadStream()).Result(); n != 0 {
		t.Errorf("dead-letter stream holds %d, want 0", n)
	}
}

// TestPhotoDeadLetter: an image whose header is valid but whose data is cut
// can never be decoded: its job is dead-lettered at the first attempt and the
// photo marked failed, not retried MaxAttempts times (5 times 30 s apart in
// production). A transient failure that lasts (the object store refusing every
// thumbnail write) is retried, and dead-lettered after MaxAttempts (3 here).
func TestPhotoDeadLetter(t *testing.T) {
	var flaky *flakyBlobs
	s := newStack(t, options{blobs: func(b app.BlobStore) app.BlobStore {
		flaky = &flakyBlobs{BlobStore: b}
		return flaky
	}})
	alice := s.client()
	alice.signUp("alice")
	ctx := context.Background()
	dead := func() []goredis.XMessage {
		t.Helper()
		msgs, err := s.rc.XRange(ctx, s.q.DeadStream(), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}

	full := pngImage(t, 64, 64)
	id := strconv.Itoa(int(alice.upload(full[:len(full)/2])["id"].(float64)))
	if n := s.work(t); n != 1 {
		t.Fatalf("attempt 1: handled %d, want 1", n)
	}
	msgs := dead()
	if len(msgs) != 1 || msgs[0].Values["attempts"] != "1" || !strings.Contains(msgs[0].Values["reason"].(string), "not a valid image") {
		t.Fatalf("after the first attempt at a truncated image, dead letters: %+v; want it there with attempts 1", msgs)
	}
	if r := alice.call("GET", "/api/photos/"+id, ""); r.json()["status"] != "failed" {
		t.Errorf("photo after dead-lettering: %s, want failed", r.body)
	}
	if n := s.work(t); n != 0 {
		t.Errorf("the dead job came back: handled %d", n)
	}

	flaky.failures.Store(1000)
	id = strconv.Itoa(int(alice.upload(pngImage(t, 20, 20))["id"].(float64)))
	for attempt := 1; attempt <= 3; attempt++ {
		if n := s.work(t); n != 1 {
			t.Fatalf("transient, attempt %d: handled %d, want 1", attempt, n)
		}
		if want := 1 + attempt/3; len(dead()) != want {
			t.Fatalf("transient, after attempt %d: %d dead letters, want %d", attempt, len(dead()), want)
		}
	}
	if msgs := dead(); msgs[1].Values["attempts"] != "3" {
		t.Errorf("transient dead letter: %+v, want attempts 3", msgs[1])
	}
	if r := alice.call("GET", "/api/photos/"+id, ""); r.json()["status"] != "failed" {
		t.Errorf("photo after its last attempt: %s, want failed", r.body)
	}
}

// TestUploadUndoneWhenQueueFails: nothing is left half-written when the job
// cannot be queued.
func TestUploadUndoneWhenQueueFails(t *testing.T) {
	s := newStack(t, options{queue: func(q app.Queue) app.Queue { return brokenQueue{q} }})
	alice := s.client()
	alice.signUp("alice")
	r := alice.do("POST", "/api/photos", "image/png", pngImage(t, 10, 10))
	if r.status != 500 || r.code() != "internal" || strings.Contains(string(r.body), "10.0.0.1") {
		t.Fatalf("upload with the queue down: %d %s", r.status, r.body)
	}
	if n := s.count("photos"); n != 0 {
		t.Errorf("%d photo rows left", n)
	}
	if n := s.objects(); n != 0 {
		t.Errorf("%d objects left", n)
	}
}

// gatedBlobs holds thumbnail writes until released.
type gatedBlobs struct {
	app.BlobStore
	entered, release chan struct{}
}

func (g *gatedBlobs) PutBlob(ctx context.Context, key, ct string, r io.Reader, size int64) error {
	if strings.HasPrefix(key, "thumbs/") {
		close(g.entered)
		<-g.release
	}
	return g.BlobStore.PutBlob(ctx, key, ct, r, size)
}

// TestWorkerFinishesJobOnShutdown: stopping the worker (SIGTERM) while a job
// runs lets the job finish before Run returns.
func TestWorkerFinishesJobOnShutdown(t *testing.T) {
	gate := &gatedBlobs{entered: make(chan struct{}), release: make(chan struct{})}
	s := newStack(t, options{visibility: time.Minute,
		blobs: func(b app.BlobStore) app.BlobStore { gate.BlobStore = b; return gate }})
	alice := s.client()
	alice.signUp("alice")
	id := strconv.Itoa(int(alice.upload(pngImage(t, 30, 30))["id"].(float64)))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.w.Run(ctx) }()
	<-gate.entered // the job is in flight
	stop()
	select {
	case <-done:
		t.Fatal("Run returned with a job in flight")
	default:
	}
	close(gate.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r := alice.call("GET", "/api/photos/"+id, ""); r.json()["status"] != "ready" {
		t.Errorf("photo after shutdown: %s, want ready", r.body)
	}
}
