package components

import (
	"fmt"
	"sync"

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
	// Email, when set, is subscribed to the topic (AWS mails a confirmation link first), and
	// to every page topic (Page). Default: no subscription; subscribe chat or paging tools to
	// TopicArn yourself.
	Email string
}

// Alarms is the stack's alarm topic: an SNS topic, encrypted with the stack's own key (whose
// policy lets CloudWatch alarms publish), that every alarm of the stack notifies.
//
// NewAlarms also keeps the stack's alarm log: a stack transformation records every
// cloudwatch.MetricAlarm registered after it (whoever creates it), so the composite alarms
// and the dashboard are made from the alarms' own arguments and can never disagree with them
// (Recorded, NewDashboard). Page adds page topics (e-mail and an incident tool's endpoint).
//
// AWS resources: sns.Topic, sns.TopicSubscription (Email); per Page another topic and its
// subscriptions. Costs money: SNS deliveries only.
type Alarms struct {
	pulumi.ResourceState

	// TopicArn is the topic every alarm's actions name.
	TopicArn pulumi.StringOutput

	ctx      *pulumi.Context
	name     string
	email    string
	child    []pulumi.ResourceOption
	key      *Key
	mu       sync.Mutex
	recorded []RecordedAlarm
}

// RecordedAlarm is one metric alarm of the stack as it was registered.
type RecordedAlarm struct {
	// Logical is the alarm's logical name; Name its alarm name in CloudWatch (AlarmName), ""
	// when its creator left it to auto-naming.
	Logical, Name string
	// Args are the alarm's arguments, as given to cloudwatch.NewMetricAlarm.
	Args *cloudwatch.MetricAlarmArgs
	// Resource is the alarm itself (composite alarms depend on it: CloudWatch refuses a rule
	// naming an alarm that does not exist yet).
	Resource pulumi.Resource
	// Parent is the component the alarm belongs to (nil for a stack-level alarm).
	Parent pulumi.Resource
	// Page reports whether the alarm is a page: users see errors or slowness (Alarm.Page).
	Page bool
	// Elsewhere reports whether the alarm names its own provider (us-east-1 beside
	// CloudFront): composite alarms can only watch alarms of their own region.
	Elsewhere bool
}

// severityTag is the tag newAlarm sets on every alarm: "page" or "ticket" (Alarm.Page).
const severityTag = "severity"

// NewAlarms creates the alarm topic.
func NewAlarms(ctx *pulumi.Context, name string, args *AlarmsArgs, opts ...pulumi.ResourceOption) (*Alarms, error) {
	if args == nil || args.Key == nil {
		return nil, argError("alarms", name, "Key", nil, "pass the stack's key: CloudWatch cannot publish to a topic under the AWS-managed alias/aws/sns key")
	}
	a := &Alarms{ctx: ctx, name: name, email: args.Email, key: args.Key}
	child, err := register(ctx, "monitoring:Alarms", name, a, opts)
	if err != nil {
		return nil, err
	}
	a.child = child
	if err := ctx.RegisterStackTransformation(a.record); err != nil {
		return nil, fmt.Errorf("alarms %q: record the stack's alarms: %w", name, err)
	}
	topic, err := newTopic(ctx, name, args.Key, args.Email, nil, child)
	if err != nil {
		return nil, err
	}
	a.TopicArn = topic
	return a, ctx.RegisterResourceOutputs(a, pulumi.Map{"topicArn": topic})
}

// newTopic creates topic name under key with an e-mail subscription (when email is set) and
// an HTTPS one (when endpoint is set).
func newTopic(ctx *pulumi.Context, name string, key *Key, email string, endpoint pulumi.StringInput, opts []pulumi.ResourceOption) (pulumi.StringOutput, error) {
	topic, err := sns.NewTopic(ctx, name, &sns.TopicArgs{
		KmsMasterKeyId: key.Arn,
		Tags:           tags(name),
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	if email != "" {
		if _, err := sns.NewTopicSubscription(ctx, childName(name, "email"), &sns.TopicSubscriptionArgs{
			Topic:    topic.Arn,
			Protocol: pulumi.String("email"),
			Endpoint: pulumi.String(email),
		}, opts...); err != nil {
			return pulumi.StringOutput{}, err
		}
	}
	if endpoint != nil {
		if _, err := sns.NewTopicSubscription(ctx, childName(name, "incident"), &sns.TopicSubscriptionArgs{
			Topic:    topic.Arn,
			Protocol: pulumi.String("https"),
			// The URL carries the integration key of the incident tool (PagerDuty's
			// /integration/<key>/enqueue, Opsgenie's apiKey=...), and the provider does not
			// mark the endpoint secret: it is wrapped here so it never reaches the state or a
			// preview in plain text.
			Endpoint: pulumi.ToSecret(endpoint).(pulumi.StringOutput),
			// Raw delivery stays off: PagerDuty's and Opsgenie's CloudWatch integrations parse
			// the SNS envelope (Subject "ALARM: ...", the alarm JSON in Message).
			RawMessageDelivery: pulumi.Bool(false),
			// Both tools confirm SNS subscriptions themselves; the provider waits for that
			// confirmation, so a URL that never confirms fails `pulumi up` instead of leaving
			// a subscription pending forever (which AWS will not let the provider delete).
			EndpointAutoConfirms: pulumi.Bool(true),
		}, opts...); err != nil {
			return pulumi.StringOutput{}, err
		}
	}
	return topic.Arn, nil
}

// PageArgs configures a page topic (Alarms.Page).
type PageArgs struct {
	// Name is the topic's suffix: the topic is <alarms>-<Name>. Required.
	Name string
	// Key encrypts the topic; it must live in the topic's region. Required.
	Key *Key
	// Endpoint is the incident tool's HTTPS endpoint (PagerDuty's or Opsgenie's CloudWatch
	// integration URL), a secret. Default: nil, the page topic reaches e-mail only.
	Endpoint pulumi.StringInput
	// Provider, when set, puts the topic in the provider's region (us-east-1, where Route 53
	// health check metrics and their alarms live). Default: the stack's region.
	Provider pulumi.ProviderResource
}

// Page creates a page topic: the same e-mail as the alarm topic plus the incident endpoint.
// Only what must wake someone (the composite page alarm, or a page alarm in a region without
// one) notifies it; every other alarm notifies TopicArn alone.
func (a *Alarms) Page(args PageArgs) (pulumi.StringOutput, error) {
	if args.Name == "" || args.Key == nil {
		return pulumi.StringOutput{}, argError("alarms", a.name, "PageArgs", fmt.Sprintf("name %q, key %v", args.Name, args.Key != nil), "name the page topic and pass a key of its region")
	}
	opts := a.child
	if args.Provider != nil {
		opts = with(a.child, pulumi.Provider(args.Provider))
	}
	return newTopic(a.ctx, childName(a.name, args.Name), args.Key, a.email, args.Endpoint, opts)
}

// record is the stack transformation behind Recorded: it notes every metric alarm and
// changes nothing.
func (a *Alarms) record(t *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
	args, ok := t.Props.(*cloudwatch.MetricAlarmArgs)
	if !ok || args == nil {
		return nil
	}
	r := RecordedAlarm{Logical: t.Name, Args: args, Resource: t.Resource}
	if n, ok := args.Name.(pulumi.String); ok {
		r.Name = string(n)
	}
	if tg, ok := args.Tags.(pulumi.StringMap); ok {
		if s, ok := tg[severityTag].(pulumi.String); ok {
			r.Page = s == "page"
		}
	}
	if o, err := pulumi.NewResourceOptions(t.Opts...); err == nil {
		r.Parent = o.Parent
		r.Elsewhere = o.Provider != nil
	}
	a.mu.Lock()
	a.recorded = append(a.recorded, r)
	a.mu.Unlock()
	return nil
}

// Recorded returns the stack's metric alarms registered so far, in program order.
func (a *Alarms) Recorded() []RecordedAlarm {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]RecordedAlarm(nil), a.recorded...)
}

// AlarmName is the CloudWatch name of the alarm of logical name logical:
// <project>-<stack>-<logical>. Every alarm made with newAlarm has it, so composite alarms,
// runbooks and other stacks' tools can name an alarm without looking it up.
func AlarmName(ctx *pulumi.Context, logical string) string {
	return childName(ctx.Project(), ctx.Stack(), logical)
}

// Alarm describes one CloudWatch alarm on a single metric: the one definition of a signal
// (metric, statistic, threshold, period) from which both the alarm and its dashboard widget
// are made.
type Alarm struct {
	// Name is the alarm's suffix, appended to its owner's name.
	Name        string
	Description string
	Namespace   string
	Metric      string
	Dimensions  pulumi.StringMap
	// Statistic is Average, Maximum, Minimum or Sum. Ignored when ExtendedStatistic is set.
	Statistic string
	// ExtendedStatistic is a percentile such as "p99". Default: none, Statistic applies.
	ExtendedStatistic string
	// Comparison is a CloudWatch comparison operator, such as GreaterThanThreshold.
	Comparison string
	Threshold  float64
	// PeriodSeconds and EvaluationPeriods set how long the condition must hold.
	PeriodSeconds     int
	EvaluationPeriods int
	// DatapointsToAlarm is how many of the EvaluationPeriods must breach ("M out of N").
	// Default: all of them.
	DatapointsToAlarm int
	// ExtraActions run besides notifying the topic (EC2 recover or reboot actions).
	ExtraActions []pulumi.StringInput
	// MissingData is how missing points count. Default: "missing".
	MissingData string
	// Page marks what must wake someone: users see errors or slowness. The composite page
	// alarm watches these; the others wait for the composite look-tomorrow alarm.
	// Default: false.
	Page bool
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
	logical := childName(owner, al.Name)
	severity := "ticket"
	if al.Page {
		severity = "page"
	}
	labels := tags(logical)
	labels[severityTag] = pulumi.String(severity)
	args := &cloudwatch.MetricAlarmArgs{
		Name:               pulumi.String(AlarmName(ctx, logical)),
		AlarmDescription:   pulumi.String(al.Description),
		Namespace:          pulumi.String(al.Namespace),
		MetricName:         pulumi.String(al.Metric),
		Dimensions:         al.Dimensions,
		ComparisonOperator: pulumi.String(al.Comparison),
		Threshold:          pulumi.Float64(al.Threshold),
		Period:             pulumi.Int(al.PeriodSeconds),
		EvaluationPeriods:  pulumi.Int(al.EvaluationPeriods),
		TreatMissingData:   pulumi.String(missing),
		AlarmActions:       actions,
		OkActions:          pulumi.Array{topic},
		Tags:               labels,
	}
	if al.ExtendedStatistic != "" {
		args.ExtendedStatistic = pulumi.String(al.ExtendedStatistic)
		// A percentile over a handful of requests is one request's latency: with "ignore"
		// the alarm keeps its state through quiet periods instead of paging on one slow call.
		args.EvaluateLowSampleCountPercentiles = pulumi.String("ignore")
	} else {
		args.Statistic = pulumi.String(al.Statistic)
	}
	if al.DatapointsToAlarm > 0 {
		args.DatapointsToAlarm = pulumi.Int(al.DatapointsToAlarm)
	}
	_, err := cloudwatch.NewMetricAlarm(ctx, logical, args, opts...)
	return err
}
