// Package sentry reports the app's errors to Sentry with the official SDK
// (github.com/getsentry/sentry-go), through the app's structured logs: a
// slog.Handler wrapper turns every ERROR record into a Sentry event (a
// recovered panic, an internal error answered 500, a 5xx with no logged
// cause, a thumbnail job dead-lettered, any other failure the app logs at
// ERROR) and every WARN record into a breadcrumb (a 503 of a dependency
// failing over, a job retried), attached to the next event as context.
//
// The logs are the one source: the code that fails logs once, and both
// CloudWatch (metric filter { $.level = "ERROR" }) and Sentry see it. An
// ERROR record marked app.LogCauseLogged (the request line after its
// cause) is not reported again.
//
// Why WARN is not an event: a 503 is the designed answer while a
// dependency is unavailable (Retry-After, the client retries); during a
// cache failover there are thousands a second. As events they would fill
// the SDK's buffer (100 error events, oldest dropped) and the Sentry quota,
// pushing out the real bugs; CloudWatch counts them already.
//
// What never leaves the process: request headers, cookies, bodies and query
// strings (events carry only the method and path of the log record), the
// user's address. The SDK's data collection is off for all of them, and a
// BeforeSend hook strips them again and filters any field whose name looks
// secret, in case a later change attaches a request.
//
// Sentry never slows serving: capturing only queues the event (the SDK's
// bounded buffers; when full, events are dropped), one background goroutine
// sends, each send has a deadline (Options.Timeout), and Flush waits at
// most its timeout at shutdown.
package sentry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	sentrygo "github.com/getsentry/sentry-go"

	"github.com/scaling-aws/scaling-aws/app"
)

// Options configure a Reporter.
type Options struct {
	// DSN is the project's Sentry DSN, https://PUBLIC_KEY@HOST/PROJECT_ID.
	DSN string
	// Environment names the deployment (the stack's environment).
	// Default: none.
	Environment string
	// Release is the app's version. Default: none.
	Release string
	// Timeout bounds one send to Sentry. Default: 5s (the SDK's own is
	// 30 s, during which its one sender holds every later event behind a
	// hung endpoint).
	Timeout time.Duration
	// HTTPTransport carries the sends. Default: a clone of
	// http.DefaultTransport (proxies from the environment).
	HTTPTransport http.RoundTripper
}

// Reporter sends events to one Sentry project.
type Reporter struct {
	hub *sentrygo.Hub
}

// maxBreadcrumbs is how many recent WARN records an event carries: enough
// to see what degraded before a failure, little enough to keep events
// small (the SDK's default is 100).
const maxBreadcrumbs = 30

// CheckDSN validates a Sentry DSN. Its messages never contain the DSN,
// whose key is treated as a secret.
func CheckDSN(dsn string) error {
	u, err := url.Parse(dsn)
	switch {
	case err != nil:
		return errors.New("is not a URL")
	case u.Scheme != "https" && u.Scheme != "http":
		return errors.New("must start with https://")
	case u.User == nil || u.User.Username() == "":
		return errors.New("has no public key (the part before @)")
	case u.Hostname() == "":
		return errors.New("has no host")
	case strings.Trim(u.Path, "/") == "":
		return errors.New("has no project id (the path after the host)")
	}
	if p := u.Port(); p != "" {
		for _, c := range p {
			if c < '0' || c > '9' {
				return errors.New("has a port that is not a number")
			}
		}
	}
	return nil
}

// New makes a Reporter. It does no network exchange.
func New(o Options) (*Reporter, error) {
	if err := CheckDSN(o.DSN); err != nil {
		return nil, fmt.Errorf("the Sentry DSN %w; expected https://PUBLIC_KEY@HOST/PROJECT_ID", err)
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.HTTPTransport == nil {
		o.HTTPTransport = http.DefaultTransport.(*http.Transport).Clone()
	}
	off := &sentrygo.KeyValueCollectionBehavior{Mode: sentrygo.CollectionOff}
	client, err := sentrygo.NewClient(sentrygo.ClientOptions{
		Dsn: o.DSN, Environment: o.Environment, Release: o.Release,
		// Deprecated in favour of DataCollection, which decides when set;
		// false in any case: no personal data by default.
		SendDefaultPII: false,
		DataCollection: &sentrygo.DataCollection{
			UserInfo: sentrygo.Set(false), Cookies: off, QueryParams: off,
			HTTPHeaders: &sentrygo.HeaderCollectionConfig{Request: off, Response: off},
			HTTPBodies:  []sentrygo.BodyType{},
		},
		BeforeSend: scrub,
		BeforeBreadcrumb: func(b *sentrygo.Breadcrumb, _ *sentrygo.BreadcrumbHint) *sentrygo.Breadcrumb {
			scrubMap(b.Data)
			return b
		},
		MaxBreadcrumbs: maxBreadcrumbs,
		HTTPClient:     &http.Client{Timeout: o.Timeout, Transport: o.HTTPTransport},
	})
	if err != nil {
		// The SDK's parse error may quote the DSN: not repeated here.
		return nil, errors.New("the Sentry DSN is refused by the SDK; expected https://PUBLIC_KEY@HOST/PROJECT_ID")
	}
	return &Reporter{hub: sentrygo.NewHub(client, sentrygo.NewScope())}, nil
}

// Flush waits until the queued events are sent, at most timeout; it
// reports whether everything was sent.
func (r *Reporter) Flush(timeout time.Duration) bool { return r.hub.Flush(timeout) }

// Handler wraps next: records go on to next as before (when next is
// enabled for their level), and WARN and ERROR records also go to Sentry.
func (r *Reporter) Handler(next slog.Handler) slog.Handler {
	return &handler{r: r, next: next}
}

type handler struct {
	r      *Reporter
	next   slog.Handler
	attrs  []slog.Attr // from WithAttrs, keys already prefixed by groups
	prefix string      // from WithGroup: "group."
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.next.Enabled(ctx, l)
}

func (h *handler) Handle(ctx context.Context, rec slog.Record) error {
	switch {
	case rec.Level >= slog.LevelError:
		h.report(rec)
	case rec.Level >= slog.LevelWarn:
		h.breadcrumb(rec)
	}
	if h.next.Enabled(ctx, rec.Level) {
		return h.next.Handle(ctx, rec)
	}
	return nil
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(as)
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), prefixed(h.prefix, as)...)
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.next = h.next.WithGroup(name)
	c.prefix = h.prefix + name + "."
	return &c
}

func prefixed(prefix string, as []slog.Attr) []slog.Attr {
	if prefix == "" {
		return as
	}
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = slog.Attr{Key: prefix + a.Key, Value: a.Value}
	}
	return out
}

// fields flattens the handler's and the record's attributes (groups as
// "a.b" keys) into a map of JSON-friendly values.
func (h *handler) fields(rec slog.Record) map[string]any {
	m := map[string]any{}
	var add func(key string, v slog.Value)
	add = func(key string, v slog.Value) {
		v = v.Resolve()
		switch v.Kind() {
		case slog.KindGroup:
			for _, a := range v.Group() {
				k := a.Key
				if key != "" {
					k = key + "." + a.Key
				}
				add(k, a.Value)
			}
		case slog.KindString, slog.KindInt64, slog.KindUint64, slog.KindFloat64, slog.KindBool:
			m[key] = v.Any()
		default:
			m[key] = v.String()
		}
	}
	for _, a := range h.attrs {
		add(a.Key, a.Value)
	}
	rec.Attrs(func(a slog.Attr) bool {
		add(h.prefix+a.Key, a.Value)
		return true
	})
	return m
}

func (h *handler) report(rec slog.Record) {
	f := h.fields(rec)
	if f[app.LogCauseLogged] == true {
		return
	}
	ev := sentrygo.NewEvent()
	ev.Level = sentrygo.LevelError
	ev.Timestamp = rec.Time
	ev.Logger = "slog"
	ev.Message = rec.Message
	value := rec.Message
	if e, ok := f["err"].(string); ok && e != "" {
		value = e
	} else if p, ok := f["panic"].(string); ok && p != "" {
		value = p
	}
	// The record's message is the title and the error its
	// subtitle; the stack of the logging call groups the issues.
	ev.Exception = []sentrygo.Exception{{Type: rec.Message, Value: value, Stacktrace: callerStack()}}
	if m, ok := f["method"].(string); ok {
		if p, ok := f["path"].(string); ok {
			ev.Request = &sentrygo.Request{Method: m, URL: p}
		}
	}
	ev.Contexts["log"] = f
	h.r.hub.CaptureEvent(ev)
}

func (h *handler) breadcrumb(rec slog.Record) {
	h.r.hub.AddBreadcrumb(&sentrygo.Breadcrumb{
		Type: "default", Category: "log", Level: sentrygo.LevelWarning,
		Message: rec.Message, Data: h.fields(rec), Timestamp: rec.Time,
	}, nil)
}

// callerStack is the stack of the logging call, without the frames of slog
// and of this package (for a recovered panic it still holds the panicking
// frames: the deferred recover runs on top of them).
func callerStack() *sentrygo.Stacktrace {
	st := sentrygo.NewStacktrace()
	if st == nil {
		return nil
	}
	frames := st.Frames[:0]
	for _, fr := range st.Frames {
		if fr.Module == "log/slog" || fr.Module == thisPackage {
			continue
		}
		frames = append(frames, fr)
	}
	st.Frames = frames
	return st
}

const thisPackage = "github.com/scaling-aws/scaling-aws/app/sentry"

// sensitive are parts of field names whose values are never sent.
var sensitive = []string{"password", "passwd", "secret", "token", "authorization", "cookie", "dsn",
	"x-origin-verify", "origin_verify", "api_key", "apikey", "credential"}

func isSensitive(key string) bool {
	k := strings.ToLower(key)
	for _, s := range sensitive {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func scrubMap(m map[string]any) {
	for k := range m {
		if isSensitive(k) {
			m[k] = "[Filtered]"
		}
	}
}

// scrub is the BeforeSend hook: whatever built the event, no header,
// cookie, body, query string, environment or user address is sent.
func scrub(ev *sentrygo.Event, _ *sentrygo.EventHint) *sentrygo.Event {
	if ev.Request != nil {
		ev.Request = &sentrygo.Request{Method: ev.Request.Method, URL: stripQuery(ev.Request.URL)}
	}
	ev.User = sentrygo.User{}
	for _, c := range ev.Contexts {
		scrubMap(c)
	}
	for _, b := range ev.Breadcrumbs {
		scrubMap(b.Data)
	}
	for k := range ev.Tags {
		if isSensitive(k) {
			ev.Tags[k] = "[Filtered]"
		}
	}
	return ev
}

func stripQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}
