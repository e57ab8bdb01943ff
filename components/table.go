package components

import (
	"fmt"
	"regexp"
	"strconv"

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
	MaxReadRequestUnits, MaxWriteRequestUnits int
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

// Table is a DynamoDB table in on-demand mode (docs/decisions.md, "Per-post view counters
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
		BillingMode: pulumi.String("PAY_PER_REQUEST"),
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
	tbl, err := dynamodb.NewTable(ctx, name, ta, stateful(child, a.Protect)...)
	if err != nil {
		return nil, err
	}
	t.Name, t.Arn = tbl.Name, tbl.Arn
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
	return &out, nil
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
