// Package thumb makes thumbnails with golang.org/x/image/draw.
package thumb

import (
	"bytes"
	"fmt"
	"image"
	_ "image/gif" // registers the GIF decoder
	"image/jpeg"
	_ "image/png" // registers the PNG decoder

	"golang.org/x/image/draw"

	"github.com/scaling-aws/scaling-aws/app"
)

// Make decodes an image and returns a JPEG thumbnail whose longer side is at
// most maxSide pixels. It checks the pixel count from the header before
// decoding, so a decompression bomb is refused without allocating it.
func Make(data []byte, maxSide, maxPixels int) ([]byte, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, app.Errorf(app.EINVALID, "not a valid image: %v", err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return nil, app.Errorf(app.ETOOLARGE, "image is %dx%d pixels, over %d", cfg.Width, cfg.Height, maxPixels)
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, app.Errorf(app.EINVALID, "not a valid image: %v", err)
	}
	b := src.Bounds()
	w, h := fit(b.Dx(), b.Dy(), maxSide)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 85}); err != nil {
		return nil, fmt.Errorf("encode thumbnail: %w", err)
	}
	return out.Bytes(), nil
}

// fit scales w×h down (never up) so that its longer side is maxSide.
func fit(w, h, maxSide int) (int, int) {
	if w <= maxSide && h <= maxSide {
		return w, h
	}
	if w >= h {
		return maxSide, max(1, h*maxSide/w)
	}
	return max(1, w*maxSide/h), maxSide
}
