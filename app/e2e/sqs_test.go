package e2e_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scaling-aws/scaling-aws/app"
	"github.com/scaling-aws/scaling-aws/app/apptest"
	appsqs "github.com/scaling-aws/scaling-aws/app/sqs"
	"github.com/scaling-aws/scaling-aws/app/thumb"
	"github.com/scaling-aws/scaling-aws/app/worker"
)

// These tests run the app's SQS adapter (app/sqs, aws-sdk-go-v2) against goaws,
// an SQS server of its own (apptest.GoAWS: its queues, visibility timeouts,
// long polls and redrive), with real MariaDB and S3 on gofakes3. Visibility
// timeouts are a few seconds so that the tests stay short.

var testAWS = apptest.AWSConfig()

// sqsStack is the app wired on an SQS queue (and its dead-letter queue) of goaws.
type sqsStack struct {
	*stack
	g        *apptest.GoAWS
	jobs     *apptest.Queue
	dlq      *apptest.Queue
	sqs      *appsqs.Queue
	thumbs   *countingBlobs
	received atomic.Int32 // deliveries to the stack's workers
}

// newSQSStack wires the app on a goaws queue with the visibility timeout and
// a redrive to its dead-letter queue after maxReceiveCount receives.
func newSQSStack(t *testing.T, visibilitySeconds, maxReceiveCount int) *sqsStack {
	t.Helper()
	g := apptest.StartGoAWS(t)
	s := &sqsStack{g: g}
	s.dlq = g.CreateQueue(t, "dlq", 30, nil, 0)
	s.jobs = g.CreateQueue(t, "jobs", visibilitySeconds, s.dlq, maxReceiveCount)
	s.sqs = appsqs.New(testAWS, s.jobs.URL, s.dlq.URL, g.URL)
	s.sqs.WaitSeconds = 1
	s.stack = newStack(t, options{
		queue: func(app.Queue) app.Queue { return countingQueue{Queue: s.sqs, n: &s.received} },
		blobs: func(b app.BlobStore) app.BlobStore {
			s.thumbs = &countingBlobs{BlobStore: b, puts: map[string]int{}}
			return s.thumbs
		}})
	return s
}

// newWorker returns another worker on the stack's queue, database and object
// store, with its own metrics; blobs and queue, when set, wrap them.
func (s *sqsStack) newWorker(blobs func(app.BlobStore) app.BlobStore, queue func(app.Queue) app.Queue) (*worker.Worker, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	var b app.BlobStore = s.thumbs
	if blobs != nil {
		b = blobs(b)
	}
	var q app.Queue = countingQueue{Queue: s.sqs, n: &s.received}
	if queue != nil {
		q = queue(q)
	}
	return &worker.Worker{Queue: q, Photos: s.db, Blobs: b, Thumbnail: thumb.Make, MaxAttempts: 5,
		Concurrency: 2, Logger: quiet, Registerer: reg}, reg
}

// run runs w until the test ends (or stop is called).
func run(t *testing.T, w *worker.Worker) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond every 50 ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *sqsStack) status(c *client, id string) string {
	s.t.Helper()
	st, _ := c.call("GET", "/api/photos/"+id, "").json()["status"].(string)
	return st
}

func jobCount(t *testing.T, reg *prometheus.Registry, result string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "app_queue_jobs_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return int(m.GetCounter().GetValue())
				}
			}
		}
	}
	return 0
}

// countingQueue counts deliveries and records the attempts it saw.
type countingQueue struct {
	app.Queue
	n *atomic.Int32
}

func (q countingQueue) Receive(ctx context.Context, max int) ([]app.Message, error) {
	msgs, err := q.Queue.Receive(ctx, max)
	q.n.Add(int32(len(msgs)))
	return msgs, err
}

// countingBlobs counts the writes of every key.
type countingBlobs struct {
	app.BlobStore
	mu   sync.Mutex
	puts map[string]int
}

func (c *countingBlobs) PutBlob(ctx context.Context, key, ct string, r io.Reader, size int64) error {
	err := c.BlobStore.PutBlob(ctx, key, ct, r, size)
	if err == nil {
		c.mu.Lock()
		c.puts[key]++
		c.mu.Unlock()
	}
	return err
}

func (c *countingBlobs) writes(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.puts[key]
}

// TestGoAWSRefusesTheJSONProtocol pins why apptest.GoAWS puts a bridge in
// front of goaws: pointed at goaws itself, the adapter's aws-sdk-go-v2 client
// (AWS JSON 1.0) is refused, since goaws v0.4.5 reads only the query protocol's
// Action form field. When this test fails, goaws speaks JSON: drop the bridge.
func TestGoAWSRefusesTheJSONProtocol(t *testing.T) {
	g := apptest.StartGoAWS(t)
	q := g.CreateQueue(t, "jobs", 30, nil, 0)
	direct := appsqs.New(testAWS, q.URL, "", g.QueryURL)
	err := direct.Enqueue(context.Background(), app.ThumbnailJob{PhotoID: 1})
	if err == nil || !strings.Contains(err.Error(), "StatusCode: 400") {
		t.Fatalf("Enqueue straight to goaws: %v, want its 400 Bad Request", err)
	}
	req, _ := http.NewRequest("POST", g.QueryURL+"/", strings.NewReader(`{"QueueUrl":"`+q.URL+`","MessageBody":"{}"}`))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS.SendMessage")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || string(body) != "Bad Request" {
		t.Errorf("JSON SendMessage to goaws: %d %q, want 400 \"Bad Request\"", res.StatusCode, body)
	}
	if n := g.Held(t, q); n != 0 {
		t.Errorf("goaws holds %d messages after refusing the call", n)
	}
	// Through the bridge the same call lands.
	if err := appsqs.New(testAWS, q.URL, "", g.URL).Enqueue(context.Background(), app.ThumbnailJob{PhotoID: 1}); err != nil {
		t.Fatalf("Enqueue through the bridge: %v", err)
	}
	if n := g.Held(t, q); n != 1 {
		t.Errorf("goaws holds %d messages, want 1", n)
	}
}

// TestSQSPhotoFlow: upload → original in S3 and a row in MariaDB → job on the
// goaws queue → worker (long poll, ReceiveMessage) → thumbnail in S3 → photo
// ready → DeleteMessage: the queue is empty.
func TestSQSPhotoFlow(t *testing.T) {
	s := newSQSStack(t, 5, 3)
	alice := s.client()
	alice.signUp("alice")
	v := alice.upload(pngImage(t, 640, 320))
	id := strconv.Itoa(int(v["id"].(float64)))
	if v["status"] != "pending" {
		t.Fatalf("upload answer: %v", v)
	}
	if n := s.g.Held(t, s.jobs); n != 1 {
		t.Fatalf("goaws holds %d jobs after the upload, want 1", n)
	}
	if n := s.work(t); n != 1 {
		t.Fatalf("worker handled %d jobs, want 1", n)
	}
	r := alice.call("GET", "/api/photos/"+id, "")
	if v := r.json(); v["status"] != "ready" || v["thumbnail_url"] != "/media/thumbs/"+id+".jpg" {
		t.Fatalf("photo after the job: %s", r.body)
	}
	if r := alice.call("GET", "/media/thumbs/"+id+".jpg", ""); r.status != 200 || r.header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("thumbnail: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if n := s.g.Held(t, s.jobs); n != 0 {
		t.Errorf("goaws holds %d jobs after the worker, want 0 (acknowledged)", n)
	}
}

// blockingBlobs blocks the first thumbnail write until released, then fails
// it: a worker that died while making the thumbnail.
type blockingBlobs struct {
	app.BlobStore
	entered, release chan struct{}
	once             sync.Once
}

func (b *blockingBlobs) PutBlob(ctx context.Context, key, ct string, r io.Reader, size int64) error {
	if strings.HasPrefix(key, "thumbs/") {
		b.once.Do(func() { close(b.entered) })
		<-b.release
		return errors.New("worker killed")
	}
	return b.BlobStore.PutBlob(ctx, key, ct, r, size)
}

// blockingAck never acknowledges: a worker that died after its job's effects
// and before DeleteMessage.
type blockingAck struct {
	app.Queue
	entered, release chan struct{}
}

func (q blockingAck) Ack(ctx context.Context, m app.Message) error {
	close(q.entered)
	<-q.release
	return errors.New("worker killed")
}

// TestSQSWorkerKilledMidJob: a worker that dies holding a job never deletes
// it; goaws makes it visible again after the visibility timeout (2 s here) and
// a second worker processes it. Killed before the thumbnail, the job is done
// once by the second worker; killed after the thumbnail and the database
// update, the redelivery is a duplicate that writes nothing. Either way the
// photo ends ready with one thumbnail, written once, and the queue is empty.
//
// "Killed" is the worker's Run context cancelled while its job is blocked
// inside the object store or the acknowledgement, never to return before
// the redelivery: seen from SQS, a process that died (it sent no
// DeleteMessage and no ChangeMessageVisibility).
func TestSQSWorkerKilledMidJob(t *testing.T) {
	for _, tc := range []struct {
		name      string
		after     bool // killed after the effects, before the ack
		done, dup int  // the second worker's counts
	}{
		{name: "before the thumbnail", done: 1},
		{name: "after the thumbnail, before the ack", after: true, dup: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const visibility = 2
			s := newSQSStack(t, visibility, 5)
			alice := s.client()
			alice.signUp("alice")
			id := strconv.Itoa(int(alice.upload(pngImage(t, 300, 200))["id"].(float64)))
			key := worker.ThumbKey(mustAtoi(t, id))

			entered, release := make(chan struct{}), make(chan struct{})
			var first *worker.Worker
			if tc.after {
				first, _ = s.newWorker(nil, func(q app.Queue) app.Queue { return blockingAck{Queue: q, entered: entered, release: release} })
			} else {
				first, _ = s.newWorker(func(b app.BlobStore) app.BlobStore {
					return &blockingBlobs{BlobStore: b, entered: entered, release: release}
				}, nil)
			}
			kill := run(t, first)
			// Registered after run's cleanup, so run first: the blocked job
			// returns before the worker is waited for.
			t.Cleanup(func() { close(release) })
			select {
			case <-entered:
			case <-time.After(10 * time.Second):
				t.Fatal("the first worker did not take the job")
			}
			taken := time.Now()
			go kill() // returns only when the blocked job does: at the end of the test
			if got := s.status(alice, id); tc.after != (got == "ready") {
				t.Fatalf("photo %s when the worker died, want ready %v", got, tc.after)
			}

			second, reg := s.newWorker(nil, nil)
			run(t, second)
			waitFor(t, 15*time.Second, "the second worker finishes the job", func() bool {
				return jobCount(t, reg, "done")+jobCount(t, reg, "duplicate") == 1
			})
			if d := time.Since(taken); d < (visibility-1)*time.Second {
				t.Errorf("redelivered %v after the first receive, before the %ds visibility timeout", d, visibility)
			}
			if got := [2]int{jobCount(t, reg, "done"), jobCount(t, reg, "duplicate")}; got != [2]int{tc.done, tc.dup} {
				t.Errorf("second worker: done, duplicate = %v, want %d, %d", got, tc.done, tc.dup)
			}
			if got := s.status(alice, id); got != "ready" {
				t.Errorf("photo %s, want ready", got)
			}
			if n := s.thumbs.writes(key); n != 1 {
				t.Errorf("thumbnail written %d times, want once", n)
			}
			if n := s.received.Load(); n != 2 {
				t.Errorf("%d deliveries, want 2 (the dead worker's and the redelivery)", n)
			}
			waitFor(t, 5*time.Second, "the queue is empty", func() bool { return s.g.Held(t, s.jobs) == 0 })
		})
	}
}

func mustAtoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// refusingBlobs refuses every thumbnail write, like an object store that
// stays down: a transient error, retried at each delivery.
type refusingBlobs struct{ app.BlobStore }

func (b refusingBlobs) PutBlob(ctx context.Context, key, ct string, r io.Reader, size int64) error {
	if strings.HasPrefix(key, "thumbs/") {
		return errors.New("injected S3 failure")
	}
	return b.BlobStore.PutBlob(ctx, key, ct, r, size)
}

// TestSQSPoisonMessageDeadLettered: a job that can never succeed ends in the
// dead-letter queue, by one of two roads.
//   - A photo that can never decode (valid PNG header, cut data): the worker
//     dead-letters it on its first delivery (SendMessage to the DLQ with the
//     reason, then DeleteMessage) and marks the photo failed.
//   - A job that fails transiently for ever (the object store refusing every
//     thumbnail): the worker leaves it for redelivery each time, and goaws's
//     redrive policy moves it to the DLQ after maxReceiveCount receives.
//
// goaws v0.4.5 reports ApproximateReceiveCount 1 on every delivery (it never
// counts receives), so the worker's own MaxAttempts cannot act on it and the
// redrive alone ends the retries; the photo then stays pending. The worker's
// use of the count is proven on the recorded SQS exchanges (app/sqs).
func TestSQSPoisonMessageDeadLettered(t *testing.T) {
	const visibility, maxReceiveCount = 1, 2
	t.Run("undecodable photo", func(t *testing.T) {
		s := newSQSStack(t, visibility, maxReceiveCount)
		alice := s.client()
		alice.signUp("alice")
		full := pngImage(t, 64, 64)
		id := strconv.Itoa(int(alice.upload(full[:len(full)/2])["id"].(float64)))
		if n := s.work(t); n != 1 {
			t.Fatalf("worker handled %d jobs, want 1", n)
		}
		if got := s.status(alice, id); got != "failed" {
			t.Errorf("photo %s, want failed", got)
		}
		if n := s.g.Held(t, s.jobs); n != 0 {
			t.Errorf("goaws holds %d jobs, want 0: the dead-lettered job was not deleted", n)
		}
		dead := s.g.Drain(t, s.dlq)
		if len(dead) != 1 || dead[0].Body != `{"photo_id":`+id+`}` || dead[0].Attributes["attempts"] != "1" ||
			!strings.Contains(dead[0].Attributes["reason"], "not a valid image") {
			t.Errorf("dead letters: %+v, want the job with attempts 1 and the reason", dead)
		}
	})
	t.Run("transient failure redriven by the queue", func(t *testing.T) {
		s := newSQSStack(t, visibility, maxReceiveCount)
		alice := s.client()
		alice.signUp("alice")
		id := strconv.Itoa(int(alice.upload(pngImage(t, 40, 40))["id"].(float64)))
		w, reg := s.newWorker(func(b app.BlobStore) app.BlobStore { return refusingBlobs{b} }, nil)
		run(t, w)
		waitFor(t, 20*time.Second, "the job leaves the queue", func() bool { return s.g.Held(t, s.jobs) == 0 })
		dead := s.g.Drain(t, s.dlq)
		if len(dead) != 1 || dead[0].Body != `{"photo_id":`+id+`}` {
			t.Fatalf("dead letters: %+v, want the job", dead)
		}
		// SQS moves a message after maxReceiveCount receives; goaws v0.4.5 moves
		// it when the visibility timeout of a receive beyond maxReceiveCount
		// expires, so it delivers it once more (see its PeriodicTasks).
		if n := s.received.Load(); n != maxReceiveCount+1 {
			t.Errorf("%d deliveries before the dead-letter queue, want %d (goaws: maxReceiveCount %d + 1)", n, maxReceiveCount+1, maxReceiveCount)
		}
		if n := jobCount(t, reg, "retry"); n != int(s.received.Load()) || jobCount(t, reg, "dead_letter") != 0 {
			t.Errorf("worker retries %d, dead letters %d; want every delivery retried and none dead-lettered by the worker",
				n, jobCount(t, reg, "dead_letter"))
		}
		if got := s.status(alice, id); got != "pending" {
			t.Errorf("photo %s, want pending (goaws's receive count stays 1, so the worker never saw a last attempt)", got)
		}
	})
}

// TestSQSTwoWorkersDrainBacklog: a backlog of 20 jobs drained by two workers
// at once, each running 2 jobs at a time: every photo ends ready, each
// thumbnail is written once, no job is handled twice, and both workers took
// part.
func TestSQSTwoWorkersDrainBacklog(t *testing.T) {
	const jobs = 20
	s := newSQSStack(t, 10, 5)
	alice := s.client()
	alice.signUp("alice")
	var ids []string
	for range jobs {
		ids = append(ids, strconv.Itoa(int(alice.upload(pngImage(t, 400, 300))["id"].(float64))))
	}
	if n := s.g.Held(t, s.jobs); n != jobs {
		t.Fatalf("backlog of %d, want %d", n, jobs)
	}
	a, regA := s.newWorker(nil, nil)
	b, regB := s.newWorker(nil, nil)
	run(t, a)
	run(t, b)
	waitFor(t, 60*time.Second, "the backlog is drained", func() bool { return s.g.Held(t, s.jobs) == 0 })
	doneA, doneB := jobCount(t, regA, "done"), jobCount(t, regB, "done")
	if doneA+doneB != jobs || doneA == 0 || doneB == 0 {
		t.Errorf("jobs done by the workers: %d and %d, want %d in all from both", doneA, doneB, jobs)
	}
	for _, reg := range []*prometheus.Registry{regA, regB} {
		if d, r := jobCount(t, reg, "duplicate"), jobCount(t, reg, "retry"); d+r != 0 {
			t.Errorf("duplicates %d, retries %d, want none", d, r)
		}
	}
	if n := s.received.Load(); n != jobs {
		t.Errorf("%d deliveries for %d jobs", n, jobs)
	}
	for _, id := range ids {
		if got := s.status(alice, id); got != "ready" {
			t.Errorf("photo %s %s, want ready", id, got)
		}
		if n := s.thumbs.writes(worker.ThumbKey(mustAtoi(t, id))); n != 1 {
			t.Errorf("photo %s: thumbnail written %d times, want once", id, n)
		}
	}
}
