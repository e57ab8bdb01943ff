package e2e_test

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/scaling-aws/scaling-aws/app/apptest"
)

// bombPNG is a valid PNG header claiming w×h pixels: DecodeConfig reads it
// without allocating, decoding would allocate w*h*4 bytes.
func bombPNG(t *testing.T, w, h uint32) []byte {
	b := pngImage(t, 1, 1)
	ihdr := b[8+8 : 8+8+13] // after the signature and IHDR's length and type
	binary.BigEndian.PutUint32(ihdr[0:4], w)
	binary.BigEndian.PutUint32(ihdr[4:8], h)
	binary.BigEndian.PutUint32(b[8+8+13:], crc32.ChecksumIEEE(b[8+4:8+8+13]))
	return b
}

// TestBadInput sends every kind of bad request and checks the status, the
// stable error code, and that nothing was written.
func TestBadInput(t *testing.T) {
	s := newStack(t, options{})
	alice, bob, anon := s.client(), s.client(), s.client()
	alice.signUp("alice")
	bob.signUp("bob")
	postID := strconv.FormatInt(alice.post("alice's"), 10)
	users, posts := s.count("users"), s.count("posts")

	ok1024 := `{"body":"` + strings.Repeat("a", 1024) + `"}`
	tooLong := `{"body":"` + strings.Repeat("a", 1025) + `"}`
	tooLongUTF8 := `{"body":"` + strings.Repeat("é", 513) + `"}` // 1026 bytes, 513 characters
	huge := `{"body":"` + strings.Repeat("a", 20000) + `"}`
	tests := []struct {
		name         string
		c            *client
		method, path string
		ctype        string
		body         []byte
		status       int
		code         string
	}{
		{"malformed JSON", anon, "POST", "/api/users", "", []byte(`{"name":`), 400, "invalid"},
		{"duplicate key", anon, "POST", "/api/users", "", []byte(`{"name":"carol","name":"admin","password":"correct horse"}`), 400, "invalid"},
		{"no Content-Type", anon, "POST", "/api/users", "-", []byte(`{"name":"carol","password":"correct horse"}`), 415, "unsupported_media_type"},
		{"text/plain", anon, "POST", "/api/users", "text/plain", []byte(`{"name":"carol","password":"correct horse"}`), 415, "unsupported_media_type"},
		{"form post", alice, "POST", "/api/posts", "application/x-www-form-urlencoded", []byte(`body=hi`), 415, "unsupported_media_type"},
		{"blank password", anon, "POST", "/api/users", "", []byte(`{"name":"carol","password":"        "}`), 400, "invalid"},
		{"NUL password", anon, "POST", "/api/users", "", []byte(`{"name":"carol","password":"\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000"}`), 400, "invalid"},
		{"tab in password", anon, "POST", "/api/users", "", []byte(`{"name":"carol","password":"correct\thorse"}`), 400, "invalid"},
		{"common password", anon, "POST", "/api/users", "", []byte(`{"name":"carol","password":"password1"}`), 400, "invalid"},
		{"wrong type", anon, "POST", "/api/users", "", []byte(`{"name":1,"password":"x"}`), 400, "invalid"},
		{"unknown field", anon, "POST", "/api/users", "", []byte(`{"name":"carol","password":"correct horse","admin":true}`), 400, "invalid"},
		{"empty body", anon, "POST", "/api/users", "application/json", nil, 400, "invalid"},
		{"two objects", anon, "POST", "/api/users", "", []byte(`{"name":"carol","password":"correct horse"}{}`), 400, "invalid"},
		{"array", anon, "POST", "/api/users", "", []byte(`[]`), 400, "invalid"},
		{"short password", anon, "POST", "/api/users", "", []byte(`{"name":"carol","password":"short"}`), 400, "invalid"},
		{"bad name", anon, "POST", "/api/users", "", []byte(`{"name":"a b","password":"correct horse"}`), 400, "invalid"},
		{"taken name", anon, "POST", "/api/users", "", []byte(`{"name":"alice","password":"correct horse"}`), 409, "conflict"},
		{"wrong password", anon, "POST", "/api/sessions", "", []byte(`{"name":"alice","password":"wrong one"}`), 401, "unauthorized"},
		{"unknown user", anon, "POST", "/api/sessions", "", []byte(`{"name":"nobody","password":"wrong one"}`), 401, "unauthorized"},
		{"anonymous write", anon, "POST", "/api/posts", "", []byte(`{"body":"hi"}`), 401, "unauthorized"},
		{"anonymous malformed write", anon, "POST", "/api/posts", "", []byte(`{"bo`), 401, "unauthorized"},
		{"anonymous edit", anon, "PUT", "/api/posts/" + postID, "", []byte(`{"body":"x"}`), 401, "unauthorized"},
		{"anonymous delete", anon, "DELETE", "/api/posts/" + postID, "", nil, 401, "unauthorized"},
		{"post too long", alice, "POST", "/api/posts", "", []byte(tooLong), 413, "too_large"},
		{"post too long in bytes", alice, "POST", "/api/posts", "", []byte(tooLongUTF8), 413, "too_large"},
		{"request too large", alice, "POST", "/api/posts", "", []byte(huge), 413, "too_large"},
		{"empty post", alice, "POST", "/api/posts", "", []byte(`{"body":""}`), 400, "invalid"},
		{"missing body field", alice, "POST", "/api/posts", "", []byte(`{}`), 400, "invalid"},
		{"post body number", alice, "POST", "/api/posts", "", []byte(`{"body":5}`), 400, "invalid"},
		{"invalid UTF-8", alice, "POST", "/api/posts", "", []byte("{\"body\":\"\xff\xfe\"}"), 400, "invalid"},
		{"bad id", anon, "GET", "/api/posts/abc", "", nil, 400, "invalid"},
		{"negative id", anon, "GET", "/api/posts/-1", "", nil, 400, "invalid"},
		{"id out of range", anon, "GET", "/api/posts/99999999999999999999", "", nil, 400, "invalid"},
		{"wrong method", anon, "POST", "/api/posts/" + postID, "", []byte(`{"body":"x"}`), 405, "method_not_allowed"},
		{"unknown static file", anon, "GET", "/static/nope.css", "", nil, 404, "not_found"},
		{"page template", anon, "GET", "/static/index.html", "", nil, 404, "not_found"},
		{"static folder", anon, "GET", "/static/", "", nil, 404, "not_found"},
		{"unknown id", anon, "GET", "/api/posts/999999", "", nil, 404, "not_found"},
		{"edit other's post", bob, "PUT", "/api/posts/" + postID, "", []byte(`{"body":"mine now"}`), 403, "forbidden"},
		{"patch other's post", bob, "PATCH", "/api/posts/" + postID, "", []byte(`{"body":"mine now"}`), 403, "forbidden"},
		{"delete other's post", bob, "DELETE", "/api/posts/" + postID, "", nil, 403, "forbidden"},
		{"edit unknown post", alice, "PUT", "/api/posts/999999", "", []byte(`{"body":"x"}`), 404, "not_found"},
		{"edit too long", alice, "PUT", "/api/posts/" + postID, "", []byte(tooLong), 413, "too_large"},
		{"bad limit", anon, "GET", "/api/users/1/posts?limit=0", "", nil, 400, "invalid"},
		{"bad cursor", anon, "GET", "/api/users/1/posts?cursor=x", "", nil, 400, "invalid"},
		{"no route", anon, "GET", "/api/nothing", "", nil, 404, "not_found"},
		{"anonymous photo", anon, "POST", "/api/photos", "image/png", pngImage(t, 4, 4), 401, "unauthorized"},
		{"not an image", alice, "POST", "/api/photos", "image/png", []byte("just some text, not pixels"), 400, "invalid"},
		{"truncated header", alice, "POST", "/api/photos", "image/png", pngImage(t, 4, 4)[:20], 400, "invalid"},
		{"empty upload", alice, "POST", "/api/photos", "image/png", nil, 400, "invalid"},
		{"multipart upload", alice, "POST", "/api/photos", "multipart/form-data; boundary=x", []byte("--x\r\n\r\n--x--\r\n"), 415, "unsupported_media_type"},
		{"decompression bomb", alice, "POST", "/api/photos", "image/png", bombPNG(t, 50000, 50000), 413, "too_large"},
		{"photo too many bytes", alice, "POST", "/api/photos", "image/png", append(pngImage(t, 4, 4), make([]byte, 300<<10)...), 413, "too_large"},
		{"unknown photo", anon, "GET", "/api/photos/999999", "", nil, 404, "not_found"},
		{"media outside photos", anon, "GET", "/media/secrets.txt", "", nil, 404, "not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.t = t
			ctype := tc.ctype
			switch {
			case ctype == "-":
				ctype = ""
			case ctype == "" && tc.body != nil:
				ctype = "application/json"
			}
			r := tc.c.do(tc.method, tc.path, ctype, tc.body)
			if r.status != tc.status || r.code() != tc.code {
				t.Errorf("%s %s: %d %s, want %d with code %q", tc.method, tc.path, r.status, r.body, tc.status, tc.code)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			e, _ := r.json()["error"].(map[string]any)
			if msg, _ := e["message"].(string); msg == "" {
				t.Errorf("no error message in %s", r.body)
			}
		})
	}
	alice.t = t
	if got := s.count("users"); got != users {
		t.Errorf("users: %d rows, want %d: a bad request wrote", got, users)
	}
	if got := s.count("posts"); got != posts {
		t.Errorf("posts: %d rows, want %d: a bad request wrote", got, posts)
	}
	if got := s.count("photos"); got != 0 {
		t.Errorf("photos: %d rows, want 0", got)
	}
	if got := s.objects(); got != 0 {
		t.Errorf("object store holds %d objects, want 0", got)
	}
	// The boundary: exactly 1024 bytes is accepted, and read back whole.
	r := alice.call("POST", "/api/posts", ok1024)
	if r.status != 201 || len(r.json()["body"].(string)) != 1024 {
		t.Errorf("1024-byte post: %d %.100s", r.status, r.body)
	}
}

// TestSessionStoreDownIsUnavailable: with the session store (Redis) lost,
// logging in is 503 unavailable with Retry-After, and the answer names no
// host or cause.
func TestSessionStoreDownIsUnavailable(t *testing.T) {
	s := newStack(t, options{redisAddr: apptest.ClosedAddr()})
	c := s.client()
	if r := c.call("POST", "/api/users", `{"name":"alice","password":"correct horse"}`); r.status != 201 {
		t.Fatalf("sign up: %d %s", r.status, r.body)
	}
	r := c.call("POST", "/api/sessions", `{"name":"alice","password":"correct horse"}`)
	if r.status != 503 || r.code() != "unavailable" || r.header.Get("Retry-After") == "" {
		t.Fatalf("log in with sessions down: %d Retry-After %q %s, want 503 unavailable with Retry-After",
			r.status, r.header.Get("Retry-After"), r.body)
	}
	if strings.Contains(string(r.body), "127.0.0.1") || strings.Contains(string(r.body), "redis") {
		t.Errorf("internal detail leaked: %s", r.body)
	}
}

// TestRedisStallOnWrites: a logged-in user's writes while Redis stalls
// (a private redis-server stopped with SIGSTOP: connections open, no
// answer) and with a listener that never answers are 503 with Retry-After,
// not 500, and nothing is written; once Redis answers again the same
// session writes; after Redis comes back empty the session is gone (401),
// as docs/app.md says. The shared test Redis is never paused: other
// packages' tests use it at the same time.
func TestRedisStallOnWrites(t *testing.T) {
	rs := startRedis(t)
	s := newStack(t, options{redisAddr: rs.addr})
	alice := s.client()
	alice.signUp("alice")
	posts := s.count("posts")
	unavailable := func(what string) {
		t.Helper()
		r := alice.call("POST", "/api/posts", `{"body":"during the stall"}`)
		if r.status != 503 || r.code() != "unavailable" || r.header.Get("Retry-After") != "5" {
			t.Errorf("write %s: %d Retry-After %q %s, want 503 unavailable with Retry-After: 5",
				what, r.status, r.header.Get("Retry-After"), r.body)
		}
	}
	rs.signal(syscall.SIGSTOP)
	unavailable("while Redis is stopped")
	rs.signal(syscall.SIGCONT)
	if got := s.count("posts"); got != posts {
		t.Errorf("posts: %d rows, want %d: a refused write was stored", got, posts)
	}
	if r := alice.call("POST", "/api/posts", `{"body":"after the stall"}`); r.status != 201 {
		t.Errorf("write after the stall: %d %s, want 201", r.status, r.body)
	}
	// Lost: the process is gone.
	rs.stop()
	unavailable("while Redis is down")
	// Back, empty (no persistence): the session is gone, the user logs in again.
	rs.start()
	if r := alice.call("POST", "/api/posts", `{"body":"after the restart"}`); r.status != 401 {
		t.Errorf("write with a session lost with the cache: %d %s, want 401", r.status, r.body)
	}

	// A Redis that accepts connections and never answers.
	stalled := newStack(t, options{redisAddr: stallingListener(t)})
	bob := stalled.client()
	if r := bob.call("POST", "/api/users", `{"name":"bob","password":"correct horse"}`); r.status != 201 {
		t.Fatalf("sign up: %d %s", r.status, r.body)
	}
	bob.token = "a-token-from-before-the-stall"
	r := bob.call("POST", "/api/posts", `{"body":"x"}`)
	if r.status != 503 || r.code() != "unavailable" || r.header.Get("Retry-After") == "" {
		t.Errorf("write with a hung Redis: %d %s, want 503 with Retry-After", r.status, r.body)
	}
}

// privateRedis is a redis-server of the test's own, without persistence,
// that the test may stop, freeze and restart on the same port.
type privateRedis struct {
	t    *testing.T
	bin  string
	addr string
	port string
	cmd  *exec.Cmd
}

// startRedis starts a private redis-server (the binary scripts/services.sh
// installs) on a free loopback port.
func startRedis(t *testing.T) *privateRedis {
	t.Helper()
	apptest.Redis(t) // skips or fails like the other server tests when there is no test Redis
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if bin, err = exec.LookPath("/usr/bin/redis-server"); err != nil {
			t.Fatal("redis-server not found: scripts/services.sh installs it")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	rs := &privateRedis{t: t, bin: bin, addr: addr, port: port}
	rs.start()
	t.Cleanup(rs.stop)
	return rs
}

func (rs *privateRedis) start() {
	rs.t.Helper()
	rs.cmd = exec.Command(rs.bin, "--port", rs.port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", rs.t.TempDir())
	if err := rs.cmd.Start(); err != nil {
		rs.t.Fatal(err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: rs.addr})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); c.Ping(context.Background()).Err() != nil; {
		if time.Now().After(deadline) {
			rs.t.Fatalf("redis-server on %s did not answer within 10s", rs.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (rs *privateRedis) signal(sig syscall.Signal) {
	rs.t.Helper()
	if err := rs.cmd.Process.Signal(sig); err != nil {
		rs.t.Fatal(err)
	}
}

func (rs *privateRedis) stop() {
	if rs.cmd == nil {
		return
	}
	rs.cmd.Process.Signal(syscall.SIGCONT)
	rs.cmd.Process.Kill()
	rs.cmd.Wait()
	rs.cmd = nil
}

// stallingListener accepts connections and never answers, like a Redis
// whose process is stopped (SIGSTOP) or a network path that drops packets.
func stallingListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// TestCrossOriginWrite: a logged-in browser's write from a foreign page is
// refused (CSRF), the same write from the app's own origin is served.
func TestCrossOriginWrite(t *testing.T) {
	s := newStack(t, options{})
	alice := s.client()
	alice.signUp("alice")
	posts := s.count("posts")
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/json"} {
		req, _ := http.NewRequest("POST", s.url+"/api/posts", strings.NewReader(`{"body":"forged"}`))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Origin", "https://evil.example")
		res, err := alice.hc.Do(req) // carries alice's session cookie
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 403 || !strings.Contains(string(b), "cross-origin write refused") {
			t.Errorf("forged %s write: %d %s, want 403", ct, res.StatusCode, b)
		}
	}
	if got := s.count("posts"); got != posts {
		t.Errorf("posts: %d rows, want %d: a forged write was stored", got, posts)
	}
	req, _ := http.NewRequest("POST", s.url+"/api/posts", strings.NewReader(`{"body":"mine"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", s.url)
	if res, err := alice.hc.Do(req); err != nil || res.StatusCode != 201 {
		t.Errorf("same-origin write: %v %v", res, err)
	}
}

func TestPostsLifecycle(t *testing.T) {
	s := newStack(t, options{})
	alice := s.client()
	uid := alice.signUp("alice")
	var ids []int64
	for i := range 25 {
		ids = append(ids, alice.post("post "+strconv.Itoa(i)))
	}
	if r := alice.call("GET", "/api/me", ""); r.status != 200 || int64(r.json()["user_id"].(float64)) != uid {
		t.Errorf("me: %d %s", r.status, r.body)
	}
	// All pages, newest first, through the cursor.
	var got []int64
	path := "/api/users/" + strconv.FormatInt(uid, 10) + "/posts"
	next := path
	for next != "" {
		r := alice.call("GET", next, "")
		if r.status != 200 {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		v := r.json()
		for _, p := range v["posts"].([]any) {
			got = append(got, int64(p.(map[string]any)["id"].(float64)))
		}
		next = ""
		if c, ok := v["next_cursor"].(float64); ok {
			next = path + "?cursor=" + strconv.FormatInt(int64(c), 10)
		}
	}
	if len(got) != 25 || got[0] != ids[24] || got[24] != ids[0] {
		t.Errorf("listed %v, want the 25 ids newest first", got)
	}
	id := strconv.FormatInt(ids[0], 10)
	if r := alice.call("PATCH", "/api/posts/"+id, `{"body":"edited"}`); r.status != 200 || r.json()["body"] != "edited" {
		t.Errorf("edit: %d %s", r.status, r.body)
	}
	if r := alice.call("DELETE", "/api/posts/"+id, ""); r.status != 204 {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	if r := alice.call("GET", "/api/posts/"+id, ""); r.status != 404 {
		t.Errorf("read after delete: %d %s", r.status, r.body)
	}
	if r := alice.call("DELETE", "/api/sessions", ""); r.status != 204 {
		t.Errorf("log out: %d", r.status)
	}
	if r := alice.call("POST", "/api/posts", `{"body":"after logout"}`); r.status != 401 {
		t.Errorf("write after logout: %d %s", r.status, r.body)
	}
}

// TestReadYourWritesUnderLag stops replication: the writer reads its own
// writes (from the primary) while other clients still see the lagging
// replica, and see the write once the replica catches up.
func TestReadYourWritesUnderLag(t *testing.T) {
	s := newStack(t, options{})
	alice, anon := s.client(), s.client()
	alice.signUp("alice")
	s.m.StopReplication(t)
	id := strconv.FormatInt(alice.post("fresh"), 10)
	if r := alice.call("GET", "/api/posts/"+id, ""); r.status != 200 || r.json()["body"] != "fresh" {
		t.Fatalf("writer's read under lag: %d %s, want its post", r.status, r.body)
	}
	if r := anon.call("GET", "/api/posts/"+id, ""); r.status != 404 {
		t.Fatalf("other reader under lag: %d %s, want 404 from the lagging replica", r.status, r.body)
	}
	if r := alice.call("PUT", "/api/posts/"+id, `{"body":"edited"}`); r.status != 200 {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	if r := alice.call("GET", "/api/posts/"+id, ""); r.json()["body"] != "edited" {
		t.Errorf("writer's read after edit under lag: %s", r.body)
	}
	s.m.StartReplication(t)
	s.m.Sync(t)
	if r := anon.call("GET", "/api/posts/"+id, ""); r.status != 200 || r.json()["body"] != "edited" {
		t.Errorf("other reader after catch-up: %d %s", r.status, r.body)
	}
}

// TestCacheInvalidation: a cached post is replaced after an edit, for
// readers without the sticky window too.
func TestCacheInvalidation(t *testing.T) {
	s := newStack(t, options{})
	alice, anon := s.client(), s.client()
	alice.signUp("alice")
	id := strconv.FormatInt(alice.post("v1"), 10)
	s.m.Sync(t)
	for range 3 {
		if r := anon.call("GET", "/api/posts/"+id, ""); r.json()["body"] != "v1" {
			t.Fatalf("read: %s", r.body)
		}
	}
	if !strings.Contains(metric(t, anon, `app_cache_requests_total{layer="local",result="hit"}`), " 2") {
		t.Errorf("the repeated reads were not cache hits")
	}
	if r := alice.call("PUT", "/api/posts/"+id, `{"body":"v2"}`); r.status != 200 {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	s.m.Sync(t)
	if r := anon.call("GET", "/api/posts/"+id, ""); r.json()["body"] != "v2" {
		t.Errorf("read after edit: %s, want v2", r.body)
	}
}

// TestDegraded: Redis and the replica both down; reads and writes work
// from the primary, and readiness holds (the cache is optional).
func TestDegraded(t *testing.T) {
	up := newStack(t, options{})
	alice := up.client()
	alice.signUp("alice")
	down := newStack(t, options{redisAddr: apptest.ClosedAddr(), replicaAddr: apptest.ClosedAddr()})
	c := down.client()
	if r := c.call("POST", "/api/users", `{"name":"bob","password":"correct horse"}`); r.status != 201 {
		t.Fatalf("sign up with cache and replica down: %d %s", r.status, r.body)
	}
	// Sessions live in Redis here, so log in is impossible; write directly.
	_, err := down.m.PrimaryDB.Exec("INSERT INTO `" + down.m.Primary.DBName + "`.posts (user_id, body, created_at, updated_at) VALUES (1, 'from primary', NOW(), NOW())")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if r := c.call("GET", "/api/posts/1", ""); r.status != 200 || r.json()["body"] != "from primary" {
			t.Fatalf("read with cache and replica down: %d %s", r.status, r.body)
		}
	}
	if r := c.call("GET", "/api/users/1/posts", ""); r.status != 200 {
		t.Errorf("list with cache and replica down: %d %s", r.status, r.body)
	}
	r := c.call("GET", "/readyz", "")
	if r.status != 200 || r.json()["cache"] != "down" || r.json()["database"] != "ok" {
		t.Errorf("readyz: %d %s, want 200 with the cache down", r.status, r.body)
	}
}

func metric(t *testing.T, c *client, prefix string) string {
	t.Helper()
	r := c.call("GET", "/metrics", "")
	for _, line := range strings.Split(string(r.body), "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	return ""
}

func TestOperations(t *testing.T) {
	s := newStack(t, options{})
	c := s.client()
	if r := c.call("GET", "/healthz", ""); r.status != 200 {
		t.Errorf("healthz: %d", r.status)
	}
	if r := c.call("GET", "/readyz", ""); r.status != 200 || r.json()["database"] != "ok" || r.json()["cache"] != "ok" {
		t.Errorf("readyz: %d %s", r.status, r.body)
	}
	c.call("GET", "/api/posts/1", "")
	for _, m := range []string{
		`app_http_requests_total{code="404",method="GET",route="GET /api/posts/{id}"} 1`,
		`app_http_request_duration_seconds_bucket{method="GET",route="GET /api/posts/{id}"`,
		`app_errors_total{code="not_found"}`,
		`app_db_reads_total{result="ok",target="replica"}`,
		`go_sql_max_open_connections{db_name="primary"} 32`,
		`app_cache_requests_total{layer="local",result="miss"}`,
	} {
		if metric(t, c, m) == "" {
			t.Errorf("metrics lack %s", m)
		}
	}
	if r := c.call("GET", "/", ""); r.status != 200 || !strings.Contains(string(r.body), `href="/static/style.css"`) {
		t.Errorf("home: %d %s", r.status, r.body)
	}
	if r := c.call("GET", "/static/style.css", ""); r.status != 200 || !strings.Contains(string(r.body), "font-family") {
		t.Errorf("static: %d", r.status)
	}
}

// TestReadRole: the read API serves reads and refuses writes.
func TestReadRole(t *testing.T) {
	s := newStack(t, options{role: "read"})
	c := s.client()
	if r := c.call("POST", "/api/users", `{"name":"alice","password":"correct horse"}`); r.status != 404 || r.code() != "not_found" {
		t.Errorf("write on the read API: %d %s", r.status, r.body)
	}
	if r := c.call("GET", "/api/posts/1", ""); r.status != 404 || r.code() != "not_found" {
		t.Errorf("read on the read API: %d %s", r.status, r.body)
	}
	if s.count("users") != 0 {
		t.Error("the read API wrote")
	}
}
