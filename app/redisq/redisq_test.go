package redisq_test

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/scaling-aws/scaling-aws/app"
	"github.com/scaling-aws/scaling-aws/app/apptest"
	"github.com/scaling-aws/scaling-aws/app/redis"
	"github.com/scaling-aws/scaling-aws/app/redisq"
)

// TestRedelivery: a message received by a consumer that dies without
// acknowledging is claimed by another one, with its delivery counted.
func TestRedelivery(t *testing.T) {
	addr, prefix := apptest.Redis(t)
	c := redis.NewClient(redis.Options{Addr: addr})
	defer c.Close()
	ctx := context.Background()
	opts := redisq.Options{Stream: prefix + "jobs", Block: 10 * time.Millisecond}
	opts.Consumer = "a"
	a, err := redisq.New(ctx, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Consumer, opts.Visibility = "b", -1
	b, err := redisq.New(ctx, c, opts) // the group exists already: no error
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Enqueue(ctx, app.ThumbnailJob{PhotoID: 9}); err != nil {
		t.Fatal(err)
	}
	first, err := a.Receive(ctx, 10)
	if err != nil || len(first) != 1 || first[0].Attempt != 1 || first[0].Job.PhotoID != 9 {
		t.Fatalf("first delivery: %+v, %v", first, err)
	}
	// a "dies"; b's visibility timeout is zero, so it claims the message.
	again, err := b.Receive(ctx, 10)
	if err != nil || len(again) != 1 || again[0].Attempt != 2 || again[0].ID != first[0].ID {
		t.Fatalf("redelivery: %+v, %v", again, err)
	}
	// a's visibility is 30s: it sees nothing new while b holds the message.
	if msgs, err := a.Receive(ctx, 10); err != nil || len(msgs) != 0 {
		t.Fatalf("a during b's hold: %+v, %v", msgs, err)
	}
	if err := b.Ack(ctx, again[0]); err != nil {
		t.Fatal(err)
	}
	if msgs, err := b.Receive(ctx, 10); err != nil || len(msgs) != 0 {
		t.Fatalf("after ack: %+v, %v", msgs, err)
	}
	// A malformed message goes straight to the dead-letter stream.
	c.XAdd(ctx, &goredis.XAddArgs{Stream: prefix + "jobs", Values: []any{"job", "not json"}})
	if msgs, err := b.Receive(ctx, 10); err != nil || len(msgs) != 0 {
		t.Fatalf("malformed: %+v, %v", msgs, err)
	}
	if n, _ := c.XLen(ctx, b.DeadStream()).Result(); n != 1 {
		t.Errorf("dead-letter stream holds %d, want 1", n)
	}
}

// TestRedisLosesData: Redis restarts empty (no persistence, or a failover to
// an empty node) and, separately, is flushed; the stream and its consumer
// group are gone (NOGROUP). The queue recreates them and new jobs are
// delivered again, instead of every Receive failing until the worker restarts.
func TestRedisLosesData(t *testing.T) {
	srv := apptest.StartRedis(t)
	c := redis.NewClient(redis.Options{Addr: srv.Addr})
	defer c.Close()
	ctx := context.Background()
	q, err := redisq.New(ctx, c, redisq.Options{Block: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for i, lose := range []func(){
		func() { srv.RestartRedis() },
		func() {
			if err := c.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		},
	} {
		id := int64(100 + i)
		if err := q.Enqueue(ctx, app.ThumbnailJob{PhotoID: id}); err != nil {
			t.Fatal(err)
		}
		held, err := q.Receive(ctx, 10) // received, not yet acknowledged
		if err != nil || len(held) != 1 {
			t.Fatalf("case %d: before the loss: %+v, %v", i, held, err)
		}
		lose()
		// The first calls after a restart may meet the pool's dead
		// connections; a worker retries a failed Receive.
		var msgs []app.Message
		deadline := time.Now().Add(5 * time.Second)
		for {
			if msgs, err = q.Receive(ctx, 10); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil || len(msgs) != 0 {
			t.Fatalf("case %d: Receive on the empty Redis = %+v, %v; want nothing and no error", i, msgs, err)
		}
		// The job held across the loss is acknowledged without an error.
		if err := q.Ack(ctx, held[0]); err != nil {
			t.Errorf("case %d: Ack of a message Redis lost: %v", i, err)
		}
		if err := q.Enqueue(ctx, app.ThumbnailJob{PhotoID: id + 10}); err != nil {
			t.Fatal(err)
		}
		msgs, err = q.Receive(ctx, 10)
		if err != nil || len(msgs) != 1 || msgs[0].Job.PhotoID != id+10 || msgs[0].Attempt != 1 {
			t.Fatalf("case %d: a job after the loss: %+v, %v; want it delivered", i, msgs, err)
		}
		if err := q.Ack(ctx, msgs[0]); err != nil {
			t.Fatal(err)
		}
	}
}
