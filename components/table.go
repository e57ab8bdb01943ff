package components

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/appautoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dynamodb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// DynamoDB limits (DynamoDB developer guide, "Service, account, and table quotas" and
// "Point-in-time recovery").
const (
	maxPITRDays = 35
	// maxKeyAttributeName is the longest name of a key attribute, in bytes.
	maxKeyAttributeName = 255
)

// keyAttributeRE is what DynamoDB accepts as an attribute name this component creates keys
// with (any UTF-8 is legal; plain names keep expressions free of escaping).
var keyAttributeRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// TableArgs configures a Table: the key schema (what exists) is plain, the key is wiring.
type TableArgs struct {
	// PartitionKey and SortKey name the key attributes, both strings ("S"). A change of
	// either replaces the table (a new, empty table), so they are fixed once created.
	// PartitionKey is required; SortKey is optional.
	PartitionKey, SortKey string
	// TTLAttribute, when set, names the Number attribute (epoch seconds) after which
	// DynamoDB deletes an item on its own, at no cost. Default: none, items never expire.
	TTLAttribute string
	// PITRDays keeps point-in-time recovery for this many days, 1 to 35. Default: 35, the
	// most DynamoDB keeps, because recovery is billed by the table's size, not the window.
	PITRDays int
	// MaxReadRequestUnits and MaxWriteRequestUnits cap on-demand throughput per second, so
	// a runaway caller meets throttling (which the app retries and then degrades) rather
	// than an unbounded bill, the on-demand mode's known hurt. 0: no cap. Default: 0.
	// On-demand only: refused with Capacity.
	MaxReadRequestUnits, MaxWriteRequestUnits int
	// Capacity, when set, bills the table by provisioned capacity that Application Auto
	// Scaling keeps at a target share of what is consumed, instead of per request: about
	// half the cost at a steady high rate, slower to follow a surge. Switching either way is
	// an update of the same table, never a replacement: DynamoDB changes a table's billing
	// mode in place (to provisioned at any time, back to on demand up to four times in 24
	// hours). Default: nil, on demand (docs/decisions.md, "Per-post view counters in
	// DynamoDB").
	Capacity *TableCapacity
	// Key encrypts the table with the stack's key (SSE-KMS, customer managed). A table can
	// switch keys in place. Default: nil, the AWS-managed key aws/dynamodb (still KMS
	// encryption, rule DDB-1), because dev's data is disposable and its key costs nothing.
	Key *Key
	// Protect guards the table in prod: pulumi protect and DynamoDB deletion protection.
	// The table is RetainOnDelete whatever Protect says. Default: false (dev).
	Protect bool
	// AlarmTopicArn, when set, creates alarms notifying it: throttled requests and system
	// errors. Default: none.
	AlarmTopicArn pulumi.StringInput
}

// TableCapacity is a table's provisioned capacity, scaled by Application Auto Scaling with
// one target-tracking policy per dimension (the DynamoDB console's own setup). The first
// scalable target of an account creates the service-linked role
// AWSServiceRoleForApplicationAutoScaling_DynamoDBTable, so the identity running pulumi up
// needs iam:CreateServiceLinkedRole once (Application Auto Scaling user guide, "Amazon
// DynamoDB and Application Auto Scaling").
type TableCapacity struct {
	// MinRead and MaxRead bound the read capacity units, MinWrite and MaxWrite the write
	// units: each minimum 1 or more and at most its maximum, each maximum at most 40,000,
	// DynamoDB's default quota per table (a higher one needs a quota increase first: AWS
	// would throttle above it whatever the table says). Required.
	MinRead, MaxRead, MinWrite, MaxWrite int
	// TargetPercent is the consumed share of the provisioned capacity autoscaling holds, 20
	// to 90 (Application Auto Scaling's bounds for DynamoDB). Default: 70, the console's
	// default: 40% of headroom for a surge while a scale-out (a few minutes of CloudWatch
	// alarms) catches up.
	TargetPercent int
}

// MaxTableUnits is DynamoDB's default per-table throughput quota, in units per second
// (DynamoDB developer guide, "Throughput default quotas"); config.CountersMaxUnits is the
// same bound (tests check they agree).
const MaxTableUnits = 40000

// Table is a DynamoDB table in on-demand mode (or provisioned, with Capacity) (docs/decisions.md, "Per-post view counters
// in DynamoDB": no capacity to plan for a load that follows the day, and no throttling from
// a forecast that was wrong), with point-in-time recovery, encryption, optional TTL, and
// least-privilege grants. It is reached through the network's DynamoDB gateway endpoint.
//
// Costs money: on-demand requests (0.625 USD per million write units, 0.125 per million
// read units in us-east-1 since November 2024), storage (0.25 USD per GB-month),
// point-in-time recovery (0.20 USD per GB-month), KMS requests with a customer managed key.
type Table struct {
	pulumi.ResourceState

	// Name is the table's name (generated from the logical name, unique per stack).
	Name pulumi.StringOutput
	// Arn is the table's ARN.
	Arn pulumi.StringOutput

	ctx    *pulumi.Context
	name   string
	child  []pulumi.ResourceOption
	grants map[string]int
}

// NewTable creates a Table.
func NewTable(ctx *pulumi.Context, name string, args *TableArgs, opts ...pulumi.ResourceOption) (*Table, error) {
	a, err := args.withDefaults(name)
	if err != nil {
		return nil, err
	}
	t := &Table{ctx: ctx, name: name, grants: map[string]int{}}
	child, err := register(ctx, "data:Table", name, t, opts)
	if err != nil {
		return nil, err
	}
	t.child = child
	attrs := dynamodb.TableAttributeArray{dynamodb.TableAttributeArgs{Name: pulumi.String(a.PartitionKey), Type: pulumi.String("S")}}
	var sortKey pulumi.StringPtrInput
	if a.SortKey != "" {
		attrs = append(attrs, dynamodb.TableAttributeArgs{Name: pulumi.String(a.SortKey), Type: pulumi.String("S")})
		sortKey = pulumi.String(a.SortKey)
	}
	ta := &dynamodb.TableArgs{
		Attributes:  attrs,
		HashKey:     pulumi.String(a.PartitionKey),
		RangeKey:    sortKey,
		BillingMode: pulumi.String(a.billingMode()),
		PointInTimeRecovery: dynamodb.TablePointInTimeRecoveryArgs{
			Enabled: pulumi.Bool(true), RecoveryPeriodInDays: pulumi.Int(a.PITRDays),
		},
		ServerSideEncryption:      dynamodb.TableServerSideEncryptionArgs{Enabled: pulumi.Bool(true), KmsKeyArn: keyArn(a.Key)},
		DeletionProtectionEnabled: pulumi.Bool(a.Protect),
		Tags:                      tags(name),
	}
	if a.TTLAttribute != "" {
		ta.Ttl = dynamodb.TableTtlArgs{AttributeName: pulumi.String(a.TTLAttribute), Enabled: pulumi.Bool(true)}
	}
	if a.MaxReadRequestUnits > 0 || a.MaxWriteRequestUnits > 0 {
		od := dynamodb.TableOnDemandThroughputArgs{}
		if a.MaxReadRequestUnits > 0 {
			od.MaxReadRequestUnits = pulumi.Int(a.MaxReadRequestUnits)
		}
		if a.MaxWriteRequestUnits > 0 {
			od.MaxWriteRequestUnits = pulumi.Int(a.MaxWriteRequestUnits)
		}
		ta.OnDemandThroughput = od
	}
	tblOpts := stateful(child, a.Protect)
	if c := a.Capacity; c != nil {
		// The capacity is autoscaling's from creation on: a pulumi up that set it back to
		// the minimum would throttle a busy table until autoscaling caught up again. An
		// on-demand table has no capacity in its state, so the switch to provisioned still
		// sets the minimums.
		ta.ReadCapacity, ta.WriteCapacity = pulumi.Int(c.MinRead), pulumi.Int(c.MinWrite)
		tblOpts = append(tblOpts, pulumi.IgnoreChanges([]string{"readCapacity", "writeCapacity"}))
	}
	tbl, err := dynamodb.NewTable(ctx, name, ta, tblOpts...)
	if err != nil {
		return nil, err
	}
	t.Name, t.Arn = tbl.Name, tbl.Arn
	if c := a.Capacity; c != nil {
		for _, d := range []struct {
			suffix, unit, metric string
			min, max             int
		}{
			{"read", "ReadCapacityUnits", "DynamoDBReadCapacityUtilization", c.MinRead, c.MaxRead},
			{"write", "WriteCapacityUnits", "DynamoDBWriteCapacityUtilization", c.MinWrite, c.MaxWrite},
		} {
			tg, err := appautoscaling.NewTarget(ctx, name+"-"+d.suffix, &appautoscaling.TargetArgs{
				ServiceNamespace:  pulumi.String("dynamodb"),
				ResourceId:        pulumi.Sprintf("table/%s", tbl.Name),
				ScalableDimension: pulumi.String("dynamodb:table:" + d.unit),
				MinCapacity:       pulumi.Int(d.min),
				MaxCapacity:       pulumi.Int(d.max),
				Tags:              tags(name + "-" + d.suffix),
			}, child...)
			if err != nil {
				return nil, err
			}
			if _, err := appautoscaling.NewPolicy(ctx, name+"-"+d.suffix, &appautoscaling.PolicyArgs{
				PolicyType:        pulumi.String("TargetTrackingScaling"),
				ServiceNamespace:  tg.ServiceNamespace,
				ResourceId:        tg.ResourceId,
				ScalableDimension: tg.ScalableDimension,
				TargetTrackingScalingPolicyConfiguration: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs{
					PredefinedMetricSpecification: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs{
						PredefinedMetricType: pulumi.String(d.metric),
					},
					TargetValue: pulumi.Float64(float64(c.TargetPercent)),
				},
			}, child...); err != nil {
				return nil, err
			}
		}
	}
	if a.AlarmTopicArn != nil {
		for _, al := range tableAlarms() {
			al.Namespace = "AWS/DynamoDB"
			al.Dimensions = pulumi.StringMap{"TableName": tbl.Name}
			if err := newAlarm(ctx, name, a.AlarmTopicArn, al, child); err != nil {
				return nil, err
			}
		}
	}
	return t, ctx.RegisterResourceOutputs(t, pulumi.Map{"name": t.Name, "arn": t.Arn})
}

// tableAlarms are the table's alarms, without namespace and dimensions.
func tableAlarms() []Alarm {
	return []Alarm{{
		Name:        "throttled",
		Description: "requests to the table were throttled for 5 minutes: the on-demand cap (or a hot partition) is reached, and the app is retrying and then answering without the counts",
		Metric:      "ThrottledRequests", Statistic: "Sum", Comparison: "GreaterThanThreshold",
		Threshold: 0, PeriodSeconds: 60, EvaluationPeriods: 5, MissingData: "notBreaching",
	}, {
		Name:        "system-errors",
		Description: "DynamoDB answered requests with 500s for 5 minutes: a service problem in the region; the app degrades without the counts",
		Metric:      "SystemErrors", Statistic: "Sum", Comparison: "GreaterThanThreshold",
		Threshold: 0, PeriodSeconds: 60, EvaluationPeriods: 5, MissingData: "notBreaching",
	}}
}

func (a *TableArgs) withDefaults(name string) (*TableArgs, error) {
	if a == nil {
		return nil, argError("table", name, "args", nil, "pass TableArgs")
	}
	out := *a
	for field, v := range map[string]string{"PartitionKey": out.PartitionKey, "SortKey": out.SortKey, "TTLAttribute": out.TTLAttribute} {
		if v == "" && field != "PartitionKey" {
			continue
		}
		if !keyAttributeRE.MatchString(v) || len(v) > maxKeyAttributeName {
			return nil, argError("table", name, field, strconv.Quote(v), fmt.Sprintf("use a plain attribute name (letters, digits, _ . -; at most %d bytes)", maxKeyAttributeName))
		}
	}
	if out.SortKey == out.PartitionKey {
		return nil, argError("table", name, "SortKey", out.SortKey, "use a different attribute from PartitionKey")
	}
	if out.TTLAttribute != "" && (out.TTLAttribute == out.PartitionKey || out.TTLAttribute == out.SortKey) {
		return nil, argError("table", name, "TTLAttribute", out.TTLAttribute, "a key attribute is a string and cannot hold the expiry (a Number of epoch seconds)")
	}
	if out.PITRDays == 0 {
		out.PITRDays = maxPITRDays
	}
	if out.PITRDays < 1 || out.PITRDays > maxPITRDays {
		return nil, argError("table", name, "PITRDays", out.PITRDays, fmt.Sprintf("use 1 to %d", maxPITRDays))
	}
	if out.MaxReadRequestUnits < 0 || out.MaxWriteRequestUnits < 0 {
		return nil, argError("table", name, "MaxReadRequestUnits/MaxWriteRequestUnits", fmt.Sprintf("%d/%d", out.MaxReadRequestUnits, out.MaxWriteRequestUnits), "use 0 (no cap) or a positive cap")
	}
	if c := out.Capacity; c != nil {
		if out.MaxReadRequestUnits > 0 || out.MaxWriteRequestUnits > 0 {
			return nil, argError("table", name, "MaxReadRequestUnits/MaxWriteRequestUnits", fmt.Sprintf("%d/%d", out.MaxReadRequestUnits, out.MaxWriteRequestUnits),
				"leave them 0 with Capacity: they cap on-demand throughput, and Capacity's maximums cap a provisioned table")
		}
		cc := *c
		if cc.TargetPercent == 0 {
			cc.TargetPercent = 70
		}
		for _, b := range []struct {
			field    string
			min, max int
		}{{"Capacity.MinRead/MaxRead", cc.MinRead, cc.MaxRead}, {"Capacity.MinWrite/MaxWrite", cc.MinWrite, cc.MaxWrite}} {
			if b.min < 1 || b.max < b.min || b.max > MaxTableUnits {
				return nil, argError("table", name, b.field, fmt.Sprintf("%d/%d", b.min, b.max),
					fmt.Sprintf("use a minimum of at least 1 and a maximum from the minimum to %d (DynamoDB's default per-table quota)", MaxTableUnits))
			}
		}
		if cc.TargetPercent < 20 || cc.TargetPercent > 90 {
			return nil, argError("table", name, "Capacity.TargetPercent", cc.TargetPercent, "use 20 to 90 (Application Auto Scaling's bounds for DynamoDB)")
		}
		out.Capacity = &cc
	}
	return &out, nil
}

// billingMode is the table's DynamoDB billing mode.
func (a *TableArgs) billingMode() string {
	if a.Capacity != nil {
		return "PROVISIONED"
	}
	return "PAY_PER_REQUEST"
}

// tableActions are what each grant allows, and nothing else: no scans, no deletes, no
// table management.
var tableActions = map[string][]string{
	// counter: add to counters (UpdateItem ADD, which also returns the new total) and read
	// one back (GetItem): the only two calls app/dynamo makes.
	"counter": {"dynamodb:UpdateItem", "dynamodb:GetItem"},
}

// GrantCounter lets role update and read items of the table, and nothing else (the read
// API's view counters: UpdateItem ADD, and GetItem to serve them).
func (t *Table) GrantCounter(role *iam.Role) error { return t.grant("counter", "CountViews", role) }

func (t *Table) grant(kind, sid string, role *iam.Role) error {
	if role == nil {
		return fmt.Errorf("table %q: grant %s: role is nil", t.name, kind)
	}
	t.grants[kind]++
	_, err := iam.NewRolePolicy(t.ctx, childName(t.name, kind, strconv.Itoa(t.grants[kind])), &iam.RolePolicyArgs{
		Role:   role.ID(),
		Policy: policyDocument(statement{Sid: sid, Actions: tableActions[kind], Resources: pulumi.StringArray{t.Arn}}),
	}, t.child...)
	return err
}
