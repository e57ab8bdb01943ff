// Package s3 is the object store adapter: photo originals and thumbnails in
// an S3 bucket (or an S3-compatible server, path-style, for tests).
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/scaling-aws/scaling-aws/app"
)

// Blobs is an app.BlobStore in one bucket.
type Blobs struct {
	c      *s3.Client
	bucket string
}

var _ app.BlobStore = (*Blobs)(nil)

// New returns the store for bucket. endpoint, when set, is an S3-compatible
// server reached path-style; otherwise the client uses AWS's endpoints.
func New(cfg aws.Config, bucket, endpoint string) *Blobs {
	c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
			// S3-compatible servers do not all speak the newer default
			// checksums; send them only where an operation requires one.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
	return &Blobs{c: c, bucket: bucket}
}

// PutBlob implements app.BlobStore. Encryption at rest is the bucket's
// default (SSE), set by the infrastructure.
func (b *Blobs) PutBlob(ctx context.Context, key, contentType string, r io.Reader, size int64) error {
	_, err := b.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(b.bucket), Key: aws.String(key), Body: r,
		ContentLength: aws.Int64(size), ContentType: aws.String(contentType),
		CacheControl: aws.String("public, max-age=31536000, immutable"),
	})
	if err != nil {
		return fmt.Errorf("s3 put %s: %w", key, err)
	}
	return nil
}

// Blob implements app.BlobStore.
func (b *Blobs) Blob(ctx context.Context, key string) (io.ReadCloser, string, error) {
	out, err := b.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(key)})
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil, "", app.Errorf(app.ENOTFOUND, "no such media")
	}
	if err != nil {
		return nil, "", fmt.Errorf("s3 get %s: %w", key, err)
	}
	return out.Body, aws.ToString(out.ContentType), nil
}

// DeleteBlob implements app.BlobStore.
func (b *Blobs) DeleteBlob(ctx context.Context, key string) error {
	_, err := b.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("s3 delete %s: %w", key, err)
	}
	return nil
}

// Ping checks that the bucket is reachable, for /readyz.
func (b *Blobs) Ping(ctx context.Context) error {
	_, err := b.c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b.bucket)})
	return err
}
