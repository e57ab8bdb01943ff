// Package sqs is the Amazon SQS queue adapter. Delivery counts come from
// SQS's ApproximateReceiveCount, and the visibility timeout is the queue's.
// DeadLetter sends to the dead-letter queue when one is configured (SQS's
// own redrive policy, set by the infrastructure, is the backstop) and then
// deletes the message.
package sqs

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/scaling-aws/scaling-aws/app"
)

// Queue is an app.Queue on SQS.
type Queue struct {
	c      *sqs.Client
	url    string
	dlqURL string
	// WaitSeconds is the long-poll time of Receive (0 to 20). Default: 10.
	WaitSeconds int32
}

var _ app.Queue = (*Queue)(nil)

// New returns the queue at url; dlqURL may be empty. endpoint, when set,
// replaces AWS's (tests).
func New(cfg aws.Config, url, dlqURL, endpoint string) *Queue {
	c := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return &Queue{c: c, url: url, dlqURL: dlqURL, WaitSeconds: 10}
}

// Enqueue implements app.Queue.
func (q *Queue) Enqueue(ctx context.Context, job app.ThumbnailJob) error {
	b, _ := json.Marshal(job)
	if _, err := q.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.url),
		MessageBody: aws.String(string(b))}); err != nil {
		return fmt.Errorf("sqs send: %w", err)
	}
	return nil
}

// Receive implements app.Queue with a long poll.
func (q *Queue) Receive(ctx context.Context, max int) ([]app.Message, error) {
	if max > 10 {
		max = 10 // SQS's limit per call
	}
	out, err := q.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(q.url), MaxNumberOfMessages: int32(max), WaitTimeSeconds: q.WaitSeconds,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{
			types.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		return nil, fmt.Errorf("sqs receive: %w", err)
	}
	msgs := make([]app.Message, 0, len(out.Messages))
	for _, m := range out.Messages {
		msg := app.Message{ID: aws.ToString(m.MessageId), Receipt: aws.ToString(m.ReceiptHandle), Attempt: 1}
		if n, err := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil {
			msg.Attempt = n
		}
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &msg.Job); err != nil {
			if err := q.DeadLetter(ctx, msg, "malformed job: "+err.Error()); err != nil {
				return nil, err
			}
			continue
		}
		msgs = append(msgs, msg)
	}
	return msgs, nil
}

// Ack implements app.Queue.
func (q *Queue) Ack(ctx context.Context, m app.Message) error {
	if _, err := q.c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.url),
		ReceiptHandle: aws.String(m.Receipt)}); err != nil {
		return fmt.Errorf("sqs delete: %w", err)
	}
	return nil
}

// DeadLetter implements app.Queue.
func (q *Queue) DeadLetter(ctx context.Context, m app.Message, reason string) error {
	if q.dlqURL != "" {
		b, _ := json.Marshal(m.Job)
		_, err := q.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.dlqURL),
			MessageBody: aws.String(string(b)),
			MessageAttributes: map[string]types.MessageAttributeValue{
				"reason":   {DataType: aws.String("String"), StringValue: aws.String(reason)},
				"attempts": {DataType: aws.String("Number"), StringValue: aws.String(strconv.Itoa(m.Attempt))},
			}})
		if err != nil {
			return fmt.Errorf("sqs dead-letter send: %w", err)
		}
	}
	return q.Ack(ctx, m)
}
