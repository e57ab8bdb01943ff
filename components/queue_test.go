package components

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	qTQueue   = "aws:sqs/queue:Queue"
	qTPolicy  = "aws:sqs/queuePolicy:QueuePolicy"
	qTAllow   = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy"
	qTScaling = "aws:autoscaling/policy:Policy"
)

// queueMocks answers SQS queues with the ARN, URL and name AWS gives; the rest as dbRecorder.
type queueMocks struct{ *dbRecorder }

func (m queueMocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	id, out, err := m.dbRecorder.NewResource(args)
	switch args.TypeToken {
	case qTQueue:
		out["arn"] = resource.NewStringProperty("arn:aws:sqs:eu-west-1:123456789012:" + args.Name + "-physical")
		out["url"] = resource.NewStringProperty("https://sqs.eu-west-1.amazonaws.com/123456789012/" + args.Name + "-physical")
		out["name"] = resource.NewStringProperty(args.Name + "-physical")
	case "aws:autoscaling/group:Group":
		out["name"] = resource.NewStringProperty(args.Name + "-physical")
	}
	return id, out, err
}

// queueRun creates a queue named jobs with args (the stack key when key), the roles
// producer and consumer granted send and consume, and runs program on it.
func queueRun(t *testing.T, args QueueArgs, key bool, then func(ctx *pulumi.Context, q *Queue) error) *dbRecorder {
	t.Helper()
	rec := &dbRecorder{stack: "prod"}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		if key {
			k, err := NewKey(ctx, "key", &KeyArgs{AccountID: "123456789012", Region: "eu-west-1"})
			if err != nil {
				return err
			}
			args.Key = k
		}
		q, err := NewQueue(ctx, "jobs", &args)
		if err != nil {
			return err
		}
		if then != nil {
			return then(ctx, q)
		}
		return nil
	}, pulumi.WithMocks("scaling-aws", "prod", queueMocks{rec}))
	require.NoError(t, err)
	return rec
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &m), s)
	return m
}

// statements returns a role policy's statements as Sid -> (actions, resources).
func statements(t *testing.T, p *dbRecorded) map[string][2][]string {
	t.Helper()
	out := map[string][2][]string{}
	for _, s := range decode(t, p.Inputs["policy"].StringValue())["Statement"].([]any) {
		sm := s.(map[string]any)
		var acts, res []string
		for _, a := range sm["Action"].([]any) {
			acts = append(acts, a.(string))
		}
		for _, r := range sm["Resource"].([]any) {
			res = append(res, r.(string))
		}
		out[sm["Sid"].(string)] = [2][]string{acts, res}
	}
	return out
}

// TestQueueSecureByDefault: both queues encrypted under the key, long polling, the
// derived visibility timeout on both, the redrive to the DLQ with a bounded count, the
// DLQ kept longer, allowing redrives from the work queue alone, TLS-only policies, kept.
func TestQueueSecureByDefault(t *testing.T) {
	rec := queueRun(t, QueueArgs{VisibilityTimeoutSeconds: 120, Protect: true}, true, nil)
	work, dlq := rec.find(qTQueue, "jobs"), rec.find(qTQueue, "jobs-dlq")
	require.NotNil(t, work)
	require.NotNil(t, dlq)
	for _, q := range []*dbRecorded{work, dlq} {
		assert.Equal(t, "arn:aws:kms:eu-west-1:123456789012:key/key", q.Inputs["kmsMasterKeyId"].StringValue(), q.Name)
		assert.Equal(t, 300.0, q.Inputs["kmsDataKeyReusePeriodSeconds"].NumberValue(), q.Name)
		assert.False(t, q.Inputs.HasValue("sqsManagedSseEnabled"), "SSE-KMS, not SSE-SQS")
		assert.Equal(t, 20.0, q.Inputs["receiveWaitTimeSeconds"].NumberValue(), q.Name)
		assert.Equal(t, 120.0, q.Inputs["visibilityTimeoutSeconds"].NumberValue(), q.Name)
		assert.True(t, q.Protect && q.Retain, q.Name)
	}
	assert.Equal(t, 345600.0, work.Inputs["messageRetentionSeconds"].NumberValue())
	assert.Equal(t, 1209600.0, dlq.Inputs["messageRetentionSeconds"].NumberValue())
	assert.Equal(t, "dlq", dlq.Inputs["tags"].ObjectValue()["role"].StringValue())
	assert.Equal(t, map[string]any{"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:123456789012:jobs-dlq-physical", "maxReceiveCount": 5.0},
		decode(t, work.Inputs["redrivePolicy"].StringValue()))

	allow := rec.find(qTAllow, "jobs-dlq")
	require.NotNil(t, allow)
	assert.Equal(t, "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs-dlq-physical", allow.Inputs["queueUrl"].StringValue())
	assert.Equal(t, map[string]any{"redrivePermission": "byQueue", "sourceQueueArns": []any{"arn:aws:sqs:eu-west-1:123456789012:jobs-physical"}},
		decode(t, allow.Inputs["redriveAllowPolicy"].StringValue()))

	for _, name := range []string{"jobs", "jobs-dlq"} {
		p := rec.find(qTPolicy, name)
		require.NotNil(t, p, name)
		st := decode(t, p.Inputs["policy"].StringValue())["Statement"].([]any)
		require.Len(t, st, 1)
		assert.Equal(t, map[string]any{
			"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": map[string]any{"AWS": "*"}, "Action": "sqs:*",
			"Resource":  "arn:aws:sqs:eu-west-1:123456789012:" + name + "-physical",
			"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
		}, st[0])
	}
}

// TestQueueWithoutKeyUsesSSESQS: without the stack key (dev) both queues are SSE-SQS.
func TestQueueWithoutKeyUsesSSESQS(t *testing.T) {
	rec := queueRun(t, QueueArgs{VisibilityTimeoutSeconds: 60}, false, nil)
	for _, name := range []string{"jobs", "jobs-dlq"} {
		q := rec.find(qTQueue, name)
		require.NotNil(t, q)
		assert.True(t, q.Inputs["sqsManagedSseEnabled"].BoolValue(), name)
		assert.False(t, q.Inputs.HasValue("kmsMasterKeyId"), name)
		assert.False(t, q.Protect, name)
		assert.True(t, q.Retain, name)
	}
}

// TestQueueAlarms: the age of the oldest message (default threshold: receives x
// visibility), a sustained backlog, and the first dead letter, all notifying the topic.
func TestQueueAlarms(t *testing.T) {
	rec := queueRun(t, QueueArgs{VisibilityTimeoutSeconds: 120, AlarmTopicArn: pulumi.String("arn:aws:sns:eu-west-1:123456789012:alarms"), BacklogAlarmMessages: 600}, false, nil)
	want := map[string]struct {
		metric, stat, queue string
		threshold           float64
	}{
		"jobs-oldest-message":   {"ApproximateAgeOfOldestMessage", "Maximum", "jobs-physical", 600},
		"jobs-backlog":          {"ApproximateNumberOfMessagesVisible", "Minimum", "jobs-physical", 600},
		"jobs-dlq-dead-letters": {"ApproximateNumberOfMessagesVisible", "Maximum", "jobs-dlq-physical", 0},
	}
	n := 0
	for _, r := range rec.res {
		if r.Type != dbTAlarm {
			continue
		}
		n++
		w, ok := want[r.Name]
		require.True(t, ok, "unexpected alarm %s", r.Name)
		assert.Equal(t, "AWS/SQS", r.Inputs["namespace"].StringValue())
		assert.Equal(t, w.metric, r.Inputs["metricName"].StringValue(), r.Name)
		assert.Equal(t, w.stat, r.Inputs["statistic"].StringValue(), r.Name)
		assert.Equal(t, w.threshold, r.Inputs["threshold"].NumberValue(), r.Name)
		assert.Equal(t, w.queue, r.Inputs["dimensions"].ObjectValue()["QueueName"].StringValue(), r.Name)
		assert.Equal(t, "arn:aws:sns:eu-west-1:123456789012:alarms", r.Inputs["alarmActions"].ArrayValue()[0].StringValue())
	}
	assert.Equal(t, len(want), n)
}

// TestQueueGrantsAreLeastPrivilege: the producer may only send to the work queue; the
// consumer may only receive, delete and change visibility on it, and send to the DLQ.
func TestQueueGrantsAreLeastPrivilege(t *testing.T) {
	rec := queueRun(t, QueueArgs{VisibilityTimeoutSeconds: 60}, false, func(ctx *pulumi.Context, q *Queue) error {
		producer, err := iam.NewRole(ctx, "producer", &iam.RoleArgs{AssumeRolePolicy: pulumi.String(assumeRolePolicy("ec2.amazonaws.com"))})
		if err != nil {
			return err
		}
		consumer, err := iam.NewRole(ctx, "consumer", &iam.RoleArgs{AssumeRolePolicy: pulumi.String(assumeRolePolicy("ec2.amazonaws.com"))})
		if err != nil {
			return err
		}
		for _, err := range []error{q.GrantSend(producer), q.GrantConsume(consumer), q.GrantDeadLetter(consumer)} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	work, dead := "arn:aws:sqs:eu-west-1:123456789012:jobs-physical", "arn:aws:sqs:eu-west-1:123456789012:jobs-dlq-physical"
	cases := map[string]struct {
		role string
		want map[string][2][]string
	}{
		"jobs-send-1":        {"producer_id", map[string][2][]string{"SendJobs": {{"sqs:SendMessage"}, {work}}}},
		"jobs-consume-1":     {"consumer_id", map[string][2][]string{"ConsumeJobs": {{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"}, {work}}}},
		"jobs-dead-letter-1": {"consumer_id", map[string][2][]string{"DeadLetterJobs": {{"sqs:SendMessage"}, {dead}}}},
	}
	for name, c := range cases {
		p := rec.find(dbTRolePolicy, name)
		require.NotNil(t, p, name)
		assert.Equal(t, c.role, p.Inputs["role"].StringValue(), name)
		assert.Equal(t, c.want, statements(t, p), name)
	}
}

// TestScaleWorkersDividesBacklogByInService: the policy's metric math is visible messages
// of the work queue over in-service instances of the group, held at the target.
func TestScaleWorkersDividesBacklogByInService(t *testing.T) {
	rec := queueRun(t, QueueArgs{VisibilityTimeoutSeconds: 60}, false, func(ctx *pulumi.Context, q *Queue) error {
		net, err := dbTestNetwork(ctx, TierPublic, TierWorker)
		if err != nil {
			return err
		}
		rel, err := NewAppRelease(ctx, "release", &AppReleaseArgs{Version: "v1", Arch: "amd64", Binary: pulumi.NewStringAsset("bin")})
		if err != nil {
			return err
		}
		g, err := NewServerGroup(ctx, "worker", &ServerGroupArgs{Network: net, Tier: TierWorker, ImageID: pulumi.String("ami-1"), Worker: true,
			MinSize: 1, MaxSize: 4, DesiredCapacity: 1, Script: &ServerScriptArgs{Tier: "worker", Release: rel, Region: "eu-west-1"}})
		if err != nil {
			return err
		}
		return q.ScaleWorkers(g, BacklogScaling{TargetPerInstance: 60})
	})
	var policies []dbRecorded
	for _, r := range rec.res {
		if r.Type == qTScaling {
			policies = append(policies, r)
		}
	}
	require.Len(t, policies, 1, "the backlog policy only: a worker group has no CPU policy")
	p := policies[0]
	assert.Equal(t, "jobs-backlog", p.Name)
	assert.Equal(t, "worker-physical", p.Inputs["autoscalingGroupName"].StringValue())
	assert.Equal(t, "TargetTrackingScaling", p.Inputs["policyType"].StringValue())
	assert.Equal(t, 240.0, p.Inputs["estimatedInstanceWarmup"].NumberValue())
	tt := p.Inputs["targetTrackingConfiguration"].ObjectValue()
	assert.Equal(t, 60.0, tt["targetValue"].NumberValue())
	metrics := tt["customizedMetricSpecification"].ObjectValue()["metrics"].ArrayValue()
	require.Len(t, metrics, 3)
	byID := map[string]resource.PropertyMap{}
	for _, m := range metrics {
		byID[m.ObjectValue()["id"].StringValue()] = m.ObjectValue()
	}
	stat := func(id string) (string, string, string, map[string]string) {
		ms := byID[id]["metricStat"].ObjectValue()
		met := ms["metric"].ObjectValue()
		dims := map[string]string{}
		for _, d := range met["dimensions"].ArrayValue() {
			dims[d.ObjectValue()["name"].StringValue()] = d.ObjectValue()["value"].StringValue()
		}
		return met["namespace"].StringValue(), met["metricName"].StringValue(), ms["stat"].StringValue(), dims
	}
	ns, metric, st, dims := stat("messages")
	assert.Equal(t, []any{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "Sum", map[string]string{"QueueName": "jobs-physical"}}, []any{ns, metric, st, dims})
	ns, metric, st, dims = stat("workers")
	assert.Equal(t, []any{"AWS/AutoScaling", "GroupInServiceInstances", "Average", map[string]string{"AutoScalingGroupName": "worker-physical"}}, []any{ns, metric, st, dims})
	assert.Equal(t, "messages / workers", byID["backlog"]["expression"].StringValue())
	assert.True(t, byID["backlog"]["returnData"].BoolValue())
	assert.False(t, byID["messages"]["returnData"].BoolValue())
	assert.False(t, byID["workers"]["returnData"].BoolValue())

	g := rec.find("aws:autoscaling/group:Group", "worker")
	require.NotNil(t, g)
	assert.False(t, g.Inputs.HasValue("targetGroupArns"), "nothing calls a worker")
	var role string
	for _, tag := range g.Inputs["tags"].ArrayValue() {
		if tag.ObjectValue()["key"].StringValue() == "role" {
			role = tag.ObjectValue()["value"].StringValue()
		}
	}
	assert.Equal(t, "worker", role)
}

// TestVisibilityTimeoutFor: the arithmetic of docs/decisions.md, and its floor.
func TestVisibilityTimeoutFor(t *testing.T) {
	for _, c := range []struct {
		name string
		in   QueueConsumer
		want int
	}{
		// 2.2 s x 4/1 = 8.8; 2 x 8.8 + 1 = 18.6; x 6 = 111.6 -> 120.
		{"one vCPU, four jobs", QueueConsumer{LongestJobCPUSeconds: 2.2, IOSeconds: 1, Concurrency: 4, VCPUs: 1, ShutdownSeconds: 25}, 120},
		// 2.2 x 2 = 4.4; 9.8 x 6 = 58.8 -> 60.
		{"two vCPUs", QueueConsumer{LongestJobCPUSeconds: 2.2, IOSeconds: 1, Concurrency: 4, VCPUs: 2, ShutdownSeconds: 25}, 60},
		// Fewer jobs than cores: no stretch; 2 x 0.5 + 0 = 1 x 6 = 6, floor 25 + 20 = 45 -> 60.
		{"shutdown floor", QueueConsumer{LongestJobCPUSeconds: 0.5, Concurrency: 1, VCPUs: 2, ShutdownSeconds: 25}, 60},
		{"long jobs", QueueConsumer{LongestJobCPUSeconds: 30, IOSeconds: 5, Concurrency: 2, VCPUs: 2, ShutdownSeconds: 25}, 420},
	} {
		assert.Equal(t, c.want, VisibilityTimeoutFor(c.in), c.name)
	}
	assert.Equal(t, 60.0, BacklogTarget(30, 0.5))
	assert.Equal(t, 0.0, BacklogTarget(30, 0))
}

// TestQueueRefusesBadArgs: bad values fail before anything is registered, naming the field.
func TestQueueRefusesBadArgs(t *testing.T) {
	for _, c := range []struct {
		args QueueArgs
		want string
	}{
		{QueueArgs{}, "VisibilityTimeoutSeconds = 0"},
		{QueueArgs{VisibilityTimeoutSeconds: 43201}, "VisibilityTimeoutSeconds = 43201"},
		{QueueArgs{VisibilityTimeoutSeconds: 60, MaxReceiveCount: 11}, "MaxReceiveCount = 11"},
		{QueueArgs{VisibilityTimeoutSeconds: 60, ReceiveWaitSeconds: 21}, "ReceiveWaitSeconds = 21"},
		{QueueArgs{VisibilityTimeoutSeconds: 60, MessageRetentionSeconds: 1209600}, "DeadLetterRetentionSeconds = 1209600"},
		{QueueArgs{VisibilityTimeoutSeconds: 60, MessageRetentionSeconds: 3600, DeadLetterRetentionSeconds: 3600}, "longer than the queue keeps messages"},
		{QueueArgs{VisibilityTimeoutSeconds: 60, DataKeyReuseSeconds: 30}, "DataKeyReuseSeconds = 30"},
	} {
		rec := &dbRecorder{}
		err := pulumi.RunErr(func(ctx *pulumi.Context) error {
			_, err := NewQueue(ctx, "jobs", &c.args)
			return err
		}, pulumi.WithMocks("scaling-aws", "dev", queueMocks{rec}))
		require.Error(t, err, c.want)
		assert.Contains(t, err.Error(), c.want)
		for _, r := range rec.res {
			assert.False(t, strings.HasPrefix(r.Type, "aws:sqs"), "%s registered before the error", r.Name)
		}
	}
}

// TestWakeWorkersStartsAnEmptyFleet: one worker is added when the queue holds visible
// messages while the group has none in service.
func TestWakeWorkersStartsAnEmptyFleet(t *testing.T) {
	rec := queueRun(t, QueueArgs{VisibilityTimeoutSeconds: 60}, false, func(ctx *pulumi.Context, q *Queue) error {
		net, err := dbTestNetwork(ctx, TierPublic, TierWorker)
		if err != nil {
			return err
		}
		rel, err := NewAppRelease(ctx, "release", &AppReleaseArgs{Version: "v1", Arch: "amd64", Binary: pulumi.NewStringAsset("bin")})
		if err != nil {
			return err
		}
		g, err := NewServerGroup(ctx, "worker", &ServerGroupArgs{Network: net, Tier: TierWorker, ImageID: pulumi.String("ami-1"), Worker: true,
			MinSize: 0, MaxSize: 4, DesiredCapacity: 0, Script: &ServerScriptArgs{Tier: "worker", Release: rel, Region: "eu-west-1"}})
		if err != nil {
			return err
		}
		return q.WakeWorkers(g)
	})
	p := rec.find(qTScaling, "jobs-wake")
	require.NotNil(t, p)
	assert.Equal(t, "StepScaling", p.Inputs["policyType"].StringValue())
	assert.Equal(t, "ChangeInCapacity", p.Inputs["adjustmentType"].StringValue())
	step := p.Inputs["stepAdjustments"].ArrayValue()
	require.Len(t, step, 1)
	assert.Equal(t, 1.0, step[0].ObjectValue()["scalingAdjustment"].NumberValue())
	assert.Equal(t, "0", step[0].ObjectValue()["metricIntervalLowerBound"].StringValue())

	a := rec.find(dbTAlarm, "jobs-wake")
	require.NotNil(t, a)
	assert.Equal(t, "GreaterThanThreshold", a.Inputs["comparisonOperator"].StringValue())
	assert.Equal(t, 0.0, a.Inputs["threshold"].NumberValue())
	assert.Len(t, a.Inputs["alarmActions"].ArrayValue(), 1, "the wake policy")
	dims := map[string]string{}
	for _, q := range a.Inputs["metricQueries"].ArrayValue() {
		qm := q.ObjectValue()
		if qm["id"].StringValue() == "waiting" {
			assert.Equal(t, wakeExpression, qm["expression"].StringValue())
			assert.True(t, qm["returnData"].BoolValue())
			continue
		}
		m := qm["metric"].ObjectValue()
		for k, v := range m["dimensions"].ObjectValue() {
			dims[qm["id"].StringValue()+":"+string(k)] = v.StringValue()
		}
	}
	assert.Equal(t, map[string]string{"messages:QueueName": "jobs-physical", "workers:AutoScalingGroupName": "worker-physical"}, dims)
}
