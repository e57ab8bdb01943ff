// Package http is the HTTP adapter: the read and write JSON APIs, photo
// uploads, media and static content, health, readiness and metrics.
package http

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/crypto/bcrypt"

	"github.com/scaling-aws/scaling-aws/app"
)

//go:embed static
var staticFS embed.FS

// pageTemplate is the home page, a template the app fills in (the static
// base URL, the role). It is kept outside static/ so that neither /static/
// nor the object store ever serves it raw.
//
//go:embed page.html.tmpl
var pageTemplate string

// StaticFS returns the embedded static content (style, script), rooted at
// its folder, so that it can be exported to the object store.
func StaticFS() fs.FS {
	sub, _ := fs.Sub(staticFS, "static")
	return sub
}

// Role selects which routes a server answers.
type Role string

// Roles. RoleWorker serves only health, readiness and metrics.
const (
	RoleAll    Role = "all"
	RoleRead   Role = "read"
	RoleWrite  Role = "write"
	RoleWorker Role = "worker"
)

// Server holds the dependencies of the HTTP handlers. Nil stores disable
// their routes' features (Blobs nil: no photos).
type Server struct {
	// Role selects the routes. Default: RoleAll.
	Role Role
	// Users stores accounts (the database).
	Users app.UserStore
	// Posts stores posts: the database, or the cache layer over it.
	Posts app.PostStore
	// Photos stores photo records; nil disables photos.
	Photos app.PhotoStore
	// Latest serves GET /api/posts, the newest posts of all users (with
	// sharding, a merge over every shard). Default: nil, no such route.
	Latest Feed
	// Sessions stores sessions (Redis or the database, maybe behind an
	// in-process lookup cache).
	Sessions app.SessionStore
	// Blobs keeps originals and thumbnails; nil disables photos.
	Blobs app.BlobStore
	// Queue takes thumbnail jobs; nil disables photos.
	Queue app.Queue
	// Views counts the reads of GET /api/posts/{id} and adds "views" to
	// its answer when the count is known in time. Default: nil, no counting
	// (and no "views" field).
	Views app.ViewCounter
	// Ready lists what /readyz checks; an entry marked Optional only reports.
	Ready []Check
	// CDNBaseURL, when set, is where media and static URLs point
	// (CloudFront in front of the bucket). Default: served by the app.
	// Its origin is trusted for writes (see Origins).
	CDNBaseURL string
	// Origins lists the origins (scheme://host[:port]) whose pages may
	// send writes besides the request's own Host: the site's public URL
	// when a proxy or CDN rewrites Host. A browser write from any other
	// origin is refused (CSRF). Default: none beyond Host and CDNBaseURL.
	Origins []string
	// SessionTTL is a session's lifetime. Default: 24h.
	SessionTTL time.Duration
	// StickyFor is how long after a write a client's reads go to the
	// primary (read-your-own-writes). Default: 5s.
	StickyFor time.Duration
	// BcryptCost is the password hashing cost. Default: bcrypt.DefaultCost.
	BcryptCost int
	// MaxPhotoBytes bounds an upload. Default: 10 MiB.
	MaxPhotoBytes int64
	// MaxPhotoPixels bounds width*height, against decompression bombs.
	// Default: 40 million.
	MaxPhotoPixels int
	// Now is the clock. Default: time.Now.
	Now app.Clock
	// Logger receives errors and request logs. Default: slog.Default().
	Logger *slog.Logger
	// SlowRequest is the duration from which a successful request is
	// logged (INFO); 5xx answers are always logged and, at debug level,
	// every request. Default: 1s; negative: never.
	SlowRequest time.Duration
	// Registerer and Gatherer hold the metrics. Default: a new registry.
	Registerer prometheus.Registerer
	// Gatherer serves /metrics; it must gather what Registerer registers.
	Gatherer prometheus.Gatherer

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// inFlight counts the requests being served now (InFlight).
	inFlight atomic.Int64
	errs     *prometheus.CounterVec
	index    *template.Template
	// sessions is Sessions with its failures reported as EUNAVAILABLE.
	sessions app.SessionStore
	// verify checks a password against a bcrypt hash; tests count calls.
	verify func(hash, password []byte) error
	// dummyHash is verified against when a login names no user: a hash of
	// the same cost as real ones, so that both answers take as long.
	dummyHash []byte
}

// Feed is the global "latest posts" read: the newest posts of all users,
// newest first, at most limit of them.
type Feed interface {
	LatestPosts(ctx context.Context, limit int) ([]*app.Post, error)
}

// Check is one dependency /readyz looks at.
type Check struct {
	// Name is the key in the /readyz answer.
	Name string
	// Pinger is called with a 2s deadline.
	Pinger app.Pinger
	// Optional checks are reported but do not make /readyz fail.
	Optional bool
}

func (s *Server) defaults() {
	if s.Role == "" {
		s.Role = RoleAll
	}
	if s.SessionTTL <= 0 {
		s.SessionTTL = 24 * time.Hour
	}
	if s.StickyFor <= 0 {
		s.StickyFor = 5 * time.Second
	}
	if s.MaxPhotoBytes <= 0 {
		s.MaxPhotoBytes = 10 << 20
	}
	if s.MaxPhotoPixels <= 0 {
		s.MaxPhotoPixels = 40_000_000
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.SlowRequest == 0 {
		s.SlowRequest = time.Second
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Registerer == nil || s.Gatherer == nil {
		reg := prometheus.NewRegistry()
		s.Registerer, s.Gatherer = reg, reg
	}
	s.CDNBaseURL = strings.TrimRight(s.CDNBaseURL, "/")
	if s.BcryptCost == 0 {
		s.BcryptCost = bcrypt.DefaultCost
	}
	if s.verify == nil {
		s.verify = bcrypt.CompareHashAndPassword
	}
	s.sessions = unavailableSessions{s.Sessions}
}

// Handler returns the routes of s.Role, wrapped in metrics, recovery and
// request logs (see instrument). It registers the HTTP metrics, so it is
// called once per Server.
func (s *Server) Handler() http.Handler {
	s.defaults()
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "app_http_requests_total", Help: "HTTP requests by route, method and status code.",
	}, []string{"route", "method", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "app_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route", "method"})
	s.errs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "app_errors_total", Help: "Errors returned to clients, by code.",
	}, []string{"code"})
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "app_http_requests_in_flight", Help: "HTTP requests being served now (the custom scaling metric).",
	}, func() float64 { return float64(s.InFlight()) })
	s.Registerer.MustRegister(s.requests, s.latency, s.errs, inFlight)
	s.index = template.Must(template.New("page").Parse(pageTemplate))
	dummy, err := bcrypt.GenerateFromPassword([]byte("no such user: a hash to compare against"), s.BcryptCost)
	if err != nil {
		panic(fmt.Sprintf("BcryptCost %d: %v", s.BcryptCost, err))
	}
	s.dummyHash = dummy

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{}))
	if s.Role == RoleWorker {
		mux.HandleFunc("/", s.noRoute(mux))
		return s.instrument(mux)
	}
	// Reads: every API role.
	mux.HandleFunc("GET /api/posts/{id}", s.getPost)
	mux.HandleFunc("GET /api/users/{id}/posts", s.listPosts)
	if s.Latest != nil {
		mux.HandleFunc("GET /api/posts", s.latestPosts)
	}
	mux.HandleFunc("GET /api/me", s.me)
	mux.HandleFunc("GET /api/photos/{id}", s.getPhoto)
	mux.HandleFunc("GET /media/{key...}", s.media)
	mux.HandleFunc("GET /static/", s.static)
	mux.HandleFunc("GET /{$}", s.home)
	if s.Role == RoleAll || s.Role == RoleWrite {
		mux.HandleFunc("POST /api/users", s.signUp)
		mux.HandleFunc("POST /api/sessions", s.logIn)
		mux.HandleFunc("DELETE /api/sessions", s.logOut)
		mux.HandleFunc("POST /api/posts", s.createPost)
		mux.HandleFunc("PUT /api/posts/{id}", s.updatePost)
		mux.HandleFunc("PATCH /api/posts/{id}", s.updatePost)
		mux.HandleFunc("DELETE /api/posts/{id}", s.deletePost)
		mux.HandleFunc("POST /api/photos", s.uploadPhoto)
	}
	mux.HandleFunc("/", s.noRoute(mux))
	return s.instrument(s.crossOrigin(mux))
}

// probeMethods are the methods tried on a path to build a 405's Allow.
var probeMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}

// noRoute answers what no route matches: 405 with Allow when the path is
// served under other methods (asking the mux itself, so that the list
// cannot drift from the routes), else 404.
func (s *Server) noRoute(mux *http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range probeMethods {
			probe := *r
			probe.Method = m
			if _, pattern := mux.Handler(&probe); pattern != "" && pattern != "/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.Error(w, r, app.Errorf(app.EMETHOD, "%.20q is not allowed on %s: use %s",
				r.Method, r.URL.Path, strings.Join(allow, ", ")))
			return
		}
		s.Error(w, r, app.Errorf(app.ENOTFOUND, "no route for %.20s %s on the %s API", r.Method, r.URL.Path, s.Role))
	}
}

// crossOrigin refuses a browser's write from a page of another origin
// (CSRF): net/http's CrossOriginProtection, which trusts Sec-Fetch-Site
// when the browser sends it and otherwise compares Origin with Host. Safe
// methods pass, and so do requests with neither header: API clients and
// curl, which carry no ambient cookie a foreign page could ride on.
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	trusted := append([]string(nil), s.Origins...)
	if s.CDNBaseURL != "" {
		if u, err := url.Parse(s.CDNBaseURL); err == nil && u.Host != "" {
			trusted = append(trusted, u.Scheme+"://"+u.Host)
		}
	}
	for _, o := range trusted {
		if err := cop.AddTrustedOrigin(o); err != nil {
			panic(fmt.Sprintf("trusted origin %q: %v (config validates it first)", o, err))
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from := r.Header.Get("Origin")
		if from == "" {
			from = "another site (Sec-Fetch-Site: " + r.Header.Get("Sec-Fetch-Site") + ")"
		}
		s.Error(w, r, app.Errorf(app.EFORBIDDEN, "cross-origin write refused: a page on %.100s may not send %s %s to this site; "+
			"write from the app's own pages, or from an API client that sends no Origin header", from, r.Method, r.URL.Path))
	}))
	return cop.Handler(next)
}

// unavailableSessions reports a failure of the session store (Redis lost
// or stalled, the database unreachable) as EUNAVAILABLE, 503 with
// Retry-After: no request can be authenticated until it is back, and the
// client should retry rather than treat it as a bug. Errors the store
// itself meant for the client (EUNAUTHORIZED, EINVALID) pass unchanged.
type unavailableSessions struct{ app.SessionStore }

func sessionsErr(err error) error {
	if err == nil || app.ErrorCode(err) != app.EINTERNAL {
		return err
	}
	return app.Unavailable(err, "the session store is unavailable: retry in a few seconds")
}

func (u unavailableSessions) CreateSession(ctx context.Context, sess *app.Session) error {
	return sessionsErr(u.SessionStore.CreateSession(ctx, sess))
}

func (u unavailableSessions) Session(ctx context.Context, token string) (*app.Session, error) {
	sess, err := u.SessionStore.Session(ctx, token)
	return sess, sessionsErr(err)
}

func (u unavailableSessions) DeleteSession(ctx context.Context, token string) error {
	return sessionsErr(u.SessionStore.DeleteSession(ctx, token))
}

type statusWriter struct {
	http.ResponseWriter
	code int
	// causeLogged is set when the request's failure was already logged at
	// ERROR (Error on an internal error, a recovered panic).
	causeLogged bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// InFlight returns how many requests are being served now: the app's
// custom scaling metric (sent to StatsD by main, and on /metrics as
// app_http_requests_in_flight).
func (s *Server) InFlight() int64 { return s.inFlight.Load() }

// instrument counts, times and logs every request and turns a panic into a
// 500 (logged at ERROR) so that the process keeps serving.
//
// Request lines (keys method, path, route, status, duration_ms) are logged
// at ERROR for a 5xx other than 503, WARN for a 503 (a designed, degraded
// answer: a dependency is failing over, the client retries), INFO for a
// request slower than SlowRequest, DEBUG for every other one. Logging every
// request at INFO is not done: at the design's 40,000 requests/s it would be
// some 20 TB of CloudWatch Logs a month, and nginx's access log on the web
// tier already has one line per request.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.inFlight.Add(1)
		sw := statusWriters.Get().(*statusWriter)
		*sw = statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					s.inFlight.Add(-1)
					panic(v)
				}
				s.Logger.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
				sw.causeLogged = true
				if sw.code == 0 {
					s.Error(sw, r, errors.New("panic"))
				}
			}
			s.inFlight.Add(-1)
			// Every label is bounded: the route is the pattern that matched
			// (a fixed set), never the raw path; the method is a known one or
			// "other"; the status is what the handlers write.
			route := r.Pattern
			if route == "" || route == "/" {
				route = "unmatched"
			}
			code := sw.code
			if code == 0 {
				code = http.StatusOK
			}
			method := methodLabel(r.Method)
			elapsed := time.Since(start)
			s.requests.WithLabelValues(route, method, codeLabel(code)).Inc()
			s.latency.WithLabelValues(route, method).Observe(elapsed.Seconds())
			level := slog.LevelDebug
			switch {
			case code == http.StatusServiceUnavailable:
				level = slog.LevelWarn
			case code >= 500:
				level = slog.LevelError
			case s.SlowRequest > 0 && elapsed >= s.SlowRequest:
				level = slog.LevelInfo
			}
			if s.Logger.Enabled(r.Context(), level) {
				attrs := []slog.Attr{slog.String("method", r.Method), slog.String("path", r.URL.Path),
					slog.String("route", route), slog.Int("status", code),
					slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000)}
				if level == slog.LevelError && sw.causeLogged {
					attrs = append(attrs, slog.Bool(app.LogCauseLogged, true))
				}
				s.Logger.LogAttrs(r.Context(), level, "request", attrs...)
			}
			*sw = statusWriter{}
			statusWriters.Put(sw)
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriters recycles the per-request statusWriter (one allocation
// less per request on the hot path).
var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

// codeLabels holds the label of every status, so that counting a request
// formats no number.
var codeLabels = func() (l [600]string) {
	for i := range l {
		l[i] = strconv.Itoa(i)
	}
	return l
}()

func codeLabel(code int) string {
	if code >= 0 && code < len(codeLabels) {
		return codeLabels[code]
	}
	return strconv.Itoa(code)
}

// methodLabel is the metrics label of a method: a client may send any token
// as a method, and each new label value is a new series kept forever.
func methodLabel(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
		return m
	}
	return "other"
}

// retryAfter is the Retry-After of an EUNAVAILABLE answer, in seconds:
// about the time a cache node takes to restart or a replica to be promoted
// (users+++), short enough that a client retrying does not wait long.
const retryAfter = "5"

// status is the one place where error codes become HTTP statuses.
var status = map[string]int{
	app.EINVALID:      http.StatusBadRequest,
	app.ENOTFOUND:     http.StatusNotFound,
	app.ECONFLICT:     http.StatusConflict,
	app.EUNAUTHORIZED: http.StatusUnauthorized,
	app.EFORBIDDEN:    http.StatusForbidden,
	app.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	app.EINTERNAL:     http.StatusInternalServerError,
	app.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	app.EMETHOD:       http.StatusMethodNotAllowed,
	app.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

// ErrorStatus returns the HTTP status of an error code.
func ErrorStatus(code string) int {
	if st, ok := status[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	// Error holds the stable code and a message safe to show.
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Error writes err as a JSON error. Internal errors are logged with their
// detail and answered with a generic message.
func (s *Server) Error(w http.ResponseWriter, r *http.Request, err error) {
	code := app.ErrorCode(err)
	if _, known := status[code]; !known {
		// An adapter's made-up code would be a new metrics series and a
		// code no client knows: it is a bug, answered as internal.
		err, code = fmt.Errorf("unknown error code %q: %w", code, err), app.EINTERNAL
	}
	switch code {
	case app.EINTERNAL:
		// One failure, one ERROR record with its cause: a recovered panic
		// was logged already.
		sw, ok := w.(*statusWriter)
		if !ok || !sw.causeLogged {
			s.Logger.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		if ok {
			sw.causeLogged = true
		}
	case app.EUNAVAILABLE:
		s.Logger.Warn("dependency unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", retryAfter)
	}
	s.errs.WithLabelValues(code).Inc()
	var body ErrorBody
	body.Error.Code = code
	body.Error.Message = app.ErrorMessage(err)
	writeJSON(w, ErrorStatus(code), body)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	code, out := http.StatusOK, map[string]string{}
	for _, c := range s.Ready {
		if err := c.Pinger.Ping(ctx); err != nil {
			out[c.Name] = "down"
			if !c.Optional {
				code = http.StatusServiceUnavailable
			}
			s.Logger.Warn("readiness check failed", "check", c.Name, "err", err)
			continue
		}
		out[c.Name] = "ok"
	}
	writeJSON(w, code, out)
}

func pathID(r *http.Request, name string) (int64, error) {
	return positive(name, r.PathValue(name))
}

// positive parses a positive int64 id or cursor, saying which rule v
// breaks: not a number, out of range, or not positive.
func positive(name, v string) (int64, error) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err == nil && id > 0 {
		return id, nil
	}
	var numErr *strconv.NumError
	switch {
	case errors.As(err, &numErr) && numErr.Err == strconv.ErrRange:
		return 0, app.Errorf(app.EINVALID, "%s %.30s is out of range: it must be from 1 to %d", name, v, int64(math.MaxInt64))
	case err != nil:
		return 0, app.Errorf(app.EINVALID, "%s %.30q is not a number: it must be a whole number from 1 to %d", name, v, int64(math.MaxInt64))
	case id <= 0:
		return 0, app.Errorf(app.EINVALID, "%s %d is out of range: it must be from 1 to %d", name, id, int64(math.MaxInt64))
	}
	return id, nil
}
