package components

import (
	"encoding/json"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	tokTable     = "aws:dynamodb/table:Table"
	tokNamespace = "aws:redshiftserverless/namespace:Namespace"
	tokWorkgroup = "aws:redshiftserverless/workgroup:Workgroup"
)

// TestTableDefaults: on demand, PITR for 35 days, TTL when asked, encryption on (the stack
// key when given), deletion protection and protect only with Protect, two alarms, and a
// counter grant of item reads and updates on the table alone.
func TestTableDefaults(t *testing.T) {
	r := run(t, func(ctx *pulumi.Context) error {
		k, err := NewKey(ctx, "key", &KeyArgs{AccountID: "123456789012", Region: "us-east-1"})
		if err != nil {
			return err
		}
		tbl, err := NewTable(ctx, "views", &TableArgs{PartitionKey: "pk", SortKey: "sk", TTLAttribute: "expires_at", Key: k, Protect: true, AlarmTopicArn: pulumi.String("arn:topic")})
		if err != nil {
			return err
		}
		role, err := newTestRole(ctx, "reader")
		if err != nil {
			return err
		}
		return tbl.GrantCounter(role)
	})
	tables := r.of(tokTable, "views")
	require.Len(t, tables, 1)
	in := tables[0].inputs
	assert.Equal(t, "PAY_PER_REQUEST", in["billingMode"])
	assert.Equal(t, map[string]any{"enabled": true, "recoveryPeriodInDays": 35.0}, in["pointInTimeRecovery"])
	assert.Equal(t, map[string]any{"attributeName": "expires_at", "enabled": true}, in["ttl"])
	assert.Equal(t, true, in["deletionProtectionEnabled"])
	sse := in["serverSideEncryption"].(map[string]any)
	assert.Equal(t, true, sse["enabled"])
	assert.Contains(t, sse["kmsKeyArn"], "key")
	assert.Len(t, r.of(tokAlarm, "views-"), 2)
	pol := r.of(tokRolePol, "views-counter-1")
	require.Len(t, pol, 1)
	var doc struct {
		Statement []struct{ Action, Resource []string }
	}
	require.NoError(t, json.Unmarshal([]byte(pol[0].inputs["policy"].(string)), &doc))
	assert.ElementsMatch(t, []string{"dynamodb:UpdateItem", "dynamodb:GetItem"}, doc.Statement[0].Action)
	assert.Equal(t, []string{"arn:aws:mock:us-east-1:123456789012:views"}, doc.Statement[0].Resource)

	r = run(t, func(ctx *pulumi.Context) error {
		_, err := NewTable(ctx, "plain", &TableArgs{PartitionKey: "id"})
		return err
	})
	in = r.of(tokTable, "plain")[0].inputs
	assert.Equal(t, false, in["deletionProtectionEnabled"], "dev: no deletion protection")
	assert.Nil(t, in["ttl"])
	assert.Nil(t, in["rangeKey"])
	assert.Equal(t, map[string]any{"enabled": true}, in["serverSideEncryption"], "the AWS-managed key, still KMS")
}

// TestTableRefusesBadArgs: names, the TTL on a key and the PITR window.
func TestTableRefusesBadArgs(t *testing.T) {
	for name, a := range map[string]TableArgs{
		"no partition key":  {},
		"odd name":          {PartitionKey: "p k"},
		"same keys":         {PartitionKey: "pk", SortKey: "pk"},
		"TTL on a key":      {PartitionKey: "pk", TTLAttribute: "pk"},
		"PITR too long":     {PartitionKey: "pk", PITRDays: 36},
		"negative capacity": {PartitionKey: "pk", MaxWriteRequestUnits: -1},
		"capacity and an on-demand cap": {PartitionKey: "pk", MaxWriteRequestUnits: 100,
			Capacity: &TableCapacity{MinRead: 1, MaxRead: 10, MinWrite: 1, MaxWrite: 10}},
		"no minimum":            {PartitionKey: "pk", Capacity: &TableCapacity{MaxRead: 10, MinWrite: 1, MaxWrite: 10}},
		"maximum under minimum": {PartitionKey: "pk", Capacity: &TableCapacity{MinRead: 1, MaxRead: 10, MinWrite: 20, MaxWrite: 10}},
		"over the quota":        {PartitionKey: "pk", Capacity: &TableCapacity{MinRead: 1, MaxRead: 40001, MinWrite: 1, MaxWrite: 10}},
		"target too low":        {PartitionKey: "pk", Capacity: &TableCapacity{MinRead: 1, MaxRead: 10, MinWrite: 1, MaxWrite: 10, TargetPercent: 10}},
		"target too high":       {PartitionKey: "pk", Capacity: &TableCapacity{MinRead: 1, MaxRead: 10, MinWrite: 1, MaxWrite: 10, TargetPercent: 95}},
	} {
		_, err := a.withDefaults("t")
		assert.Error(t, err, name)
	}
}

// TestTableProvisioned: with Capacity the table is provisioned at the minimums, its
// capacity left to autoscaling (ignoreChanges, so an update never resets it), and each
// dimension has a scalable target and a target-tracking policy at the target share.
func TestTableProvisioned(t *testing.T) {
	r := run(t, func(ctx *pulumi.Context) error {
		_, err := NewTable(ctx, "views", &TableArgs{PartitionKey: "pk",
			Capacity: &TableCapacity{MinRead: 5, MaxRead: 400, MinWrite: 10, MaxWrite: 40000}})
		return err
	})
	tbl := r.of(tokTable, "views")
	require.Len(t, tbl, 1)
	assert.Equal(t, "PROVISIONED", tbl[0].inputs["billingMode"])
	assert.Equal(t, 5.0, tbl[0].inputs["readCapacity"])
	assert.Equal(t, 10.0, tbl[0].inputs["writeCapacity"])
	assert.ElementsMatch(t, []string{"readCapacity", "writeCapacity"}, tbl[0].ignoreChanges)
	for dim, want := range map[string][2]float64{"read": {5, 400}, "write": {10, 40000}} {
		unit := map[string]string{"read": "ReadCapacityUnits", "write": "WriteCapacityUnits"}[dim]
		tg := r.of("aws:appautoscaling/target:Target", "views-"+dim)
		require.Len(t, tg, 1, dim)
		assert.Equal(t, "dynamodb", tg[0].inputs["serviceNamespace"])
		assert.Equal(t, "table/views", tg[0].inputs["resourceId"])
		assert.Equal(t, "dynamodb:table:"+unit, tg[0].inputs["scalableDimension"])
		assert.Equal(t, want[0], tg[0].inputs["minCapacity"], dim)
		assert.Equal(t, want[1], tg[0].inputs["maxCapacity"], dim)
		pol := r.of("aws:appautoscaling/policy:Policy", "views-"+dim)
		require.Len(t, pol, 1, dim)
		assert.Equal(t, "TargetTrackingScaling", pol[0].inputs["policyType"])
		assert.Equal(t, "dynamodb:table:"+unit, pol[0].inputs["scalableDimension"])
		assert.Equal(t, 70.0, get(pol[0].inputs, "targetTrackingScalingPolicyConfiguration.targetValue"), "the default target")
		assert.Equal(t, "DynamoDB"+map[string]string{"read": "Read", "write": "Write"}[dim]+"CapacityUtilization",
			get(pol[0].inputs, "targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType"))
	}
	r = run(t, func(ctx *pulumi.Context) error {
		_, err := NewTable(ctx, "plain", &TableArgs{PartitionKey: "pk"})
		return err
	})
	assert.Empty(t, r.of(tokTable, "plain")[0].ignoreChanges, "on demand: nothing ignored")
	assert.Empty(t, r.of("aws:appautoscaling/target:Target", ""), "on demand: no autoscaling")
}

// TestWarehouse: a namespace under the key with the three audit logs and a managed admin
// password, a private workgroup with enhanced VPC routing and TLS in the data subnets of
// three AZs, a group that lets out only to S3, and a COPY role reading the archive prefix.
func TestWarehouse(t *testing.T) {
	r := run(t, func(ctx *pulumi.Context) error {
		f, err := newFixture(ctx, 3)
		if err != nil {
			return err
		}
		k, err := NewKey(ctx, "key", &KeyArgs{AccountID: "123456789012", Region: "us-east-1"})
		if err != nil {
			return err
		}
		w, err := NewWarehouse(ctx, "lake", &WarehouseArgs{Network: f.net, Key: k, Archive: f.assets, ArchivePrefix: "archive/", Protect: true})
		if err != nil {
			return err
		}
		role, err := newTestRole(ctx, "loader")
		if err != nil {
			return err
		}
		return w.GrantLoad(role)
	})
	ns := r.of(tokNamespace, "lake")[0].inputs
	assert.Equal(t, true, ns["manageAdminPassword"])
	assert.Equal(t, []any{"connectionlog", "userlog", "useractivitylog"}, ns["logExports"])
	assert.Contains(t, ns["kmsKeyId"], "key")
	assert.Equal(t, "scaling-aws-test-lake", ns["namespaceName"])
	wg := r.of(tokWorkgroup, "lake")[0].inputs
	assert.Equal(t, false, wg["publiclyAccessible"])
	assert.Equal(t, true, wg["enhancedVpcRouting"])
	assert.Equal(t, 8.0, wg["baseCapacity"])
	assert.Equal(t, 32.0, wg["maxCapacity"])
	assert.Len(t, wg["subnetIds"], 3)
	assert.Len(t, r.of(tokEgress, "lake-sg-out-s3"), 1, "COPY reads S3 through the gateway endpoint")
	assert.Empty(t, r.of(tokIngress, "lake-sg-"), "no one reaches the workgroup's port")
	var doc struct {
		Statement []struct{ Action, Resource []string }
	}
	require.NoError(t, json.Unmarshal([]byte(r.of(tokRolePol, "lake-copy")[0].inputs["policy"].(string)), &doc))
	assert.Equal(t, []string{"arn:aws:s3:::assets-bucket/archive/*"}, doc.Statement[0].Resource)
	assert.Len(t, r.of(tokRolePol, "lake-load-1"), 1)
}

// TestWarehouseRefusesBadArgs: two AZs, no key, a bad prefix and capacities AWS refuses.
func TestWarehouseRefusesBadArgs(t *testing.T) {
	run(t, func(ctx *pulumi.Context) error {
		two, err := newFixture(ctx, 2)
		if err != nil {
			return err
		}
		k, err := NewKey(ctx, "key", &KeyArgs{AccountID: "123456789012", Region: "us-east-1"})
		if err != nil {
			return err
		}
		three, err := NewNetwork(ctx, "net3", &NetworkArgs{CidrBlock: "10.1.0.0/16", AvailabilityZones: []string{"a", "b", "c"}, Region: "us-east-1", Tiers: []Tier{TierPublic, TierData}})
		if err != nil {
			return err
		}
		ok := WarehouseArgs{Network: three, Key: k, Archive: two.assets, ArchivePrefix: "archive/"}
		for name, mutate := range map[string]func(a *WarehouseArgs){
			"two AZs":       func(a *WarehouseArgs) { a.Network = two.net },
			"no key":        func(a *WarehouseArgs) { a.Key = nil },
			"no slash":      func(a *WarehouseArgs) { a.ArchivePrefix = "archive" },
			"odd base":      func(a *WarehouseArgs) { a.BaseCapacityRPU = 12 },
			"cap under":     func(a *WarehouseArgs) { a.BaseCapacityRPU, a.MaxCapacityRPU = 64, 32 },
			"upper name":    func(a *WarehouseArgs) { a.Name = "Lake" },
			"too long name": func(a *WarehouseArgs) { a.Name = "a234567890123456789012345678901234567890123456789012345678901234567" },
		} {
			a := ok
			mutate(&a)
			_, err := a.withDefaults(ctx, "lake")
			assert.Error(t, err, name)
		}
		_, err = ok.withDefaults(ctx, "lake")
		assert.NoError(t, err)
		return nil
	})
	for n, want := range map[int]bool{4: true, 8: true, 512: true, 0: false, 6: false, 12: false, 520: false} {
		assert.Equal(t, want, ValidRPU(n), n)
	}
}

// newTestRole is an EC2 role to grant to.
func newTestRole(ctx *pulumi.Context, name string) (*iam.Role, error) {
	return iam.NewRole(ctx, name, &iam.RoleArgs{AssumeRolePolicy: pulumi.String(assumeRolePolicy("ec2.amazonaws.com"))})
}
