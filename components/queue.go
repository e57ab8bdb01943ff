package components

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// SQS limits (SQS developer guide, "Amazon SQS quotas" and CreateQueue's attributes).
const (
	maxVisibilityTimeoutSeconds = 43200   // 12 hours
	minRetentionSeconds         = 60      // 1 minute
	maxRetentionSeconds         = 1209600 // 14 days
	maxReceiveWaitSeconds       = 20      // the longest long poll
	minDataKeyReuseSeconds      = 60
	maxDataKeyReuseSeconds      = 86400
	// maxBoundedReceives is the highest maxReceiveCount rule SQS-2 accepts: a poison message
	// retried more often only burns worker time before it reaches the dead-letter queue.
	maxBoundedReceives = 10
)

// QueueArgs configures a Queue. Every value is plain: what the queue is follows from the
// consumer's measured job, decided before anything is registered.
type QueueArgs struct {
	// VisibilityTimeoutSeconds hides a received message from other consumers while one
	// works on it; it must outlast the consumer's longest receive-to-delete path, or a slow
	// job is delivered twice and counts a receive towards the dead-letter queue. Derive it
	// with VisibilityTimeoutFor. 1 to 43200. Required.
	VisibilityTimeoutSeconds int
	// MaxReceiveCount is how many deliveries a message gets before SQS moves it to the
	// dead-letter queue, 1 to 10 (rule SQS-2). Default: 5, terraform-aws-sqs's, and the app's
	// own QUEUE_MAX_ATTEMPTS default: the app dead-letters a failing job itself at its 5th
	// delivery (with the reason), and SQS's redrive catches the job whose worker died on it.
	MaxReceiveCount int
	// ReceiveWaitSeconds is the long poll of a receive that finds the queue empty, 1 to 20.
	// Default: 20, the longest: an idle worker makes 3 receives a minute instead of a
	// request per short poll, and a message is still handed over the moment it arrives.
	ReceiveWaitSeconds int
	// MessageRetentionSeconds keeps an unconsumed message, 60 to 1209600. Default: 345600
	// (4 days, SQS's own): a weekend of stopped workers loses nothing.
	MessageRetentionSeconds int
	// DeadLetterRetentionSeconds keeps a dead-lettered message; it must be longer than
	// MessageRetentionSeconds. SQS keeps a message's original enqueue time when it moves it
	// to a standard dead-letter queue, so a message dead-lettered late in its life would
	// otherwise expire there at once (SQS developer guide, "Using dead-letter queues").
	// Default: 1209600 (14 days, the most SQS keeps): two weeks to look at a failure.
	DeadLetterRetentionSeconds int
	// Key, when set, encrypts both queues with the stack's key (SSE-KMS, prod): the key
	// policy lets principals of the account use it through SQS (kms:ViaService), so
	// producers (kms:GenerateDataKey) and consumers (kms:Decrypt) need no grant of their
	// own. Default: nil, SSE-SQS (SQS-owned keys, no KMS requests to pay).
	Key *Key
	// DataKeyReuseSeconds is how long SQS reuses a data key before asking KMS again, 60 to
	// 86400 (only with Key). Default: 300, SQS's: one KMS call per producer or consumer
	// every 5 minutes, a few cents a month, and a disabled key stops the queue within 5
	// minutes.
	DataKeyReuseSeconds int
	// Protect protects both queues against `pulumi destroy` (prod): a deleted queue loses
	// every job it holds. Both are RetainOnDelete whatever Protect says.
	Protect bool
	// AlarmTopicArn, when set, receives the alarms: the oldest message older than
	// OldestMessageAlarmSeconds, a backlog above BacklogAlarmMessages for 15 minutes, and
	// anything in the dead-letter queue. Default: no alarms.
	AlarmTopicArn pulumi.StringInput
	// OldestMessageAlarmSeconds is the age-of-oldest-message threshold. Default: the longest
	// life a failing message has before it is dead-lettered (MaxReceiveCount x
	// VisibilityTimeoutSeconds): anything older is a stuck backlog, not a retry.
	OldestMessageAlarmSeconds int
	// BacklogAlarmMessages is the visible-message count above which the backlog alarm
	// fires when it holds for 15 minutes. Give what the consumer fleet at its largest drains
	// within the acceptable latency (max instances x backlog target): above it, the fleet
	// cannot keep up. Default: 0, no backlog alarm.
	BacklogAlarmMessages int
}

// Queue is a work queue and its dead-letter queue on SQS (standard queues): both
// encrypted (SSE-SQS, or SSE-KMS under the stack key), long polling, a visibility timeout
// derived from the consumer's job, a redrive policy sending a message that failed
// MaxReceiveCount deliveries to the dead-letter queue, the dead-letter queue's
// redrive-allow policy naming this queue alone as its source, a longer retention on the
// dead-letter queue, and on each a queue policy denying any request without TLS
// (aws:SecureTransport). Producers and consumers get least-privilege role policies through
// GrantSend, GrantConsume and GrantDeadLetter; ScaleWorkers scales a fleet on the backlog.
//
// AWS resources: sqs.Queue (2), sqs.RedriveAllowPolicy, sqs.QueuePolicy (2),
// iam.RolePolicy (grants), autoscaling.Policy (ScaleWorkers, WakeWorkers),
// cloudwatch.MetricAlarm (with AlarmTopicArn, and WakeWorkers').
// Costs money: requests only (0.40 USD per million after the free million a month; a long
// poll is one request), KMS requests with Key, alarms.
type Queue struct {
	pulumi.ResourceState

	// URL is the work queue's URL: the app's QUEUE_URL.
	URL pulumi.StringOutput
	// Arn is the work queue's ARN.
	Arn pulumi.StringOutput
	// Name is the work queue's name (the QueueName dimension of its metrics).
	Name pulumi.StringOutput
	// DeadLetterURL is the dead-letter queue's URL: the app's QUEUE_DLQ_URL.
	DeadLetterURL pulumi.StringOutput
	// DeadLetterArn is the dead-letter queue's ARN.
	DeadLetterArn pulumi.StringOutput
	// DeadLetterName is the dead-letter queue's name.
	DeadLetterName pulumi.StringOutput
	// MaxReceiveCount is the redrive policy's count, as applied (the app's
	// QUEUE_MAX_ATTEMPTS must not exceed it).
	MaxReceiveCount int
	// VisibilityTimeoutSeconds is the visibility timeout, as applied.
	VisibilityTimeoutSeconds int

	ctx    *pulumi.Context
	name   string
	child  []pulumi.ResourceOption
	grants map[string]int
}

// NewQueue creates a Queue.
func NewQueue(ctx *pulumi.Context, name string, args *QueueArgs, opts ...pulumi.ResourceOption) (*Queue, error) {
	a, err := args.withDefaults(name)
	if err != nil {
		return nil, err
	}
	q := &Queue{ctx: ctx, name: name, MaxReceiveCount: a.MaxReceiveCount, VisibilityTimeoutSeconds: a.VisibilityTimeoutSeconds, grants: map[string]int{}}
	child, err := register(ctx, "messaging:Queue", name, q, opts)
	if err != nil {
		return nil, err
	}
	q.child = child
	keep := stateful(child, a.Protect)

	encrypt := func(qa *sqs.QueueArgs) *sqs.QueueArgs {
		if a.Key == nil {
			qa.SqsManagedSseEnabled = pulumi.Bool(true)
			return qa
		}
		qa.KmsMasterKeyId = a.Key.Arn
		qa.KmsDataKeyReusePeriodSeconds = pulumi.Int(a.DataKeyReuseSeconds)
		return qa
	}
	dlqName := childName(name, "dlq")
	dlq, err := sqs.NewQueue(ctx, dlqName, encrypt(&sqs.QueueArgs{
		MessageRetentionSeconds:  pulumi.Int(a.DeadLetterRetentionSeconds),
		ReceiveWaitTimeSeconds:   pulumi.Int(a.ReceiveWaitSeconds),
		VisibilityTimeoutSeconds: pulumi.Int(a.VisibilityTimeoutSeconds),
		// role=dlq tells the rules this queue is a dead-letter queue (docs/security.md).
		Tags: pulumi.StringMap{"Name": pulumi.String(dlqName), "role": pulumi.String("dlq")},
	}), keep...)
	if err != nil {
		return nil, err
	}
	redrive := dlq.Arn.ApplyT(func(arn string) (string, error) {
		b, err := json.Marshal(map[string]any{"deadLetterTargetArn": arn, "maxReceiveCount": a.MaxReceiveCount})
		return string(b), err
	}).(pulumi.StringOutput)
	work, err := sqs.NewQueue(ctx, name, encrypt(&sqs.QueueArgs{
		VisibilityTimeoutSeconds: pulumi.Int(a.VisibilityTimeoutSeconds),
		MessageRetentionSeconds:  pulumi.Int(a.MessageRetentionSeconds),
		ReceiveWaitTimeSeconds:   pulumi.Int(a.ReceiveWaitSeconds),
		// Inline, so the rules and a reader see the queue's dead-letter queue on the queue.
		RedrivePolicy: redrive,
		Tags:          tags(name),
	}), keep...)
	if err != nil {
		return nil, err
	}
	q.URL, q.Arn, q.Name = work.Url, work.Arn, work.Name
	q.DeadLetterURL, q.DeadLetterArn, q.DeadLetterName = dlq.Url, dlq.Arn, dlq.Name

	// The dead-letter queue accepts redrives from this queue alone: its own resource, since
	// inline it would make each queue wait for the other's ARN.
	if _, err := sqs.NewRedriveAllowPolicy(ctx, dlqName, &sqs.RedriveAllowPolicyArgs{
		QueueUrl: dlq.Url,
		RedriveAllowPolicy: work.Arn.ApplyT(func(arn string) (string, error) {
			b, err := json.Marshal(map[string]any{"redrivePermission": "byQueue", "sourceQueueArns": []string{arn}})
			return string(b), err
		}).(pulumi.StringOutput),
	}, child...); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		name     string
		url, arn pulumi.StringOutput
	}{{name, work.Url, work.Arn}, {dlqName, dlq.Url, dlq.Arn}} {
		if _, err := sqs.NewQueuePolicy(ctx, p.name, &sqs.QueuePolicyArgs{
			QueueUrl: p.url,
			Policy:   denyInsecureTransport(p.arn),
		}, child...); err != nil {
			return nil, err
		}
	}

	if a.AlarmTopicArn != nil {
		if err := q.alarms(a); err != nil {
			return nil, err
		}
	}
	return q, ctx.RegisterResourceOutputs(q, pulumi.Map{
		"url": q.URL, "arn": q.Arn, "deadLetterUrl": q.DeadLetterURL, "deadLetterArn": q.DeadLetterArn,
	})
}

// denyInsecureTransport is a queue policy denying every SQS action without TLS, to anyone:
// SQS accepts plain-HTTP requests otherwise (SH SQS.2 "should enforce TLS"; the same
// statement S3 buckets carry). Access itself is granted by the roles' own policies.
func denyInsecureTransport(queueArn pulumi.StringOutput) pulumi.StringOutput {
	return queueArn.ApplyT(func(arn string) (string, error) {
		b, err := json.Marshal(map[string]any{
			"Version": "2012-10-17",
			"Statement": []map[string]any{{
				"Sid": "DenyInsecureTransport", "Effect": "Deny",
				"Principal": map[string]any{"AWS": "*"}, "Action": "sqs:*", "Resource": arn,
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			}},
		})
		return string(b), err
	}).(pulumi.StringOutput)
}

// queueAlarms are the queue's alarms, without namespace and dimensions (alarms sets them).
func queueAlarms(a *QueueArgs) (work, dead []Alarm) {
	work = []Alarm{{
		Name:        "oldest-message",
		Description: fmt.Sprintf("a job has waited over %d s, longer than a failing job lives before it is dead-lettered: the workers are stopped, failing or far too few", a.OldestMessageAlarmSeconds),
		Metric:      "ApproximateAgeOfOldestMessage", Statistic: "Maximum", Comparison: "GreaterThanThreshold",
		Threshold: float64(a.OldestMessageAlarmSeconds), PeriodSeconds: 60, EvaluationPeriods: 5,
		// An idle queue publishes nothing for hours: missing data is no backlog.
		MissingData: "notBreaching",
	}}
	if a.BacklogAlarmMessages > 0 {
		work = append(work, Alarm{
			Name:        "backlog",
			Description: fmt.Sprintf("over %d jobs waiting for 15 minutes, more than the worker fleet at its maximum drains within the acceptable latency: raise worker.max or the instance size", a.BacklogAlarmMessages),
			// Minimum: every minute of the 15 held the backlog, not one burst.
			Metric: "ApproximateNumberOfMessagesVisible", Statistic: "Minimum", Comparison: "GreaterThanThreshold",
			Threshold: float64(a.BacklogAlarmMessages), PeriodSeconds: 300, EvaluationPeriods: 3, MissingData: "notBreaching",
		})
	}
	dead = []Alarm{{
		Name:        "dead-letters",
		Description: "a job reached the dead-letter queue: a photo whose thumbnail failed for good, or a worker that keeps dying on a job; read the message's reason attribute",
		Metric:      "ApproximateNumberOfMessagesVisible", Statistic: "Maximum", Comparison: "GreaterThanThreshold",
		Threshold: 0, PeriodSeconds: 60, EvaluationPeriods: 1, MissingData: "notBreaching",
	}}
	return work, dead
}

// alarms watches both queues: <name>-<alarm> and <name>-dlq-<alarm>.
func (q *Queue) alarms(a *QueueArgs) error {
	work, dead := queueAlarms(a)
	for _, set := range []struct {
		owner  string
		queue  pulumi.StringOutput
		alarms []Alarm
	}{{q.name, q.Name, work}, {childName(q.name, "dlq"), q.DeadLetterName, dead}} {
		for _, al := range set.alarms {
			al.Namespace = "AWS/SQS"
			al.Dimensions = pulumi.StringMap{"QueueName": set.queue}
			if err := newAlarm(q.ctx, set.owner, a.AlarmTopicArn, al, q.child); err != nil {
				return err
			}
		}
	}
	return nil
}

// Actions each grant allows, and nothing else.
var (
	// queueSendActions: a producer only sends.
	queueSendActions = []string{"sqs:SendMessage"}
	// queueConsumeActions: a consumer receives, deletes what it finished, and may extend
	// (or end early) a message's invisibility; it never sends, purges or reads attributes.
	queueConsumeActions = []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"}
)

// GrantSend lets role send to the work queue, and nothing else (the write API).
func (q *Queue) GrantSend(role *iam.Role) error {
	return q.grant("send", "SendJobs", role, queueSendActions, q.Arn)
}

// GrantConsume lets role receive, delete and change the visibility of the work queue's
// messages, and nothing else (the workers).
func (q *Queue) GrantConsume(role *iam.Role) error {
	return q.grant("consume", "ConsumeJobs", role, queueConsumeActions, q.Arn)
}

// GrantDeadLetter lets role send to the dead-letter queue, and nothing else: the app's
// worker dead-letters a job that can never succeed (an original that does not decode) at
// its first delivery, with the reason as a message attribute, instead of retrying it
// MaxReceiveCount times (app/worker Permanent, app/sqs DeadLetter).
func (q *Queue) GrantDeadLetter(role *iam.Role) error {
	return q.grant("dead-letter", "DeadLetterJobs", role, queueSendActions, q.DeadLetterArn)
}

// grant writes the inline role policy <name>-<kind>-<n>, n from 1 per kind in program order.
func (q *Queue) grant(kind, sid string, role *iam.Role, actions []string, arn pulumi.StringOutput) error {
	if role == nil {
		return fmt.Errorf("queue %q: grant %s: role is nil", q.name, kind)
	}
	q.grants[kind]++
	_, err := iam.NewRolePolicy(q.ctx, childName(q.name, kind, strconv.Itoa(q.grants[kind])), &iam.RolePolicyArgs{
		Role:   role.ID(),
		Policy: policyDocument(statement{Sid: sid, Actions: actions, Resources: pulumi.StringArray{arn}}),
	}, q.child...)
	return err
}

// BacklogScaling configures ScaleWorkers.
type BacklogScaling struct {
	// TargetPerInstance is the backlog each in-service worker may hold: the acceptable
	// latency divided by the time one worker instance takes per job (see BacklogTarget).
	// Required, above 0.
	TargetPerInstance float64
	// WarmupSeconds is how long a new worker takes before it counts in the metric.
	// Default: DefaultHealthCheckGraceSeconds (the boot budget).
	WarmupSeconds int
}

// BacklogTarget is the backlog per instance a worker fleet may hold and still start every
// job within latencySeconds: a worker instance busy on its backlog finishes a job every
// jobSeconds (its job time divided by how many jobs it runs at once on its cores), so n
// queued jobs per instance wait n x jobSeconds (EC2 Auto Scaling user guide, "Scaling
// policy based on Amazon SQS": acceptable latency / average processing time).
func BacklogTarget(latencySeconds, jobSeconds float64) float64 {
	if jobSeconds <= 0 {
		return 0
	}
	return math.Floor(latencySeconds / jobSeconds)
}

// backlogExpression is the metric math of ScaleWorkers: visible messages per in-service
// worker. Both metrics are 1-minute figures: SQS publishes every minute and the group's
// metrics are enabled at 1-minute granularity (ServerGroup).
const backlogExpression = "messages / workers"

// ScaleWorkers adds to group a target-tracking policy <queue>-backlog on the work queue's
// backlog per instance: ApproximateNumberOfMessagesVisible (Sum) divided by the group's
// GroupInServiceInstances (Average), through metric math, held at TargetPerInstance. Target
// tracking adds workers when the quotient is above the target and removes them, slowly,
// when it is below, between the group's min and max.
func (q *Queue) ScaleWorkers(group *ServerGroup, s BacklogScaling) error {
	if group == nil {
		return fmt.Errorf("queue %q: ScaleWorkers: group is nil", q.name)
	}
	if s.TargetPerInstance <= 0 || math.IsInf(s.TargetPerInstance, 0) || math.IsNaN(s.TargetPerInstance) {
		return argError("queue", q.name, "BacklogScaling.TargetPerInstance", s.TargetPerInstance, "give the backlog per worker above 0: acceptable latency / job time")
	}
	if s.WarmupSeconds == 0 {
		s.WarmupSeconds = DefaultHealthCheckGraceSeconds
	}
	type dims = autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricMetricStatMetricDimensionArray
	type dim = autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricMetricStatMetricDimensionArgs
	stat := func(ns, metric, stat string, d dims) *autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricMetricStatArgs {
		return &autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricMetricStatArgs{
			Metric: &autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricMetricStatMetricArgs{
				Namespace: pulumi.String(ns), MetricName: pulumi.String(metric), Dimensions: d,
			},
			Stat: pulumi.String(stat),
		}
	}
	_, err := autoscaling.NewPolicy(q.ctx, childName(q.name, "backlog"), &autoscaling.PolicyArgs{
		AutoscalingGroupName:    group.GroupName,
		PolicyType:              pulumi.String("TargetTrackingScaling"),
		EstimatedInstanceWarmup: pulumi.Int(s.WarmupSeconds),
		TargetTrackingConfiguration: &autoscaling.PolicyTargetTrackingConfigurationArgs{
			CustomizedMetricSpecification: &autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationArgs{
				Metrics: autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricArray{
					&autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricArgs{
						Id: pulumi.String("messages"), Label: pulumi.String("visible messages in the work queue"),
						MetricStat: stat("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Sum", dims{&dim{Name: pulumi.String("QueueName"), Value: q.Name}}),
						ReturnData: pulumi.Bool(false),
					},
					&autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricArgs{
						Id: pulumi.String("workers"), Label: pulumi.String("in-service workers"),
						MetricStat: stat("AWS/AutoScaling", "GroupInServiceInstances", "Average", dims{&dim{Name: pulumi.String("AutoScalingGroupName"), Value: group.GroupName}}),
						ReturnData: pulumi.Bool(false),
					},
					&autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricArgs{
						Id: pulumi.String("backlog"), Label: pulumi.String("backlog per worker"),
						Expression: pulumi.String(backlogExpression),
						ReturnData: pulumi.Bool(true),
					},
				},
			},
			TargetValue: pulumi.Float64(s.TargetPerInstance),
		},
	}, q.child...)
	return err
}

// wakeExpression is the wake alarm's metric math: the work queue's visible messages while
// the group has no worker in service (FILL: an empty group may publish no point), else 0.
const wakeExpression = "IF(FILL(workers, 0) == 0, messages, 0)"

// WakeWorkers lets group scale in to zero workers and still start again: a step-scaling
// policy <queue>-wake adding one worker, run by the alarm <queue>-wake when the work queue
// has visible messages and the group has no worker in service. Target tracking alone never
// scales an empty group out (it multiplies the current count, 0, by metric / target, and the
// backlog per worker divides by zero), so without it the jobs would wait for ever. The
// alarm's action is the policy, not the stack's topic: it fires every time the fleet wakes.
// A job that arrives at an empty fleet waits one alarm minute and a worker's boot.
func (q *Queue) WakeWorkers(group *ServerGroup) error {
	if group == nil {
		return fmt.Errorf("queue %q: WakeWorkers: group is nil", q.name)
	}
	name := childName(q.name, "wake")
	policy, err := autoscaling.NewPolicy(q.ctx, name, &autoscaling.PolicyArgs{
		AutoscalingGroupName:  group.GroupName,
		PolicyType:            pulumi.String("StepScaling"),
		AdjustmentType:        pulumi.String("ChangeInCapacity"),
		MetricAggregationType: pulumi.String("Maximum"),
		StepAdjustments: autoscaling.PolicyStepAdjustmentArray{&autoscaling.PolicyStepAdjustmentArgs{
			MetricIntervalLowerBound: pulumi.String("0"), ScalingAdjustment: pulumi.Int(1),
		}},
	}, q.child...)
	if err != nil {
		return err
	}
	metric := func(id, ns, metric, stat string, dims pulumi.StringMap) *cloudwatch.MetricAlarmMetricQueryArgs {
		return &cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String(id), ReturnData: pulumi.Bool(false),
			Metric: &cloudwatch.MetricAlarmMetricQueryMetricArgs{Namespace: pulumi.String(ns), MetricName: pulumi.String(metric),
				Stat: pulumi.String(stat), Period: pulumi.Int(60), Dimensions: dims}}
	}
	_, err = cloudwatch.NewMetricAlarm(q.ctx, name, &cloudwatch.MetricAlarmArgs{
		Name:               pulumi.String(AlarmName(q.ctx, name)), // composite rules name alarms
		AlarmDescription:   pulumi.String("jobs are waiting and no worker is in service: start one (target tracking takes over from there)"),
		ComparisonOperator: pulumi.String("GreaterThanThreshold"),
		Threshold:          pulumi.Float64(0),
		EvaluationPeriods:  pulumi.Int(1),
		TreatMissingData:   pulumi.String("notBreaching"),
		MetricQueries: cloudwatch.MetricAlarmMetricQueryArray{
			metric("messages", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", pulumi.StringMap{"QueueName": q.Name}),
			metric("workers", "AWS/AutoScaling", "GroupInServiceInstances", "Maximum", pulumi.StringMap{"AutoScalingGroupName": group.GroupName}),
			&cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("waiting"), Expression: pulumi.String(wakeExpression),
				Label: pulumi.String("visible jobs while no worker is in service"), ReturnData: pulumi.Bool(true)},
		},
		AlarmActions: pulumi.Array{policy.Arn},
		Tags:         tags(name),
	}, q.child...)
	return err
}

// QueueConsumer is what a queue's consumer takes per message, from which
// VisibilityTimeoutFor derives the queue's visibility timeout.
type QueueConsumer struct {
	// LongestJobCPUSeconds is the longest job's CPU time on one core, measured (the
	// largest input the app accepts).
	LongestJobCPUSeconds float64
	// IOSeconds bounds a job's calls besides its CPU work (object store, database, the
	// delete).
	IOSeconds float64
	// Concurrency is how many jobs one consumer runs at once.
	Concurrency int
	// VCPUs is the fewest cores a consumer instance has.
	VCPUs int
	// ShutdownSeconds is how long a stopping consumer lets its jobs finish.
	ShutdownSeconds int
}

// visibilityMargin is the factor over the consumer's worst path, AWS's own for queue
// consumers (the SQS developer guide asks a visibility timeout of 6 times a Lambda
// consumer's timeout): it absorbs SDK retries, a slow object store and a noisy host.
const visibilityMargin = 6

// VisibilityTimeoutFor derives a visibility timeout from the consumer, in whole minutes:
//
//	job wall time = LongestJobCPUSeconds x max(1, Concurrency / VCPUs)
//	                (more jobs than cores share the CPU)
//	worst path    = job wall time (waiting for a free job slot: a consumer receives its next
//	                batch while its slots are busy) + job wall time + IOSeconds
//	timeout       = max(worst path x 6, ShutdownSeconds + 20 s long poll), rounded up to
//	                the minute
//
// The floor keeps a job finished during a graceful stop deleted before its message
// reappears.
func VisibilityTimeoutFor(c QueueConsumer) int {
	stretch := 1.0
	if c.VCPUs > 0 && c.Concurrency > c.VCPUs {
		stretch = float64(c.Concurrency) / float64(c.VCPUs)
	}
	wall := c.LongestJobCPUSeconds * stretch
	path := 2*wall + c.IOSeconds
	secs := math.Max(path*visibilityMargin, float64(c.ShutdownSeconds+maxReceiveWaitSeconds))
	return int(math.Ceil(secs/60)) * 60
}

func (a *QueueArgs) withDefaults(name string) (*QueueArgs, error) {
	bad := func(field string, value any, fix string) error { return argError("queue", name, field, value, fix) }
	if a == nil {
		return nil, bad("args", nil, "pass QueueArgs")
	}
	out := *a
	if out.VisibilityTimeoutSeconds < 1 || out.VisibilityTimeoutSeconds > maxVisibilityTimeoutSeconds {
		return nil, bad("VisibilityTimeoutSeconds", out.VisibilityTimeoutSeconds,
			fmt.Sprintf("derive it from the consumer's longest job with VisibilityTimeoutFor (1 to %d s)", maxVisibilityTimeoutSeconds))
	}
	if out.MaxReceiveCount == 0 {
		out.MaxReceiveCount = 5
	}
	if out.MaxReceiveCount < 1 || out.MaxReceiveCount > maxBoundedReceives {
		return nil, bad("MaxReceiveCount", out.MaxReceiveCount, fmt.Sprintf("use 1 to %d deliveries before the dead-letter queue (rule SQS-2)", maxBoundedReceives))
	}
	if out.ReceiveWaitSeconds == 0 {
		out.ReceiveWaitSeconds = maxReceiveWaitSeconds
	}
	if out.ReceiveWaitSeconds < 1 || out.ReceiveWaitSeconds > maxReceiveWaitSeconds {
		return nil, bad("ReceiveWaitSeconds", out.ReceiveWaitSeconds, "use a long poll of 1 to 20 s")
	}
	if out.MessageRetentionSeconds == 0 {
		out.MessageRetentionSeconds = 345600
	}
	if out.DeadLetterRetentionSeconds == 0 {
		out.DeadLetterRetentionSeconds = maxRetentionSeconds
	}
	for _, r := range []struct {
		field string
		v     int
	}{{"MessageRetentionSeconds", out.MessageRetentionSeconds}, {"DeadLetterRetentionSeconds", out.DeadLetterRetentionSeconds}} {
		if r.v < minRetentionSeconds || r.v > maxRetentionSeconds {
			return nil, bad(r.field, r.v, fmt.Sprintf("use %d to %d s (SQS's retention range)", minRetentionSeconds, maxRetentionSeconds))
		}
	}
	if out.DeadLetterRetentionSeconds <= out.MessageRetentionSeconds {
		return nil, bad("DeadLetterRetentionSeconds", out.DeadLetterRetentionSeconds,
			fmt.Sprintf("keep dead letters longer than the queue keeps messages (%d s): SQS keeps a message's enqueue time when it dead-letters it", out.MessageRetentionSeconds))
	}
	if out.DataKeyReuseSeconds == 0 {
		out.DataKeyReuseSeconds = 300
	}
	if out.DataKeyReuseSeconds < minDataKeyReuseSeconds || out.DataKeyReuseSeconds > maxDataKeyReuseSeconds {
		return nil, bad("DataKeyReuseSeconds", out.DataKeyReuseSeconds, "use 60 to 86400 s (SQS's data key reuse range)")
	}
	if out.OldestMessageAlarmSeconds == 0 {
		out.OldestMessageAlarmSeconds = out.MaxReceiveCount * out.VisibilityTimeoutSeconds
	}
	if out.OldestMessageAlarmSeconds < 0 || out.BacklogAlarmMessages < 0 {
		return nil, bad("OldestMessageAlarmSeconds/BacklogAlarmMessages", fmt.Sprintf("%d/%d", out.OldestMessageAlarmSeconds, out.BacklogAlarmMessages), "use thresholds of 0 or more")
	}
	return &out, nil
}
