package app

import (
	"context"
	"io"
)

// BlobStore keeps photo originals and thumbnails (S3 in the cloud).
type BlobStore interface {
	// PutBlob stores size bytes from r under key.
	PutBlob(ctx context.Context, key, contentType string, r io.Reader, size int64) error
	// Blob opens the object under key; ENOTFOUND when it does not exist.
	Blob(ctx context.Context, key string) (io.ReadCloser, string, error)
	// DeleteBlob removes key; a missing key is not an error.
	DeleteBlob(ctx context.Context, key string) error
}

// ThumbnailJob asks the worker to make the thumbnail of a photo.
type ThumbnailJob struct {
	// PhotoID is the photo whose thumbnail to make.
	PhotoID int64 `json:"photo_id"`
}

// Message is one delivery of a job. Receipt identifies this delivery to the
// queue; Attempt counts deliveries of the job, starting at 1.
type Message struct {
	// ID identifies the message across deliveries.
	ID string
	// Receipt identifies this delivery (SQS receipt handle, stream entry id).
	Receipt string
	// Job is the decoded body.
	Job ThumbnailJob
	// Attempt is 1 on the first delivery.
	Attempt int
}

// Queue carries thumbnail jobs from the write API to the workers with
// at-least-once delivery: a message not acknowledged is delivered again.
type Queue interface {
	// Enqueue adds a job.
	Enqueue(ctx context.Context, job ThumbnailJob) error
	// Receive waits (bounded by the backend's poll time) for up to max
	// messages, including ones delivered before and never acknowledged.
	Receive(ctx context.Context, max int) ([]Message, error)
	// Ack removes a handled message.
	Ack(ctx context.Context, m Message) error
	// DeadLetter moves a message that keeps failing to the dead-letter queue
	// with the reason, and removes it from the queue.
	DeadLetter(ctx context.Context, m Message, reason string) error
}
