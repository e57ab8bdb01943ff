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
	err := c.XGroupCreateMkStream(ctx, o.Stream, o.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return nil, fmt.Errorf("redisq: create group %q on %q: %w", o.Group, o.Stream, err)
	}
	return &Queue{c: c, o: o}, nil
}

// DeadStream is the key of the dead-letter stream.
func (q *Queue) DeadStream() string { return q.o.Stream + ":dead" }

func (q *Queue) attemptsKey() string { return q.o.Stream + ":attempts" }

// Enqueue implements app.Queue.
func (q *Queue) Enqueue(ctx context.Context, job app.ThumbnailJob) error {
	b, _ := json.Marshal(job)
	if err := q.c.XAdd(ctx, &goredis.XAddArgs{Stream: q.o.Stream, Values: []any{"job", b}}).Err(); err != nil {
		return fmt.Errorf("redisq: enqueue: %w", err)
	}
	return nil
}

// Receive implements app.Queue: first messages whose delivery timed out,
// then new ones, waiting up to Options.Block for them.
func (q *Queue) Receive(ctx context.Context, max int) ([]app.Message, error) {
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
	out := make([]app.Message, 0, len(msgs))
	for _, m := range msgs {
		n, err := q.c.HIncrBy(ctx, q.attemptsKey(), m.ID, 1).Result()
		if err != nil {
			return nil, fmt.Errorf("redisq: count delivery: %w", err)
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
		return fmt.Errorf("redisq: ack: %w", err)
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
		return fmt.Errorf("redisq: dead-letter: %w", err)
	}
	return nil
}
