package dynamo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/scaling-aws/scaling-aws/app/apptest"
)

// The tests run against dynalite, a DynamoDB-compatible server that
// scripts/services.sh starts (TEST_DYNAMO_ENDPOINT). Each creates its own
// table as the infrastructure does (components.Table).

func endpoint(t testing.TB) string { return apptest.Dynamo(t) }

func awsConfig() aws.Config { return apptest.AWSConfig() }

func newTable(t testing.TB, ep string) (string, *dynamodb.Client) {
	return apptest.NewDynamoTable(t, ep, AttrPK, AttrSK, AttrExpiresAt)
}

// item reads an item strongly consistently; nil when it does not exist.
func item(t *testing.T, c *dynamodb.Client, table string, id int64, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table),
		Key: itemKey(id, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("get %s %s: %v", PK(id), sk, err)
	}
	return out.Item
}

func attrN(t *testing.T, it map[string]types.AttributeValue, name string) int64 {
	t.Helper()
	v, ok := it[name].(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("attribute %s is %T in %v, want a Number", name, it[name], it)
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func allExist(context.Context, int64) (bool, error) { return true, nil }

// TestConcurrentViewsExact: two servers count the same posts from many
// goroutines while their flush loops run; once both have stopped (each
// flushing what is left), every total and day count is exact, the day
// items expire 90 days after their day, and each server serves the count.
func TestConcurrentViewsExact(t *testing.T) {
	ep := endpoint(t)
	table, db := newTable(t, ep)
	day := time.Date(2026, 12, 3, 15, 4, 5, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&day)
	now := func() time.Time { return *clock.Load() }
	var counters []*Counter
	ctx, stop := context.WithCancel(context.Background())
	var running sync.WaitGroup
	for range 3 {
		c, err := New(awsConfig(), Options{Table: table, Endpoint: ep, FlushInterval: 20 * time.Millisecond,
			Exists: allExist, Now: now, Registerer: prometheus.NewRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		counters = append(counters, c)
	}
	servers, reader := counters[:2], counters[2]
	for _, c := range servers {
		running.Go(func() { c.Run(ctx) })
	}
	const goroutines, each, posts = 8, 250, 5
	var views sync.WaitGroup
	for g := range goroutines {
		views.Go(func() {
			c := servers[g%len(servers)]
			for i := range each {
				c.View(int64(1 + i%posts))
				if i%50 == 0 {
					time.Sleep(5 * time.Millisecond) // several flushes during the run
				}
			}
		})
	}
	views.Wait()
	stop()
	running.Wait()

	want := int64(goroutines * each / posts)
	for id := int64(1); id <= posts; id++ {
		total := item(t, db, table, id, SKTotal)
		if total == nil || attrN(t, total, AttrViews) != want {
			t.Errorf("post %d total: %v, want views %d", id, total, want)
			continue
		}
		if attrN(t, total, AttrFirstViewAt) != day.Unix() {
			t.Errorf("post %d first_view_at = %d, want %d", id, attrN(t, total, AttrFirstViewAt), day.Unix())
		}
		if _, has := total[AttrExpiresAt]; has {
			t.Errorf("post %d total carries %s: the all-time count must never expire", id, AttrExpiresAt)
		}
		d := item(t, db, table, id, "day#2026-12-03")
		if d == nil || attrN(t, d, AttrViews) != want {
			t.Errorf("post %d day item: %v, want views %d", id, d, want)
			continue
		}
		if exp := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 90).Unix(); attrN(t, d, AttrExpiresAt) != exp {
			t.Errorf("post %d day item expires_at = %d, want %d (2027-03-03, the day + 90 days)", id, attrN(t, d, AttrExpiresAt), exp)
		}
		// A server that never saw the post reads it once.
		if n, ok := reader.Views(context.Background(), id); !ok || n != want {
			t.Errorf("a third server serves post %d: %d %v, want %d", id, n, ok, want)
		}
	}
	// The two counting servers serve what their last flush returned until
	// it is MaxAge old, then read the total again.
	later := day.Add(11 * time.Second)
	clock.Store(&later)
	for i, c := range servers {
		for id := int64(1); id <= posts; id++ {
			if n, ok := c.Views(context.Background(), id); !ok || n != want {
				t.Errorf("server %d serves post %d past MaxAge: %d %v, want %d", i, id, n, ok, want)
			}
		}
	}
}

// TestCounterOnlyForExistingPosts: the total item is created only after
// Exists says the post exists, once (first_view_at then never changes, and
// Exists is not asked again); a post that does not exist gets no item at
// all and its views are dropped and counted.
func TestCounterOnlyForExistingPosts(t *testing.T) {
	ep := endpoint(t)
	table, db := newTable(t, ep)
	var asked atomic.Int64
	exists := func(_ context.Context, id int64) (bool, error) {
		asked.Add(1)
		return id != 99, nil
	}
	clock := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	reg := prometheus.NewRegistry()
	c, err := New(awsConfig(), Options{Table: table, Endpoint: ep, Exists: exists, Now: func() time.Time { return clock },
		Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c.View(7)
	c.View(7)
	c.View(99)
	c.View(99)
	c.View(99)
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	first := item(t, db, table, 7, SKTotal)
	if first == nil || attrN(t, first, AttrViews) != 2 || attrN(t, first, AttrFirstViewAt) != clock.Unix() {
		t.Fatalf("post 7 after its first flush: %v, want views 2 and first_view_at %d", first, clock.Unix())
	}
	for _, sk := range []string{SKTotal, "day#2026-12-03"} {
		if it := item(t, db, table, 99, sk); it != nil {
			t.Errorf("post 99 (deleted) has item %s: %v, want none", sk, it)
		}
	}
	if n := testutil.ToFloat64(c.dropped.WithLabelValues("no_post")); n != 3 {
		t.Errorf("dropped no_post views = %v, want 3", n)
	}
	if n, ok := c.Views(ctx, 99); !ok || n != 0 {
		t.Errorf("views of post 99 = %d %v, want 0 (nothing pending any more, no item)", n, ok)
	}

	asked.Store(0)
	clock = clock.Add(time.Hour)
	c.View(7)
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("second flush: %v", err)
	}
	again := item(t, db, table, 7, SKTotal)
	if attrN(t, again, AttrViews) != 3 || attrN(t, again, AttrFirstViewAt) != clock.Add(-time.Hour).Unix() {
		t.Errorf("post 7 after a second flush: %v, want views 3 and first_view_at unchanged", again)
	}
	if asked.Load() != 0 {
		t.Errorf("Exists asked %d times for a post whose counter exists, want 0", asked.Load())
	}

	// Two servers creating the same counter at once: one creates it, the
	// other's attribute_not_exists fails and it adds to it instead.
	d, err := New(awsConfig(), Options{Table: table, Endpoint: ep, Exists: exists, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, s := range []*Counter{c, d} {
		for range 10 {
			s.View(8)
		}
		wg.Go(func() {
			if err := s.Flush(ctx); err != nil {
				t.Errorf("racing flush: %v", err)
			}
		})
	}
	wg.Wait()
	if it := item(t, db, table, 8, SKTotal); it == nil || attrN(t, it, AttrViews) != 20 {
		t.Errorf("post 8 after two racing first flushes: %v, want views 20", it)
	}
}

// faults answers the first n DynamoDB calls with a real-shaped throttling
// error (HTTP 400, AWS JSON 1.0, the __type DynamoDB sends) instead of
// passing them on: dynalite never throttles. Calls counts every request.
type faults struct {
	n, calls atomic.Int64
	errType  string
	next     http.RoundTripper
}

func (f *faults) RoundTrip(r *http.Request) (*http.Response, error) {
	f.calls.Add(1)
	if f.n.Add(-1) < 0 {
		return f.next.RoundTrip(r)
	}
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	body := `{"__type":"com.amazonaws.dynamodb.v20120810#` + f.errType + `","message":"The level of configured provisioned throughput for the table was exceeded."}`
	return &http.Response{StatusCode: 400, Status: "400 Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amzn-Requestid": {"FAULT"}},
		Body:   io.NopCloser(bytes.NewBufferString(body)), ContentLength: int64(len(body)), Request: r}, nil
}

// TestThrottlingRetriedThenKept: a throttled call is retried by the SDK
// (up to 3 attempts, backoff capped at 500ms) and the flush succeeds; when
// the throttling outlasts the attempts the flush fails, keeps its sums, and
// the next flush writes them: the count is exact.
func TestThrottlingRetriedThenKept(t *testing.T) {
	ep := endpoint(t)
	table, db := newTable(t, ep)
	for _, errType := range []string{"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"} {
		t.Run(errType, func(t *testing.T) {
			f := &faults{errType: errType, next: http.DefaultTransport}
			c, err := New(awsConfig(), Options{Table: table, Endpoint: ep, Exists: allExist,
				HTTPClient: &http.Client{Transport: f}, Registerer: prometheus.NewRegistry()})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			id := int64(len(errType)) // one post per case
			before := int64(0)
			if it := item(t, db, table, id, SKTotal); it != nil {
				before = attrN(t, it, AttrViews)
			}
			f.n.Store(2)
			c.View(id)
			if err := c.Flush(ctx); err != nil {
				t.Fatalf("flush with 2 throttled attempts: %v, want the third to succeed", err)
			}
			// 2 throttled + the total's success (+ maybe its create) + the day item.
			if calls := f.calls.Load(); calls < 4 {
				t.Errorf("%d HTTP calls, want the 2 throttled ones retried", calls)
			}
			f.n.Store(1000)
			c.View(id)
			c.View(id)
			err = c.Flush(ctx)
			var te interface{ ErrorCode() string }
			if !errors.As(err, &te) || te.ErrorCode() != errType {
				t.Fatalf("flush under lasting throttling: %v, want the %s error", err, errType)
			}
			if got := attrN(t, item(t, db, table, id, SKTotal), AttrViews); got != before+1 {
				t.Fatalf("total after the failed flush = %d, want %d", got, before+1)
			}
			f.n.Store(0)
			if err := c.Flush(ctx); err != nil {
				t.Fatalf("flush after the throttling: %v", err)
			}
			if got := attrN(t, item(t, db, table, id, SKTotal), AttrViews); got != before+3 {
				t.Errorf("total after the kept sums were flushed = %d, want %d (exact)", got, before+3)
			}
		})
	}
}

// TestDown: with nothing listening, Views answers "unknown" within
// ReadTimeout and then at once (no request waits on a known outage); a
// flush fails and keeps its sums, bounded by MaxPending with the oldest
// dropped and counted.
func TestDown(t *testing.T) {
	clock := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	c, err := New(awsConfig(), Options{Table: "views", Endpoint: "http://127.0.0.1:1", MaxPending: 3,
		ReadTimeout: 200 * time.Millisecond, CallTimeout: 500 * time.Millisecond,
		Now: func() time.Time { return clock }, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	if n, ok := c.Views(ctx, 1); ok {
		t.Errorf("views with DynamoDB down = %d, want unknown", n)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Views took %s with DynamoDB down, want at most about ReadTimeout (200ms)", d)
	}
	start = time.Now()
	if _, ok := c.Views(ctx, 2); ok || time.Since(start) > 20*time.Millisecond {
		t.Errorf("second Views during the outage took %s, want an immediate unknown", time.Since(start))
	}
	for id := int64(1); id <= 5; id++ {
		c.View(id)
		c.View(id)
		clock = clock.Add(time.Second) // post 1 is the oldest sum, post 5 the newest
	}
	if err := c.Flush(ctx); err == nil {
		t.Fatal("flush with DynamoDB down succeeded")
	}
	c.mu.Lock()
	var kept []int64
	for k := range c.pending {
		kept = append(kept, k.id)
	}
	c.mu.Unlock()
	if len(kept) != 3 {
		t.Errorf("kept sums for posts %v, want 3 (MaxPending)", kept)
	}
	for _, id := range kept {
		if id < 3 {
			t.Errorf("kept post %d's sum, want the oldest (posts 1 and 2) dropped", id)
		}
	}
	if n := testutil.ToFloat64(c.dropped.WithLabelValues("overflow")); n != 4 {
		t.Errorf("dropped overflow views = %v, want 4 (two views each of posts 1 and 2)", n)
	}
}

// TestFlushKeepsIncrements: a flush that fails (the server unreachable)
// keeps every increment, and once the server is back the next flush writes
// them with no loss and no double count.
func TestFlushKeepsIncrements(t *testing.T) {
	ep := endpoint(t)
	table, db := newTable(t, ep)
	down := &atomic.Bool{}
	down.Store(true)
	tr := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if down.Load() {
			return nil, errors.New("connection refused (injected)")
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	c, err := New(awsConfig(), Options{Table: table, Endpoint: ep, Exists: allExist,
		HTTPClient: &http.Client{Transport: tr}, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 5 {
		c.View(3)
	}
	for range 2 {
		if err := c.Flush(ctx); err == nil {
			t.Fatal("flush while down succeeded")
		}
	}
	c.View(3)
	down.Store(false)
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("flush once back: %v", err)
	}
	if got := attrN(t, item(t, db, table, 3, SKTotal), AttrViews); got != 6 {
		t.Errorf("total after two failed flushes and a good one = %d, want 6", got)
	}
	if got := attrN(t, item(t, db, table, 3, SKDay(time.Now())), AttrViews); got != 6 {
		t.Errorf("day count = %d, want 6", got)
	}
	if n, ok := c.Views(ctx, 3); !ok || n != 6 {
		t.Errorf("served count = %d %v, want 6", n, ok)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
