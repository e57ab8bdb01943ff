// Package redisq is a queue on Redis Streams with a consumer group: the
// second app.Queue backend, used on stacks without SQS and to run the whole
// upload-to-thumbnail flow in tests on a real broker.
//
// Delivery is at least once: a message stays pending in the group until it
// is acknowledged; one pending longer than the visibility timeout is claimed
// again by a consumer (XAUTOCLAIM). A hash counts each message's deliveries,
// and DeadLetter moves a message to a dead-letter stream.
package redisq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/scaling-aws/scaling-aws/app"
)

// Options configures a Queue.
type Options struct {
	// Stream is the stream's key. Default: "jobs:thumbnail".
	Stream string
	// Group is the consumer group. Default: "workers".
	Group string
	// Consumer names this consumer within the group. Default: "consumer".
	Consumer string
	// Visibility is how long a delivered message may stay unacknowledged
	// before another consumer claims it. Negative means at once (tests).
	// Default: 30s.
	Visibility time.Duration
	// Block is how long Receive waits for new messages. Default: 2s.
	Block time.Duration
}

// Queue is an app.Queue on a Redis stream.
type Queue struct {
	c goredis.UniversalClient
	o Options
}

var _ app.Queue = (*Queue)(nil)

// New returns a queue and creates its consumer group if missing.
func New(ctx context.Context, c goredis.UniversalClient, o Options) (*Queue, error) {
	if o.Stream == "" {
		o.Stream = "jobs:thumbnail"
	}
	if o.Group == "" {
		o.Group = "workers"
	}
	if o.Consumer == "" {
		o.Consumer = "consumer"
	}
	if o.Visibility == 0 {
		o.Visibility = 30 * time.Second
	} else if o.Visibility < 0 {
		o.Visibility = 0
	}
	if o.Block <= 0 {
		o.Block = 2 * time.Second
	}
	q := &Queue{c: c, o: o}
	if err := q.createGroup(ctx); err != nil {
		return nil, err
	}
	return q, nil
}

// createGroup creates the stream (MKSTREAM) and its consumer group reading
// from the start ("0"), so that jobs added before the group existed are
// delivered too; a group that exists already (BUSYGROUP) is not an error.
func (q *Queue) createGroup(ctx context.Context) error {
	err := q.c.XGroupCreateMkStream(ctx, q.o.Stream, q.o.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return unavailable(fmt.Errorf("redisq: create group %q on %q: %w", q.o.Group, q.o.Stream, err))
	}
	return nil
}

// noGroup reports Redis's NOGROUP error: the stream or its consumer group is
// gone, as after a restart without persistence, a failover to an empty
// replica or a FLUSHALL.
func noGroup(err error) bool {
	var re goredis.Error
	return errors.As(err, &re) && strings.HasPrefix(re.Error(), "NOGROUP")
}

// DeadStream is the key of the dead-letter stream.
func (q *Queue) DeadStream() string { return q.o.Stream + ":dead" }

func (q *Queue) attemptsKey() string { return q.o.Stream + ":attempts" }

// Enqueue implements app.Queue.
func (q *Queue) Enqueue(ctx context.Context, job app.ThumbnailJob) error {
	b, _ := json.Marshal(job)
	if err := q.c.XAdd(ctx, &goredis.XAddArgs{Stream: q.o.Stream, Values: []any{"job", b}}).Err(); err != nil {
		return unavailable(fmt.Errorf("redisq: enqueue: %w", err))
	}
	return nil
}

// Receive implements app.Queue: first messages whose delivery timed out,
// then new ones, waiting up to Options.Block for them. When Redis has lost
// the stream or its group (NOGROUP), it creates them again and goes on, so a
// worker outlives a Redis that restarts empty instead of failing forever.
func (q *Queue) Receive(ctx context.Context, max int) ([]app.Message, error) {
	msgs, err := q.receive(ctx, max)
	if noGroup(err) {
		if err := q.createGroup(ctx); err != nil {
			return nil, err
		}
		msgs, err = q.receive(ctx, max)
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return q.decode(ctx, msgs)
}

func (q *Queue) receive(ctx context.Context, max int) ([]goredis.XMessage, error) {
	msgs, _, err := q.c.XAutoClaim(ctx, &goredis.XAutoClaimArgs{Stream: q.o.Stream, Group: q.o.Group,
		MinIdle: q.o.Visibility, Start: "0-0", Count: int64(max), Consumer: q.o.Consumer}).Result()
	if err != nil {
		return nil, fmt.Errorf("redisq: claim: %w", err)
	}
	if len(msgs) == 0 {
		streams, err := q.c.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: q.o.Group, Consumer: q.o.Consumer,
			Streams: []string{q.o.Stream, ">"}, Count: int64(max), Block: q.o.Block}).Result()
		if errors.Is(err, goredis.Nil) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("redisq: read: %w", err)
		}
		for _, s := range streams {
			msgs = append(msgs, s.Messages...)
		}
	}
	return msgs, nil
}

// decode counts each message's delivery and decodes its job; a malformed
// one is dead-lettered at once.
func (q *Queue) decode(ctx context.Context, msgs []goredis.XMessage) ([]app.Message, error) {
	out := make([]app.Message, 0, len(msgs))
	for _, m := range msgs {
		n, err := q.c.HIncrBy(ctx, q.attemptsKey(), m.ID, 1).Result()
		if err != nil {
			return nil, unavailable(fmt.Errorf("redisq: count delivery: %w", err))
		}
		msg := app.Message{ID: m.ID, Receipt: m.ID, Attempt: int(n)}
		s, _ := m.Values["job"].(string)
		if err := json.Unmarshal([]byte(s), &msg.Job); err != nil {
			// A malformed message can never succeed: dead-letter it now.
			if err := q.DeadLetter(ctx, msg, "malformed job: "+err.Error()); err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, msg)
	}
	return out, nil
}

// Ack implements app.Queue.
func (q *Queue) Ack(ctx context.Context, m app.Message) error {
	pipe := q.c.TxPipeline()
	pipe.XAck(ctx, q.o.Stream, q.o.Group, m.Receipt)
	pipe.XDel(ctx, q.o.Stream, m.Receipt)
	pipe.HDel(ctx, q.attemptsKey(), m.Receipt)
	if _, err := pipe.Exec(ctx); err != nil {
		return unavailable(fmt.Errorf("redisq: ack: %w", err))
	}
	return nil
}

// DeadLetter implements app.Queue.
func (q *Queue) DeadLetter(ctx context.Context, m app.Message, reason string) error {
	b, _ := json.Marshal(m.Job)
	pipe := q.c.TxPipeline()
	pipe.XAdd(ctx, &goredis.XAddArgs{Stream: q.DeadStream(), Values: []any{
		"job", b, "id", m.ID, "attempts", strconv.Itoa(m.Attempt), "reason", reason}})
	pipe.XAck(ctx, q.o.Stream, q.o.Group, m.Receipt)
	pipe.XDel(ctx, q.o.Stream, m.Receipt)
	pipe.HDel(ctx, q.attemptsKey(), m.Receipt)
	if _, err := pipe.Exec(ctx); err != nil {
		return unavailable(fmt.Errorf("redisq: dead-letter: %w", err))
	}
	return nil
}

// unavailable marks err, a failed Redis call, as the queue being unavailable.
func unavailable(err error) error {
	if err == nil {
		return nil
	}
	var ae *app.Error
	if errors.As(err, &ae) {
		return err
	}
	return app.Unavailable(err, "the job queue is unavailable, retry later")
}
