package thumb

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/scaling-aws/scaling-aws/app"
)

func TestFit(t *testing.T) {
	for _, tc := range []struct{ w, h, max, ww, wh int }{
		{640, 320, 256, 256, 128},
		{320, 640, 256, 128, 256},
		{100, 50, 256, 100, 50}, // never scaled up
		{10000, 1, 256, 256, 1}, // never zero
		{256, 256, 256, 256, 256},
	} {
		if w, h := fit(tc.w, tc.h, tc.max); w != tc.ww || h != tc.wh {
			t.Errorf("fit(%d, %d, %d) = %d, %d, want %d, %d", tc.w, tc.h, tc.max, w, h, tc.ww, tc.wh)
		}
	}
}

func TestMake(t *testing.T) {
	var src bytes.Buffer
	png.Encode(&src, image.NewGray(image.Rect(0, 0, 300, 600)))
	out, err := Make(src.Bytes(), 100, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil || img.Bounds().Dx() != 50 || img.Bounds().Dy() != 100 {
		t.Fatalf("thumbnail %v, %v; want a 50x100 JPEG", img.Bounds(), err)
	}
	if _, err := Make(src.Bytes(), 100, 300*600-1); app.ErrorCode(err) != app.ETOOLARGE {
		t.Errorf("over the pixel bound: %v, want too_large", err)
	}
	if _, err := Make([]byte("not an image"), 100, 1000); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("garbage: %v, want invalid", err)
	}
}
