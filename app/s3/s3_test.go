package s3_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/scaling-aws/scaling-aws/app"
	"github.com/scaling-aws/scaling-aws/app/apptest"
	apps3 "github.com/scaling-aws/scaling-aws/app/s3"
)

func TestBlobs(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("photos"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	b := apps3.New(apptest.AWSConfig(), "photos", srv.URL)
	ctx := context.Background()
	if err := b.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if err := b.PutBlob(ctx, "originals/1/a.png", "image/png", strings.NewReader("pixels"), 6); err != nil {
		t.Fatalf("put: %v", err)
	}
	rc, ct, err := b.Blob(ctx, "originals/1/a.png")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if string(data) != "pixels" || ct != "image/png" {
		t.Errorf("got %q (%s), want pixels (image/png)", data, ct)
	}
	if err := b.DeleteBlob(ctx, "originals/1/a.png"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, _, err := b.Blob(ctx, "originals/1/a.png"); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("get after delete: %v, want not_found", err)
	}
	if err := b.DeleteBlob(ctx, "never/there"); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
	missing := apps3.New(apptest.AWSConfig(), "no-such-bucket", srv.URL)
	if err := missing.Ping(ctx); err == nil {
		t.Error("ping of a missing bucket succeeded")
	}
}
