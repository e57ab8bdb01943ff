// Package worker runs thumbnail jobs: it takes a job from the queue, makes
// the thumbnail of the photo's original, stores it and marks the photo
// ready. Jobs are idempotent (a redelivered job for a ready photo is only
// acknowledged). A job that fails for good (see Permanent: an original that
// does not decode, is too large or is gone) is dead-lettered at once; one
// that fails otherwise (the database, the object store) is left for
// redelivery and dead-lettered after MaxAttempts deliveries.
package worker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scaling-aws/scaling-aws/app"
)

// Worker consumes thumbnail jobs.
type Worker struct {
	// Queue delivers the jobs.
	Queue app.Queue
	// Photos is read (on the primary) and updated.
	Photos app.PhotoStore
	// Blobs holds the originals and receives the thumbnails.
	Blobs app.BlobStore
	// Thumbnail makes a thumbnail from an original (thumb.Make).
	Thumbnail func(data []byte, maxSide, maxPixels int) ([]byte, error)
	// MaxAttempts is the deliveries after which a failing job is
	// dead-lettered. Default: 5.
	MaxAttempts int
	// MaxSide is the thumbnail's longer side in pixels. Default: 256.
	MaxSide int
	// MaxPixels bounds the original's pixel count. Default: 40 million.
	MaxPixels int
	// Concurrency is how many jobs run at once. Default: 4.
	Concurrency int
	// Logger receives job failures. Default: slog.Default().
	Logger *slog.Logger
	// Registerer receives the job metrics. Default: none.
	Registerer prometheus.Registerer

	once     sync.Once
	jobs     *prometheus.CounterVec
	inFlight prometheus.Gauge
}

func (w *Worker) init() {
	w.once.Do(func() {
		if w.MaxAttempts <= 0 {
			w.MaxAttempts = 5
		}
		if w.MaxSide <= 0 {
			w.MaxSide = 256
		}
		if w.MaxPixels <= 0 {
			w.MaxPixels = 40_000_000
		}
		if w.Concurrency <= 0 {
			w.Concurrency = 4
		}
		if w.Logger == nil {
			w.Logger = slog.Default()
		}
		w.jobs = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "app_queue_jobs_total",
			Help: "Thumbnail jobs handled, by result (done, duplicate, retry, dead_letter).",
		}, []string{"result"})
		w.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "app_queue_jobs_in_flight", Help: "Thumbnail jobs being handled now.",
		})
		if w.Registerer != nil {
			w.Registerer.MustRegister(w.jobs, w.inFlight)
		}
	})
}

// ThumbKey is where a photo's thumbnail is stored: derived from the photo
// id only, so a redelivered job overwrites the same object.
func ThumbKey(photoID int64) string { return "thumbs/" + strconv.FormatInt(photoID, 10) + ".jpg" }

// Run receives and handles jobs until ctx is cancelled, then waits for the
// jobs in flight to finish (they run on a context that is not cancelled).
func (w *Worker) Run(ctx context.Context) error {
	w.init()
	sem := make(chan struct{}, w.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		msgs, err := w.Queue.Receive(ctx, w.Concurrency)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			w.Logger.Error("receive jobs", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for _, m := range msgs {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				w.Handle(context.WithoutCancel(ctx), m)
			}()
		}
	}
	return nil
}

// RunOnce receives one batch and handles it, for tests and tools. It
// returns how many messages it handled.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.init()
	msgs, err := w.Queue.Receive(ctx, w.Concurrency)
	if err != nil {
		return 0, err
	}
	for _, m := range msgs {
		w.Handle(ctx, m)
	}
	return len(msgs), nil
}

// Handle processes one message and acknowledges, leaves for redelivery, or
// dead-letters it.
func (w *Worker) Handle(ctx context.Context, m app.Message) {
	w.init()
	w.inFlight.Inc()
	defer w.inFlight.Dec()
	result, err := w.process(ctx, m.Job)
	log := w.Logger.With("photo_id", m.Job.PhotoID, "message_id", m.ID, "attempt", m.Attempt)
	switch {
	case err == nil:
		if err := w.Queue.Ack(ctx, m); err != nil {
			log.Error("ack job", "err", err)
		}
		w.jobs.WithLabelValues(result).Inc()
	case Permanent(err) || m.Attempt >= w.MaxAttempts:
		if Permanent(err) {
			log.Error("thumbnail job failed for good, dead-lettering without retry", "err", err)
		} else {
			log.Error("thumbnail job failed for the last time, dead-lettering", "err", err)
		}
		if err := w.Photos.SetPhotoFailed(ctx, m.Job.PhotoID); err != nil {
			// The message stays: it is delivered again and dead-lettered
			// then, so the photo does not stay pending for ever.
			log.Error("mark photo failed", "err", err)
			w.jobs.WithLabelValues("retry").Inc()
			return
		}
		if err := w.Queue.DeadLetter(ctx, m, app.ErrorMessage(err)); err != nil {
			log.Error("dead-letter job", "err", err)
		}
		w.jobs.WithLabelValues("dead_letter").Inc()
	default:
		log.Warn("thumbnail job failed, will retry", "err", err)
		w.jobs.WithLabelValues("retry").Inc()
	}
}

// Permanent reports whether a job's error can never go away on a retry: the
// original is not a decodable image (app.EINVALID: a bad header, or a valid
// header over truncated or corrupt data), it is over the pixel bound
// (app.ETOOLARGE), or it no longer exists (app.ENOTFOUND from the object
// store: the upload stores it before it queues the job, so it cannot appear
// later). Any other error (a database or object store that is down, slow or
// refusing) is transient.
func Permanent(err error) bool {
	switch app.ErrorCode(err) {
	case app.EINVALID, app.ETOOLARGE, app.ENOTFOUND:
		return true
	}
	return false
}

func (w *Worker) process(ctx context.Context, job app.ThumbnailJob) (string, error) {
	p, err := w.Photos.Photo(app.WithPrimary(ctx), job.PhotoID)
	if app.ErrorCode(err) == app.ENOTFOUND {
		return "duplicate", nil // the upload was undone: nothing to do
	}
	if err != nil {
		return "", err
	}
	if p.Status == app.PhotoReady {
		return "duplicate", nil
	}
	rc, _, err := w.Blobs.Blob(ctx, p.OriginalKey)
	if err != nil {
		return "", err
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return "", fmt.Errorf("read original %s: %w", p.OriginalKey, err)
	}
	th, err := w.Thumbnail(data, w.MaxSide, w.MaxPixels)
	if err != nil {
		return "", err
	}
	key := ThumbKey(p.ID)
	if err := w.Blobs.PutBlob(ctx, key, "image/jpeg", bytes.NewReader(th), int64(len(th))); err != nil {
		return "", err
	}
	if err := w.Photos.SetPhotoReady(ctx, p.ID, key); err != nil {
		return "", err
	}
	return "done", nil
}

// Inline is an app.Queue that runs each job at once in the caller, for the
// single box, which has no queue: the upload waits for its thumbnail.
type Inline struct {
	// W does the work; its Queue is not used.
	W *Worker
}

// Enqueue implements app.Queue by handling the job now. A failing job marks
// the photo failed but does not fail the upload.
func (q Inline) Enqueue(ctx context.Context, job app.ThumbnailJob) error {
	q.W.init()
	if _, err := q.W.process(ctx, job); err != nil {
		q.W.Logger.Error("inline thumbnail job failed", "photo_id", job.PhotoID, "err", err)
		q.W.jobs.WithLabelValues("dead_letter").Inc()
		return q.W.Photos.SetPhotoFailed(ctx, job.PhotoID)
	}
	q.W.jobs.WithLabelValues("done").Inc()
	return nil
}

// Receive implements app.Queue; an inline queue never holds messages.
func (Inline) Receive(ctx context.Context, max int) ([]app.Message, error) {
	<-ctx.Done()
	return nil, nil
}

// Ack implements app.Queue.
func (Inline) Ack(context.Context, app.Message) error { return nil }

// DeadLetter implements app.Queue.
func (Inline) DeadLetter(context.Context, app.Message, string) error { return nil }
