package components

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AlarmsArgs configures Alarms.
type AlarmsArgs struct {
	// Key encrypts the topic. Required: CloudWatch alarms can publish to an encrypted topic only
	// when the key's policy grants cloudwatch.amazonaws.com kms:Decrypt and
	// kms:GenerateDataKey*, which the AWS-managed alias/aws/sns key never does (AWS Knowledge
	// Center "cloudwatch-configure-alarm-sns"): with it, no notification is ever delivered.
	Key *Key
	// Email, when set, is subscribed to the topic (AWS mails a confirmation link first).
	// Default: no subscription; subscribe chat or paging tools to TopicArn yourself.
	Email string
}

// Alarms is the stack's alarm topic: an SNS topic, encrypted with the stack's own key (whose
// policy lets CloudWatch alarms publish), that every alarm of the stack notifies.
// Costs money: SNS deliveries only.
type Alarms struct {
	pulumi.ResourceState

	// TopicArn is the topic every alarm's actions name.
	TopicArn pulumi.StringOutput

	ctx   *pulumi.Context
	child []pulumi.ResourceOption
}

// NewAlarms creates the alarm topic.
func NewAlarms(ctx *pulumi.Context, name string, args *AlarmsArgs, opts ...pulumi.ResourceOption) (*Alarms, error) {
	if args == nil || args.Key == nil {
		return nil, argError("alarms", name, "Key", nil, "pass the stack's key: CloudWatch cannot publish to a topic under the AWS-managed alias/aws/sns key")
	}
	a := &Alarms{ctx: ctx}
	child, err := register(ctx, "monitoring:Alarms", name, a, opts)
	if err != nil {
		return nil, err
	}
	a.child = child
	topic, err := sns.NewTopic(ctx, name, &sns.TopicArgs{
		KmsMasterKeyId: args.Key.Arn,
		Tags:           tags(name),
	}, child...)
	if err != nil {
		return nil, err
	}
	a.TopicArn = topic.Arn
	if args.Email != "" {
		if _, err := sns.NewTopicSubscription(ctx, childName(name, "email"), &sns.TopicSubscriptionArgs{
			Topic:    topic.Arn,
			Protocol: pulumi.String("email"),
			Endpoint: pulumi.String(args.Email),
		}, child...); err != nil {
			return nil, err
		}
	}
	return a, ctx.RegisterResourceOutputs(a, pulumi.Map{"topicArn": topic.Arn})
}

// Alarm describes one CloudWatch alarm on a single metric.
type Alarm struct {
	// Name is the alarm's suffix, appended to its owner's name.
	Name        string
	Description string
	Namespace   string
	Metric      string
	Dimensions  pulumi.StringMap
	// Statistic is Average, Maximum, Minimum or Sum.
	Statistic string
	// Comparison is a CloudWatch comparison operator, such as GreaterThanThreshold.
	Comparison string
	Threshold  float64
	// PeriodSeconds and EvaluationPeriods set how long the condition must hold.
	PeriodSeconds     int
	EvaluationPeriods int
	// ExtraActions run besides notifying the topic (EC2 recover or reboot actions).
	ExtraActions []pulumi.StringInput
	// MissingData is how missing points count. Default: "missing".
	MissingData string
}

// newAlarm creates an alarm named owner-suffix whose actions notify topic (plus extras).
// Every alarm has actions: an alarm nobody hears is not monitoring (CKV_AWS_319).
func newAlarm(ctx *pulumi.Context, owner string, topic pulumi.StringInput, al Alarm, opts []pulumi.ResourceOption) error {
	actions := pulumi.Array{topic}
	for _, a := range al.ExtraActions {
		actions = append(actions, a)
	}
	missing := al.MissingData
	if missing == "" {
		missing = "missing"
	}
	_, err := cloudwatch.NewMetricAlarm(ctx, childName(owner, al.Name), &cloudwatch.MetricAlarmArgs{
		AlarmDescription:   pulumi.String(al.Description),
		Namespace:          pulumi.String(al.Namespace),
		MetricName:         pulumi.String(al.Metric),
		Dimensions:         al.Dimensions,
		Statistic:          pulumi.String(al.Statistic),
		ComparisonOperator: pulumi.String(al.Comparison),
		Threshold:          pulumi.Float64(al.Threshold),
		Period:             pulumi.Int(al.PeriodSeconds),
		EvaluationPeriods:  pulumi.Int(al.EvaluationPeriods),
		TreatMissingData:   pulumi.String(missing),
		AlarmActions:       actions,
		OkActions:          pulumi.Array{topic},
		Tags:               tags(childName(owner, al.Name)),
	}, opts...)
	return err
}
