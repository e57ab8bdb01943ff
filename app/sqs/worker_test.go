package sqs_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"log/slog"
	"testing"

	"github.com/scaling-aws/scaling-aws/app"
	"github.com/scaling-aws/scaling-aws/app/apptest"
	appsqs "github.com/scaling-aws/scaling-aws/app/sqs"
	"github.com/scaling-aws/scaling-aws/app/thumb"
	"github.com/scaling-aws/scaling-aws/app/worker"
)

// photos is a one-photo app.PhotoStore that records the status set.
type photos struct {
	app.PhotoStore
	p *app.Photo
}

func (s *photos) Photo(context.Context, int64) (*app.Photo, error) { c := *s.p; return &c, nil }
func (s *photos) SetPhotoFailed(context.Context, int64) error {
	s.p.Status = app.PhotoFailed
	return nil
}

// blobs serves one original.
type blobs struct {
	app.BlobStore
	data []byte
}

func (b blobs) Blob(context.Context, string) (io.ReadCloser, string, error) {
	return io.NopCloser(bytes.NewReader(b.data)), "image/png", nil
}

// TestPermanentFailureDeadLetteredAtOnce: on the SQS backend, a job whose
// original is a truncated PNG (valid header, cut data) is dead-lettered on
// its first delivery, with the reason, and its photo marked failed; the
// recording holds no second delivery.
func TestPermanentFailureDeadLetteredAtOnce(t *testing.T) {
	rec := loadRecording(t, "testdata/permanent.json")
	srv, done := replay(t, rec)
	defer srv.Close()
	var full bytes.Buffer
	png.Encode(&full, image.NewGray(image.Rect(0, 0, 64, 64)))
	ps := &photos{p: &app.Photo{ID: 42, Status: app.PhotoPending, OriginalKey: "originals/42.png"}}
	w := &worker.Worker{Queue: appsqs.New(apptest.AWSConfig(), rec.QueueURL, rec.DLQURL, srv.URL), Photos: ps,
		Blobs: blobs{data: full.Bytes()[:full.Len()/2]}, Thumbnail: thumb.Make, MaxAttempts: 5,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if n, err := w.RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v; want 1 job", n, err)
	}
	if n := done(); n != len(rec.Exchanges) {
		t.Errorf("%d of %d recorded exchanges used: the job was not dead-lettered on its first delivery", n, len(rec.Exchanges))
	}
	if ps.p.Status != app.PhotoFailed {
		t.Errorf("photo status %q, want failed", ps.p.Status)
	}
}

// refusingBlobs serves one original and refuses every write, like an object
// store that stays down: a transient error.
type refusingBlobs struct{ blobs }

func (refusingBlobs) PutBlob(context.Context, string, string, io.Reader, int64) error {
	return errors.New("injected S3 failure")
}

// TestLastAttemptDeadLettered: on the SQS backend, a job failing transiently
// on the delivery whose ApproximateReceiveCount reaches MaxAttempts is
// dead-lettered by the worker, with the attempt count, and its photo marked
// failed. goaws v0.4.5 reports ApproximateReceiveCount 1 on every delivery, so
// only this recording proves the worker's use of the count (app/e2e's
// TestSQSPoisonMessageDeadLettered shows goaws's redrive instead).
func TestLastAttemptDeadLettered(t *testing.T) {
	rec := loadRecording(t, "testdata/last_attempt.json")
	srv, done := replay(t, rec)
	defer srv.Close()
	var full bytes.Buffer
	png.Encode(&full, image.NewGray(image.Rect(0, 0, 64, 64)))
	ps := &photos{p: &app.Photo{ID: 42, Status: app.PhotoPending, OriginalKey: "originals/42.png"}}
	w := &worker.Worker{Queue: appsqs.New(apptest.AWSConfig(), rec.QueueURL, rec.DLQURL, srv.URL), Photos: ps,
		Blobs: refusingBlobs{blobs{data: full.Bytes()}}, Thumbnail: thumb.Make, MaxAttempts: 5,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if n, err := w.RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v; want 1 job", n, err)
	}
	if n := done(); n != len(rec.Exchanges) {
		t.Errorf("%d of %d recorded exchanges used: the last attempt was not dead-lettered", n, len(rec.Exchanges))
	}
	if ps.p.Status != app.PhotoFailed {
		t.Errorf("photo status %q, want failed", ps.p.Status)
	}
}
