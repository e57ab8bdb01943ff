package components

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// CachePort is the port the cache listens on (Valkey's and Redis's default).
const CachePort Port = 6379

// MaxCacheReplicas is the most replicas ElastiCache allows per shard (node group).
const MaxCacheReplicas = 5

// valkeyFamilies maps the Valkey versions a Cache accepts (major.minor) to their parameter
// group family. The family is part of the parameter group's identity, so only these are
// accepted. ElastiCache offers Valkey 7.2, 8.0 and 8.1 (docs.aws.amazon.com/AmazonElastiCache/
// latest/dg/engine-versions.html).
var valkeyFamilies = map[string]string{
	"7.2": "valkey7",
	"8.0": "valkey8",
	"8.1": "valkey8",
}

// cacheLogs are the engine logs delivered to CloudWatch Logs: the slow log (commands slower
// than slowlog-log-slower-than, 10 ms by default) and the engine log (failovers, replication,
// evictions as the engine reports them).
var cacheLogs = []string{"slow-log", "engine-log"}

// CacheEvictionPolicy is the maxmemory-policy of every Cache: evict, among keys with a TTL,
// those closest to expiry first. Every key the app writes has a TTL (posts 5 minutes, write
// fences 5 seconds, sessions SESSION_TTL, 24 hours by default: app/redis), so under memory
// pressure the cached posts go long before any session, and keys without a TTL (a Redis
// queue, if one is ever used) are never evicted. Eviction is approximate (sampled, see
// maxmemory-samples below): the Evictions alarm fires on the first one, since a cache that
// evicts at all is undersized. docs/decisions.md says what was rejected.
const CacheEvictionPolicy = "volatile-ttl"

// CacheArgs configures a Cache. Plain values decide what exists; Inputs carry wiring.
type CacheArgs struct {
	// Network holds the cache in its cache-tier subnets (isolated: no route out of the VPC),
	// which must span at least two AZs so a replica can live apart from the primary.
	// Required.
	Network *Network
	// NodeType sizes every node. Vertical scaling is a change of this value (an online
	// resize). Default: cache.t4g.micro because it is the cheapest node with Multi-AZ and
	// TLS (0.5 GiB: enough for sessions and the hottest posts of a dev stack).
	NodeType string
	// EngineVersion is Valkey's major.minor: 7.2, 8.0 or 8.1. Minor upgrades are automatic.
	// Default: 8.0 because it is the newest major with a year of ElastiCache service behind
	// it, and speaks the Redis 7.2 protocol the app's client uses.
	EngineVersion string
	// Replicas is how many read replicas follow the primary, 0 to 5. With at least one the
	// group is Multi-AZ with automatic failover (SH ElastiCache.3). Zero is a single node:
	// a node failure loses every session, so stages allow it only in dev, through a named
	// waiver. Costs: one node each. Default: 1.
	Replicas *int
	// SnapshotRetentionDays keeps daily snapshots, 1 to 35 (SH ElastiCache.1). Default: 1
	// because the cache holds only what the database or a new login can rebuild.
	SnapshotRetentionDays int
	// SnapshotWindow is the daily snapshot window, UTC, at least 60 minutes. Default:
	// 05:00-06:00 because it follows the database's backup window (03:00-04:00) and its
	// maintenance (sun 04:30-05:30), so one night never stacks all three.
	SnapshotWindow string
	// MaintenanceWindow is the weekly maintenance window, UTC, at least 60 minutes, not
	// overlapping SnapshotWindow (AWS refuses overlapping windows). Default:
	// sun:06:30-sun:07:30 because it follows the snapshot window.
	MaintenanceWindow string
	// ApplyImmediately applies changes now instead of at the maintenance window. Default:
	// false because a node-type change mid-day fails over the primary.
	ApplyImmediately bool
	// Protect guards the cache in prod (pulumi protect). It is RetainOnDelete and takes a
	// final snapshot whatever Protect says. Default: false (dev).
	Protect bool
	// ReplicationGroupID is the ElastiCache identifier; it can never change for a live
	// cache (AWS replaces the group). Default: <project>-<stack>-<name>, lowercased.
	ReplicationGroupID string
	// AuthToken is the AUTH token, as a Pulumi secret: 16 to 128 printable ASCII characters
	// whose only specials are ! & # $ ^ < > - (docs.aws.amazon.com/AmazonElastiCache/latest/
	// dg/auth.html). It is copied into a Secrets Manager secret that servers read at start
	// (SecretArn, the app's REDIS_AUTH_SECRET_ARN). Default: a 64-character token generated
	// with crypto/rand when the cache is created and then kept (later runs draw a new one
	// that ignoreChanges discards), as the database's master password is.
	AuthToken pulumi.StringInput
	// LogRetentionDays keeps the slow and engine logs. Default: 30.
	LogRetentionDays int
	// AlarmTopicArn, when set, receives ElastiCache events (failovers, node replacements)
	// and the alarms: host and engine CPU, memory used, evictions, connections and
	// replication lag on every node. Default: none, no alarms and no events.
	AlarmTopicArn pulumi.StringInput
	// Key, when set, encrypts the cache at rest and its AUTH secret with the stack's own
	// key (prod, rule KMS-2). The group's key can only be chosen at creation (AWS replaces a
	// group whose kmsKeyId changes: a cache emptied, every session gone), so a change of Key
	// is ignored on a live group. Default: nil, the AWS-managed keys (dev).
	Key *Key
}

// Cache is a Valkey replication group on ElastiCache (cluster mode disabled: one shard, a
// primary and its replicas): a subnet group over the network's cache-tier subnets, a closed
// security group (peers are added with AllowFrom), a parameter group (eviction policy), the
// replication group itself (encrypted at rest and in transit, AUTH token, Multi-AZ with
// automatic failover when it has a replica, daily snapshots), the CloudWatch log groups of
// its slow and engine logs, a Secrets Manager secret holding the AUTH token, and alarms.
//
// AWS resources: elasticache.SubnetGroup, elasticache.ParameterGroup,
// elasticache.ReplicationGroup, ec2.SecurityGroup and its rules, cloudwatch.LogGroup,
// secretsmanager.Secret and SecretVersion, iam.RolePolicy (GrantReadSecret),
// cloudwatch.MetricAlarm (with AlarmTopicArn).
// Costs money: every node (Replicas + 1), snapshots beyond one node's size, the secret
// (0.40 USD a month), log ingestion, alarms.
type Cache struct {
	pulumi.ResourceState

	// PrimaryAddress is the primary endpoint, which follows the primary across failovers:
	// the app's REDIS_ADDR.
	PrimaryAddress pulumi.StringOutput
	// ReaderAddress is the reader endpoint, spread over the replicas.
	ReaderAddress pulumi.StringOutput
	// Port is the port every node listens on.
	Port int
	// ReplicationGroupID is the group's identifier (the CloudWatch dimension's prefix).
	ReplicationGroupID string
	// Nodes is how many nodes the group has (Replicas + 1).
	Nodes int
	// SecretArn is the Secrets Manager secret holding the AUTH token as JSON {"password"};
	// the app reads it from REDIS_AUTH_SECRET_ARN.
	SecretArn pulumi.StringOutput
	// SecurityGroup guards every node; it has no rules until AllowFrom adds peers.
	SecurityGroup *SecurityGroup

	ctx    *pulumi.Context
	name   string
	child  []pulumi.ResourceOption
	grants int
}

// NewCache creates a Cache.
func NewCache(ctx *pulumi.Context, name string, args *CacheArgs, opts ...pulumi.ResourceOption) (*Cache, error) {
	a, err := args.withDefaults(ctx, name)
	if err != nil {
		return nil, err
	}
	token, generated, err := a.token()
	if err != nil {
		return nil, err
	}
	replicas := *a.Replicas
	c := &Cache{ctx: ctx, name: name, Port: int(CachePort), ReplicationGroupID: a.ReplicationGroupID, Nodes: replicas + 1}
	child, err := register(ctx, "cache:Cache", name, c, opts)
	if err != nil {
		return nil, err
	}
	c.child = child

	subnets, err := elasticache.NewSubnetGroup(ctx, name, &elasticache.SubnetGroupArgs{
		Name:        pulumi.String(a.ReplicationGroupID),
		Description: pulumi.Sprintf("%s: cache-tier subnets, no route out of the VPC", name),
		SubnetIds:   a.Network.SubnetIDs(TierCache),
		Tags:        tags(name),
	}, child...)
	if err != nil {
		return nil, err
	}
	sg, err := a.Network.NewSecurityGroup(ctx, childName(name, "sg"), "Valkey: reachable only from peers added by AllowFrom", RoleCache, child)
	if err != nil {
		return nil, err
	}
	c.SecurityGroup = sg

	params, err := elasticache.NewParameterGroup(ctx, name, &elasticache.ParameterGroupArgs{
		// The version is in the name: a new major needs a group of its family, created
		// (new name) before the group in use is deleted.
		Name:        pulumi.String(a.ReplicationGroupID + "-" + strings.ReplaceAll(a.EngineVersion, ".", "-")),
		Family:      pulumi.String(valkeyFamilies[a.EngineVersion]),
		Description: pulumi.Sprintf("%s: evict the keys closest to expiry first", name),
		Parameters: elasticache.ParameterGroupParameterArray{
			&elasticache.ParameterGroupParameterArgs{Name: pulumi.String("maxmemory-policy"), Value: pulumi.String(CacheEvictionPolicy)},
			// More samples make the approximate eviction closer to exact: 10 is Redis's own
			// advice for near-true ordering, at a small CPU cost only while evicting.
			&elasticache.ParameterGroupParameterArgs{Name: pulumi.String("maxmemory-samples"), Value: pulumi.String("10")},
		},
		Tags: tags(name),
	}, child...)
	if err != nil {
		return nil, err
	}

	var logs []pulumi.Resource
	deliveries := elasticache.ReplicationGroupLogDeliveryConfigurationArray{}
	for _, l := range cacheLogs {
		g, err := cloudwatch.NewLogGroup(ctx, childName(name, "log", l), &cloudwatch.LogGroupArgs{
			Name:            pulumi.Sprintf("/aws/elasticache/%s/%s", a.ReplicationGroupID, l),
			RetentionInDays: pulumi.Int(a.LogRetentionDays),
			Tags:            tags(childName(name, "log", l)),
		}, child...)
		if err != nil {
			return nil, err
		}
		logs = append(logs, g)
		deliveries = append(deliveries, &elasticache.ReplicationGroupLogDeliveryConfigurationArgs{
			Destination: g.Name, DestinationType: pulumi.String("cloudwatch-logs"),
			LogFormat: pulumi.String("json"), LogType: pulumi.String(l),
		})
	}

	secret, err := secretsmanager.NewSecret(ctx, childName(name, "auth"), &secretsmanager.SecretArgs{
		Description:          pulumi.Sprintf("AUTH token of ElastiCache replication group %s", a.ReplicationGroupID),
		RecoveryWindowInDays: pulumi.Int(30),
		KmsKeyId:             keyArn(a.Key), // nil: the AWS-managed aws/secretsmanager key
		Tags:                 tags(childName(name, "auth")),
	}, with(child, pulumi.Protect(a.Protect))...)
	if err != nil {
		return nil, err
	}
	secretOpts := with(child, pulumi.Protect(a.Protect))
	// The at-rest key is chosen at creation and kept (see Key).
	groupIgnore := []string{"kmsKeyId"}
	if generated {
		// A generated token is drawn anew on every run; the first one is kept.
		secretOpts = append(secretOpts, pulumi.IgnoreChanges([]string{"secretString"}))
		groupIgnore = append(groupIgnore, "authToken")
	}
	groupOpts := with(stateful(child, a.Protect), pulumi.DependsOn(logs), pulumi.IgnoreChanges(groupIgnore))
	if _, err := secretsmanager.NewSecretVersion(ctx, childName(name, "auth"), &secretsmanager.SecretVersionArgs{
		SecretId: secret.ID(),
		// The shape the app's parseRedisSecret reads: {"password": token}.
		SecretString: pulumi.ToSecret(pulumi.Sprintf(`{"password":%q}`, token)).(pulumi.StringOutput),
	}, secretOpts...); err != nil {
		return nil, err
	}

	// Nodes go round the AZs, the primary in the first: its replicas sit in other AZs
	// whenever the network has more than one (ElastiCache ignores this list on updates, so
	// it never moves a node).
	azs := pulumi.StringArray{}
	for i := 0; i <= replicas; i++ {
		azs = append(azs, pulumi.String(a.Network.AvailabilityZones[i%len(a.Network.AvailabilityZones)]))
	}
	group, err := elasticache.NewReplicationGroup(ctx, name, &elasticache.ReplicationGroupArgs{
		// Identity: the id, engine, subnet group, port and at-rest encryption force a new
		// group in AWS; none of them depends on a stage knob.
		ReplicationGroupId: pulumi.String(a.ReplicationGroupID),
		Description:        pulumi.Sprintf("%s: sessions and hot posts", name),
		Engine:             pulumi.String("valkey"),
		EngineVersion:      pulumi.String(a.EngineVersion),
		// Minor versions follow AWS at the maintenance window; majors are planned.
		AutoMinorVersionUpgrade:  pulumi.Bool(true),
		NodeType:                 pulumi.String(a.NodeType),
		Port:                     pulumi.Int(int(CachePort)),
		NumCacheClusters:         pulumi.Int(replicas + 1),
		PreferredCacheClusterAzs: azs,
		// Failover needs a replica to promote; Multi-AZ needs failover (the provider and
		// AWS refuse either on a single node).
		AutomaticFailoverEnabled: pulumi.Bool(replicas > 0),
		MultiAzEnabled:           pulumi.Bool(replicas > 0),
		SubnetGroupName:          subnets.Name,
		SecurityGroupIds:         pulumi.StringArray{sg.ID},
		ParameterGroupName:       params.Name,
		// Encrypted at rest (with Key, or the AWS-managed key) and in transit with TLS, which
		// AUTH requires (CKV_AWS_29/30, SH ElastiCache.4/5). "required" refuses plain clients.
		AtRestEncryptionEnabled:   pulumi.Bool(true),
		KmsKeyId:                  keyArn(a.Key),
		TransitEncryptionEnabled:  pulumi.Bool(true),
		TransitEncryptionMode:     pulumi.String("required"),
		AuthToken:                 pulumi.ToSecret(token).(pulumi.StringOutput),
		AuthTokenUpdateStrategy:   pulumi.String("ROTATE"),
		SnapshotRetentionLimit:    pulumi.Int(a.SnapshotRetentionDays),
		SnapshotWindow:            pulumi.String(a.SnapshotWindow),
		MaintenanceWindow:         pulumi.String(a.MaintenanceWindow),
		FinalSnapshotIdentifier:   pulumi.String(a.ReplicationGroupID + "-final"),
		ApplyImmediately:          pulumi.Bool(a.ApplyImmediately),
		NotificationTopicArn:      optionalString(a.AlarmTopicArn),
		LogDeliveryConfigurations: deliveries,
		Tags:                      tags(name),
	}, groupOpts...)
	if err != nil {
		return nil, err
	}
	c.PrimaryAddress, c.ReaderAddress, c.SecretArn = group.PrimaryEndpointAddress, group.ReaderEndpointAddress, secret.Arn

	if a.AlarmTopicArn != nil {
		if err := c.alarms(a); err != nil {
			return nil, err
		}
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"primaryAddress": c.PrimaryAddress,
		"readerAddress":  c.ReaderAddress,
		"secretArn":      c.SecretArn,
	})
}

func optionalString(in pulumi.StringInput) pulumi.StringPtrInput {
	if in == nil {
		return nil
	}
	return in.ToStringOutput().ToStringPtrOutput()
}

// NodeIDs are the member cluster ids of the group's nodes, <id>-001 upwards: the
// CacheClusterId dimension of their metrics. ElastiCache names the members of a
// cluster-mode-disabled group this way.
func (c *Cache) NodeIDs() []string {
	out := make([]string, c.Nodes)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", c.ReplicationGroupID, i+1)
	}
	return out
}

// cacheAlarms are the alarms every node gets. TreatMissingData is chosen per metric:
// ElastiCache publishes CPU, memory, evictions and connections every minute from every
// node, so silence from one is a node outage, which the ElastiCache events on the topic
// report; "missing" keeps the alarm from guessing either way. Evictions is a count and
// ReplicationLag is published by replicas only (the primary has no lag, and the primary
// changes on failover), so for those missing data is "notBreaching".
func cacheAlarms(nodeType string) []Alarm {
	return []Alarm{
		{Name: "cpu", Description: "cache host CPU above 80% for 15 minutes: on nodes with 2 vCPUs or fewer the engine shares them with the host; grow NodeType",
			Metric: "CPUUtilization", Statistic: "Average", Comparison: "GreaterThanThreshold", Threshold: 80, PeriodSeconds: 300, EvaluationPeriods: 3, MissingData: "missing"},
		{Name: "engine-cpu", Description: "cache engine thread above 80% for 15 minutes: the single engine thread is saturated; grow NodeType or add replicas for reads",
			Metric: "EngineCPUUtilization", Statistic: "Average", Comparison: "GreaterThanThreshold", Threshold: 80, PeriodSeconds: 300, EvaluationPeriods: 3, MissingData: "missing"},
		{Name: "memory", Description: "cache memory above 80% of maxmemory for 15 minutes: evictions are next; grow NodeType",
			Metric: "DatabaseMemoryUsagePercentage", Statistic: "Maximum", Comparison: "GreaterThanThreshold", Threshold: 80, PeriodSeconds: 300, EvaluationPeriods: 3, MissingData: "missing"},
		{Name: "evictions", Description: "the cache evicted keys: it is too small for its working set and sessions are at risk; grow NodeType",
			Metric: "Evictions", Statistic: "Sum", Comparison: "GreaterThanThreshold", Threshold: 0, PeriodSeconds: 300, EvaluationPeriods: 1, MissingData: "notBreaching"},
		{Name: "connections", Description: "cache client connections above the app's pools' worth for 15 minutes: a connection leak or far more servers than planned",
			Metric: "CurrConnections", Statistic: "Maximum", Comparison: "GreaterThanThreshold", Threshold: connectionsCeiling(nodeType), PeriodSeconds: 300, EvaluationPeriods: 3, MissingData: "missing"},
		{Name: "replication-lag", Description: "cache replica more than 5 s behind the primary for 10 minutes: reads and a failover would lose writes; grow NodeType",
			Metric: "ReplicationLag", Statistic: "Maximum", Comparison: "GreaterThanThreshold", Threshold: 5, PeriodSeconds: 300, EvaluationPeriods: 2, MissingData: "notBreaching"},
	}
}

// connectionsCeiling is the connections alarm's threshold: the engine accepts 65,000
// clients; well before that, a count above 5,000 (50 servers at go-redis's pool of 10 per
// CPU on 8 vCPUs, plus headroom) means a leak on the nodes this stage sizes. Micro and small
// nodes have less memory per connection, so their ceiling is lower.
func connectionsCeiling(nodeType string) float64 {
	if strings.HasSuffix(nodeType, ".micro") || strings.HasSuffix(nodeType, ".small") {
		return 1000
	}
	return 5000
}

// alarms watches every node, named <name>-<node>-<alarm> with node from 1.
func (c *Cache) alarms(a *CacheArgs) error {
	for i, id := range c.NodeIDs() {
		for _, al := range cacheAlarms(a.NodeType) {
			al.Namespace = "AWS/ElastiCache"
			al.Dimensions = pulumi.StringMap{"CacheClusterId": pulumi.String(id)}
			if err := newAlarm(c.ctx, childName(c.name, strconv.Itoa(i+1)), a.AlarmTopicArn, al, c.child); err != nil {
				return err
			}
		}
	}
	return nil
}

// AllowFrom lets members of peer reach the cache on 6379: egress on peer, ingress on the
// cache's group, by group reference (the cache tier has no CIDR sources). rule names both.
func (c *Cache) AllowFrom(rule string, peer *SecurityGroup) error {
	if peer == nil {
		return fmt.Errorf("cache %q: AllowFrom %q: peer is nil", c.name, rule)
	}
	return Connect(rule, peer, c.SecurityGroup, CachePort)
}

// GrantReadSecret lets role read the AUTH token secret (secretsmanager:GetSecretValue on
// exactly SecretArn). Grants are inline role policies <name>-secret-read-<n>, n from 1 in
// program order, as Database.GrantReadSecret names them.
func (c *Cache) GrantReadSecret(role *iam.Role) error {
	if role == nil {
		return fmt.Errorf("cache %q: GrantReadSecret: role is nil", c.name)
	}
	c.grants++
	return grantSecretRead(c.ctx, c.name, c.grants, role, "ReadCacheToken", c.SecretArn, c.child)
}

// token returns the AUTH token and whether it was generated here.
func (a *CacheArgs) token() (pulumi.StringOutput, bool, error) {
	if a.AuthToken != nil {
		return pulumi.ToSecret(a.AuthToken).(pulumi.StringOutput), false, nil
	}
	// Letters and digits only: within AUTH's alphabet, and safe in any client's URL.
	t, err := generatePassword(64)
	if err != nil {
		return pulumi.StringOutput{}, false, fmt.Errorf("generate the AUTH token: %w", err)
	}
	return pulumi.ToSecret(pulumi.String(t)).(pulumi.StringOutput), true, nil
}

var (
	// cacheNodeTypeRE is a current-generation node type: cache.<family><generation>.<size>.
	cacheNodeTypeRE = regexp.MustCompile(`^cache\.[a-z]+[0-9][a-z]*\.(micro|small|medium|large|xlarge|[1-9][0-9]*xlarge)$`)
	// replicationGroupIDRE: 1 to 40 letters, digits or hyphens, a letter first, no trailing
	// or doubled hyphen; stored lowercase, so uppercase is refused rather than folded
	// (docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html).
	replicationGroupIDRE = regexp.MustCompile(`^[a-z](-?[a-z0-9])*$`)
	authTokenRE          = regexp.MustCompile(`^[A-Za-z0-9!&#$^<>-]{16,128}$`)
)

// maxReplicationGroupIDLen is ElastiCache's limit on a replication group id.
const maxReplicationGroupIDLen = 40

// ValidCacheAuthToken reports whether token meets ElastiCache's AUTH rules: 16 to 128
// printable ASCII characters, the only specials ! & # $ ^ < > and -.
func ValidCacheAuthToken(token string) bool { return authTokenRE.MatchString(token) }

// withDefaults validates args and fills in every default, before anything is registered.
func (a *CacheArgs) withDefaults(ctx *pulumi.Context, name string) (*CacheArgs, error) {
	bad := func(field string, value any, fix string) error { return argError("cache", name, field, value, fix) }
	if a == nil {
		return nil, bad("args", nil, "pass CacheArgs")
	}
	out := *a
	if out.Network == nil {
		return nil, bad("Network", nil, "pass the stack's network; the cache lives in its cache-tier subnets")
	}
	if n := len(out.Network.SubnetIDs(TierCache)); n < 2 {
		return nil, bad("Network", fmt.Sprintf("%d cache subnets", n), "give the network the cache tier over at least 2 availability zones, so replicas live apart from the primary")
	}
	if out.NodeType == "" {
		out.NodeType = "cache.t4g.micro"
	}
	if !cacheNodeTypeRE.MatchString(out.NodeType) {
		return nil, bad("NodeType", out.NodeType, "use an ElastiCache node type such as cache.t4g.micro or cache.m7g.large")
	}
	family := strings.Split(out.NodeType, ".")[1]
	switch {
	case slices.Contains([]string{"t1", "t2", "m1", "m2", "m3", "c1", "r3"}, family):
		// Previous generation: T1 has neither Multi-AZ nor snapshots, and none of these has
		// Valkey (docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheNodes.SupportedTypes.html).
		return nil, bad("NodeType", out.NodeType, "use a current-generation node type (t4g, m7g, r7g, ...): previous generations lack Valkey, Multi-AZ or snapshots")
	case strings.HasSuffix(family, "d"):
		return nil, bad("NodeType", out.NodeType, "data-tiering nodes (r6gd) need dataTieringEnabled, which this component does not set; use an r7g or m7g node")
	}
	if out.EngineVersion == "" {
		out.EngineVersion = "8.0"
	}
	if _, ok := valkeyFamilies[out.EngineVersion]; !ok {
		return nil, bad("EngineVersion", out.EngineVersion, "use a Valkey major.minor: 7.2, 8.0 or 8.1")
	}
	if out.Replicas == nil {
		one := 1
		out.Replicas = &one
	}
	if r := *out.Replicas; r < 0 || r > MaxCacheReplicas {
		return nil, bad("Replicas", r, fmt.Sprintf("use 0 to %d replicas per shard (ElastiCache's limit)", MaxCacheReplicas))
	}
	if out.SnapshotRetentionDays == 0 {
		out.SnapshotRetentionDays = 1
	}
	if out.SnapshotRetentionDays < 1 || out.SnapshotRetentionDays > 35 {
		return nil, bad("SnapshotRetentionDays", out.SnapshotRetentionDays, "keep snapshots 1 to 35 days (0 turns them off, which SH ElastiCache.1 forbids)")
	}
	if out.SnapshotWindow == "" {
		out.SnapshotWindow = "05:00-06:00"
	}
	if out.MaintenanceWindow == "" {
		out.MaintenanceWindow = "sun:06:30-sun:07:30"
	}
	if !dailyWindow.MatchString(out.SnapshotWindow) || windowMinutes(dailySpan(out.SnapshotWindow)) < 60 {
		return nil, bad("SnapshotWindow", out.SnapshotWindow, "use hh:mm-hh:mm in UTC, at least 60 minutes, such as 05:00-06:00")
	}
	if !weeklyWindow.MatchString(out.MaintenanceWindow) || windowMinutes(weeklySpan(out.MaintenanceWindow)) < 60 {
		return nil, bad("MaintenanceWindow", out.MaintenanceWindow, "use ddd:hh:mm-ddd:hh:mm in UTC, at least 60 minutes, such as sun:06:30-sun:07:30")
	}
	if windowsOverlap(out.SnapshotWindow, out.MaintenanceWindow) {
		return nil, bad("MaintenanceWindow", out.MaintenanceWindow, fmt.Sprintf("it overlaps SnapshotWindow %s on some day, which ElastiCache refuses; move one of them", out.SnapshotWindow))
	}
	if out.LogRetentionDays == 0 {
		out.LogRetentionDays = 30
	}
	if !slices.Contains(logRetentionDays, out.LogRetentionDays) {
		return nil, bad("LogRetentionDays", out.LogRetentionDays, fmt.Sprintf("use a retention CloudWatch accepts: %v", logRetentionDays))
	}
	if out.ReplicationGroupID == "" {
		out.ReplicationGroupID = defaultCacheID(ctx.Project(), ctx.Stack(), name)
	}
	if len(out.ReplicationGroupID) > maxReplicationGroupIDLen || !replicationGroupIDRE.MatchString(out.ReplicationGroupID) {
		return nil, bad("ReplicationGroupID", out.ReplicationGroupID, fmt.Sprintf("use lowercase letters, digits and single hyphens, starting with a letter, up to %d characters", maxReplicationGroupIDLen))
	}
	return &out, nil
}

// defaultCacheID derives a replication group id as defaultIdentifier does an RDS one, cut
// to ElastiCache's 40 characters.
func defaultCacheID(project, stack, name string) string {
	id := defaultIdentifier(project, stack, name)
	if len(id) > maxReplicationGroupIDLen {
		id = id[:maxReplicationGroupIDLen]
	}
	return strings.TrimRight(id, "-")
}

// span is a window as minutes from Monday 00:00 (weekly) or midnight (daily), end after start.
type span struct{ start, end int }

func windowMinutes(s span) int { return s.end - s.start }

func hhmm(s string) int {
	h, _ := strconv.Atoi(s[:2])
	m, _ := strconv.Atoi(s[3:5])
	return h*60 + m
}

// dailySpan parses hh:mm-hh:mm; a window past midnight ends the next day.
func dailySpan(w string) span {
	s := span{hhmm(w[:5]), hhmm(w[6:])}
	if s.end <= s.start {
		s.end += 24 * 60
	}
	return s
}

var weekdays = map[string]int{"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}

// weeklySpan parses ddd:hh:mm-ddd:hh:mm; a window past Sunday ends the next week.
func weeklySpan(w string) span {
	s := span{weekdays[w[:3]]*1440 + hhmm(w[4:9]), weekdays[w[10:13]]*1440 + hhmm(w[14:19])}
	if s.end <= s.start {
		s.end += 7 * 1440
	}
	return s
}

// windowsOverlap reports whether the daily window meets the weekly one on any day.
func windowsOverlap(daily, weekly string) bool {
	d, w := dailySpan(daily), weeklySpan(weekly)
	for day := -1; day <= 7; day++ {
		s, e := d.start+day*1440, d.end+day*1440
		for _, shift := range []int{0, 7 * 1440} {
			if s < w.end-shift && w.start-shift < e {
				return true
			}
		}
	}
	return false
}
