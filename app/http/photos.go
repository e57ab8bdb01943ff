package http

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"image"
	_ "image/gif" // registers the decoders for DecodeConfig
	_ "image/jpeg"
	_ "image/png"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/scaling-aws/scaling-aws/app"
)

var imageTypes = map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif"}

type photoView struct {
	*app.Photo
	OriginalURL  string `json:"original_url"`
	ThumbnailURL string `json:"thumbnail_url,omitempty"`
}

func (s *Server) mediaURL(key string) string {
	if s.CDNBaseURL != "" {
		return s.CDNBaseURL + "/" + key
	}
	return "/media/" + key
}

func (s *Server) view(p *app.Photo) photoView {
	v := photoView{Photo: p, OriginalURL: s.mediaURL(p.OriginalKey)}
	if p.Status == app.PhotoReady && p.ThumbKey != "" {
		v.ThumbnailURL = s.mediaURL(p.ThumbKey)
	}
	return v
}

// checkImageType refuses an upload not labelled as one of the image types:
// a multipart form (what an HTML form or curl -F sends) is told to send the
// raw bytes instead. The label also keeps uploads out of a foreign page's
// reach without a CORS preflight. What the bytes are is checked apart.
func checkImageType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if _, ok := imageTypes[mt]; ok {
		return nil
	}
	const how = "send the raw image bytes as the request body with Content-Type image/jpeg, image/png or image/gif"
	switch {
	case mt == "multipart/form-data":
		return app.Errorf(app.EUNSUPPORTED, "multipart uploads are not accepted: %s (curl --data-binary @photo.png -H 'Content-Type: image/png')", how)
	case ct == "":
		return app.Errorf(app.EUNSUPPORTED, "no Content-Type: %s", how)
	}
	return app.Errorf(app.EUNSUPPORTED, "Content-Type %.60q is not accepted here: %s", ct, how)
}

// uploadPhoto takes a raw image body (JPEG, PNG or GIF), checks its type and
// size without decoding it (DecodeConfig reads only the header, so a
// decompression bomb is refused before any pixel is allocated), stores the
// original, records it and queues the thumbnail job. Each step undoes the
// previous ones if it fails, so nothing is left half-written.
func (s *Server) uploadPhoto(w http.ResponseWriter, r *http.Request) {
	if s.Blobs == nil || s.Photos == nil || s.Queue == nil {
		s.Error(w, r, errNoPhotos)
		return
	}
	sess, err := s.authenticate(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if err := checkImageType(r); err != nil {
		s.Error(w, r, err)
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxPhotoBytes))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		s.Error(w, r, app.Errorf(app.ETOOLARGE, "image exceeds %d bytes", s.MaxPhotoBytes))
		return
	} else if err != nil {
		s.Error(w, r, app.Errorf(app.EINVALID, "could not read the upload"))
		return
	}
	if len(data) == 0 {
		s.Error(w, r, app.Errorf(app.EINVALID, "empty body: send the image bytes as the request body"))
		return
	}
	ct := http.DetectContentType(data)
	ext, ok := imageTypes[ct]
	if !ok {
		s.Error(w, r, app.Errorf(app.EINVALID, "unsupported image type %q: send JPEG, PNG or GIF", ct))
		return
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		s.Error(w, r, app.Errorf(app.EINVALID, "not a valid image"))
		return
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(s.MaxPhotoPixels) {
		s.Error(w, r, app.Errorf(app.ETOOLARGE, "image is %dx%d pixels, the limit is %d pixels",
			cfg.Width, cfg.Height, s.MaxPhotoPixels))
		return
	}
	rnd := make([]byte, 12)
	rand.Read(rnd)
	p := &app.Photo{UserID: sess.UserID, Status: app.PhotoPending, ContentType: ct,
		OriginalKey: "originals/" + strconv.FormatInt(sess.UserID, 10) + "/" + hex.EncodeToString(rnd) + ext,
		Width:       cfg.Width, Height: cfg.Height}
	ctx := r.Context()
	if err := s.Blobs.PutBlob(ctx, p.OriginalKey, ct, bytes.NewReader(data), int64(len(data))); err != nil {
		s.Error(w, r, err)
		return
	}
	// Undo with a context that survives a client hang-up.
	undo := context.WithoutCancel(ctx)
	if err := s.Photos.CreatePhoto(ctx, p); err != nil {
		s.Blobs.DeleteBlob(undo, p.OriginalKey)
		s.Error(w, r, err)
		return
	}
	if err := s.Queue.Enqueue(ctx, app.ThumbnailJob{PhotoID: p.ID}); err != nil {
		s.Photos.DeletePhoto(undo, p.ID)
		s.Blobs.DeleteBlob(undo, p.OriginalKey)
		s.Error(w, r, err)
		return
	}
	// An inline queue (single box) has made the thumbnail already.
	if cur, err := s.Photos.Photo(app.WithPrimary(ctx), p.ID); err == nil {
		p = cur
	}
	s.wrote(w)
	w.Header().Set("Location", "/api/photos/"+strconv.FormatInt(p.ID, 10))
	writeJSON(w, http.StatusAccepted, s.view(p))
}

func (s *Server) getPhoto(w http.ResponseWriter, r *http.Request) {
	if s.Photos == nil {
		s.Error(w, r, errNoPhotos)
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	p, err := s.Photos.Photo(s.readContext(r), id)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.view(p))
}

// media streams an object from the object store, for deployments without a
// CDN (the single box). Only photo keys are served.
func (s *Server) media(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if s.Blobs == nil {
		s.Error(w, r, errNoPhotos)
		return
	}
	if !(strings.HasPrefix(key, "originals/") || strings.HasPrefix(key, "thumbs/")) || strings.Contains(key, "..") {
		s.Error(w, r, app.Errorf(app.ENOTFOUND, "no such media"))
		return
	}
	body, ct, err := s.Blobs.Blob(r.Context(), key)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	defer body.Close()
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=86400, immutable")
	io.Copy(w, body)
}

// static serves a file of StaticFS by its exact name: no folder listing,
// no index page, and a JSON 404 for any other name.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	f, err := StaticFS().Open(name)
	if err != nil || !fs.ValidPath(name) {
		s.Error(w, r, app.Errorf(app.ENOTFOUND, "no static file %.80q", name))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	rs, seekable := f.(io.ReadSeeker)
	if err != nil || st.IsDir() || !seekable {
		s.Error(w, r, app.Errorf(app.ENOTFOUND, "no static file %.80q", name))
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.ServeContent(w, r, name, st.ModTime(), rs)
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	base := "/static"
	if s.CDNBaseURL != "" {
		base = s.CDNBaseURL + "/static"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	s.index.Execute(w, map[string]string{"Static": base, "Role": string(s.Role)})
}
