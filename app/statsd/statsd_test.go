package statsd_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scaling-aws/scaling-aws/app"
	apphttp "github.com/scaling-aws/scaling-aws/app/http"
	"github.com/scaling-aws/scaling-aws/app/statsd"
)

// heldPosts blocks every read until release is closed.
type heldPosts struct {
	app.PostStore
	entered chan struct{}
	release chan struct{}
}

func (h *heldPosts) Post(ctx context.Context, id int64) (*app.Post, error) {
	h.entered <- struct{}{}
	<-h.release
	return &app.Post{ID: id, UserID: 1, Body: "x"}, nil
}

// TestGaugeOfHeldRequests: with 3 requests held in the real HTTP handler,
// a UDP listener on 127.0.0.1 receives app_inflight_requests:3|g.
func TestGaugeOfHeldRequests(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()

	posts := &heldPosts{entered: make(chan struct{}), release: make(chan struct{})}
	srv := &apphttp.Server{Role: apphttp.RoleRead, Posts: posts, Logger: slog.New(slog.DiscardHandler)}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res, err := http.Get(ts.URL + "/api/posts/1"); err == nil {
				res.Body.Close()
			}
		}()
		<-posts.entered
	}
	defer func() { close(posts.release); wg.Wait() }()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := &statsd.Gauge{Addr: pc.LocalAddr().String(), Name: "app_inflight_requests", Value: srv.InFlight,
		Interval: 50 * time.Millisecond, Samples: 5}
	go g.Run(ctx)

	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no gauge arrived: %v", err)
	}
	if got := string(buf[:n]); got != "app_inflight_requests:3|g" {
		t.Errorf("datagram %q, want app_inflight_requests:3|g", got)
	}
}

// TestGaugeMean: the line carries the mean of the interval's samples.
func TestGaugeMean(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var mu sync.Mutex
	vals := []int64{1, 2, 2, 3}
	i := 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := &statsd.Gauge{Addr: pc.LocalAddr().String(), Name: "g", Interval: 40 * time.Millisecond, Samples: 4,
		Value: func() int64 { mu.Lock(); defer mu.Unlock(); v := vals[i%4]; i++; return v }}
	go g.Run(ctx)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, _, err := pc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "g:2|g" {
		t.Errorf("datagram %q (%v), want g:2|g", buf[:n], err)
	}
}

// TestGaugeWithoutListener: sending to a port nobody listens on never stops
// the loop nor returns an error; the failure is logged once, not per send
// (the next log would come after 10 minutes).
func TestGaugeWithoutListener(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	var logs syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	g := &statsd.Gauge{Addr: addr, Name: "g", Value: func() int64 { return 1 }, Interval: 20 * time.Millisecond,
		Samples: 1, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if n := strings.Count(logs.String(), "statsd send failed"); n != 1 {
		t.Errorf("the failure was logged %d times, want once:\n%s", n, logs.String())
	}
}

func TestCheckAddr(t *testing.T) {
	for addr, ok := range map[string]bool{"127.0.0.1:8125": true, "localhost:8125": true, "127.0.0.1": false,
		"127.0.0.1:0": false, "127.0.0.1:x": false, ":8125": false} {
		if err := statsd.CheckAddr(addr); (err == nil) != ok {
			t.Errorf("CheckAddr(%q) = %v", addr, err)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
