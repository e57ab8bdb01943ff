package http

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/scaling-aws/scaling-aws/app"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func TestErrorStatus(t *testing.T) {
	for code, want := range map[string]int{
		app.EINVALID: 400, app.EUNAUTHORIZED: 401, app.EFORBIDDEN: 403, app.ENOTFOUND: 404,
		app.ECONFLICT: 409, app.ETOOLARGE: 413, app.EINTERNAL: 500, "unknown": 500,
		app.EUNSUPPORTED: 415, app.EMETHOD: 405, app.EUNAVAILABLE: 503,
	} {
		if got := ErrorStatus(code); got != want {
			t.Errorf("ErrorStatus(%q) = %d, want %d", code, got, want)
		}
	}
}

func TestErrorHidesInternalDetails(t *testing.T) {
	s := &Server{}
	s.Handler()
	w := httptest.NewRecorder()
	s.Error(w, httptest.NewRequest("GET", "/", nil), errors.New("dial tcp 10.0.0.5:3306: password=hunter2"))
	if w.Code != 500 || strings.Contains(w.Body.String(), "10.0.0.5") || strings.Contains(w.Body.String(), "hunter2") ||
		!strings.Contains(w.Body.String(), `"code":"internal"`) {
		t.Errorf("internal error answered %d %s", w.Code, w.Body)
	}
}

func TestDecode(t *testing.T) {
	type in struct {
		Body *string `json:"body"`
	}
	for _, tc := range []struct{ body, code string }{
		{`{"body":"x"}`, ""},
		{`{"body":"x"}  `, ""},
		{``, app.EINVALID},
		{`{`, app.EINVALID},
		{`{"body":1}`, app.EINVALID},
		{`{"other":1}`, app.EINVALID},
		{`{"body":"x"} {"body":"y"}`, app.EINVALID},
		{`{"body":"x"} x`, app.EINVALID},
		{`{"body":"x","body":"y"}`, app.EINVALID},
		{`[{"body":"x"}]`, app.EINVALID},
		{"{\"body\":\"\xc3\"}", app.EINVALID},
		{`{"body":"` + strings.Repeat("a", maxJSONBytes) + `"}`, app.ETOOLARGE},
	} {
		var v in
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", "application/json")
		err := decode(httptest.NewRecorder(), r, &v)
		if got := app.ErrorCode(err); got != tc.code {
			t.Errorf("decode(%.40q) = %v, want code %q", tc.body, err, tc.code)
		}
	}
}

func TestReadContextIgnoresForgedStickiness(t *testing.T) {
	s := &Server{}
	s.Handler()
	now := s.Now()
	for _, tc := range []struct {
		value   string
		primary bool
	}{
		{"", false},
		{"garbage", false},
		{itoa(now.Add(2 * s.StickyFor).UnixMilli()), false}, // forged far future
		{itoa(now.Add(-s.StickyFor).UnixMilli()), false},    // expired
		{itoa(now.Add(s.StickyFor / 2).UnixMilli()), true},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if tc.value != "" {
			r.AddCookie(&http.Cookie{Name: stickyCookie, Value: tc.value})
		}
		if got := app.UsePrimary(s.readContext(r)); got != tc.primary {
			t.Errorf("cookie %q: primary %v, want %v", tc.value, got, tc.primary)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestCDNURLs(t *testing.T) {
	s := &Server{CDNBaseURL: "https://d111.cloudfront.net/"}
	h := s.Handler()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if !strings.Contains(w.Body.String(), `href="https://d111.cloudfront.net/static/style.css"`) {
		t.Errorf("home page does not point at the CDN:\n%s", w.Body)
	}
	v := s.view(&app.Photo{Status: app.PhotoReady, OriginalKey: "originals/1/a.png", ThumbKey: "thumbs/1.jpg"})
	if v.OriginalURL != "https://d111.cloudfront.net/originals/1/a.png" || v.ThumbnailURL != "https://d111.cloudfront.net/thumbs/1.jpg" {
		t.Errorf("photo URLs %q %q", v.OriginalURL, v.ThumbnailURL)
	}
	local := (&Server{}).view(&app.Photo{Status: app.PhotoPending, OriginalKey: "originals/1/a.png", ThumbKey: "thumbs/1.jpg"})
	if local.OriginalURL != "/media/originals/1/a.png" || local.ThumbnailURL != "" {
		t.Errorf("single-box photo URLs %q %q (no thumbnail before ready)", local.OriginalURL, local.ThumbnailURL)
	}
}
