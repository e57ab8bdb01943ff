package stages

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/scaling-aws/scaling-aws/components"
	"github.com/scaling-aws/scaling-aws/config"
)

// Logical names of the components. They are identity: a stateful component keeps its name
// from the stage where it appears to the last stage, so moving up is an update. Renaming one
// needs pulumi.Aliases.
const (
	nameNetwork  = "network"
	nameBox      = "box"
	nameRelease  = "release"
	nameAlarms   = "alarms"
	nameLogs     = "logs"
	nameStore    = "store"
	nameDatabase = "db"
	namePublicLB = "public-lb"
	nameAppLB    = "app-lb"
	nameWeb      = "web"
	nameReadAPI  = "read-api"
	nameWriteAPI = "write-api"
	nameCDN      = "cdn"
	nameCert     = "cert"
	nameCache    = "cache"
	nameReader   = "db-reader"
	nameKey      = "key"
)

// builder holds what every stage composes from: the context, the config and the outputs.
// Its methods create each component once, under its fixed name.
type builder struct {
	ctx     *pulumi.Context
	cfg     *config.Config
	opts    Options
	outputs pulumi.Map
	// key is the stack's KMS key, created by foundation.
	key *components.Key
	// account is the AWS account id, looked up once (accountID).
	account string
	// edge is the stack's us-east-1 key once created (edgeKey, usEast1Key).
	edge *components.Key
	// mon is what users++++'s monitoring keeps between its steps (stages/monitoring.go).
	mon monitoringState
}

// accountID returns the account the stack deploys into, from one GetCallerIdentity call
// per run (the key policies and the log bucket policy all name it).
func (b *builder) accountID() (string, error) {
	if b.account == "" {
		id, err := aws.GetCallerIdentity(b.ctx, nil)
		if err != nil {
			return "", fmt.Errorf("look up the AWS account: %w", err)
		}
		b.account = id.AccountId
	}
	return b.account, nil
}

// availabilityZones returns the first cfg.AZCount available AZs, sorted by name so their
// order (and so the address plan) does not depend on the API's order.
func (b *builder) availabilityZones() ([]string, error) {
	res, err := aws.GetAvailabilityZones(b.ctx, &aws.GetAvailabilityZonesArgs{State: pulumi.StringRef("available")})
	if err != nil {
		return nil, fmt.Errorf("look up availability zones: %w", err)
	}
	names := append([]string(nil), res.Names...)
	sort.Strings(names)
	if len(names) < b.cfg.AZCount {
		return nil, fmt.Errorf("config scaling-aws:azCount = %d is invalid: region %s has only %d available zones; lower azCount", b.cfg.AZCount, b.cfg.Region, len(names))
	}
	return names[:b.cfg.AZCount], nil
}

// network creates the VPC with the subnet tiers and endpoints the stage needs.
func (b *builder) network(tiers []components.Tier, endpoints []string) (*components.Network, error) {
	azs, err := b.availabilityZones()
	if err != nil {
		return nil, err
	}
	n, err := components.NewNetwork(b.ctx, nameNetwork, &components.NetworkArgs{
		CidrBlock:            b.cfg.VpcCidr,
		AvailabilityZones:    azs,
		Tiers:                tiers,
		Nat:                  components.NatStrategy(b.cfg.Nat),
		FlowLogRetentionDays: b.cfg.LogRetentionDays,
		Region:               b.cfg.Region,
		InterfaceEndpoints:   endpoints,
		// Before users++ only the box calls endpoints: one AZ keeps their cost at one ENI each.
		EndpointAZs: endpointAZs(b.cfg),
		// users+++++'s view counters reach DynamoDB through its gateway endpoint.
		DynamoDB: b.cfg.Stage >= config.UsersPlus5,
	})
	if err != nil {
		return nil, err
	}
	b.outputs["vpcId"] = n.VpcID
	return n, nil
}

func endpointAZs(cfg *config.Config) int {
	if cfg.Stage < config.UsersPlus2 {
		return 1
	}
	return cfg.AZCount
}

// image looks up the current Amazon Linux 2023 image for the instance type's architecture
// from AWS's public SSM parameter, rather than hard-coding an AMI id per region.
func (b *builder) image(instanceType string) (pulumi.StringInput, error) {
	a := map[string]string{"amd64": "x86_64", "arm64": "arm64"}[config.Arch(instanceType)]
	p, err := ssm.LookupParameter(b.ctx, &ssm.LookupParameterArgs{
		Name: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-" + a,
	})
	if err != nil {
		return nil, fmt.Errorf("look up the Amazon Linux 2023 image: %w", err)
	}
	return pulumi.String(p.Value), nil
}

// logGroupKey sets the key on every log group that sets none: the components that take a
// Key set it themselves; this covers those that take none (the network's flow-log group) and
// any a later stage adds, so no prod log group is left on CloudWatch Logs' own key (KMS-2).
// Associating a key with a live log group is an update in place.
func logGroupKey(k *components.Key) pulumi.ResourceTransformation {
	return func(args *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
		if lg, ok := args.Props.(*cloudwatch.LogGroupArgs); ok && lg.KmsKeyId == nil && !explicitProvider(args.Opts) {
			lg.KmsKeyId = k.Arn
			return &pulumi.ResourceTransformationResult{Props: lg, Opts: args.Opts}
		}
		return nil
	}
}

// explicitProvider reports whether a resource names its own provider (us-east-1 beside
// CloudFront): the stack key, in the stack's region, cannot encrypt there.
func explicitProvider(opts []pulumi.ResourceOption) bool {
	o, err := pulumi.NewResourceOptions(opts...)
	return err != nil || o.Provider != nil
}

// stackKey creates the stack's customer-managed KMS key, in every environment: the alarm
// topic needs it everywhere (CloudWatch cannot publish to a topic under the AWS-managed SNS
// key), and prod encrypts its data with it too (dataKey).
func (b *builder) stackKey() (*components.Key, error) {
	account, err := b.accountID()
	if err != nil {
		return nil, err
	}
	k, err := components.NewKey(b.ctx, nameKey, &components.KeyArgs{
		AccountID: account,
		Region:    b.cfg.Region,
		Protect:   b.cfg.Protect(),
		// From users++++ the key encrypts the stack's trail (stages/logs.go).
		CloudTrailName: b.trailName(),
	})
	if err != nil {
		return nil, err
	}
	b.key = k
	b.outputs["kmsKeyArn"] = k.Arn
	if dk := b.dataKey(); dk != nil {
		if err := b.ctx.RegisterStackTransformation(logGroupKey(dk)); err != nil {
			return nil, fmt.Errorf("register the log group key transformation: %w", err)
		}
	}
	return k, nil
}

// dataKey is the key that encrypts the stack's data (storage, secrets, logs, objects): the
// stack key in prod; nil in dev, which keeps the AWS-managed keys (aws/rds, aws/ebs,
// aws/secretsmanager, SSE-S3, CloudWatch Logs' own) because they cost nothing and dev data is
// disposable (docs/security.md, docs/decisions.md).
func (b *builder) dataKey() *components.Key {
	if b.cfg.Environment != config.Prod {
		return nil
	}
	return b.key
}

// alarms creates the stack's alarm topic, under the stack key.
func (b *builder) alarms() (*components.Alarms, error) {
	a, err := components.NewAlarms(b.ctx, nameAlarms, &components.AlarmsArgs{Email: b.cfg.AlarmEmail, Key: b.key})
	if err != nil {
		return nil, err
	}
	b.outputs["alarmTopicArn"] = a.TopicArn
	return a, nil
}

// release uploads the app built for the instance type's architecture.
func (b *builder) release(instanceType string) (*components.AppRelease, error) {
	r, err := b.opts.Release(config.Arch(instanceType))
	if err != nil {
		return nil, err
	}
	rel, err := components.NewAppRelease(b.ctx, nameRelease, &components.AppReleaseArgs{Version: r.Version, Arch: r.Arch, Binary: r.Asset, EncryptionKey: b.dataKey()})
	if err != nil {
		return nil, err
	}
	b.outputs["appVersion"] = pulumi.String(r.Version)
	return rel, nil
}

// objectStore creates the log bucket and the object store for static content and user files.
// Both policies are left to the stage (Bucket.AttachPolicy), which knows whether a CDN reads
// the store and delivers logs.
func (b *builder) objectStore() (logs, store *components.Bucket, err error) {
	logs, err = components.NewBucket(b.ctx, nameLogs, &components.BucketArgs{Class: components.DataLogs, ExpireDays: b.cfg.LogRetentionDays, DeferPolicy: true})
	if err != nil {
		return nil, nil, err
	}
	store, err = components.NewBucket(b.ctx, nameStore, &components.BucketArgs{
		Class:       components.DataUser,
		LogBucket:   logs,
		Protect:     b.cfg.Protect(),
		DeferPolicy: true,
		Key:         b.dataKey(),
	})
	if err != nil {
		return nil, nil, err
	}
	b.outputs["storeBucket"] = store.ID
	b.outputs["logBucket"] = logs.ID
	return logs, store, nil
}

// Enhanced monitoring intervals: prod every minute; dev off, because the OS metrics bill as
// CloudWatch Logs ingestion and nobody watches a dev database's load.
const (
	prodMonitoringSeconds = 60
	devMonitoringSeconds  = 0
)

// database creates the managed MySQL, Multi-AZ from users++, with Performance Insights
// wherever the class offers it (its 7 days are free) and enhanced monitoring in prod.
func (b *builder) database(net *components.Network, alarms *components.Alarms) (*components.Database, error) {
	db, err := b.databaseNamed(nameDatabase, net, alarms, b.cfg.DB)
	if err != nil {
		return nil, err
	}
	b.outputs["dbAddress"] = db.Address
	b.outputs["dbSecretArn"] = db.SecretArn
	return db, nil
}

// databaseNamed creates a managed MySQL sized by d under name: the stack's database, and
// from users+++++ its shards and the identity database, each configured alike.
func (b *builder) databaseNamed(name string, net *components.Network, alarms *components.Alarms, d config.Database) (*components.Database, error) {
	monitoring := devMonitoringSeconds
	if b.cfg.Environment == config.Prod {
		monitoring = prodMonitoringSeconds
	}
	return components.NewDatabase(b.ctx, name, &components.DatabaseArgs{
		Network:               net,
		InstanceClass:         d.InstanceClass,
		EngineVersion:         d.EngineVersion,
		AllocatedStorageGb:    d.AllocatedStorageGb,
		MaxAllocatedStorageGb: d.MaxAllocatedStorageGb,
		StorageAutoscalingOff: d.MaxAllocatedStorageGb == 0, // config's 0 is "off"
		BackupRetentionDays:   d.BackupRetentionDays,
		MultiAZ:               b.cfg.Stage >= config.UsersPlus2,
		Protect:               b.cfg.Protect(),
		LogRetentionDays:      b.cfg.LogRetentionDays,
		AlarmTopicArn:         alarms.TopicArn,
		MasterPassword:        b.dbPassword(),
		Replicas:              d.Replicas,
		ReplicaInstanceClass:  d.ReplicaInstanceClass,
		BufferPoolPercent:     d.BufferPoolPercent,
		// Performance Insights covers the primary and every replica, so it is on only where
		// all their classes offer it (rule RDS-7 fails a prod stack where they do not).
		PerformanceInsights: components.PerformanceInsightsOffered(d.InstanceClass) &&
			(d.Replicas == 0 || components.PerformanceInsightsOffered(d.ReplicaInstanceClass)),
		MonitoringIntervalSeconds: monitoring,
		Key:                       b.dataKey(),
	})
}

// cache creates the memory cache (users+++): Valkey in the cache-tier subnets, alarmed on
// the stack's topic. It keeps its name to the last stage.
func (b *builder) cache(net *components.Network, alarms *components.Alarms) (*components.Cache, error) {
	k := b.cfg.Cache
	var token pulumi.StringInput
	if b.cfg.CacheAuthToken != "" {
		token = pulumi.ToSecret(pulumi.String(b.cfg.CacheAuthToken)).(pulumi.StringOutput)
	}
	c, err := components.NewCache(b.ctx, nameCache, &components.CacheArgs{
		Network:               net,
		NodeType:              k.NodeType,
		EngineVersion:         k.EngineVersion,
		Replicas:              &k.Replicas,
		SnapshotRetentionDays: k.SnapshotRetentionDays,
		Protect:               b.cfg.Protect(),
		AuthToken:             token,
		LogRetentionDays:      b.cfg.LogRetentionDays,
		AlarmTopicArn:         alarms.TopicArn,
		Key:                   b.dataKey(),
	})
	if err != nil {
		return nil, err
	}
	b.outputs["cacheAddress"] = c.PrimaryAddress
	b.outputs["cacheSecretArn"] = c.SecretArn
	return c, nil
}

// dbPassword is the configured master password as a secret, or nil to let the database
// component generate one.
func (b *builder) dbPassword() pulumi.StringInput {
	if b.cfg.DBPassword == "" {
		return nil
	}
	return pulumi.ToSecret(pulumi.String(b.cfg.DBPassword)).(pulumi.StringOutput)
}

// foundation creates what every stage stands on: the stack's key, the network with the stage's subnet tiers
// and endpoints, the alarm topic, and the app release built for the servers that run it
// (appInstanceType's CPU architecture).
func (b *builder) foundation(tiers []components.Tier, endpoints []string, appInstanceType string) (*components.Network, *components.Alarms, *components.AppRelease, error) {
	if _, err := b.stackKey(); err != nil {
		return nil, nil, nil, err
	}
	net, err := b.network(tiers, endpoints)
	if err != nil {
		return nil, nil, nil, err
	}
	alarms, err := b.alarms()
	if err != nil {
		return nil, nil, nil, err
	}
	rel, err := b.release(appInstanceType)
	if err != nil {
		return nil, nil, nil, err
	}
	return net, alarms, rel, nil
}
