// Package statsd sends the app's custom scaling metric, the requests in
// flight, as a StatsD gauge over UDP to the CloudWatch agent's StatsD
// listener (127.0.0.1:8125 on the API servers), which publishes it as
// CWAgent/app_inflight_requests per Auto Scaling group.
//
// The line is the plain StatsD gauge, "name:value|g" (one per datagram).
// No client library is used: the app sends one gauge every 10 s, so the
// buffering, sampling and client-side aggregation of the StatsD clients
// earn nothing here, and DogStatsD's client (datadog-go) also sends its own
// telemetry gauges by default, which the agent would turn into paid
// CloudWatch custom metrics.
package statsd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"
)

// Gauge samples a value often and sends its mean over each interval.
type Gauge struct {
	// Addr is the listener's host:port, e.g. 127.0.0.1:8125.
	Addr string
	// Name is the metric name, e.g. app_inflight_requests.
	Name string
	// Value is read at every sample; it must be cheap and safe to call from
	// another goroutine (an atomic load).
	Value func() int64
	// Interval is how often a line is sent. Default: 10s, the agent's
	// metrics_collection_interval.
	Interval time.Duration
	// Samples is how many times Value is read per interval; the line
	// carries their mean, so a burst between two sends still counts.
	// Default: 100 (every 100 ms).
	Samples int
	// Logger receives send failures: the first, then a count at most every
	// 10 minutes. Default: slog.Default().
	Logger *slog.Logger
}

// CheckAddr validates a StatsD address (host:port, port 1-65535) without
// any network exchange.
func CheckAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("is not host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("has port %q, not a number from 1 to 65535", port)
	}
	if host == "" {
		return errors.New("has no host")
	}
	return nil
}

// Run sends the gauge every Interval until ctx is done. It never blocks a
// caller: it runs on its own goroutine, each write has a 1 s deadline, and
// a failed send (no listener, a full socket buffer) only drops that line.
func (g *Gauge) Run(ctx context.Context) error {
	if g.Interval <= 0 {
		g.Interval = 10 * time.Second
	}
	if g.Samples <= 0 {
		g.Samples = 100
	}
	if g.Logger == nil {
		g.Logger = slog.Default()
	}
	// A UDP "connection" only binds a local port: nothing is sent, so this
	// succeeds with no listener, and sends fail (or vanish) later instead.
	conn, err := net.Dial("udp", g.Addr)
	if err != nil {
		return fmt.Errorf("statsd %s: %w", g.Addr, err)
	}
	defer conn.Close()
	tick := time.NewTicker(g.Interval / time.Duration(g.Samples))
	defer tick.Stop()
	var sum int64
	n := 0
	var failed int
	var lastLog time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		sum += g.Value()
		if n++; n < g.Samples {
			continue
		}
		line := g.Name + ":" + strconv.FormatFloat(float64(sum)/float64(n), 'f', -1, 64) + "|g"
		sum, n = 0, 0
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		// A UDP write that succeeds proves nothing (the refusal of a port
		// nobody listens on comes back as an error on the next write), so
		// no "works again" is logged: only failures, rate-limited.
		if _, err := conn.Write([]byte(line)); err != nil {
			failed++
			if now := time.Now(); now.Sub(lastLog) >= 10*time.Minute {
				g.Logger.Warn("statsd send failed; the scaling metric has gaps", "addr", g.Addr,
					"failed_sends", failed, "err", err)
				lastLog, failed = now, 0
			}
		}
	}
}
