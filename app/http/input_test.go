package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/scaling-aws/scaling-aws/app"
)

// memUsers and memSessions are in-memory stores for the handler tests.
type memUsers struct {
	mu sync.Mutex
	m  map[string]*app.User
}

func (s *memUsers) CreateUser(_ context.Context, u *app.User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*app.User{}
	}
	if _, ok := s.m[u.Name]; ok {
		return app.Errorf(app.ECONFLICT, "name taken")
	}
	u.ID = int64(len(s.m) + 1)
	s.m[u.Name] = u
	return nil
}

func (s *memUsers) UserByName(_ context.Context, name string) (*app.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.m[name]; ok {
		return u, nil
	}
	return nil, app.Errorf(app.ENOTFOUND, "no user")
}

type memSessions struct {
	mu   sync.Mutex
	m    map[string]app.Session
	down error // when set, every call fails with it, like a lost Redis
}

func (s *memSessions) CreateSession(_ context.Context, sess *app.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	if s.m == nil {
		s.m = map[string]app.Session{}
	}
	s.m[sess.Token] = *sess
	return nil
}

func (s *memSessions) Session(_ context.Context, token string) (*app.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return nil, s.down
	}
	if sess, ok := s.m[token]; ok {
		return &sess, nil
	}
	return nil, app.Errorf(app.EUNAUTHORIZED, "session expired or unknown")
}

func (s *memSessions) DeleteSession(_ context.Context, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	delete(s.m, token)
	return nil
}

// memPosts stores posts in memory.
type memPosts struct {
	app.PostStore
	mu sync.Mutex
	n  int64
}

func (p *memPosts) CreatePost(_ context.Context, post *app.Post) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	post.ID = p.n
	return nil
}

// photoStubs satisfy the photo dependencies; the checks under test refuse
// a request before any of them is called (a call panics).
type photoStubs struct {
	app.BlobStore
	app.PhotoStore
	app.Queue
}

type fixture struct {
	s        *Server
	h        http.Handler
	sessions *memSessions
	reg      *prometheus.Registry
}

func newFixture(t *testing.T, s *Server) *fixture {
	t.Helper()
	f := &fixture{s: s, sessions: &memSessions{}, reg: prometheus.NewRegistry()}
	s.Users, s.Sessions, s.Posts = &memUsers{}, f.sessions, &memPosts{}
	stub := photoStubs{}
	s.Blobs, s.Photos, s.Queue = stub, stub, stub
	if s.BcryptCost == 0 {
		s.BcryptCost = bcrypt.MinCost
	}
	s.Logger = quiet
	s.Registerer, s.Gatherer = f.reg, f.reg
	f.h = s.Handler()
	return f
}

type reply struct {
	*httptest.ResponseRecorder
}

func (r reply) code() string {
	var b ErrorBody
	if err := jsonUnmarshal(r.Body.Bytes(), &b); err != nil {
		return ""
	}
	return b.Error.Code
}

func (r reply) message() string {
	var b ErrorBody
	jsonUnmarshal(r.Body.Bytes(), &b)
	return b.Error.Message
}

func (f *fixture) do(method, path string, body string, header ...string) reply {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Cookie" {
			r.AddCookie(&http.Cookie{Name: sessionCookie, Value: header[i+1]})
			continue
		}
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return reply{w}
}

// login signs up and logs in a user; it returns the session token.
func (f *fixture) login(t *testing.T, name string) string {
	t.Helper()
	creds := fmt.Sprintf(`{"name":%q,"password":"correct horse"}`, name)
	if r := f.do("POST", "/api/users", creds, "Content-Type", "application/json"); r.Code != 201 {
		t.Fatalf("sign up: %d %s", r.Code, r.Body)
	}
	r := f.do("POST", "/api/sessions", creds, "Content-Type", "application/json")
	if r.Code != 201 {
		t.Fatalf("log in: %d %s", r.Code, r.Body)
	}
	for _, c := range r.Result().Cookies() {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// TestJSONBodyMessages: duplicate keys, unknown fields and a top level that
// is not an object are refused with a message naming the problem and the
// fields expected, never a Go type or an empty field name.
func TestJSONBodyMessages(t *testing.T) {
	f := newFixture(t, &Server{})
	for _, tc := range []struct{ body, want string }{
		{`{"name":"carol","name":"admin","password":"correct horse"}`, `duplicate key "name": send each field once`},
		{`{"name":"carol","password":"correct horse","Name":"x"}`, `unknown field "Name": this endpoint accepts only the fields "name", "password"`},
		{`{"name":"carol","password":"correct horse","admin":true}`, `unknown field "admin"`},
		{`[]`, `body must be a JSON object with the fields "name", "password", got a JSON array`},
		{`"carol"`, `got a JSON string`},
		{`42`, `got a JSON number`},
		{`null`, `got a JSON null`},
		{`{"name":1,"password":"correct horse"}`, `field "name" must be a string, got a JSON number`},
		{`{"name":"carol","password":`, `malformed JSON: the body ends before the JSON does`},
		{`{"name" "carol"}`, `malformed JSON near byte`},
		{`{"name":"carol","password":"correct horse"} {}`, `single JSON object, with nothing after it`},
		{` `, `request body is empty: send a JSON object with the fields "name", "password"`},
	} {
		r := f.do("POST", "/api/users", tc.body, "Content-Type", "application/json")
		if r.Code != 400 || r.code() != app.EINVALID || !strings.Contains(r.message(), tc.want) {
			t.Errorf("%s: %d %s, want 400 with %q", tc.body, r.Code, r.Body, tc.want)
		}
		if strings.Contains(r.message(), `field ""`) || strings.Contains(r.message(), "struct") {
			t.Errorf("%s: message speaks Go: %s", tc.body, r.message())
		}
	}
	// A duplicate key in a nested object is refused too (the post body is a
	// string, so only the shape check can see it).
	tok := f.login(t, "dave")
	r := f.do("POST", "/api/posts", `{"body":{"a":1,"a":2}}`, "Content-Type", "application/json", "Authorization", "Bearer "+tok)
	if r.Code != 400 || !strings.Contains(r.message(), `duplicate key "a"`) {
		t.Errorf("nested duplicate: %d %s", r.Code, r.Body)
	}
}

// TestJSONContentType: a JSON endpoint refuses any other Content-Type, and
// none at all, with 415 and the type expected.
func TestJSONContentType(t *testing.T) {
	f := newFixture(t, &Server{})
	body := `{"name":"carol","password":"correct horse"}`
	for _, ct := range []string{"", "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
		"multipart/form-data; boundary=x", "application/json; charset=latin1", "application/jsonx", "garbage/"} {
		r := f.do("POST", "/api/users", body, "Content-Type", ct)
		if r.Code != 415 || r.code() != app.EUNSUPPORTED || !strings.Contains(r.message(), "Content-Type: application/json") {
			t.Errorf("Content-Type %q: %d %s, want 415 naming application/json", ct, r.Code, r.Body)
		}
	}
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON;Charset=UTF-8"} {
		name := fmt.Sprintf("u%d", len(ct))
		r := f.do("POST", "/api/users", `{"name":"`+name+`","password":"correct horse"}`, "Content-Type", ct)
		if r.Code != 201 {
			t.Errorf("Content-Type %q: %d %s, want 201", ct, r.Code, r.Body)
		}
	}
}

// TestCrossOriginWrites: a cookie-authenticated write from a foreign page
// (text/plain and form posts included) is refused with 403; the app's own
// origin, a trusted one and clients without Origin are served.
func TestCrossOriginWrites(t *testing.T) {
	f := newFixture(t, &Server{Origins: []string{"https://www.example.com"}, CDNBaseURL: "https://d111.cloudfront.net/"})
	tok := f.login(t, "alice")
	post := `{"body":"hi"}`
	for _, tc := range []struct {
		name   string
		header []string
		status int
	}{
		{"foreign origin, text/plain", []string{"Origin", "https://evil.example", "Content-Type", "text/plain"}, 403},
		{"foreign origin, form", []string{"Origin", "https://evil.example", "Content-Type", "application/x-www-form-urlencoded"}, 403},
		{"foreign origin, JSON", []string{"Origin", "https://evil.example", "Content-Type", "application/json"}, 403},
		{"null origin", []string{"Origin", "null", "Content-Type", "text/plain"}, 403},
		{"cross-site fetch metadata", []string{"Sec-Fetch-Site", "cross-site", "Content-Type", "application/json"}, 403},
		{"same-site is not same-origin", []string{"Sec-Fetch-Site", "same-site", "Origin", "https://other.example.com", "Content-Type", "application/json"}, 403},
		{"same origin (Host)", []string{"Origin", "http://example.com", "Content-Type", "application/json"}, 201},
		{"same origin (fetch metadata)", []string{"Sec-Fetch-Site", "same-origin", "Origin", "https://www.example.com", "Content-Type", "application/json"}, 201},
		{"trusted public origin", []string{"Origin", "https://www.example.com", "Content-Type", "application/json"}, 201},
		{"CDN origin", []string{"Origin", "https://d111.cloudfront.net", "Content-Type", "application/json"}, 201},
		{"no Origin (API client)", []string{"Content-Type", "application/json"}, 201},
	} {
		r := f.do("POST", "/api/posts", post, append(tc.header, "Cookie", tok)...)
		if r.Code != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, r.Code, r.Body, tc.status)
		}
		if tc.status == 403 && (r.code() != app.EFORBIDDEN || !strings.Contains(r.message(), "cross-origin write refused")) {
			t.Errorf("%s: %s, want a cross-origin message", tc.name, r.Body)
		}
	}
	// Every unsafe method is checked, logging in included (login CSRF);
	// reads are not.
	for _, m := range []string{"PUT", "PATCH", "DELETE"} {
		if r := f.do(m, "/api/posts/1", post, "Origin", "https://evil.example", "Content-Type", "application/json", "Cookie", tok); r.Code != 403 {
			t.Errorf("%s from a foreign origin: %d %s", m, r.Code, r.Body)
		}
	}
	if r := f.do("POST", "/api/sessions", `{"name":"alice","password":"correct horse"}`, "Origin", "https://evil.example",
		"Content-Type", "application/json"); r.Code != 403 {
		t.Errorf("log in from a foreign origin: %d %s", r.Code, r.Body)
	}
	if r := f.do("GET", "/api/me", "", "Origin", "https://evil.example", "Cookie", tok); r.Code != 200 {
		t.Errorf("read from a foreign origin: %d %s", r.Code, r.Body)
	}
}

// TestPasswordRules: control characters, blanks and common passwords are
// refused at sign-up, with the reason.
func TestPasswordRules(t *testing.T) {
	f := newFixture(t, &Server{})
	for _, tc := range []struct{ password, want string }{
		{"        ", "only blanks"},
		{"\u00a0\u00a0\u00a0\u00a0\u3000\u3000", "only blanks"},
		{"\x00\x00\x00\x00\x00\x00\x00\x00", "control character U+0000"},
		{"correct\thorse", "control character U+0009 at byte 7"},
		{"correct horse\n", "control character U+000A"},
		{"correct\u0085horse", "control character U+0085"},
		{"password", "most common passwords"},
		{"12345678", "most common passwords"},
		{"Password1", "most common passwords"},
		{"iloveyou", "most common passwords"},
		{"short", "8 to 72 bytes"},
		{strings.Repeat("a", 73), "8 to 72 bytes"},
	} {
		pw, _ := json.Marshal(tc.password)
		body := `{"name":"carol","password":` + string(pw) + `}`
		r := f.do("POST", "/api/users", body, "Content-Type", "application/json")
		if r.Code != 400 || !strings.Contains(r.message(), tc.want) {
			t.Errorf("password %q: %d %s, want 400 with %q", tc.password, r.Code, r.Body, tc.want)
		}
	}
	if len(commonPasswords) != 10000 {
		t.Errorf("%d common passwords embedded, want 10000", len(commonPasswords))
	}
	if r := f.do("POST", "/api/users", `{"name":"carol","password":"  correct horse  "}`, "Content-Type", "application/json"); r.Code != 201 {
		t.Errorf("a good password with spaces: %d %s", r.Code, r.Body)
	}
}

// TestLoginCostsTheSame: the unknown-user path verifies a hash of the same
// cost as the wrong-password path, once, so both take as long.
func TestLoginCostsTheSame(t *testing.T) {
	var costs []int
	s := &Server{BcryptCost: bcrypt.MinCost + 1}
	s.verify = func(hash, pw []byte) error {
		c, err := bcrypt.Cost(hash)
		if err != nil {
			t.Fatalf("verify called with a non-bcrypt hash: %v", err)
		}
		costs = append(costs, c)
		return bcrypt.CompareHashAndPassword(hash, pw)
	}
	f := newFixture(t, s)
	if r := f.do("POST", "/api/users", `{"name":"alice","password":"correct horse"}`, "Content-Type", "application/json"); r.Code != 201 {
		t.Fatalf("sign up: %d %s", r.Code, r.Body)
	}
	for _, name := range []string{"alice", "nobody"} {
		costs = nil
		r := f.do("POST", "/api/sessions", `{"name":"`+name+`","password":"wrong one"}`, "Content-Type", "application/json")
		if r.Code != 401 || r.message() != "invalid name or password" {
			t.Errorf("%s: %d %s", name, r.Code, r.Body)
		}
		if len(costs) != 1 || costs[0] != s.BcryptCost {
			t.Errorf("log in as %s verified hashes of costs %v, want one of cost %d", name, costs, s.BcryptCost)
		}
	}
}

// TestMetricsLabelsBounded: client-chosen methods and paths do not become
// label values.
func TestMetricsLabelsBounded(t *testing.T) {
	f := newFixture(t, &Server{})
	for i := range 50 {
		f.do(fmt.Sprintf("BREW%d", i), "/api/posts/1", "")
		f.do("GET", fmt.Sprintf("/random/%d", i), "")
		f.do("GET", fmt.Sprintf("/api/posts/%d", i+1), "")
	}
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if len(mf.GetMetric()) > 10 {
			t.Errorf("%s has %d series", mf.GetName(), len(mf.GetMetric()))
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				v := l.GetValue()
				if strings.HasPrefix(v, "BREW") || strings.Contains(v, "/random/") || strings.Contains(v, "/api/posts/1") ||
					(l.GetName() == "code" && v == "0") {
					t.Errorf("%s has label %s=%q", mf.GetName(), l.GetName(), v)
				}
			}
		}
	}
	if r := f.do("GET", "/metrics", ""); !strings.Contains(r.Body.String(), `method="other"`) {
		t.Errorf("no method=\"other\" series:\n%s", r.Body)
	}
}

// TestErrorsUnknownCode: a code no one mapped is answered and counted as
// internal, not as a new label value.
func TestErrorsUnknownCode(t *testing.T) {
	f := newFixture(t, &Server{})
	w := httptest.NewRecorder()
	f.s.Error(w, httptest.NewRequest("GET", "/", nil), &app.Error{Code: "made_up", Message: "x"})
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"code":"internal"`) {
		t.Errorf("unknown code: %d %s", w.Code, w.Body)
	}
}

// TestMethodNotAllowed: a known path with a wrong method is 405 with
// Allow, in JSON; an unknown path is 404.
func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t, &Server{})
	for _, tc := range []struct{ method, path, allow string }{
		{"POST", "/api/posts/1", "GET, HEAD, PUT, PATCH, DELETE"},
		{"GET", "/api/users", "POST"},
		{"PUT", "/api/sessions", "POST, DELETE"},
		{"DELETE", "/healthz", "GET, HEAD"},
		{"BREW", "/api/photos", "POST"},
	} {
		r := f.do(tc.method, tc.path, "")
		if r.Code != 405 || r.Header().Get("Allow") != tc.allow || r.code() != app.EMETHOD ||
			r.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d Allow %q %s, want 405 Allow %q", tc.method, tc.path, r.Code, r.Header().Get("Allow"), r.Body, tc.allow)
		}
	}
	read := newFixture(t, &Server{Role: RoleRead})
	if r := read.do("DELETE", "/api/posts/1", ""); r.Code != 405 || r.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("read API, DELETE: %d Allow %q", r.Code, r.Header().Get("Allow"))
	}
	if r := read.do("POST", "/api/users", ""); r.Code != 404 {
		t.Errorf("read API, POST /api/users: %d %s, want 404", r.Code, r.Body)
	}
	worker := newFixture(t, &Server{Role: RoleWorker})
	if r := worker.do("POST", "/healthz", ""); r.Code != 405 || r.code() != app.EMETHOD {
		t.Errorf("worker, POST /healthz: %d %s", r.Code, r.Body)
	}
}

// TestStatic: only the static assets are served; the page template, the
// folder and unknown names are JSON 404s.
func TestStatic(t *testing.T) {
	f := newFixture(t, &Server{})
	if r := f.do("GET", "/static/style.css", ""); r.Code != 200 || !strings.Contains(r.Body.String(), "font-family") ||
		!strings.HasPrefix(r.Header().Get("Content-Type"), "text/css") {
		t.Errorf("style.css: %d %s", r.Code, r.Header().Get("Content-Type"))
	}
	for _, p := range []string{"/static/", "/static/index.html", "/static/nope.css", "/static/page.html.tmpl", "/static/%2e%2e/page.html.tmpl"} {
		r := f.do("GET", p, "")
		if r.Code != 404 || r.Header().Get("Content-Type") != "application/json" || r.code() != app.ENOTFOUND {
			t.Errorf("%s: %d %s %s, want a JSON 404", p, r.Code, r.Header().Get("Content-Type"), r.Body)
		}
		if strings.Contains(r.Body.String(), "{{") {
			t.Errorf("%s serves the raw template", p)
		}
	}
	if r := f.do("GET", "/", ""); r.Code != 200 || strings.Contains(r.Body.String(), "{{") || !strings.Contains(r.Body.String(), "/static/app.js") {
		t.Errorf("home page: %d %s", r.Code, r.Body)
	}
}

// TestIDsOutOfRange: ids and cursors beyond int64 or not positive say so.
func TestIDsOutOfRange(t *testing.T) {
	f := newFixture(t, &Server{})
	for _, tc := range []struct{ path, want string }{
		{"/api/posts/99999999999999999999", "id 99999999999999999999 is out of range: it must be from 1 to 9223372036854775807"},
		{"/api/posts/-1", "id -1 is out of range"},
		{"/api/posts/0", "id 0 is out of range"},
		{"/api/posts/abc", `id "abc" is not a number`},
		{"/api/photos/-5", "id -5 is out of range"},
		{"/api/users/1/posts?cursor=99999999999999999999", "cursor 99999999999999999999 is out of range"},
		{"/api/users/1/posts?cursor=-3", "cursor -3 is out of range"},
	} {
		r := f.do("GET", tc.path, "")
		if r.Code != 400 || !strings.Contains(r.message(), tc.want) {
			t.Errorf("%s: %d %s, want 400 with %q", tc.path, r.Code, r.Body, tc.want)
		}
	}
}

// TestUploadInput: an empty upload says "empty body"; a multipart one says
// to send the raw image with an image Content-Type.
func TestUploadInput(t *testing.T) {
	f := newFixture(t, &Server{})
	tok := f.login(t, "alice")
	auth := []string{"Authorization", "Bearer " + tok}
	if r := f.do("POST", "/api/photos", "", append(auth, "Content-Type", "image/png")...); r.Code != 400 || !strings.Contains(r.message(), "empty body") {
		t.Errorf("empty upload: %d %s", r.Code, r.Body)
	}
	form := "--x\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n--x--\r\n"
	r := f.do("POST", "/api/photos", form, append(auth, "Content-Type", "multipart/form-data; boundary=x")...)
	if r.Code != 415 || !strings.Contains(r.message(), "multipart uploads are not accepted: send the raw image bytes") ||
		!strings.Contains(r.message(), "Content-Type image/jpeg, image/png or image/gif") {
		t.Errorf("multipart upload: %d %s", r.Code, r.Body)
	}
	for _, ct := range []string{"", "text/plain", "application/octet-stream"} {
		if r := f.do("POST", "/api/photos", "\x89PNG", append(auth, "Content-Type", ct)...); r.Code != 415 || !strings.Contains(r.message(), "raw image bytes") {
			t.Errorf("upload as %q: %d %s", ct, r.Code, r.Body)
		}
	}
}

// TestSessionStoreDown: a session store that fails (Redis lost) makes an
// authenticated write, a login and a logout 503 with Retry-After, not 500.
func TestSessionStoreDown(t *testing.T) {
	f := newFixture(t, &Server{})
	tok := f.login(t, "alice")
	f.sessions.down = errors.New("redis get: dial tcp 127.0.0.1:6379: i/o timeout")
	for _, tc := range []struct {
		method, path, body string
	}{
		{"POST", "/api/posts", `{"body":"hi"}`},
		{"DELETE", "/api/posts/1", ""},
		{"POST", "/api/sessions", `{"name":"alice","password":"correct horse"}`},
		{"DELETE", "/api/sessions", ""},
		{"GET", "/api/me", ""},
	} {
		r := f.do(tc.method, tc.path, tc.body, "Content-Type", "application/json", "Authorization", "Bearer "+tok)
		if r.Code != 503 || r.code() != app.EUNAVAILABLE || r.Header().Get("Retry-After") != retryAfter {
			t.Errorf("%s %s with sessions down: %d Retry-After %q %s, want 503 with Retry-After",
				tc.method, tc.path, r.Code, r.Header().Get("Retry-After"), r.Body)
		}
		if strings.Contains(r.Body.String(), "127.0.0.1") {
			t.Errorf("detail leaked: %s", r.Body)
		}
	}
	// A refusal of the store itself is still the client's 401.
	f.sessions.down = nil
	if r := f.do("GET", "/api/me", "", "Authorization", "Bearer wrong"); r.Code != 401 {
		t.Errorf("unknown token: %d %s", r.Code, r.Body)
	}
}

// TestMetricsStatusOfSilentHandler: a handler that writes nothing answered
// 200, and is counted as 200, not as a made-up status 0.
func TestMetricsStatusOfSilentHandler(t *testing.T) {
	f := newFixture(t, &Server{})
	f.s.instrument(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	r := f.do("GET", "/metrics", "")
	if !strings.Contains(r.Body.String(), `app_http_requests_total{code="200",method="GET",route="unmatched"} 1`) {
		t.Errorf("silent handler not counted as 200:\n%s", r.Body)
	}
}

// TestPostBodyTypeMessage: the docs' example of a bad request answers as shown.
func TestPostBodyTypeMessage(t *testing.T) {
	f := newFixture(t, &Server{})
	tok := f.login(t, "alice")
	r := f.do("POST", "/api/posts", `{"body":5}`, "Content-Type", "application/json", "Authorization", "Bearer "+tok)
	if r.Code != 400 || r.message() != `field "body" must be a string, got a JSON number` {
		t.Errorf("%d %s", r.Code, r.Body)
	}
}
