// Package dynamo is the Amazon DynamoDB adapter: per-post view counters
// (docs/decisions.md, "Per-post view counters in DynamoDB").
//
// A read-API server counts every GET /api/posts/{id} in memory and flushes
// the sums every FlushInterval, one UpdateItem ADD per post and item per
// flush, so DynamoDB's writes are bounded by the posts read on a server per
// interval, not by the reads. The table (created by the infrastructure) has
// the string key pk/sk and the TTL attribute expires_at:
//
//	pk = "post#<id>", sk = "total"            views (Number), first_view_at (Number, epoch s)
//	pk = "post#<id>", sk = "day#YYYY-MM-DD"   views (Number), expires_at = that day + 90 days
//
// The total item of a post is only ever created for a post that exists:
// increments go through a write conditional on attribute_exists(pk), and
// only when that fails (the post's first counted view) does the counter ask
// Exists and create the item with attribute_not_exists(pk), which also sets
// the first_view_at marker exactly once. A post deleted between its read and
// the flush therefore gets no counter, and its views are dropped (counted).
//
// Counts are served from memory: every flush returns the post's new total
// for free (ReturnValues UPDATED_NEW consumes no read capacity), and the
// first time a server is asked for a post it has no total for, it reads the
// item once with a short deadline. A slow, throttling or unreachable DynamoDB
// makes Views report "unknown", never wait longer than ReadTimeout.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/scaling-aws/scaling-aws/app"
)

// Attribute names and item layout: the contract with the table the
// infrastructure creates (components.Table; docs/app.md).
const (
	// AttrPK and AttrSK are the table's partition and sort keys (strings).
	AttrPK, AttrSK = "pk", "sk"
	// AttrViews holds a counter (Number).
	AttrViews = "views"
	// AttrExpiresAt is the table's TTL attribute (Number, epoch seconds).
	AttrExpiresAt = "expires_at"
	// AttrFirstViewAt marks when the total item was created (epoch seconds).
	AttrFirstViewAt = "first_view_at"
	// SKTotal is the sort key of a post's all-time count.
	SKTotal = "total"
	// DayRetention is how long a per-day item lives before TTL deletes it.
	DayRetention = 90 * 24 * time.Hour
)

// PK returns the partition key of post id.
func PK(id int64) string { return "post#" + strconv.FormatInt(id, 10) }

// SKDay returns the sort key of the per-day item of the UTC day of t.
func SKDay(t time.Time) string { return "day#" + t.UTC().Format(time.DateOnly) }

// Options configures a Counter. Table is required.
type Options struct {
	// Table is the table's name (DYNAMO_TABLE).
	Table string
	// Endpoint replaces AWS's endpoint (DYNAMO_ENDPOINT; tests only).
	// Default: the regional endpoint, through the VPC's gateway endpoint.
	Endpoint string
	// FlushInterval is how often the sums are written
	// (COUNTER_FLUSH_INTERVAL). Default: 1s: a count on the page is at most
	// about a second behind, a server that dies without its final flush
	// loses at most a second of its views, and one item then takes at most
	// one write per server per second, far below DynamoDB's 1,000 writes/s
	// per partition (docs/decisions.md has the cost of other values).
	FlushInterval time.Duration
	// CallTimeout bounds each UpdateItem of a flush, its retries included.
	// Default: 2s, so that a flush cannot stall past two intervals.
	CallTimeout time.Duration
	// ReadTimeout bounds the GetItem that serves a count a server has not
	// seen yet; past it the post is served without the count. Default:
	// 50ms, ten times DynamoDB's usual in-region latency, a small share of
	// a page's time.
	ReadTimeout time.Duration
	// Concurrency is how many UpdateItem calls a flush runs at once.
	// Default: 16, enough for 1,000 posts per flush at 10ms a call.
	Concurrency int
	// MaxPending bounds the (post, day) sums kept when flushes fail; past
	// it the oldest are dropped and counted in
	// app_view_counter_dropped_views_total{reason="overflow"}. Default:
	// 100,000 (a few MB), a minute of a busy server's distinct posts.
	MaxPending int
	// MaxKnown bounds the totals kept to serve counts. Default: 100,000.
	MaxKnown int
	// MaxAge is how long a total is served (plus this server's own views
	// since) before it is read again. A post read here at least once per
	// FlushInterval never gets that old: each flush returns its total.
	// Default: 10s, the lag of other servers' views on a post this server
	// rarely serves.
	MaxAge time.Duration
	// Exists reports whether a post exists; it is asked once per post, when
	// its counter would be created. Default: nil, counters are created
	// without asking (no existence check).
	Exists func(ctx context.Context, id int64) (bool, error)
	// HTTPClient replaces the SDK's HTTP client (tests inject faults).
	HTTPClient *http.Client
	// Now is the clock. Default: time.Now.
	Now app.Clock
	// Logger receives flush failures. Default: slog.Default().
	Logger *slog.Logger
	// Registerer holds the metrics. Default: none.
	Registerer prometheus.Registerer
}

// key is one pending sum: a post on one UTC day, counted in days since the
// Unix epoch (no formatting on the path of every view).
type key struct {
	id  int64
	day int64
}

// date is the UTC midnight starting k's day.
func (k key) date() time.Time { return time.Unix(k.day*secondsPerDay, 0).UTC() }

const secondsPerDay = 24 * 60 * 60

// pend is what is not written yet for a key: its total part and its day
// part (one can succeed without the other), and when its first view came.
type pend struct {
	total, day int64
	since      time.Time
}

type known struct {
	total int64
	at    time.Time
}

// Counter is an app.ViewCounter on DynamoDB. Run must be running for views
// to be written.
type Counter struct {
	c   *dynamodb.Client
	o   Options
	log *slog.Logger

	mu      sync.Mutex
	pending map[key]*pend
	// unflushed is, per post, the views counted here whose total part is
	// not acknowledged yet (pending and in flight): served on top of known.
	unflushed map[int64]int64
	// known is, per post, its total as the last flush or read returned it.
	known map[int64]known
	// readsOffUntil stops serving reads for a moment after one failed, so
	// that an outage costs each request nothing rather than ReadTimeout.
	readsOffUntil time.Time
	reads         singleflight.Group

	flushed  prometheus.Counter
	dropped  *prometheus.CounterVec
	failures *prometheus.CounterVec
}

var _ app.ViewCounter = (*Counter)(nil)

// errNoPost is a counter refused because its post does not exist.
var errNoPost = errors.New("the post does not exist")

// New returns a Counter on the table o.Table. The client retries with the
// SDK's standard retryer as configured by retryer.
func New(cfg aws.Config, o Options) (*Counter, error) {
	if o.Table == "" {
		return nil, errors.New("dynamo: Options.Table (DYNAMO_TABLE) is empty")
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 2 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 50 * time.Millisecond
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 100_000
	}
	if o.MaxKnown <= 0 {
		o.MaxKnown = 100_000
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	c := &Counter{o: o, log: o.Logger, pending: map[key]*pend{}, unflushed: map[int64]int64{}, known: map[int64]known{}}
	c.c = dynamodb.NewFromConfig(cfg, func(do *dynamodb.Options) {
		if o.Endpoint != "" {
			do.BaseEndpoint = aws.String(o.Endpoint)
		}
		if o.HTTPClient != nil {
			do.HTTPClient = o.HTTPClient
		}
		do.Retryer = retryer()
	})
	c.flushed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "app_view_counter_flushed_views_total", Help: "Post views written to DynamoDB (total items).",
	})
	c.dropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "app_view_counter_dropped_views_total",
		Help: "Post views never written: overflow (flushes failing for too long), no_post (the post was deleted).",
	}, []string{"reason"})
	c.failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "app_view_counter_errors_total", Help: "Failed DynamoDB calls of the view counter, by operation.",
	}, []string{"op"})
	pendingGauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "app_view_counter_pending_keys", Help: "(post, day) sums waiting for the next flush.",
	}, func() float64 {
		c.mu.Lock()
		defer c.mu.Unlock()
		return float64(len(c.pending))
	})
	if o.Registerer != nil {
		if err := registerAll(o.Registerer, c.flushed, c.dropped, c.failures, pendingGauge); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func registerAll(r prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, col := range cs {
		if err := r.Register(col); err != nil {
			return fmt.Errorf("dynamo: register metrics: %w", err)
		}
	}
	return nil
}

// retryer is the SDK's standard retryer as DynamoDB's client sets it up
// (throttling errors, ProvisionedThroughputExceededException,
// ThrottlingException and RequestLimitExceeded included, are retried with
// full-jitter exponential backoff from 1s; other transient errors from 25ms;
// every retry draws from a client-wide token bucket of 500, so a long outage
// stops retrying instead of multiplying the load), with 3 attempts instead
// of 4 and each wait capped at 500ms instead of 20s: a flush that still
// fails keeps its sums for the next one, a second later, which is the
// better retry.
func retryer() aws.Retryer {
	return retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = 3
		so.MaxBackoff = 500 * time.Millisecond
		so.BaseDelay = 25 * time.Millisecond
	})
}

// View implements app.ViewCounter: it adds one view of post id to the sums
// of the next flush, without any network call.
func (c *Counter) View(id int64) {
	now := c.o.Now()
	k := key{id, now.Unix() / secondsPerDay}
	c.mu.Lock()
	p := c.pending[k]
	if p == nil {
		p = &pend{since: now}
		c.pending[k] = p
	}
	p.total++
	p.day++
	c.unflushed[id]++
	c.mu.Unlock()
}

// Views implements app.ViewCounter: the post's total as of its last flush
// or read, plus the views counted here since. ok is false when the total is
// not known and could not be read within ReadTimeout.
func (c *Counter) Views(ctx context.Context, id int64) (int64, bool) {
	c.mu.Lock()
	if k, ok := c.known[id]; ok && c.o.Now().Sub(k.at) < c.o.MaxAge {
		n := k.total + c.unflushed[id]
		c.mu.Unlock()
		return n, true
	}
	off := c.o.Now().Before(c.readsOffUntil)
	c.mu.Unlock()
	if off {
		return 0, false
	}
	// One read per post at a time, whatever the number of requests asking;
	// it is not tied to one request's context, which another may outlive.
	ch := c.reads.DoChan(strconv.FormatInt(id, 10), func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.ReadTimeout)
		defer cancel()
		return c.readTotal(rctx, id)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			c.failures.WithLabelValues("get").Inc()
			c.mu.Lock()
			c.readsOffUntil = c.o.Now().Add(c.o.FlushInterval)
			c.mu.Unlock()
			c.log.Debug("view count not read", "post_id", id, "err", res.Err)
			return 0, false
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if k, ok := c.known[id]; ok && c.o.Now().Sub(k.at) < c.o.MaxAge { // a flush answered meanwhile
			return k.total + c.unflushed[id], true
		}
		c.remember(id, res.Val.(int64))
		return res.Val.(int64) + c.unflushed[id], true
	case <-ctx.Done():
		return 0, false
	}
}

// readTotal reads the total item, eventually consistent (half the cost of
// a strongly consistent read), without retries: a late count is worth less
// than the page's time.
func (c *Counter) readTotal(ctx context.Context, id int64) (int64, error) {
	out, err := c.c.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(c.o.Table), Key: itemKey(id, SKTotal),
		ProjectionExpression:     aws.String("#v"),
		ExpressionAttributeNames: map[string]string{"#v": AttrViews},
	}, func(do *dynamodb.Options) { do.RetryMaxAttempts = 1 })
	if err != nil {
		return 0, fmt.Errorf("dynamodb get %s: %w", PK(id), err)
	}
	if out.Item == nil {
		return 0, nil
	}
	return number(out.Item[AttrViews])
}

// remember keeps a post's total; c.mu is held. Past MaxKnown a tenth of the
// totals, picked by map order (random), is forgotten: they are read again
// when asked for.
func (c *Counter) remember(id, total int64) {
	if _, ok := c.known[id]; !ok && len(c.known) >= c.o.MaxKnown {
		n := c.o.MaxKnown/10 + 1
		for k := range c.known {
			delete(c.known, k)
			if n--; n == 0 {
				break
			}
		}
	}
	c.known[id] = known{total: total, at: c.o.Now()}
}

// Run flushes every FlushInterval until ctx is done, then flushes once more
// (within CallTimeout) so that a graceful stop loses no views.
func (c *Counter) Run(ctx context.Context) {
	t := time.NewTicker(c.o.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 2*c.o.CallTimeout)
			defer cancel()
			if err := c.Flush(fctx); err != nil {
				c.log.Warn("view counts lost at shutdown", "err", err)
			}
			return
		case <-t.C:
			// Not cut short by the stop: the final flush follows it.
			if err := c.Flush(context.WithoutCancel(ctx)); err != nil {
				c.log.Warn("view counter flush failed; its sums are kept for the next flush", "err", err)
			}
		}
	}
}

// Flush writes every pending sum: for each (post, day), the total item and
// then the day item. Sums that fail are kept for the next flush, bounded by
// MaxPending. It returns the first error, if any.
func (c *Counter) Flush(ctx context.Context) error {
	c.mu.Lock()
	batch := c.pending
	c.pending = make(map[key]*pend, len(batch))
	c.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	var g errgroup.Group
	g.SetLimit(c.o.Concurrency)
	var errMu sync.Mutex
	var first error
	for k, p := range batch {
		g.Go(func() error {
			if err := c.flushOne(ctx, k, p); err != nil {
				errMu.Lock()
				if first == nil {
					first = err
				}
				errMu.Unlock()
			}
			return nil
		})
	}
	g.Wait()
	c.bound()
	return first
}

func (c *Counter) flushOne(ctx context.Context, k key, p *pend) error {
	if p.total > 0 {
		total, err := c.addTotal(ctx, k.id, p.total)
		c.mu.Lock()
		switch {
		case err == nil:
			c.flushed.Add(float64(p.total))
			c.settle(k.id, p.total)
			c.remember(k.id, total)
			p.total = 0
		case errors.Is(err, errNoPost):
			c.dropped.WithLabelValues("no_post").Add(float64(max(p.total, p.day)))
			c.settle(k.id, p.total)
			c.mu.Unlock()
			return nil
		default:
			c.failures.WithLabelValues("update_total").Inc()
			// The day item waits for its total: no per-day count for a
			// post whose counter was never created, and half the calls
			// while the table throttles.
			c.keep(k, p)
			c.mu.Unlock()
			return err
		}
		c.mu.Unlock()
	}
	if p.day > 0 {
		if err := c.addDay(ctx, k, p.day); err != nil {
			c.failures.WithLabelValues("update_day").Inc()
			c.mu.Lock()
			c.keep(k, p)
			c.mu.Unlock()
			return err
		}
	}
	return nil
}

// settle takes n views of post id off its unflushed count, written or
// dropped; c.mu is held.
func (c *Counter) settle(id, n int64) {
	if c.unflushed[id] -= n; c.unflushed[id] <= 0 {
		delete(c.unflushed, id)
	}
}

// keep puts back what a flush could not write; c.mu is held.
func (c *Counter) keep(k key, p *pend) {
	if q := c.pending[k]; q != nil {
		q.total += p.total
		q.day += p.day
		if p.since.Before(q.since) {
			q.since = p.since
		}
		return
	}
	c.pending[k] = p
}

// bound drops the oldest sums past MaxPending, counting their views.
func (c *Counter) bound() {
	c.mu.Lock()
	defer c.mu.Unlock()
	excess := len(c.pending) - c.o.MaxPending
	if excess <= 0 {
		return
	}
	keys := make([]key, 0, len(c.pending))
	for k := range c.pending {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return c.pending[keys[i]].since.Before(c.pending[keys[j]].since) })
	var views int64
	for _, k := range keys[:excess] {
		p := c.pending[k]
		views += max(p.total, p.day)
		c.settle(k.id, p.total)
		delete(c.pending, k)
	}
	c.dropped.WithLabelValues("overflow").Add(float64(views))
	c.log.Warn("view counter dropped its oldest unwritten views", "keys", excess, "views", views,
		"max_pending", c.o.MaxPending)
}

// addTotal adds n to post id's total and returns the new total. The item is
// created only for a post that exists (see the package doc).
func (c *Counter) addTotal(ctx context.Context, id, n int64) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.CallTimeout)
	defer cancel()
	// DynamoDB refuses names and values an expression does not use, so
	// each form passes only its own.
	update := func(expr, cond string, now bool) (int64, error) {
		names := map[string]string{"#v": AttrViews}
		vals := map[string]types.AttributeValue{":n": num(n)}
		if now {
			names["#f"] = AttrFirstViewAt
			vals[":now"] = num(c.o.Now().Unix())
		}
		out, err := c.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(c.o.Table), Key: itemKey(id, SKTotal),
			UpdateExpression: aws.String(expr), ConditionExpression: optional(cond),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: vals,
			ReturnValues:              types.ReturnValueUpdatedNew,
		})
		if err != nil {
			return 0, err
		}
		return number(out.Attributes[AttrViews])
	}
	if c.o.Exists == nil {
		total, err := update("ADD #v :n SET #f = if_not_exists(#f, :now)", "", true)
		return total, wrap(id, err)
	}
	const addToExisting = "attribute_exists(" + AttrPK + ")"
	for range 2 {
		total, err := update("ADD #v :n", addToExisting, false)
		if !conditionFailed(err) {
			return total, wrap(id, err)
		}
		// The post's first counted view: create its counter if it exists.
		ok, err := c.o.Exists(ctx, id)
		if err != nil {
			return 0, fmt.Errorf("check post %d exists before creating its counter: %w", id, err)
		}
		if !ok {
			return 0, errNoPost
		}
		total, err = update("ADD #v :n SET #f = :now", "attribute_not_exists("+AttrPK+")", true)
		if !conditionFailed(err) {
			return total, wrap(id, err)
		}
		// Another server created it in between: add to it.
	}
	return 0, fmt.Errorf("dynamodb update %s: the counter's conditions kept failing", PK(id))
}

// addDay adds n to the day item of k and sets its expiry (the same value at
// every write of that day, so writing it again changes nothing).
func (c *Counter) addDay(ctx context.Context, k key, n int64) error {
	ctx, cancel := context.WithTimeout(ctx, c.o.CallTimeout)
	defer cancel()
	day := k.date()
	_, err := c.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(c.o.Table), Key: itemKey(k.id, SKDay(day)),
		UpdateExpression:         aws.String("ADD #v :n SET #e = :exp"),
		ExpressionAttributeNames: map[string]string{"#v": AttrViews, "#e": AttrExpiresAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n": num(n), ":exp": num(day.Add(DayRetention).Unix())},
	})
	return wrap(k.id, err)
}

func itemKey(id int64, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrPK: &types.AttributeValueMemberS{Value: PK(id)},
		AttrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// number reads a Number attribute.
func number(v types.AttributeValue) (int64, error) {
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("dynamodb: %s is %T, not a Number", AttrViews, v)
	}
	return strconv.ParseInt(n.Value, 10, 64)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

func wrap(id int64, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("dynamodb update %s: %w", PK(id), err)
}
