package components

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	cTGroup   = "aws:elasticache/replicationGroup:ReplicationGroup"
	cTParams  = "aws:elasticache/parameterGroup:ParameterGroup"
	cTSubnets = "aws:elasticache/subnetGroup:SubnetGroup"
)

func cacheNetwork(ctx *pulumi.Context) (*Network, error) {
	return dbTestNetwork(ctx, TierPublic, TierApp, TierData, TierCache)
}

// cacheRun creates a cache with args (Network filled in) and, when peer is set, a peer
// group allowed in and granted the secret.
func cacheRun(t *testing.T, stack string, args CacheArgs, peer bool) *dbRecorder {
	t.Helper()
	return dbRun(t, stack, func(ctx *pulumi.Context) error {
		net, err := cacheNetwork(ctx)
		if err != nil {
			return err
		}
		args.Network = net
		c, err := NewCache(ctx, "cache", &args)
		if err != nil {
			return err
		}
		if peer {
			sg, err := net.NewSecurityGroup(ctx, "read-api-sg", "peer", RoleInternal, nil)
			if err != nil {
				return err
			}
			if err := c.AllowFrom("read-api", sg); err != nil {
				return err
			}
			role, err := iam.NewRole(ctx, "app-role", &iam.RoleArgs{AssumeRolePolicy: pulumi.String(assumeRolePolicy("ec2.amazonaws.com"))})
			if err != nil {
				return err
			}
			return c.GrantReadSecret(role)
		}
		return nil
	})
}

// TestCacheSecureByDefault: encrypted both ways, AUTH from a generated, kept, secret token,
// Multi-AZ with failover and one replica, snapshots, pinned engine, logs, protected in prod.
func TestCacheSecureByDefault(t *testing.T) {
	rec := cacheRun(t, "prod", CacheArgs{Protect: true, AlarmTopicArn: pulumi.String("arn:aws:sns:eu-west-1:123456789012:alarms")}, true)
	g := rec.find(cTGroup, "cache")
	require.NotNil(t, g)
	in := g.Inputs
	assert.Equal(t, "scaling-aws-prod-cache", in["replicationGroupId"].StringValue())
	assert.Equal(t, "valkey", in["engine"].StringValue())
	assert.Equal(t, "8.0", in["engineVersion"].StringValue())
	assert.True(t, in["autoMinorVersionUpgrade"].BoolValue())
	assert.True(t, in["atRestEncryptionEnabled"].BoolValue())
	assert.True(t, in["transitEncryptionEnabled"].BoolValue())
	assert.Equal(t, "required", in["transitEncryptionMode"].StringValue())
	assert.True(t, in["authToken"].IsSecret(), "the token is a secret input")
	assert.Equal(t, []string{"kmsKeyId", "authToken"}, g.IgnoreChanges, "the at-rest key and a generated token are kept")
	assert.True(t, in["automaticFailoverEnabled"].BoolValue())
	assert.True(t, in["multiAzEnabled"].BoolValue())
	assert.Equal(t, 2.0, in["numCacheClusters"].NumberValue())
	azs := in["preferredCacheClusterAzs"].ArrayValue()
	require.Len(t, azs, 2)
	assert.NotEqual(t, azs[0].StringValue(), azs[1].StringValue(), "the replica lives in another AZ")
	assert.Equal(t, 1.0, in["snapshotRetentionLimit"].NumberValue())
	assert.Equal(t, "05:00-06:00", in["snapshotWindow"].StringValue())
	assert.Equal(t, "sun:06:30-sun:07:30", in["maintenanceWindow"].StringValue())
	assert.Equal(t, "scaling-aws-prod-cache-final", in["finalSnapshotIdentifier"].StringValue())
	assert.True(t, g.Protect)
	assert.True(t, g.Retain)
	var logTypes []string
	for _, l := range in["logDeliveryConfigurations"].ArrayValue() {
		logTypes = append(logTypes, l.ObjectValue()["logType"].StringValue())
		assert.Equal(t, "cloudwatch-logs", l.ObjectValue()["destinationType"].StringValue())
	}
	assert.Equal(t, []string{"slow-log", "engine-log"}, logTypes)
	for _, l := range cacheLogs {
		lg := rec.find(dbTLogGroup, "cache-log-"+l)
		require.NotNil(t, lg, l)
		assert.Equal(t, 30.0, lg.Inputs["retentionInDays"].NumberValue())
	}

	params := rec.find(cTParams, "cache")
	require.NotNil(t, params)
	assert.Equal(t, "valkey8", params.Inputs["family"].StringValue())
	got := map[string]string{}
	for _, p := range params.Inputs["parameters"].ArrayValue() {
		got[p.ObjectValue()["name"].StringValue()] = p.ObjectValue()["value"].StringValue()
	}
	assert.Equal(t, "volatile-ttl", got["maxmemory-policy"])

	subnets := rec.find(cTSubnets, "cache")
	require.NotNil(t, subnets)
	assert.Len(t, subnets.Inputs["subnetIds"].ArrayValue(), 2)

	// The token reaches servers only through Secrets Manager, as a secret.
	ver := rec.find(dbTSecretVer, "cache-auth")
	require.NotNil(t, ver)
	assert.True(t, ver.Inputs["secretString"].IsSecret())
	assert.Equal(t, []string{"secretString"}, ver.IgnoreChanges)

	// 6379 only from the peer group, never a CIDR.
	var ingress []dbRecorded
	for _, r := range rec.res {
		if r.Type == dbTIngress && strings.HasPrefix(r.Name, "cache-sg") {
			ingress = append(ingress, r)
		}
	}
	require.Len(t, ingress, 1)
	assert.Equal(t, 6379.0, ingress[0].Inputs["fromPort"].NumberValue())
	assert.Equal(t, "read-api-sg_id", ingress[0].Inputs["referencedSecurityGroupId"].StringValue())
	_, cidr := ingress[0].Inputs["cidrIpv4"]
	assert.False(t, cidr, "no CIDR source")
	pol := rec.find(dbTRolePolicy, "cache-secret-read-1")
	require.NotNil(t, pol)
	assert.Contains(t, pol.Inputs["policy"].StringValue(), "secretsmanager:GetSecretValue")

	// Six alarms per node, with missing data treated as chosen.
	alarms := map[string]string{}
	for _, r := range rec.res {
		if r.Type == dbTAlarm {
			alarms[r.Name] = r.Inputs["treatMissingData"].StringValue()
			assert.Equal(t, "AWS/ElastiCache", r.Inputs["namespace"].StringValue())
		}
	}
	assert.Len(t, alarms, 12)
	assert.Equal(t, "notBreaching", alarms["cache-1-replication-lag"])
	assert.Equal(t, "notBreaching", alarms["cache-2-evictions"])
	assert.Equal(t, "missing", alarms["cache-2-engine-cpu"])
	dims := rec.find(dbTAlarm, "cache-2-memory").Inputs["dimensions"].ObjectValue()
	assert.Equal(t, "scaling-aws-prod-cache-002", dims["CacheClusterId"].StringValue())
}

// TestCacheSingleNode: zero replicas turns failover and Multi-AZ off (AWS refuses them on one
// node), and a given token is used as is (no ignoreChanges).
func TestCacheSingleNode(t *testing.T) {
	zero := 0
	rec := cacheRun(t, "dev", CacheArgs{Replicas: &zero, AuthToken: pulumi.ToSecret(pulumi.String("Abcdefgh12345678")).(pulumi.StringOutput)}, false)
	g := rec.find(cTGroup, "cache")
	require.NotNil(t, g)
	assert.Equal(t, 1.0, g.Inputs["numCacheClusters"].NumberValue())
	assert.False(t, g.Inputs["automaticFailoverEnabled"].BoolValue())
	assert.False(t, g.Inputs["multiAzEnabled"].BoolValue())
	assert.Equal(t, []string{"kmsKeyId"}, g.IgnoreChanges, "a given token is applied; only the at-rest key is kept from creation")
	assert.False(t, g.Protect, "dev is not protected")
	assert.True(t, g.Retain, "but always retained")
	assert.Nil(t, rec.find(dbTAlarm, "cache-1-cpu"), "no topic, no alarms")
}

// TestCacheRefusesBadArgs: what AWS or the provider would refuse is refused before anything
// is registered, naming the field, the value and the fix.
func TestCacheRefusesBadArgs(t *testing.T) {
	six, neg := 6, -1
	for _, tc := range []struct {
		name string
		args CacheArgs
		want string
	}{
		{"id too long", CacheArgs{ReplicationGroupID: strings.Repeat("a", 41)}, "ReplicationGroupID"},
		{"id uppercase", CacheArgs{ReplicationGroupID: "Cache"}, "ReplicationGroupID"},
		{"id starts with a digit", CacheArgs{ReplicationGroupID: "1cache"}, "ReplicationGroupID"},
		{"id double hyphen", CacheArgs{ReplicationGroupID: "my--cache"}, "ReplicationGroupID"},
		{"id trailing hyphen", CacheArgs{ReplicationGroupID: "cache-"}, "ReplicationGroupID"},
		{"too many replicas", CacheArgs{Replicas: &six}, "Replicas"},
		{"negative replicas", CacheArgs{Replicas: &neg}, "Replicas"},
		{"no snapshots", CacheArgs{SnapshotRetentionDays: -1}, "SnapshotRetentionDays"},
		{"bad node type", CacheArgs{NodeType: "t4g.micro"}, "NodeType"},
		{"previous generation", CacheArgs{NodeType: "cache.t2.micro"}, "previous generations"},
		{"data tiering", CacheArgs{NodeType: "cache.r6gd.xlarge"}, "data-tiering"},
		{"redis version", CacheArgs{EngineVersion: "7.1"}, "EngineVersion"},
		{"short snapshot window", CacheArgs{SnapshotWindow: "05:00-05:30"}, "SnapshotWindow"},
		{"overlapping windows", CacheArgs{SnapshotWindow: "06:00-07:00", MaintenanceWindow: "sun:06:30-sun:07:30"}, "overlaps"},
		{"overlap past midnight", CacheArgs{SnapshotWindow: "23:30-00:30", MaintenanceWindow: "mon:00:00-mon:01:00"}, "overlaps"},
		{"log retention", CacheArgs{LogRetentionDays: 2}, "LogRetentionDays"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := pulumi.RunErr(func(ctx *pulumi.Context) error {
				net, err := cacheNetwork(ctx)
				if err != nil {
					return err
				}
				tc.args.Network = net
				_, err = NewCache(ctx, "cache", &tc.args)
				return err
			}, pulumi.WithMocks("scaling-aws", "dev", &dbRecorder{}))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// Without cache-tier subnets there is nowhere to put it.
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		net, err := dbTestNetwork(ctx)
		if err != nil {
			return err
		}
		_, err = NewCache(ctx, "cache", &CacheArgs{Network: net})
		return err
	}, pulumi.WithMocks("scaling-aws", "dev", &dbRecorder{}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cache tier")
}

func TestCacheAuthTokenRules(t *testing.T) {
	assert.True(t, ValidCacheAuthToken("Abcdefgh-12345678!"))
	assert.False(t, ValidCacheAuthToken("short-token"), "under 16")
	assert.False(t, ValidCacheAuthToken(strings.Repeat("a", 129)), "over 128")
	for _, c := range []string{"@", `"`, "/", " ", "%"} {
		assert.False(t, ValidCacheAuthToken("Abcdefgh12345678"+c), c)
	}
	tok, err := generatePassword(64)
	require.NoError(t, err)
	assert.True(t, ValidCacheAuthToken(tok), "the generated token meets AWS's rules")
}

func TestWindowsOverlap(t *testing.T) {
	assert.False(t, windowsOverlap("05:00-06:00", "sun:06:30-sun:07:30"))
	assert.True(t, windowsOverlap("05:00-06:00", "wed:05:30-wed:06:30"))
	assert.True(t, windowsOverlap("23:00-01:00", "sat:00:30-sat:01:30"), "a window past midnight")
	assert.True(t, windowsOverlap("00:00-01:00", "sun:23:30-mon:00:30"), "a week wrapping past Sunday")
	assert.False(t, windowsOverlap("02:00-03:00", "sun:23:30-mon:00:30"))
}

// TestReplicaAZ: replicas go to AZs other than the primary's, round them.
func TestReplicaAZ(t *testing.T) {
	azs := []string{"a", "b", "c"}
	assert.Equal(t, []string{"b", "c", "b"}, []string{replicaAZ(azs, "a", 1), replicaAZ(azs, "a", 2), replicaAZ(azs, "a", 3)})
	assert.Equal(t, "a", replicaAZ([]string{"a"}, "a", 1), "no other AZ: the only one")
	assert.Equal(t, "a", replicaAZ(azs, "", 1), "unknown primary AZ: round all")
}

// TestDatabaseBufferPoolAndReplicaAZ: the buffer pool knob reaches the parameter group
// (applied at reboot), bad values are refused, and replicas keep the AZ they were created in.
func TestDatabaseBufferPoolAndReplicaAZ(t *testing.T) {
	rec := dbRun(t, "dev", func(ctx *pulumi.Context) error {
		net, err := dbTestNetwork(ctx)
		if err != nil {
			return err
		}
		_, err = NewDatabase(ctx, "db", &DatabaseArgs{Network: net, BufferPoolPercent: 60, Replicas: 2})
		return err
	})
	pg := rec.find(dbTParams, "db")
	require.NotNil(t, pg)
	found := false
	for _, p := range pg.Inputs["parameters"].ArrayValue() {
		o := p.ObjectValue()
		if o["name"].StringValue() == "innodb_buffer_pool_size" {
			found = true
			assert.Equal(t, "{DBInstanceClassMemory*60/100}", o["value"].StringValue())
			assert.Equal(t, "pending-reboot", o["applyMethod"].StringValue())
		}
	}
	assert.True(t, found, "innodb_buffer_pool_size is set")
	for _, n := range []string{"db-replica-1", "db-replica-2"} {
		r := rec.find(dbTInstance, n)
		require.NotNil(t, r)
		assert.Contains(t, r.IgnoreChanges, "availabilityZone", n)
		assert.True(t, r.Inputs["storageEncrypted"].BoolValue())
		assert.False(t, r.Inputs["publiclyAccessible"].BoolValue())
	}
	for _, pct := range []int{5, 95} {
		err := pulumi.RunErr(func(ctx *pulumi.Context) error {
			net, err := dbTestNetwork(ctx)
			if err != nil {
				return err
			}
			_, err = NewDatabase(ctx, "db", &DatabaseArgs{Network: net, BufferPoolPercent: pct})
			return err
		}, pulumi.WithMocks("scaling-aws", "dev", &dbRecorder{}))
		require.Error(t, err, pct)
		assert.Contains(t, err.Error(), "BufferPoolPercent")
	}
}

// TestReaderName: one private zone in the VPC, one weighted CNAME per replica under one name;
// bad args are refused before anything is registered.
func TestReaderName(t *testing.T) {
	rec := dbRun(t, "dev", func(ctx *pulumi.Context) error {
		net, err := dbTestNetwork(ctx)
		if err != nil {
			return err
		}
		r, err := NewReaderName(ctx, "db-reader", &ReaderNameArgs{Network: net, Targets: []pulumi.StringInput{pulumi.String("r1.rds.example"), pulumi.String("r2.rds.example")}})
		if err != nil {
			return err
		}
		if r.FQDN != "reader.db.scaling-aws.internal" {
			return fmt.Errorf("fqdn %s", r.FQDN)
		}
		return nil
	})
	zone := rec.find("aws:route53/zone:Zone", "db-reader")
	require.NotNil(t, zone)
	assert.Equal(t, "scaling-aws.internal", zone.Inputs["name"].StringValue())
	require.Len(t, zone.Inputs["vpcs"].ArrayValue(), 1, "private: associated with the VPC")
	for i, target := range []string{"r1.rds.example", "r2.rds.example"} {
		set := fmt.Sprintf("replica-%d", i+1)
		r := rec.find("aws:route53/record:Record", "db-reader-"+set)
		require.NotNil(t, r, set)
		assert.Equal(t, "reader.db.scaling-aws.internal", r.Inputs["name"].StringValue())
		assert.Equal(t, "CNAME", r.Inputs["type"].StringValue())
		assert.Equal(t, set, r.Inputs["setIdentifier"].StringValue())
		assert.Equal(t, target, r.Inputs["records"].ArrayValue()[0].StringValue())
		assert.Equal(t, 1.0, r.Inputs["weightedRoutingPolicies"].ArrayValue()[0].ObjectValue()["weight"].NumberValue())
		assert.Equal(t, 5.0, r.Inputs["ttl"].NumberValue())
	}
	for _, tc := range []struct {
		args ReaderNameArgs
		want string
	}{
		{ReaderNameArgs{}, "Targets"},
		{ReaderNameArgs{Targets: []pulumi.StringInput{pulumi.String("r1")}, TTLSeconds: 600}, "TTLSeconds"},
		{ReaderNameArgs{Targets: []pulumi.StringInput{pulumi.String("r1")}, ZoneName: "Bad_Zone"}, "ZoneName"},
	} {
		err := pulumi.RunErr(func(ctx *pulumi.Context) error {
			net, err := dbTestNetwork(ctx)
			if err != nil {
				return err
			}
			tc.args.Network = net
			_, err = NewReaderName(ctx, "db-reader", &tc.args)
			return err
		}, pulumi.WithMocks("scaling-aws", "dev", &dbRecorder{}))
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
	}
}
