package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scaling-aws/scaling-aws/app"
	"github.com/scaling-aws/scaling-aws/app/apptest"
	apphttp "github.com/scaling-aws/scaling-aws/app/http"
	"github.com/scaling-aws/scaling-aws/app/mysql"
	"github.com/scaling-aws/scaling-aws/app/redis"
	apps3 "github.com/scaling-aws/scaling-aws/app/s3"
	appsqs "github.com/scaling-aws/scaling-aws/app/sqs"
	"github.com/scaling-aws/scaling-aws/app/thumb"
	"github.com/scaling-aws/scaling-aws/app/worker"
)

// The benchmarks of the thumbnail pipeline, recorded in docs/benchmarks.md
// ("Thumbnail worker"):
//
//	go test ./app/e2e -run '^$' -bench 'Thumbnail1MB|SQS' -benchtime 40x
//
// BenchmarkThumbnail1MB is the baseline: thumb.Make alone on a 1 MB photo.
// BenchmarkSQSWorker1MB drains a backlog of b.N such jobs with one worker
// through goaws, MariaDB and S3. BenchmarkSQSUploadToThumbnail uploads b.N
// photos over HTTP at a steady rate (BENCH_RATE uploads/s, default 1, about
// half of what one worker drains here) with one worker running, and measures
// each one's latency from upload to thumbnail.

// photo1MB is a 2048×1536 photo-like JPEG (gradients and grain, quality 90)
// of about 1 MB, made once.
var photo1MB = sync.OnceValue(func() []byte {
	const w, h = 2048, 1536
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			n := r.IntN(28)
			img.Set(x, y, color.RGBA{uint8(x*200/w + n), uint8(y*200/h + n), uint8((x+y)*100/(w+h) + n), 255})
		}
	}
	var b bytes.Buffer
	jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
	return b.Bytes()
})

// durations collects samples and reports percentiles.
type durations struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *durations) add(d time.Duration) { s.mu.Lock(); s.d = append(s.d, d); s.mu.Unlock() }

func (s *durations) report(b *testing.B, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.d) == 0 {
		return
	}
	slices.Sort(s.d)
	p := func(q float64) float64 { return float64(s.d[int(q*float64(len(s.d)-1))]) / 1e6 }
	b.ReportMetric(p(0.50), name+"-p50-ms")
	b.ReportMetric(p(0.99), name+"-p99-ms")
	b.ReportMetric(float64(s.d[len(s.d)-1])/1e6, name+"-max-ms")
}

// BenchmarkThumbnail1MB: the thumbnail function alone, in a loop.
func BenchmarkThumbnail1MB(b *testing.B) {
	data := photo1MB()
	b.SetBytes(int64(len(data)))
	var each durations
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := thumb.Make(data, 256, 40_000_000); err != nil {
			b.Fatal(err)
		}
		each.add(time.Since(start))
	}
	b.StopTimer()
	each.report(b, "make")
	b.ReportMetric(float64(len(data)), "photo-bytes")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}

// benchStack is the app for the benchmarks: as newStack, with 1 MB uploads
// allowed and the queue on goaws.
type benchStack struct {
	url   string
	db    *mysql.DB
	blobs app.BlobStore
	g     *apptest.GoAWS
	jobs  *apptest.Queue
	q     *appsqs.Queue
	hc    *http.Client
}

func newBenchStack(b *testing.B) *benchStack {
	b.Helper()
	ctx := context.Background()
	m := apptest.NewMySQL(b)
	redisAddr, prefix := apptest.Redis(b)
	if err := mysql.Migrate(ctx, m.Primary, quiet); err != nil {
		b.Fatal(err)
	}
	db, err := mysql.Open(ctx, m.Primary, []string{m.Replica.Addr}, mysql.Options{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	rc := redis.NewClient(redis.Options{Addr: redisAddr})
	b.Cleanup(func() { rc.Close() })
	backend := s3mem.New()
	backend.CreateBucket("photos")
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	b.Cleanup(s3srv.Close)
	s := &benchStack{db: db, blobs: apps3.New(testAWS, "photos", s3srv.URL), g: apptest.StartGoAWS(b)}
	dlq := s.g.CreateQueue(b, "dlq", 30, nil, 0)
	s.jobs = s.g.CreateQueue(b, "jobs", 60, dlq, 5)
	s.q = appsqs.New(testAWS, s.jobs.URL, dlq.URL, s.g.URL)
	s.q.WaitSeconds = 1
	srv := &apphttp.Server{Users: db, Photos: db, Blobs: s.blobs, Queue: s.q,
		Sessions: redis.NewSessions(rc, prefix, nil), Posts: db, BcryptCost: 4,
		Logger: quiet, Registerer: prometheus.NewRegistry(), Gatherer: prometheus.NewRegistry()}
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(hs.Close)
	s.url = hs.URL
	jar, _ := cookiejar.New(nil)
	s.hc = &http.Client{Jar: jar}
	creds := `{"name":"bench","password":"correct horse"}`
	for _, path := range []string{"/api/users", "/api/sessions"} {
		if st, body := s.post(b, path, "application/json", []byte(creds)); st != 201 {
			b.Fatalf("%s: %d %s", path, st, body)
		}
	}
	return s
}

func (s *benchStack) post(b *testing.B, path, ctype string, body []byte) (int, []byte) {
	res, err := s.hc.Post(s.url+path, ctype, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// upload sends one photo and returns its id.
func (s *benchStack) upload(b *testing.B, data []byte) int64 {
	st, body := s.post(b, "/api/photos", "image/jpeg", data)
	var v struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(body, &v); st != 202 || err != nil {
		b.Fatalf("upload: %d %s", st, body)
	}
	return v.ID
}

// timedQueue records each job's time from its receipt to its acknowledgement.
type timedQueue struct {
	app.Queue
	mu       sync.Mutex
	received map[string]time.Time
	jobs     *durations
}

func (q *timedQueue) Receive(ctx context.Context, max int) ([]app.Message, error) {
	msgs, err := q.Queue.Receive(ctx, max)
	now := time.Now()
	q.mu.Lock()
	for _, m := range msgs {
		q.received[m.Receipt] = now
	}
	q.mu.Unlock()
	return msgs, err
}

func (q *timedQueue) Ack(ctx context.Context, m app.Message) error {
	err := q.Queue.Ack(ctx, m)
	q.mu.Lock()
	q.jobs.add(time.Since(q.received[m.Receipt]))
	q.mu.Unlock()
	return err
}

// readyTimes records when each photo was marked ready.
type readyTimes struct {
	app.PhotoStore
	mu    sync.Mutex
	at    map[int64]time.Time
	ready chan int64
}

func (p *readyTimes) SetPhotoReady(ctx context.Context, id int64, key string) error {
	err := p.PhotoStore.SetPhotoReady(ctx, id, key)
	p.mu.Lock()
	p.at[id] = time.Now()
	p.mu.Unlock()
	p.ready <- id
	return err
}

func (s *benchStack) worker(jobs *durations, photos app.PhotoStore) *worker.Worker {
	return &worker.Worker{Queue: &timedQueue{Queue: s.q, received: map[string]time.Time{}, jobs: jobs},
		Photos: photos, Blobs: s.blobs, Thumbnail: thumb.Make, Logger: quiet}
}

// BenchmarkSQSWorker1MB: one worker drains a backlog of b.N 1 MB photos
// through goaws; jobs/s is its throughput. It runs at 1, 2 and 4 jobs at a
// time (4 is the worker's default): job-* is each job's time from its
// ReceiveMessage to its DeleteMessage, the time the visibility timeout must
// cover, which includes a received job's wait for a free slot.
func BenchmarkSQSWorker1MB(b *testing.B) {
	for _, c := range []int{1, 2, 4} {
		b.Run("concurrency="+strconv.Itoa(c), func(b *testing.B) {
			s := newBenchStack(b)
			data := photo1MB()
			for range b.N {
				s.upload(b, data)
			}
			photos := &readyTimes{PhotoStore: s.db, at: map[int64]time.Time{}, ready: make(chan int64, b.N)}
			var jobs durations
			w := s.worker(&jobs, photos)
			w.Concurrency = c
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			b.ResetTimer()
			go func() { w.Run(ctx); close(done) }()
			for range b.N {
				select {
				case <-photos.ready:
				case <-time.After(5 * time.Minute):
					b.Fatal("the backlog was not drained in 5 minutes")
				}
			}
			b.StopTimer()
			cancel()
			<-done
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
			jobs.report(b, "job")
		})
	}
}

// BenchmarkSQSUploadToThumbnail: b.N uploads of a 1 MB photo at a steady
// rate, one worker running; each latency is from the upload's start to its
// photo marked ready.
func BenchmarkSQSUploadToThumbnail(b *testing.B) {
	rate := 1.0
	if v := os.Getenv("BENCH_RATE"); v != "" {
		var err error
		if rate, err = strconv.ParseFloat(v, 64); err != nil || rate <= 0 {
			b.Fatalf("BENCH_RATE=%q: want uploads per second, e.g. 1", v)
		}
	}
	s := newBenchStack(b)
	data := photo1MB()
	photos := &readyTimes{PhotoStore: s.db, at: map[int64]time.Time{}, ready: make(chan int64, b.N)}
	var jobs, latency durations
	w := s.worker(&jobs, photos)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	started := map[int64]time.Time{}
	interval := time.Duration(float64(time.Second) / rate)
	b.ResetTimer()
	next := time.Now()
	for range b.N {
		time.Sleep(time.Until(next))
		next = next.Add(interval)
		t0 := time.Now()
		started[s.upload(b, data)] = t0
	}
	for range b.N {
		select {
		case <-photos.ready:
		case <-time.After(5 * time.Minute):
			b.Fatal("not every thumbnail was made in 5 minutes")
		}
	}
	b.StopTimer()
	cancel()
	<-done
	for id, t0 := range started {
		latency.add(photos.at[id].Sub(t0))
	}
	b.ReportMetric(rate, "uploads/s")
	latency.report(b, "e2e")
	jobs.report(b, "job")
}
