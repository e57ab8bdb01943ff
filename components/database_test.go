package components

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dbRecorded is one resource the mock engine saw registered.
type dbRecorded struct {
	Type, Name, Parent string
	Inputs             resource.PropertyMap
	Protect, Retain    bool
	IgnoreChanges      []string
	DependsOn          []string
}

// dbRecorder is a mock resource monitor recording every registration. (A shared offline
// recorder, internal/offline, may replace it once it has landed.)
type dbRecorder struct {
	stack string
	mu    sync.Mutex
	res   []dbRecorded
}

func (r *dbRecorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	rec := dbRecorded{Type: args.TypeToken, Name: args.Name, Inputs: args.Inputs}
	if rpc := args.RegisterRPC; rpc != nil {
		rec.Parent, rec.Protect, rec.Retain = rpc.GetParent(), rpc.GetProtect(), rpc.GetRetainOnDelete()
		rec.IgnoreChanges, rec.DependsOn = rpc.GetIgnoreChanges(), rpc.GetDependencies()
	}
	r.mu.Lock()
	r.res = append(r.res, rec)
	r.mu.Unlock()

	out := args.Inputs.Copy()
	id := args.Name + "_id"
	switch args.TypeToken {
	case "aws:rds/instance:Instance":
		out["address"] = resource.NewStringProperty(args.Name + ".rds.example")
		out["endpoint"] = resource.NewStringProperty(args.Name + ".rds.example:3306")
		out["arn"] = resource.NewStringProperty("arn:aws:rds:eu-west-1:123456789012:db:" + args.Name)
	case "aws:kms/key:Key":
		out["arn"] = resource.NewStringProperty("arn:aws:kms:eu-west-1:123456789012:key/" + args.Name)
		out["keyId"] = resource.NewStringProperty(args.Name + "-key-id")
	case "aws:iam/role:Role":
		out["name"] = resource.NewStringProperty(args.Name + "-physical")
		out["arn"] = resource.NewStringProperty("arn:aws:iam::123456789012:role/" + args.Name)
	case "aws:secretsmanager/secret:Secret":
		out["arn"] = resource.NewStringProperty("arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + args.Name)
	case "aws:rds/subnetGroup:SubnetGroup", "aws:rds/parameterGroup:ParameterGroup":
		out["name"] = resource.NewStringProperty(args.Name + "-physical")
	}
	return id, out, nil
}

// Call fails every invoke: the database needs none (it must run under the offline engine
// and `pulumi preview` without extra mocks).
func (r *dbRecorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("unexpected invoke %s", args.Token)
}

// of returns the resources of the database named db: the component and its children.
func (r *dbRecorder) of(db string) []dbRecorded {
	var out []dbRecorded
	for _, x := range r.res {
		if x.Name == db || strings.HasPrefix(x.Name, db+"-") {
			out = append(out, x)
		}
	}
	return out
}

func (r *dbRecorder) find(typ, name string) *dbRecorded {
	for i := range r.res {
		if r.res[i].Type == typ && r.res[i].Name == name {
			return &r.res[i]
		}
	}
	return nil
}

func dbCountByType(res []dbRecorded) map[string]int {
	out := map[string]int{}
	for _, x := range res {
		out[x.Type]++
	}
	return out
}

const (
	dbTInstance   = "aws:rds/instance:Instance"
	dbTParams     = "aws:rds/parameterGroup:ParameterGroup"
	dbTSubnets    = "aws:rds/subnetGroup:SubnetGroup"
	dbTSG         = "aws:ec2/securityGroup:SecurityGroup"
	dbTIngress    = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	dbTEgress     = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	dbTLogGroup   = "aws:cloudwatch/logGroup:LogGroup"
	dbTAlarm      = "aws:cloudwatch/metricAlarm:MetricAlarm"
	dbTSecret     = "aws:secretsmanager/secret:Secret"
	dbTSecretVer  = "aws:secretsmanager/secretVersion:SecretVersion"
	dbTRolePolicy = "aws:iam/rolePolicy:RolePolicy"
	dbTRole       = "aws:iam/role:Role"
	dbTAttach     = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	dbTDatabase   = "scaling-aws:database:Database"
)

// dbTestNetwork is a two-AZ network with the app and data tiers.
func dbTestNetwork(ctx *pulumi.Context, tiers ...Tier) (*Network, error) {
	if len(tiers) == 0 {
		tiers = []Tier{TierPublic, TierApp, TierData}
	}
	return NewNetwork(ctx, "net", &NetworkArgs{
		CidrBlock:         "10.0.0.0/16",
		AvailabilityZones: []string{"eu-west-1a", "eu-west-1b"},
		Tiers:             tiers,
		Region:            "eu-west-1",
	})
}

// dbRun runs program under the mock engine for stack and returns what it registered.
func dbRun(t *testing.T, stack string, program pulumi.RunFunc) *dbRecorder {
	t.Helper()
	rec := &dbRecorder{stack: stack}
	err := pulumi.RunErr(program, pulumi.WithMocks("scaling-aws", stack, rec))
	require.NoError(t, err)
	return rec
}

// dbShape is one configuration of the database the tests evaluate.
type dbShape struct {
	stack      string
	protect    bool
	multiAZ    bool
	replicas   int
	class      string
	storageGb  int
	alarms     bool
	password   bool
	allowFrom  bool
	grantRead  bool
	key        bool // the stack key encrypts storage, PI and the secret
	insights   bool // Performance Insights
	monitoring int  // enhanced monitoring interval, seconds
	wantCounts map[string]int
}

func (s dbShape) run(t *testing.T) *dbRecorder {
	t.Helper()
	return dbRun(t, s.stack, func(ctx *pulumi.Context) error {
		net, err := dbTestNetwork(ctx)
		if err != nil {
			return err
		}
		args := &DatabaseArgs{
			Network: net, Protect: s.protect, MultiAZ: s.multiAZ, Replicas: s.replicas,
			InstanceClass: s.class, AllocatedStorageGb: s.storageGb, BackupRetentionDays: 14,
			PerformanceInsights: s.insights, MonitoringIntervalSeconds: s.monitoring,
		}
		if s.key {
			k, err := NewKey(ctx, "key", &KeyArgs{AccountID: "123456789012", Region: "eu-west-1"})
			if err != nil {
				return err
			}
			args.Key = k
		}
		if s.alarms {
			args.AlarmTopicArn = pulumi.String("arn:aws:sns:eu-west-1:123456789012:alarms")
		}
		if s.password {
			args.MasterPassword = pulumi.ToSecret(pulumi.String("from-config-0123456789")).(pulumi.StringOutput)
		}
		db, err := NewDatabase(ctx, "db", args)
		if err != nil {
			return err
		}
		if s.allowFrom {
			app, err := net.NewSecurityGroup(ctx, "app", "app servers", RoleInternal, nil)
			if err != nil {
				return err
			}
			if err := db.AllowFrom("mysql", app); err != nil {
				return err
			}
		}
		if s.grantRead {
			role, err := iam.NewRole(ctx, "app-role", &iam.RoleArgs{AssumeRolePolicy: pulumi.String(assumeRolePolicy("ec2.amazonaws.com"))})
			if err != nil {
				return err
			}
			if err := db.GrantReadSecret(role); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestDatabase(t *testing.T) {
	shapes := map[string]dbShape{
		"dev, single-AZ, no replicas": {
			stack: "dev",
			wantCounts: map[string]int{
				dbTDatabase: 1, dbTSubnets: 1, dbTSG: 1, dbTParams: 1, dbTLogGroup: 2,
				dbTSecret: 1, dbTSecretVer: 1, dbTInstance: 1,
			},
		},
		"prod, Multi-AZ, 2 replicas, alarms, a peer, a grant, the stack key, PI and enhanced monitoring": {
			stack: "prod", protect: true, multiAZ: true, replicas: 2, class: "db.m6g.large", storageGb: 100,
			alarms: true, password: true, allowFrom: true, grantRead: true, key: true, insights: true, monitoring: 60,
			wantCounts: map[string]int{
				dbTDatabase: 1, dbTSubnets: 1, dbTSG: 1, dbTParams: 1, dbTLogGroup: 6,
				dbTSecret: 1, dbTSecretVer: 1, dbTInstance: 3, dbTAlarm: 11, dbTIngress: 1, dbTRolePolicy: 1,
				dbTRole: 1, dbTAttach: 1,
			},
		},
	}
	for label, s := range shapes {
		t.Run(label, func(t *testing.T) {
			rec := s.run(t)
			assert.Equal(t, s.wantCounts, dbCountByType(rec.of("db")), "resources by type")

			p := rec.find(dbTInstance, "db")
			require.NotNil(t, p, "primary")
			in := p.Inputs
			assert.True(t, in["storageEncrypted"].BoolValue(), "storage encrypted")
			assert.False(t, in["publiclyAccessible"].BoolValue(), "not public")
			assert.True(t, in.HasValue("publiclyAccessible"), "publiclyAccessible set explicitly")
			assert.Equal(t, s.multiAZ, in["multiAz"].BoolValue(), "multiAz")
			br := int(in["backupRetentionPeriod"].NumberValue())
			assert.True(t, br >= 7 && br <= 35, "backup retention %d in 7..35", br)
			assert.Equal(t, "mysql", in["engine"].StringValue())
			assert.Equal(t, "8.0", in["engineVersion"].StringValue())
			assert.True(t, in["autoMinorVersionUpgrade"].BoolValue())
			assert.False(t, in["allowMajorVersionUpgrade"].BoolValue())
			// Multi-AZ is applied at once, not left pending until the maintenance window.
			assert.Equal(t, s.multiAZ, in["applyImmediately"].BoolValue(), "applyImmediately with Multi-AZ")
			assert.Equal(t, "gp3", in["storageType"].StringValue())
			assert.Equal(t, "rds-ca-rsa2048-g1", in["caCertIdentifier"].StringValue())
			assert.Equal(t, "03:00-04:00", in["backupWindow"].StringValue())
			assert.Equal(t, "sun:04:30-sun:05:30", in["maintenanceWindow"].StringValue())
			assert.Equal(t, []resource.PropertyValue{resource.NewStringProperty("error"), resource.NewStringProperty("slowquery")}, in["enabledCloudwatchLogsExports"].ArrayValue())
			assert.Equal(t, "scaling-aws-"+s.stack+"-db", in["identifier"].StringValue())
			assert.True(t, in["password"].IsSecret(), "password is a secret input")
			assert.False(t, in.HasValue("manageMasterUserPassword"), "no RDS-managed password: MySQL replicas refuse it")
			assert.True(t, p.Retain, "primary is RetainOnDelete in every environment")
			assert.Equal(t, s.protect, p.Protect, "pulumi protect")
			assert.Equal(t, s.protect, in["deletionProtection"].BoolValue(), "deletion protection")
			assert.False(t, in["skipFinalSnapshot"].BoolValue(), "final snapshot taken")
			assert.Equal(t, "scaling-aws-"+s.stack+"-db-final", in["finalSnapshotIdentifier"].StringValue())
			if s.password {
				assert.Equal(t, keyInputs, p.IgnoreChanges, "a given password is managed; keys apply at creation")
			} else {
				assert.Equal(t, append([]string{"password"}, keyInputs...), p.IgnoreChanges, "a generated password is kept; keys apply at creation")
			}
			secret := rec.find(dbTSecret, "db-master")
			require.NotNil(t, secret)
			const keyARN = "arn:aws:kms:eu-west-1:123456789012:key/key"
			if s.key {
				assert.Equal(t, keyARN, in["kmsKeyId"].StringValue(), "storage under the stack key")
				assert.Equal(t, keyARN, secret.Inputs["kmsKeyId"].StringValue(), "secret under the stack key")
			} else {
				assert.False(t, in.HasValue("kmsKeyId"), "AWS-managed aws/rds key")
				assert.False(t, secret.Inputs.HasValue("kmsKeyId"), "AWS-managed secrets key")
			}
			assert.Equal(t, s.insights, in["performanceInsightsEnabled"].BoolValue(), "Performance Insights")
			if s.insights {
				assert.Equal(t, 7.0, in["performanceInsightsRetentionPeriod"].NumberValue(), "the free 7 days")
				assert.Equal(t, keyARN, in["performanceInsightsKmsKeyId"].StringValue())
			} else {
				assert.False(t, in.HasValue("performanceInsightsRetentionPeriod"), "no retention without PI (the provider refuses it)")
			}
			assert.Equal(t, float64(s.monitoring), in["monitoringInterval"].NumberValue(), "enhanced monitoring interval")
			if s.monitoring > 0 {
				role := rec.find(dbTRole, "db-monitoring")
				require.NotNil(t, role)
				assert.Contains(t, role.Inputs["assumeRolePolicy"].StringValue(), `"Service":"monitoring.rds.amazonaws.com"`)
				att := rec.find(dbTAttach, "db-monitoring")
				require.NotNil(t, att)
				assert.Equal(t, "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole", att.Inputs["policyArn"].StringValue())
				assert.Equal(t, "arn:aws:iam::123456789012:role/db-monitoring", in["monitoringRoleArn"].StringValue())
			} else {
				assert.False(t, in.HasValue("monitoringRoleArn"), "no role without enhanced monitoring")
			}

			// Log groups exist before the instance, with a retention, under RDS's names.
			for _, log := range []string{"error", "slowquery"} {
				g := rec.find(dbTLogGroup, "db-log-"+log)
				require.NotNil(t, g, log)
				assert.Equal(t, "/aws/rds/instance/scaling-aws-"+s.stack+"-db/"+log, g.Inputs["name"].StringValue())
				assert.Equal(t, 30.0, g.Inputs["retentionInDays"].NumberValue())
				assert.Equal(t, s.key, g.Inputs.HasValue("kmsKeyId"), "log group under the stack key")
				assert.Contains(t, p.DependsOn, dbURN(rec, g), "instance depends on its log group")
			}

			pg := rec.find(dbTParams, "db")
			require.NotNil(t, pg)
			assert.Equal(t, "mysql8.0", pg.Inputs["family"].StringValue())
			params := map[string]string{}
			for _, v := range pg.Inputs["parameters"].ArrayValue() {
				params[v.ObjectValue()["name"].StringValue()] = v.ObjectValue()["value"].StringValue()
			}
			assert.Equal(t, map[string]string{"require_secure_transport": "ON", "slow_query_log": "1", "long_query_time": "1", "log_output": "FILE",
				"innodb_buffer_pool_size": "{DBInstanceClassMemory*75/100}"}, params, "the buffer pool's default is RDS's own, written out")
			assert.Equal(t, "db-physical", in["parameterGroupName"].StringValue())
			assert.Equal(t, "db-physical", in["dbSubnetGroupName"].StringValue())

			sn := rec.find(dbTSubnets, "db")
			require.NotNil(t, sn)
			assert.Equal(t, []resource.PropertyValue{resource.NewStringProperty("net-data-eu-west-1a_id"), resource.NewStringProperty("net-data-eu-west-1b_id")}, sn.Inputs["subnetIds"].ArrayValue(), "data subnets only")

			sg := rec.find(dbTSG, "db-sg")
			require.NotNil(t, sg)
			assert.Equal(t, "data", sg.Inputs["tags"].ObjectValue()["tier"].StringValue())
			assert.False(t, sg.Inputs.HasValue("ingress"), "no inline rules")
			ingress := 0
			for _, r := range rec.res {
				if r.Type != dbTIngress || r.Inputs["securityGroupId"].StringValue() != "db-sg_id" {
					continue
				}
				ingress++
				assert.False(t, r.Inputs.HasValue("cidrIpv4") || r.Inputs.HasValue("cidrIpv6") || r.Inputs.HasValue("prefixListId"), "no CIDR source on the data tier: %s", r.Name)
				assert.Equal(t, "app_id", r.Inputs["referencedSecurityGroupId"].StringValue())
				assert.Equal(t, 3306.0, r.Inputs["fromPort"].NumberValue())
				assert.Equal(t, 3306.0, r.Inputs["toPort"].NumberValue())
			}
			assert.Equal(t, map[bool]int{true: 1, false: 0}[s.allowFrom], ingress, "ingress rules on the database group")
			if s.allowFrom {
				egress := 0
				for _, r := range rec.res {
					if r.Type == dbTEgress && r.Inputs["securityGroupId"].StringValue() == "app_id" {
						egress++
						assert.Equal(t, "db-sg_id", r.Inputs["referencedSecurityGroupId"].StringValue(), "egress on the peer to the database group")
						assert.Equal(t, 3306.0, r.Inputs["fromPort"].NumberValue())
					}
				}
				assert.Equal(t, 1, egress, "egress rules on the peer")
			}

			sv := rec.find(dbTSecretVer, "db-master")
			require.NotNil(t, sv)
			assert.True(t, sv.Inputs["secretString"].IsSecret(), "secret value is a secret input")

			for n := 1; n <= s.replicas; n++ {
				name := "db-replica-" + string(rune('0'+n))
				r := rec.find(dbTInstance, name)
				require.NotNil(t, r, name)
				ri := r.Inputs
				assert.Equal(t, "scaling-aws-"+s.stack+"-db", ri["replicateSourceDb"].StringValue(), "source by identifier")
				assert.Equal(t, "scaling-aws-"+s.stack+"-db-replica-"+string(rune('0'+n)), ri["identifier"].StringValue())
				for _, inherited := range []resource.PropertyKey{"username", "password", "dbName", "engine", "engineVersion", "backupRetentionPeriod", "allocatedStorage"} {
					assert.False(t, ri.HasValue(inherited), "replica %s sets inherited %s", name, inherited)
				}
				assert.False(t, ri["publiclyAccessible"].BoolValue())
				assert.True(t, ri["storageEncrypted"].BoolValue())
				assert.Equal(t, []resource.PropertyValue{resource.NewStringProperty("db-sg_id")}, ri["vpcSecurityGroupIds"].ArrayValue())
				assert.Equal(t, s.protect, r.Protect)
				assert.True(t, r.Retain, "a replica is RetainOnDelete (STATE-1)")
				assert.Equal(t, s.insights, ri["performanceInsightsEnabled"].BoolValue(), "replica PI")
				assert.Equal(t, float64(s.monitoring), ri["monitoringInterval"].NumberValue(), "replica enhanced monitoring")
				assert.Equal(t, append([]string{"availabilityZone"}, keyInputs...), r.IgnoreChanges, "replica keys and AZ apply at creation")
				if s.alarms {
					for suffix, metric := range map[string]string{"lag": "ReplicaLag", "cpu": "CPUUtilization", "free-storage": "FreeStorageSpace", "connections": "DatabaseConnections"} {
						al := rec.find(dbTAlarm, name+"-"+suffix)
						require.NotNil(t, al, "replica alarm %s", suffix)
						assert.Equal(t, metric, al.Inputs["metricName"].StringValue())
						assert.Equal(t, ri["identifier"].StringValue(), al.Inputs["dimensions"].ObjectValue()["DBInstanceIdentifier"].StringValue())
					}
				}
			}

			if s.alarms {
				for _, a := range rec.of("db") {
					if a.Type != dbTAlarm {
						continue
					}
					assert.Equal(t, []resource.PropertyValue{resource.NewStringProperty("arn:aws:sns:eu-west-1:123456789012:alarms")}, a.Inputs["alarmActions"].ArrayValue(), a.Name)
					assert.Equal(t, "AWS/RDS", a.Inputs["namespace"].StringValue())
				}
				for _, m := range []string{"cpu", "free-storage", "connections"} {
					assert.NotNil(t, rec.find(dbTAlarm, "db-"+m), m)
				}
			}

			if s.grantRead {
				pol := rec.find(dbTRolePolicy, "db-secret-read-1")
				require.NotNil(t, pol)
				doc := pol.Inputs["policy"].StringValue()
				assert.Contains(t, doc, `"Action":["secretsmanager:GetSecretValue"]`)
				assert.Contains(t, doc, `"Resource":["arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-master"]`)
				assert.Equal(t, "app-role_id", pol.Inputs["role"].StringValue())
			}
		})
	}
}

// TestDatabaseIdentity proves that turning the stage knobs (Multi-AZ, replicas, size) keeps
// the primary's URN and every input that forces AWS to replace an RDS instance.
func TestDatabaseIdentity(t *testing.T) {
	small := dbShape{stack: "prod", protect: true}.run(t)
	big := dbShape{stack: "prod", protect: true, multiAZ: true, replicas: 2, class: "db.r6g.xlarge", storageGb: 200, alarms: true}.run(t)
	a, b := small.find(dbTInstance, "db"), big.find(dbTInstance, "db")
	require.NotNil(t, a)
	require.NotNil(t, b)
	assert.Equal(t, dbURN(small, a), dbURN(big, b), "primary URN")
	assert.Equal(t, a.Parent, b.Parent, "primary parent")
	for _, k := range []resource.PropertyKey{"identifier", "engine", "storageEncrypted", "kmsKeyId", "dbName", "username", "availabilityZone", "characterSetName", "timezone", "snapshotIdentifier", "dbSubnetGroupName"} {
		assert.Equal(t, a.Inputs[k], b.Inputs[k], "replacing input %s", k)
	}
	assert.NotEqual(t, a.Inputs["multiAz"], b.Inputs["multiAz"], "the knob did turn")
	// Replica 1 keeps its name when a third is added.
	three := dbShape{stack: "prod", protect: true, multiAZ: true, replicas: 3}.run(t)
	assert.Equal(t, dbURN(big, big.find(dbTInstance, "db-replica-1")), dbURN(three, three.find(dbTInstance, "db-replica-1")))
	assert.Equal(t, dbURN(big, big.find(dbTInstance, "db-replica-2")), dbURN(three, three.find(dbTInstance, "db-replica-2")))
}

// dbURN is the URN the engine gives a recorded resource (the mock engine builds it the same
// way: from the stack, the project, the parent's type chain, the type and the name).
func dbURN(rec *dbRecorder, r *dbRecorded) string {
	if r == nil {
		return ""
	}
	return string(resource.CreateURN(r.Name, r.Type, resource.URN(r.Parent), "scaling-aws", rec.stack))
}

func TestDatabaseArgsRejected(t *testing.T) {
	cases := map[string]struct {
		noNetwork bool
		tiers     []Tier
		args      func(*DatabaseArgs)
		field     string
	}{
		"nil args":            {args: nil, field: "args"},
		"no network":          {noNetwork: true, args: func(a *DatabaseArgs) {}, field: "Network"},
		"no data tier":        {tiers: []Tier{TierPublic, TierApp}, args: func(a *DatabaseArgs) {}, field: "Network"},
		"backup 3 days":       {args: func(a *DatabaseArgs) { a.BackupRetentionDays = 3 }, field: "BackupRetentionDays"},
		"backup 36 days":      {args: func(a *DatabaseArgs) { a.BackupRetentionDays = 36 }, field: "BackupRetentionDays"},
		"replicas -1":         {args: func(a *DatabaseArgs) { a.Replicas = -1 }, field: "Replicas"},
		"replicas 16":         {args: func(a *DatabaseArgs) { a.Replicas = 16 }, field: "Replicas"},
		"engine 5.7":          {args: func(a *DatabaseArgs) { a.EngineVersion = "5.7" }, field: "EngineVersion"},
		"engine 8.0.35":       {args: func(a *DatabaseArgs) { a.EngineVersion = "8.0.35" }, field: "EngineVersion"},
		"class without db.":   {args: func(a *DatabaseArgs) { a.InstanceClass = "t4g.micro" }, field: "InstanceClass"},
		"storage 10":          {args: func(a *DatabaseArgs) { a.AllocatedStorageGb = 10 }, field: "AllocatedStorageGb"},
		"max below allocated": {args: func(a *DatabaseArgs) { a.AllocatedStorageGb = 100; a.MaxAllocatedStorageGb = 50 }, field: "MaxAllocatedStorageGb"},
		"max = allocated":     {args: func(a *DatabaseArgs) { a.AllocatedStorageGb = 100; a.MaxAllocatedStorageGb = 100 }, field: "MaxAllocatedStorageGb"},
		"max under 1.1x":      {args: func(a *DatabaseArgs) { a.AllocatedStorageGb = 100; a.MaxAllocatedStorageGb = 109 }, field: "MaxAllocatedStorageGb"},
		"max and off":         {args: func(a *DatabaseArgs) { a.MaxAllocatedStorageGb = 200; a.StorageAutoscalingOff = true }, field: "MaxAllocatedStorageGb"},
		"log retention 10":    {args: func(a *DatabaseArgs) { a.LogRetentionDays = 10 }, field: "LogRetentionDays"},
		"identifier case":     {args: func(a *DatabaseArgs) { a.Identifier = "Prod_DB" }, field: "Identifier"},
		"database name":       {args: func(a *DatabaseArgs) { a.DatabaseName = "1app" }, field: "DatabaseName"},
		"backup window":       {args: func(a *DatabaseArgs) { a.BackupWindow = "3am" }, field: "BackupWindow"},
		"maintenance window":  {args: func(a *DatabaseArgs) { a.MaintenanceWindow = "sunday" }, field: "MaintenanceWindow"},
		"monitoring 2 s":      {args: func(a *DatabaseArgs) { a.MonitoringIntervalSeconds = 2 }, field: "MonitoringIntervalSeconds"},
		"PI on db.t4g.micro":  {args: func(a *DatabaseArgs) { a.PerformanceInsights = true }, field: "InstanceClass"},
		"PI on a t3.small replica": {args: func(a *DatabaseArgs) {
			a.PerformanceInsights, a.InstanceClass, a.ReplicaInstanceClass = true, "db.m6g.large", "db.t3.small"
		}, field: "ReplicaInstanceClass"},
		"PI retention 30": {args: func(a *DatabaseArgs) {
			a.PerformanceInsights, a.InstanceClass, a.PerformanceInsightsRetentionDays = true, "db.m6g.large", 30
		}, field: "PerformanceInsightsRetentionDays"},
		"PI retention without PI": {args: func(a *DatabaseArgs) { a.PerformanceInsightsRetentionDays = 7 }, field: "PerformanceInsightsRetentionDays"},
	}
	for label, c := range cases {
		t.Run(label, func(t *testing.T) {
			var dbErr error
			rec := dbRun(t, "dev", func(ctx *pulumi.Context) error {
				var args *DatabaseArgs
				if c.args != nil {
					args = &DatabaseArgs{}
					if !c.noNetwork {
						net, err := dbTestNetwork(ctx, c.tiers...)
						if err != nil {
							return err
						}
						args.Network = net
					}
					c.args(args)
				}
				_, dbErr = NewDatabase(ctx, "db", args)
				return nil
			})
			require.Error(t, dbErr)
			assert.Contains(t, dbErr.Error(), c.field+" = ", "the error names the field")
			assert.Contains(t, dbErr.Error(), "is invalid: ", "the error says the fix")
			assert.Empty(t, rec.of("db"), "nothing registered for the database")
		})
	}
}

// TestDatabaseStorageCeiling: the autoscaling ceiling RDS is sent is at least 1.1 x the
// allocation, and 0 when autoscaling is off (never the allocation itself, which RDS refuses).
func TestDatabaseStorageCeiling(t *testing.T) {
	for label, c := range map[string]struct {
		allocated, max int
		off            bool
		want           float64
	}{
		"default":               {allocated: 100, want: 500},
		"given":                 {allocated: 100, max: 110, want: 110},
		"off":                   {allocated: 100, off: true, want: 0},
		"no room left to grow":  {allocated: 60000, want: 0},
		"default capped at max": {allocated: 20000, want: 65536},
	} {
		t.Run(label, func(t *testing.T) {
			rec := dbRun(t, "dev", func(ctx *pulumi.Context) error {
				net, err := dbTestNetwork(ctx)
				if err != nil {
					return err
				}
				_, err = NewDatabase(ctx, "db", &DatabaseArgs{Network: net, AllocatedStorageGb: c.allocated, MaxAllocatedStorageGb: c.max, StorageAutoscalingOff: c.off})
				return err
			})
			p := rec.find(dbTInstance, "db")
			require.NotNil(t, p)
			assert.True(t, p.Inputs.HasValue("maxAllocatedStorage"), "sent explicitly")
			assert.Equal(t, c.want, p.Inputs["maxAllocatedStorage"].NumberValue())
		})
	}
}

func TestDatabaseDefaultsHelpers(t *testing.T) {
	ids := map[[3]string]string{
		{"scaling-aws", "dev", "db"}:         "scaling-aws-dev-db",
		{"Scaling_AWS", "Prod.EU", "db"}:     "scaling-aws-prod-eu-db",
		{"1proj", "dev", "db"}:               "db-1proj-dev-db",
		{"p", strings.Repeat("x", 80), "db"}: "p-" + strings.Repeat("x", maxIdentifierLen-2),
	}
	for in, want := range ids {
		got := defaultIdentifier(in[0], in[1], in[2])
		assert.Equal(t, want, got, "%v", in)
		assert.True(t, identifierPattern.MatchString(got) && len(got) <= maxIdentifierLen, got)
	}
	conns := map[string]float64{
		"db.t4g.micro":   68,   // 1 GiB: max_connections 85
		"db.m6g.large":   546,  // 8 GiB
		"db.r6g.xlarge":  2184, // 32 GiB
		"db.m6g.4xlarge": 4369, // 64 GiB
		"db.weird":       68,
	}
	for class, want := range conns {
		assert.Equal(t, want, connectionsThreshold(class), class)
	}
	assert.Equal(t, float64(1<<30), freeStorageThreshold(20), "5% of 20 GiB")

	p1, err := generatePassword(32)
	require.NoError(t, err)
	p2, err := generatePassword(32)
	require.NoError(t, err)
	assert.Regexp(t, `^[A-Za-z0-9]{32}$`, p1)
	assert.NotEqual(t, p1, p2)
}

// TestDatabaseAcceptsWhatRDSAccepts: every enhanced-monitoring interval and Performance
// Insights retention RDS takes passes validation (the rejected ones are above).
func TestDatabaseAcceptsWhatRDSAccepts(t *testing.T) {
	type tc struct{ interval, retention int }
	var cases []tc
	for _, i := range []int{0, 1, 5, 10, 15, 30, 60} {
		cases = append(cases, tc{interval: i, retention: 7})
	}
	for _, r := range []int{31, 62, 713, 731} {
		cases = append(cases, tc{interval: 60, retention: r})
	}
	for _, c := range cases {
		rec := dbRun(t, "prod", func(ctx *pulumi.Context) error {
			net, err := dbTestNetwork(ctx)
			if err != nil {
				return err
			}
			_, err = NewDatabase(ctx, "db", &DatabaseArgs{Network: net, InstanceClass: "db.m6g.large",
				MonitoringIntervalSeconds: c.interval, PerformanceInsights: true, PerformanceInsightsRetentionDays: c.retention})
			return err
		})
		in := rec.find(dbTInstance, "db").Inputs
		assert.Equal(t, float64(c.interval), in["monitoringInterval"].NumberValue(), "%+v", c)
		assert.Equal(t, float64(c.retention), in["performanceInsightsRetentionPeriod"].NumberValue(), "%+v", c)
	}
}
