package dynamo

import (
	"context"
	"math/rand"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// viewsPerServer is what one read-API server counts in a second at the
// seed's load: 40,000 reads/s over the 12 read-API servers the capacity
// model sizes for it (docs/stages/users-plus-5.md), if every read were a
// post's.
const viewsPerServer = 40_000 / 12

// countingTransport counts the UpdateItem calls that reach the server.
type countingTransport struct{ updates atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".UpdateItem") {
		c.updates.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// BenchmarkViews measures, against dynalite, what a second of one server's
// views costs DynamoDB: UpdateItem calls per view and time per view. The
// posts read follow a Zipf law (s = 1.1 over a million posts, a few posts
// take most reads, as on any social site). "per-view" is the baseline, a
// write for every read as a counter column in MySQL would be; "1s" is the
// counter's default, the sums of a second of views flushed at once; "10s"
// is COUNTER_FLUSH_INTERVAL=10s. Each mode has a fresh table, warmed by one
// uncounted batch. Recorded in docs/benchmarks.md:
//
//	go test -run '^$' -bench BenchmarkViews -benchtime 3x ./app/dynamo
func BenchmarkViews(b *testing.B) {
	ep := endpoint(b)
	for _, mode := range []struct {
		name    string
		seconds int // views of this many seconds per flush; 0: a flush per view
	}{{"per-view", 0}, {"1s", 1}, {"10s", 10}} {
		b.Run(mode.name, func(b *testing.B) {
			table, _ := newTable(b, ep)
			tr := &countingTransport{}
			c, err := New(awsConfig(), Options{Table: table, Endpoint: ep, Exists: allExist,
				HTTPClient: &http.Client{Transport: tr}, Registerer: prometheus.NewRegistry()})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			zipf := rand.NewZipf(rand.New(rand.NewSource(1)), 1.1, 1, 1_000_000)
			batch := func(n int) {
				for range n {
					c.View(int64(zipf.Uint64()) + 1)
					if mode.seconds == 0 {
						if err := c.Flush(ctx); err != nil {
							b.Fatal(err)
						}
					}
				}
				if err := c.Flush(ctx); err != nil {
					b.Fatal(err)
				}
			}
			// Warm up, untimed and uncounted: the hot posts' items exist, as
			// on a table that has counted for a while (an item's first write
			// costs a refused conditional update and a create).
			n := viewsPerServer * max(mode.seconds, 1)
			batch(n)
			tr.updates.Store(0)
			views := 0
			b.ResetTimer()
			for b.Loop() {
				batch(n)
				views += n
			}
			b.ReportMetric(float64(tr.updates.Load())/float64(views), "updates/view")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(views), "ns/view")
		})
	}
}
