package http

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scaling-aws/scaling-aws/app"
)

// TestFastJSONMatchesEncodingJSON: the hand-written encoding of posts and
// pages is byte for byte encoding/json's, for bodies with every kind of
// character that is escaped, and for times of every precision and zone.
func TestFastJSONMatchesEncodingJSON(t *testing.T) {
	bodies := []string{"", "plain", `"quoted" \back\slash`, "<script>&amp;</script>", "\x00\x01\x08\x0c\n\r\t\x1f\x7f",
		"é ü 日本 😀", "\u2028\u2029", "bad \xff utf-8 \xc3", "\ufffd", strings.Repeat("a", 1024)}
	rnd := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune{'a', '"', '\\', '<', '>', '&', '\n', 0, 0x1f, 0x7f, 0x80, 'é', 0x2027, 0x2028, 0x2029, 0xfffd, 0x1f600}
	for range 500 {
		var sb strings.Builder
		for range rnd.IntN(40) {
			sb.WriteRune(alphabet[rnd.IntN(len(alphabet))])
		}
		if rnd.IntN(4) == 0 {
			sb.WriteByte(byte(0x80 + rnd.IntN(0x80))) // a stray continuation or lead byte
		}
		bodies = append(bodies, sb.String())
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	times := []time.Time{{}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, paris), time.Date(9999, 12, 31, 0, 0, 0, 1, time.FixedZone("x", -3*3600-1800))}
	var posts []*app.Post
	for i, body := range bodies {
		p := &app.Post{ID: int64(i) * 7919, UserID: -int64(i), Body: body,
			CreatedAt: times[i%len(times)], UpdatedAt: times[(i+1)%len(times)]}
		posts = append(posts, p)
		check(t, p)
		check(t, viewedPost{p, int64(i) * 1_000_003})
	}
	check(t, &app.PostPage{Posts: posts[:30], NextCursor: 42})
	check(t, &app.PostPage{Posts: []*app.Post{}})
	check(t, &app.PostPage{})
	// Years encoding/json refuses take the slow path and its error.
	w := httptest.NewRecorder()
	writeJSON(w, 200, &app.Post{CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	if w.Code != 500 {
		t.Errorf("year 10000: %d %s, want encoding/json's refusal (500)", w.Code, w.Body)
	}
}

func check(t *testing.T, v any) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	var buf bytes.Buffer
	if !appendFast(&buf, v) {
		t.Fatalf("%T not written by the fast path", v)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("fast JSON differs:\n got %q\nwant %q", buf.Bytes(), want)
	}
	w := httptest.NewRecorder()
	writeJSON(w, 200, v)
	if !bytes.Equal(w.Body.Bytes(), want) || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("writeJSON differs: %q", w.Body.Bytes())
	}
	if cl := w.Header().Get("Content-Length"); len(want) > implicitLengthMax && cl != itoa(int64(len(want))) {
		t.Errorf("Content-Length %q for %d bytes", cl, len(want))
	}
}

// TestCachedReadAllocations holds the cached read path to its measured
// allocations (BenchmarkCachedRead): 2 per request, the store's copy of
// the post and the mux's path value; it was 11 before the hand-written
// encoding, the pooled status writer and the label table.
func TestCachedReadAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts do not hold under the race detector (sync.Pool drops items)")
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := &Server{Role: RoleRead, Posts: &hitPosts{p: app.Post{UserID: 7, Body: strings.Repeat("a", 1024),
		CreatedAt: now, UpdatedAt: now}}, Logger: quiet}
	h := s.Handler()
	r := httptest.NewRequest("GET", "/api/posts/12345", nil)
	w := &discardWriter{h: map[string][]string{}}
	h.ServeHTTP(w, r)
	if n := testing.AllocsPerRun(200, func() { clear(w.h); h.ServeHTTP(w, r) }); n > 2 {
		t.Errorf("a cached read allocates %.0f times, want at most 2", n)
	}
}

// TestContentLengthOverTheWire: small answers get their Content-Length
// from net/http, large ones from writeJSON; none is chunked.
func TestContentLengthOverTheWire(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, n := range []int{10, 1024, 4000} {
		s := &Server{Role: RoleRead, Posts: &hitPosts{p: app.Post{Body: strings.Repeat("<", n), CreatedAt: now, UpdatedAt: now}}, Logger: quiet}
		srv := httptest.NewServer(s.Handler())
		res, err := srv.Client().Get(srv.URL + "/api/posts/1")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		srv.Close()
		if res.ContentLength != int64(len(b)) || len(res.TransferEncoding) != 0 {
			t.Errorf("body of %d bytes: Content-Length %d, Transfer-Encoding %v", len(b), res.ContentLength, res.TransferEncoding)
		}
	}
}
