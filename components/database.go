package components

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// MySQLPort is the port the database listens on.
const MySQLPort Port = 3306

// MaxReplicas is the most read replicas RDS for MySQL allows per source instance.
const MaxReplicas = 15

// mysqlFamilies maps the engine versions a Database accepts (major.minor) to their parameter
// group family. Only these are accepted: the family is part of the parameter group's identity.
var mysqlFamilies = map[string]string{
	"8.0": "mysql8.0",
	"8.4": "mysql8.4",
}

// logRetentionDays are the retentions CloudWatch Logs accepts.
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// databaseLogs are the MySQL logs exported to CloudWatch Logs: errors, and queries slower
// than long_query_time. The general log is left off: it records every statement.
var databaseLogs = []string{"error", "slowquery"}

// DatabaseArgs configures a Database. Plain values decide what exists; Inputs carry wiring.
type DatabaseArgs struct {
	// Network holds the database in its data-tier subnets, which must span at least two AZs
	// (RDS requires it of every subnet group, and Multi-AZ needs the second). Required.
	Network *Network
	// InstanceClass sizes the primary. Vertical scaling is a change of this value, applied
	// in place at the maintenance window. Default: db.t4g.micro because it is the cheapest
	// class that runs MySQL 8 with the slow-query log on.
	InstanceClass string
	// EngineVersion is MySQL's major.minor: "8.0" or "8.4". The instance is given exactly
	// this (RDS resolves it to the latest minor) and minor upgrades are automatic, so the
	// program never fights AWS over a patch version. Default: 8.0 because it is the version
	// the app is tested against (MariaDB from Debian speaks its protocol).
	EngineVersion string
	// AllocatedStorageGb is the initial gp3 storage. Default: 20 because it is the gp3
	// minimum for MySQL.
	AllocatedStorageGb int
	// MaxAllocatedStorageGb lets RDS grow storage on its own up to this size (storage
	// autoscaling): at least 1.1 x AllocatedStorageGb, which RDS requires ("Invalid max
	// storage size"), and at most 65536. Default: 5 times AllocatedStorageGb (at most 65536)
	// because a full disk stops writes and AWS advises a ceiling 26% or more above the
	// allocation; none when even 65536 is under 1.1 x AllocatedStorageGb.
	MaxAllocatedStorageGb int
	// StorageAutoscalingOff turns storage autoscaling off: RDS is sent a ceiling of 0 (a
	// ceiling equal to the allocation is refused, not "off"). MaxAllocatedStorageGb must be
	// left 0. Default: false, autoscaling on.
	StorageAutoscalingOff bool
	// BackupRetentionDays keeps automated backups and point-in-time recovery, 7 to 35.
	// Read replicas need it above zero. Default: 7 because it is the floor of the security
	// rules (SH RDS.11).
	BackupRetentionDays int
	// BackupWindow is the daily backup window, UTC. Default: 03:00-04:00 because it is
	// night in Europe and evening in the Americas, and it ends before MaintenanceWindow.
	BackupWindow string
	// MaintenanceWindow is the weekly window in which pending changes (class, Multi-AZ,
	// storage, minor upgrades) are applied, UTC. Default: sun:04:30-sun:05:30 because it
	// follows the backup window without overlapping it (AWS rejects overlapping windows).
	MaintenanceWindow string
	// ApplyImmediately applies changes now instead of at the maintenance window. A class
	// change restarts a single-AZ database. Default: false for a single-AZ database because an
	// unplanned restart mid-day is an outage; operators set it for one urgent `pulumi up`.
	// With MultiAZ it is always true: turning Multi-AZ on is applied at once (it needs no
	// restart), rather than leaving the stack without its standby until the maintenance
	// window while every preview shows the same pending update; and later changes of a
	// Multi-AZ database are applied to the standby first and cost one failover (see
	// docs/database.md).
	ApplyImmediately bool
	// MultiAZ keeps a synchronous standby in a second AZ with automatic failover
	// (master-standby, users++). Switching it on is an in-place modification. Costs: the
	// instance and its storage twice. Default: false because stage users+ runs one box.
	MultiAZ bool
	// Replicas is how many read replicas follow the primary (users+++), 0 to 15. Each is
	// named <name>-replica-<n> from 1, so adding one never renames the others; removing one
	// removes the highest. Costs: one instance and its storage each. Default: 0.
	Replicas int
	// ReplicaInstanceClass sizes every replica. Default: InstanceClass because a replica
	// smaller than its source falls behind under the source's write load.
	ReplicaInstanceClass string
	// Protect guards the database in prod: pulumi protect, RDS deletion protection. Every
	// instance is RetainOnDelete and takes a final snapshot whatever Protect says.
	// Default: false (dev).
	Protect bool
	// Identifier is the RDS instance identifier; it can never change for a live database
	// (AWS replaces the instance). Default: <project>-<stack>-<name>, lowercased, because it
	// must be unique in the account and region and known before creation (the log groups
	// and alarms name it).
	Identifier string
	// DatabaseName is the schema created with the instance. Default: app because it is
	// what the app's migrations expect.
	DatabaseName string
	// MasterUsername is the master user. Default: admin because it is RDS's own default.
	MasterUsername string
	// MasterPassword is the master password, as a Pulumi secret (for example
	// `pulumi config set --secret`); it is wrapped as a secret whatever is given. It is
	// copied into a Secrets Manager secret that servers read at start (SecretArn).
	// Default: a 32-character password generated with crypto/rand when the instance is
	// created and then kept (later runs draw a new one that ignoreChanges discards), because
	// pulumi-random is not available here. Prod should set it. See docs/database.md for why
	// RDS's managed master password (manageMasterUserPassword) is not used.
	MasterPassword pulumi.StringInput
	// LogRetentionDays keeps the exported error and slow-query logs; a value CloudWatch
	// accepts. Default: 30 because slow queries older than a month are stale evidence.
	LogRetentionDays int
	// PerformanceInsights turns on Performance Insights on the primary and every replica.
	// RDS for MySQL does not offer it on db.t2.micro, db.t2.small, db.t3.micro, db.t3.small,
	// db.t4g.micro and db.t4g.small (RDS user guide, "DB engine, Region, and instance class
	// support for Database Insights"): asking for it there is an error. Default: false.
	PerformanceInsights bool
	// PerformanceInsightsRetentionDays keeps Performance Insights data: 7 (free), 731, or a
	// multiple of 31 up to 713 (months); only with PerformanceInsights. Default: 7 because it is
	// the free tier.
	PerformanceInsightsRetentionDays int
	// MonitoringIntervalSeconds turns on enhanced monitoring (OS metrics every this many
	// seconds, through a role trusted by monitoring.rds.amazonaws.com with the
	// AmazonRDSEnhancedMonitoringRole policy): 0 (off), 1, 5, 10, 15, 30 or 60, the values RDS
	// accepts. Default: 0 because the metrics bill as CloudWatch Logs ingestion.
	MonitoringIntervalSeconds int
	// Key encrypts the storage, the Performance Insights data and the master secret. It is
	// applied when an instance is created only: kmsKeyId cannot change on a live instance
	// without replacing it (a new, empty database), so a change of Key is ignored
	// (ignoreChanges) and an existing database keeps its key (docs/decisions.md). The secret
	// takes a new key in place. Default: nil, the AWS-managed aws/rds and
	// aws/secretsmanager keys.
	Key *Key
	// IAMAuthentication lets IAM roles log in with rds-db:connect tokens besides passwords.
	// Default: false because the app logs in with the master secret.
	IAMAuthentication bool
	// AlarmTopicArn, when set, creates alarms notifying it: CPU, free storage and
	// connections on every instance, and lag on each replica. Default: none, no alarms.
	AlarmTopicArn pulumi.StringInput
	// BufferPoolPercent sizes InnoDB's buffer pool (MySQL's own cache of table and index
	// pages) as a share of the instance class's memory, 10 to 90: the seed's "first, try to
	// configure the MySQL Database cache". It is written into the parameter group as
	// {DBInstanceClassMemory*N/100} and applied at the next reboot (RDS treats the size as
	// static). Default: 75 because it is RDS's own default formula, made explicit so a
	// change is reviewed: more starves connections and the OS of memory (each connection
	// takes a few MiB), less only when many connections or large sorts need the room.
	BufferPoolPercent int
}

// Database is managed MySQL on RDS: a subnet group over the network's data subnets, a
// closed security group (peers are added with AllowFrom), a parameter group requiring TLS
// and logging slow queries, the primary instance (encrypted, private, backed up, optionally
// Multi-AZ), read replicas, the CloudWatch log groups of the exported logs, a Secrets
// Manager secret with the master credentials, and alarms when a topic is given.
//
// Costs money: every instance and its storage (Multi-AZ doubles the primary), backups beyond
// the database's size, the secret (0.40 USD a month), log ingestion, alarms.
type Database struct {
	pulumi.ResourceState

	// Address is the primary's DNS name (the writer).
	Address pulumi.StringOutput
	// Port is the port the primary and replicas listen on.
	Port pulumi.IntOutput
	// Endpoint is the primary's address:port.
	Endpoint pulumi.StringOutput
	// Identifier is the primary's RDS identifier (the CloudWatch dimension).
	Identifier pulumi.StringOutput
	// Arn is the primary's ARN.
	Arn pulumi.StringOutput
	// SecretArn is the Secrets Manager secret holding the master credentials as JSON
	// {"username", "password"}, the shape of an RDS-managed secret; the app reads it from
	// DB_PASSWORD_SECRET_ARN.
	SecretArn pulumi.StringOutput
	// SecurityGroup guards every instance; it has no rules until AllowFrom adds peers.
	SecurityGroup *SecurityGroup
	// ReplicaAddresses are the replicas' DNS names in replica order (empty without replicas).
	ReplicaAddresses pulumi.StringArrayOutput

	ctx    *pulumi.Context
	name   string
	child  []pulumi.ResourceOption
	grants int
}

// NewDatabase creates a Database.
func NewDatabase(ctx *pulumi.Context, name string, args *DatabaseArgs, opts ...pulumi.ResourceOption) (*Database, error) {
	a, err := args.withDefaults(ctx, name)
	if err != nil {
		return nil, err
	}
	password, generated, err := a.password()
	if err != nil {
		return nil, err
	}
	d := &Database{ctx: ctx, name: name}
	child, err := register(ctx, "database:Database", name, d, opts)
	if err != nil {
		return nil, err
	}
	d.child = child

	subnets, err := rds.NewSubnetGroup(ctx, name, &rds.SubnetGroupArgs{
		Description: pulumi.Sprintf("%s: data-tier subnets, no route to the internet", name),
		SubnetIds:   a.Network.SubnetIDs(TierData),
		Tags:        tags(name),
	}, child...)
	if err != nil {
		return nil, err
	}

	sg, err := a.Network.NewSecurityGroup(ctx, childName(name, "sg"), "MySQL: reachable only from peers added by AllowFrom", RoleData, child)
	if err != nil {
		return nil, err
	}
	d.SecurityGroup = sg

	params, err := rds.NewParameterGroup(ctx, name, &rds.ParameterGroupArgs{
		Family:      pulumi.String(mysqlFamilies[a.EngineVersion]),
		Description: pulumi.Sprintf("%s: TLS required, slow-query log", name),
		Parameters: rds.ParameterGroupParameterArray{
			// Clients must use TLS: encryption in transit (the app connects with tls=true).
			param("require_secure_transport", "ON"),
			param("slow_query_log", "1"),
			param("long_query_time", "1"),
			// FILE is what RDS exports to CloudWatch Logs; TABLE would fill the database.
			param("log_output", "FILE"),
			&rds.ParameterGroupParameterArgs{
				Name:  pulumi.String("innodb_buffer_pool_size"),
				Value: pulumi.Sprintf("{DBInstanceClassMemory*%d/100}", a.BufferPoolPercent),
				// RDS applies the buffer pool size at a reboot; "immediate" is refused for it.
				ApplyMethod: pulumi.String("pending-reboot"),
			},
		},
		Tags: tags(name),
	}, child...)
	if err != nil {
		return nil, err
	}

	logGroups, err := d.logGroups(a, a.Identifier, name)
	if err != nil {
		return nil, err
	}

	username := pulumi.String(a.MasterUsername)
	// Secrets Manager refuses to delete a secret at once; the window lets a mistaken
	// deletion be undone. Its value is the shape of an RDS-managed master secret.
	secret, err := secretsmanager.NewSecret(ctx, childName(name, "master"), &secretsmanager.SecretArgs{
		Description:          pulumi.Sprintf("master credentials of RDS instance %s", a.Identifier),
		KmsKeyId:             keyArn(a.Key),
		RecoveryWindowInDays: pulumi.Int(30),
		Tags:                 tags(childName(name, "master")),
	}, with(child, pulumi.Protect(a.Protect))...)
	if err != nil {
		return nil, err
	}
	secretOpts := with(child, pulumi.Protect(a.Protect))
	// A key change would replace the instance (a new, empty database): keys apply at creation.
	instanceOpts := with(stateful(child, a.Protect), pulumi.DependsOn(logGroups), pulumi.IgnoreChanges(keyInputs))
	if generated {
		// A generated password is drawn anew on every run; the first one is kept.
		secretOpts = append(secretOpts, pulumi.IgnoreChanges([]string{"secretString"}))
		instanceOpts = with(stateful(child, a.Protect), pulumi.DependsOn(logGroups), pulumi.IgnoreChanges(append([]string{"password"}, keyInputs...)))
	}
	if _, err := secretsmanager.NewSecretVersion(ctx, childName(name, "master"), &secretsmanager.SecretVersionArgs{
		SecretId: secret.ID(),
		SecretString: pulumi.ToSecret(password.ApplyT(func(p string) (string, error) {
			b, err := json.Marshal(map[string]string{"username": a.MasterUsername, "password": p})
			return string(b), err
		})).(pulumi.StringOutput),
	}, secretOpts...); err != nil {
		return nil, err
	}

	monitoringRole, err := d.monitoringRole(a)
	if err != nil {
		return nil, err
	}
	primary, err := rds.NewInstance(ctx, name, &rds.InstanceArgs{
		// Identity: identifier, engine, storageEncrypted, kmsKeyId, dbName and username force
		// a new instance in AWS; none of them depends on a stage knob.
		Identifier:       pulumi.String(a.Identifier),
		Engine:           pulumi.String("mysql"),
		EngineVersion:    pulumi.String(a.EngineVersion),
		StorageEncrypted: pulumi.Bool(true), // CKV_AWS_16, SH RDS.3
		KmsKeyId:         keyArn(a.Key),     // nil: the AWS-managed aws/rds key
		DbName:           pulumi.String(a.DatabaseName),
		Username:         username,
		Password:         pulumi.ToSecret(password).(pulumi.StringOutput),

		InstanceClass:         pulumi.String(a.InstanceClass),
		AllocatedStorage:      pulumi.Int(a.AllocatedStorageGb),
		MaxAllocatedStorage:   pulumi.Int(a.MaxAllocatedStorageGb),
		StorageType:           pulumi.String("gp3"),
		MultiAz:               pulumi.Bool(a.MultiAZ),
		DbSubnetGroupName:     subnets.Name,
		VpcSecurityGroupIds:   pulumi.StringArray{sg.ID},
		PubliclyAccessible:    pulumi.Bool(false), // explicit: never trust the default (SH RDS.2)
		Port:                  pulumi.Int(int(MySQLPort)),
		ParameterGroupName:    params.Name,
		CaCertIdentifier:      pulumi.String("rds-ca-rsa2048-g1"),
		BackupRetentionPeriod: pulumi.Int(a.BackupRetentionDays),
		BackupWindow:          pulumi.String(a.BackupWindow),
		MaintenanceWindow:     pulumi.String(a.MaintenanceWindow),
		// Automated backups outlive the instance, so even a deleted database can be
		// restored to a point in time within the retention.
		DeleteAutomatedBackups:   pulumi.Bool(false),
		CopyTagsToSnapshot:       pulumi.Bool(true),
		AutoMinorVersionUpgrade:  pulumi.Bool(true),
		AllowMajorVersionUpgrade: pulumi.Bool(false), // a major upgrade is a planned operation
		ApplyImmediately:         pulumi.Bool(a.ApplyImmediately),
		DeletionProtection:       pulumi.Bool(a.Protect),
		MonitoringInterval:       pulumi.Int(a.MonitoringIntervalSeconds),
		MonitoringRoleArn:        monitoringRole,
		// A final snapshot in every environment: it costs cents, a lost database does not.
		SkipFinalSnapshot:                  pulumi.Bool(false),
		FinalSnapshotIdentifier:            pulumi.String(a.Identifier + "-final"),
		EnabledCloudwatchLogsExports:       pulumi.ToStringArray(databaseLogs),
		PerformanceInsightsEnabled:         pulumi.Bool(a.PerformanceInsights),
		PerformanceInsightsRetentionPeriod: a.piRetention(),
		PerformanceInsightsKmsKeyId:        a.piKey(),
		IamDatabaseAuthenticationEnabled:   pulumi.Bool(a.IAMAuthentication),
		Tags:                               tags(name),
	}, instanceOpts...)
	if err != nil {
		return nil, err
	}
	d.Address, d.Port, d.Endpoint, d.Arn = primary.Address, primary.Port, primary.Endpoint, primary.Arn
	d.Identifier = primary.Identifier
	d.SecretArn = secret.Arn

	replicaAddresses := pulumi.StringArray{}
	var replicaIDs []string
	for n := 1; n <= a.Replicas; n++ {
		r, id, err := d.replica(a, n, primary, params, subnets, monitoringRole)
		if err != nil {
			return nil, err
		}
		replicaAddresses = append(replicaAddresses, r.Address)
		replicaIDs = append(replicaIDs, id)
	}
	d.ReplicaAddresses = replicaAddresses.ToStringArrayOutput()

	if a.AlarmTopicArn != nil {
		if err := d.alarms(a, replicaIDs); err != nil {
			return nil, err
		}
	}

	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{
		"address":          d.Address,
		"endpoint":         d.Endpoint,
		"identifier":       d.Identifier,
		"secretArn":        d.SecretArn,
		"replicaAddresses": d.ReplicaAddresses,
	})
}

// replica creates read replica n (from 1) of primary.
func (d *Database) replica(a *DatabaseArgs, n int, primary *rds.Instance, params *rds.ParameterGroup, subnets *rds.SubnetGroup, monitoringRole pulumi.StringPtrInput) (*rds.Instance, string, error) {
	name := childName(d.name, "replica", strconv.Itoa(n))
	id := fmt.Sprintf("%s-replica-%d", a.Identifier, n)
	logGroups, err := d.logGroups(a, id, name)
	if err != nil {
		return nil, "", err
	}
	// A replica is stateful like its source (STATE-1: RetainOnDelete, protected in prod):
	// readers may still be pointed at it when Replicas drops. The cost is that lowering
	// Replicas leaves the dropped replica running in AWS until deleted by hand (docs).
	// The primary's AZ moves on a Multi-AZ failover; the replica's is chosen once, at
	// creation, and kept (a new AZ would replace the replica). Its key inputs are kept from
	// creation too (see keyInputs).
	opts := with(stateful(d.child, a.Protect), pulumi.DependsOn(logGroups), pulumi.IgnoreChanges(append([]string{"availabilityZone"}, keyInputs...)))
	azs := a.Network.AvailabilityZones
	r, err := rds.NewInstance(d.ctx, name, &rds.InstanceArgs{
		// Replicas go to AZs other than the primary's where the network has one, so an AZ
		// loss takes the primary or the readers, not both.
		AvailabilityZone: primary.AvailabilityZone.ApplyT(func(p string) string { return replicaAZ(azs, p, n) }).(pulumi.StringOutput),
		// Same region: the source is named by identifier (an ARN only across regions).
		ReplicateSourceDb: primary.Identifier,
		Identifier:        pulumi.String(id),
		// Not set, inherited from the source (AWS rejects or ignores them on a replica):
		// engine and version, dbName, username and password (replication copies the
		// source's users, terraform-aws-rds#103), storage size. Backups are off on a new
		// replica: AWS creates replicas without them, and only a source needs them.
		// storageEncrypted is inherited too; it is stated because a replica of an encrypted
		// source is always encrypted and scanners check every instance (CKV_AWS_16).
		StorageEncrypted:                   pulumi.Bool(true),
		InstanceClass:                      pulumi.String(a.ReplicaInstanceClass),
		MaxAllocatedStorage:                pulumi.Int(a.MaxAllocatedStorageGb),
		StorageType:                        pulumi.String("gp3"),
		MultiAz:                            pulumi.Bool(false), // a replica is a read copy; the primary carries failover
		DbSubnetGroupName:                  subnets.Name,
		VpcSecurityGroupIds:                pulumi.StringArray{d.SecurityGroup.ID}, // not inherited: AWS would use the VPC default group
		PubliclyAccessible:                 pulumi.Bool(false),
		Port:                               pulumi.Int(int(MySQLPort)),
		ParameterGroupName:                 params.Name,
		CaCertIdentifier:                   pulumi.String("rds-ca-rsa2048-g1"),
		MaintenanceWindow:                  pulumi.String(a.MaintenanceWindow),
		CopyTagsToSnapshot:                 pulumi.Bool(true),
		AutoMinorVersionUpgrade:            pulumi.Bool(true),
		ApplyImmediately:                   pulumi.Bool(a.ApplyImmediately),
		DeletionProtection:                 pulumi.Bool(a.Protect),
		SkipFinalSnapshot:                  pulumi.Bool(true), // AWS takes no final snapshot of a read replica
		EnabledCloudwatchLogsExports:       pulumi.ToStringArray(databaseLogs),
		MonitoringInterval:                 pulumi.Int(a.MonitoringIntervalSeconds),
		MonitoringRoleArn:                  monitoringRole,
		PerformanceInsightsEnabled:         pulumi.Bool(a.PerformanceInsights),
		PerformanceInsightsRetentionPeriod: a.piRetention(),
		PerformanceInsightsKmsKeyId:        a.piKey(),
		IamDatabaseAuthenticationEnabled:   pulumi.Bool(a.IAMAuthentication),
		Tags:                               tags(name),
	}, opts...)
	return r, id, err
}

// replicaAZ picks replica n's (from 1) AZ: round the AZs other than the primary's, or round
// all of them when there is no other.
func replicaAZ(azs []string, primary string, n int) string {
	var others []string
	for _, z := range azs {
		if z != primary {
			others = append(others, z)
		}
	}
	if len(others) == 0 {
		others = azs
	}
	if len(others) == 0 {
		return ""
	}
	return others[(n-1)%len(others)]
}

// logGroups creates the log groups RDS exports instance id's logs to, so they have a
// retention (RDS would create them without one, kept forever). They exist before the
// instance, which depends on them.
func (d *Database) logGroups(a *DatabaseArgs, id, owner string) ([]pulumi.Resource, error) {
	var out []pulumi.Resource
	for _, log := range databaseLogs {
		g, err := cloudwatch.NewLogGroup(d.ctx, childName(owner, "log", log), &cloudwatch.LogGroupArgs{
			Name:            pulumi.Sprintf("/aws/rds/instance/%s/%s", id, log),
			RetentionInDays: pulumi.Int(a.LogRetentionDays),
			KmsKeyId:        keyArn(a.Key), // associated in place, no replacement
			Tags:            tags(childName(owner, "log", log)),
		}, d.child...)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// alarms watches every instance (CPU, free storage, connections: replicas carry the read
// load, so they saturate first) and each replica's lag.
func (d *Database) alarms(a *DatabaseArgs, replicaIDs []string) error {
	if err := d.instanceAlarms(a, d.name, a.Identifier, a.InstanceClass, nil); err != nil {
		return err
	}
	for i, id := range replicaIDs {
		lag := Alarm{Name: "lag", Description: "replica more than 60 s behind the primary for 10 minutes: reads are stale; grow ReplicaInstanceClass",
			Metric: "ReplicaLag", Statistic: "Maximum", Comparison: "GreaterThanThreshold", Threshold: 60, PeriodSeconds: 300, EvaluationPeriods: 2}
		if err := d.instanceAlarms(a, childName(d.name, "replica", strconv.Itoa(i+1)), id, a.ReplicaInstanceClass, &lag); err != nil {
			return err
		}
	}
	return nil
}

// instanceAlarms creates owner-cpu, owner-free-storage and owner-connections on instance id
// (plus extra), all notifying the topic.
func (d *Database) instanceAlarms(a *DatabaseArgs, owner, id, class string, extra *Alarm) error {
	alarms := []Alarm{
		{Name: "cpu", Description: "database CPU above 80% for 15 minutes: a larger class, read replicas or a cache",
			Metric: "CPUUtilization", Statistic: "Average", Comparison: "GreaterThanThreshold", Threshold: 80, PeriodSeconds: 300, EvaluationPeriods: 3},
		{Name: "free-storage", Description: "database free storage under half the autoscaling trigger: storage is at MaxAllocatedStorageGb or not keeping up",
			Metric: "FreeStorageSpace", Statistic: "Minimum", Comparison: "LessThanThreshold", Threshold: freeStorageThreshold(a.AllocatedStorageGb), PeriodSeconds: 300, EvaluationPeriods: 2},
		{Name: "connections", Description: "database connections above 80% of max_connections: pool connections or grow the class",
			Metric: "DatabaseConnections", Statistic: "Maximum", Comparison: "GreaterThanThreshold", Threshold: connectionsThreshold(class), PeriodSeconds: 300, EvaluationPeriods: 3},
	}
	if extra != nil {
		alarms = append(alarms, *extra)
	}
	for _, al := range alarms {
		al.Namespace = "AWS/RDS"
		al.Dimensions = pulumi.StringMap{"DBInstanceIdentifier": pulumi.String(id)}
		if err := newAlarm(d.ctx, owner, a.AlarmTopicArn, al, d.child); err != nil {
			return err
		}
	}
	return nil
}

// keyInputs are the inputs of an RDS instance that name its keys; a change of either
// replaces the instance, so they apply at creation only.
var keyInputs = []string{"kmsKeyId", "performanceInsightsKmsKeyId"}

// monitoringRole creates the enhanced-monitoring role when MonitoringIntervalSeconds is set:
// trusted by monitoring.rds.amazonaws.com alone, with AWS's AmazonRDSEnhancedMonitoringRole
// policy (RDS user guide, "Setting up and enabling Enhanced Monitoring"). RDS refuses a
// monitoring interval without a role ARN. It returns the role's ARN, or nil when off.
func (d *Database) monitoringRole(a *DatabaseArgs) (pulumi.StringPtrInput, error) {
	if a.MonitoringIntervalSeconds == 0 {
		return nil, nil
	}
	name := childName(d.name, "monitoring")
	role, err := iam.NewRole(d.ctx, name, &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(assumeRolePolicy("monitoring.rds.amazonaws.com")),
		Description:      pulumi.Sprintf("RDS enhanced monitoring of %s", a.Identifier),
		Tags:             tags(name),
	}, d.child...)
	if err != nil {
		return nil, err
	}
	if _, err := iam.NewRolePolicyAttachment(d.ctx, name, &iam.RolePolicyAttachmentArgs{
		Role:      role.Name,
		PolicyArn: pulumi.String("arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"),
	}, d.child...); err != nil {
		return nil, err
	}
	return role.Arn, nil
}

// piRetention is the Performance Insights retention input: set only with Performance
// Insights on (the provider refuses a retention without it).
func (a *DatabaseArgs) piRetention() pulumi.IntPtrInput {
	if !a.PerformanceInsights {
		return nil
	}
	return pulumi.Int(a.PerformanceInsightsRetentionDays)
}

// piKey is the Performance Insights key input: the stack key, only with Performance Insights
// on (the provider refuses a key without it).
func (a *DatabaseArgs) piKey() pulumi.StringPtrInput {
	if !a.PerformanceInsights {
		return nil
	}
	return keyArn(a.Key)
}

// AllowFrom lets members of peer reach MySQL: egress on peer, ingress on the database's
// group, by group reference (the data tier has no CIDR sources). rule names both rules.
func (d *Database) AllowFrom(rule string, peer *SecurityGroup) error {
	if peer == nil {
		return fmt.Errorf("database %q: AllowFrom %q: peer is nil", d.name, rule)
	}
	return Connect(rule, peer, d.SecurityGroup, MySQLPort)
}

// GrantReadSecret lets role read the master secret (secretsmanager:GetSecretValue on exactly
// SecretArn), so servers fetch the password at start. Each grant is an inline role policy
// named <name>-secret-read-<n>, n counting grants from 1 in program order: reordering grants
// renames (re-creates) them, which is harmless, since a policy holds no data and the new one
// is created before the old one is deleted.
func (d *Database) GrantReadSecret(role *iam.Role) error {
	if role == nil {
		return fmt.Errorf("database %q: GrantReadSecret: role is nil", d.name)
	}
	d.grants++
	return grantSecretRead(d.ctx, d.name, d.grants, role, "ReadDatabaseSecret", d.SecretArn, d.child)
}

// grantSecretRead lets role read exactly secretArn (secretsmanager:GetSecretValue), as the
// inline role policy <owner>-secret-read-<n>: the n-th grant of the owning component.
func grantSecretRead(ctx *pulumi.Context, owner string, n int, role *iam.Role, sid string, secretArn pulumi.StringOutput, opts []pulumi.ResourceOption) error {
	_, err := iam.NewRolePolicy(ctx, childName(owner, "secret-read", strconv.Itoa(n)), &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: policyDocument(statement{
			Sid:       sid,
			Actions:   []string{"secretsmanager:GetSecretValue"},
			Resources: pulumi.StringArray{secretArn},
		}),
	}, opts...)
	return err
}

// password returns the master password and whether it was generated here.
func (a *DatabaseArgs) password() (pulumi.StringOutput, bool, error) {
	if a.MasterPassword != nil {
		return pulumi.ToSecret(a.MasterPassword).(pulumi.StringOutput), false, nil
	}
	pw, err := generatePassword(32)
	if err != nil {
		return pulumi.StringOutput{}, false, fmt.Errorf("generate the master password: %w", err)
	}
	return pulumi.ToSecret(pulumi.String(pw)).(pulumi.StringOutput), true, nil
}

// passwordAlphabet is letters and digits: MySQL refuses '/', '"', '@' and spaces in the
// master password, and plain alphanumerics are safe in every client's connection string.
const passwordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// generatePassword draws n characters of passwordAlphabet from crypto/rand (about 5.95
// bits each: 190 bits for 32).
func generatePassword(n int) (string, error) {
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(passwordAlphabet))))
		if err != nil {
			return "", err
		}
		b[i] = passwordAlphabet[k.Int64()]
	}
	return string(b), nil
}

func param(name, value string) *rds.ParameterGroupParameterArgs {
	// All four are dynamic in MySQL 8: applied without a reboot.
	return &rds.ParameterGroupParameterArgs{Name: pulumi.String(name), Value: pulumi.String(value), ApplyMethod: pulumi.String("immediate")}
}

var (
	dbNamePattern     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
	dbUserPattern     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,31}$`)
	identifierPattern = regexp.MustCompile(`^[a-z](-?[a-z0-9])*$`)
	dailyWindow       = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$`)
	weeklyWindow      = regexp.MustCompile(`^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$`)
)

// monitoringIntervals are the enhanced-monitoring intervals RDS accepts, in seconds.
var monitoringIntervals = []int{0, 1, 5, 10, 15, 30, 60}

// noPerformanceInsights are the classes on which RDS for MySQL offers no Performance
// Insights (RDS user guide, "DB engine, Region, and instance class support for Database
// Insights").
var noPerformanceInsights = []string{"db.t2.micro", "db.t2.small", "db.t3.micro", "db.t3.small", "db.t4g.micro", "db.t4g.small"}

// PerformanceInsightsOffered reports whether RDS for MySQL offers Performance Insights on
// class.
func PerformanceInsightsOffered(class string) bool {
	return !slices.Contains(noPerformanceInsights, class)
}

// maxIdentifierLen leaves room in RDS's 63 characters for "-replica-15".
const maxIdentifierLen = 63 - len("-replica-15")

// withDefaults validates args and fills in every default, before anything is registered.
func (a *DatabaseArgs) withDefaults(ctx *pulumi.Context, name string) (*DatabaseArgs, error) {
	bad := func(field string, value any, fix string) error { return argError("database", name, field, value, fix) }
	if a == nil {
		return nil, bad("args", nil, "pass DatabaseArgs")
	}
	out := *a
	if out.Network == nil {
		return nil, bad("Network", nil, "pass the stack's network; the database lives in its data subnets")
	}
	if n := len(out.Network.SubnetIDs(TierData)); n < 2 {
		return nil, bad("Network", fmt.Sprintf("%d data subnets", n), "give the network the data tier over at least 2 availability zones (RDS subnet groups need 2)")
	}
	if out.InstanceClass == "" {
		out.InstanceClass = "db.t4g.micro"
	}
	if !strings.HasPrefix(out.InstanceClass, "db.") {
		return nil, bad("InstanceClass", out.InstanceClass, "use an RDS class such as db.t4g.micro or db.m6g.large")
	}
	if out.ReplicaInstanceClass == "" {
		out.ReplicaInstanceClass = out.InstanceClass
	}
	if !strings.HasPrefix(out.ReplicaInstanceClass, "db.") {
		return nil, bad("ReplicaInstanceClass", out.ReplicaInstanceClass, "use an RDS class such as db.t4g.micro or db.m6g.large")
	}
	if out.EngineVersion == "" {
		out.EngineVersion = "8.0"
	}
	if _, ok := mysqlFamilies[out.EngineVersion]; !ok {
		return nil, bad("EngineVersion", out.EngineVersion, "use a MySQL major.minor: 8.0 or 8.4")
	}
	if out.AllocatedStorageGb == 0 {
		out.AllocatedStorageGb = 20
	}
	if out.AllocatedStorageGb < 20 || out.AllocatedStorageGb > 65536 {
		return nil, bad("AllocatedStorageGb", out.AllocatedStorageGb, "use 20 to 65536 (gp3 limits for MySQL)")
	}
	// RDS refuses a ceiling under 1.1 x the allocation (RDS User Guide, "Managing capacity
	// automatically with Amazon RDS storage autoscaling"); 0 is autoscaling off.
	floor := (11*out.AllocatedStorageGb + 9) / 10
	switch {
	case out.StorageAutoscalingOff:
		if out.MaxAllocatedStorageGb != 0 {
			return nil, bad("MaxAllocatedStorageGb", out.MaxAllocatedStorageGb, "leave it 0 when StorageAutoscalingOff is set")
		}
	case out.MaxAllocatedStorageGb == 0 && floor > 65536:
		out.StorageAutoscalingOff = true // no room left to grow into
	case out.MaxAllocatedStorageGb == 0:
		out.MaxAllocatedStorageGb = min(5*out.AllocatedStorageGb, 65536)
	case out.MaxAllocatedStorageGb < floor || out.MaxAllocatedStorageGb > 65536:
		return nil, bad("MaxAllocatedStorageGb", out.MaxAllocatedStorageGb, fmt.Sprintf("use %d (1.1 x AllocatedStorageGb %d) to 65536, or set StorageAutoscalingOff", floor, out.AllocatedStorageGb))
	}
	if out.BackupRetentionDays == 0 {
		out.BackupRetentionDays = 7
	}
	if out.BackupRetentionDays < 7 || out.BackupRetentionDays > 35 {
		return nil, bad("BackupRetentionDays", out.BackupRetentionDays, "keep backups 7 to 35 days")
	}
	if out.BackupWindow == "" {
		out.BackupWindow = "03:00-04:00"
	}
	if !dailyWindow.MatchString(out.BackupWindow) {
		return nil, bad("BackupWindow", out.BackupWindow, "use hh:mm-hh:mm in UTC, such as 03:00-04:00")
	}
	if out.MaintenanceWindow == "" {
		out.MaintenanceWindow = "sun:04:30-sun:05:30"
	}
	if !weeklyWindow.MatchString(out.MaintenanceWindow) {
		return nil, bad("MaintenanceWindow", out.MaintenanceWindow, "use ddd:hh:mm-ddd:hh:mm in UTC, such as sun:04:30-sun:05:30")
	}
	if out.BufferPoolPercent == 0 {
		out.BufferPoolPercent = 75
	}
	if out.BufferPoolPercent < 10 || out.BufferPoolPercent > 90 {
		return nil, bad("BufferPoolPercent", out.BufferPoolPercent, "use 10 to 90 percent of the instance's memory (RDS's default is 75)")
	}
	// RDS ModifyDBInstance: MonitoringInterval is one of these.
	if !slices.Contains(monitoringIntervals, out.MonitoringIntervalSeconds) {
		return nil, bad("MonitoringIntervalSeconds", out.MonitoringIntervalSeconds, fmt.Sprintf("use one of %v (0 turns enhanced monitoring off)", monitoringIntervals))
	}
	if out.PerformanceInsights {
		for _, c := range []struct{ field, class string }{{"InstanceClass", out.InstanceClass}, {"ReplicaInstanceClass", out.ReplicaInstanceClass}} {
			if slices.Contains(noPerformanceInsights, c.class) {
				return nil, bad(c.field, c.class, "Performance Insights is not offered on this class for MySQL; use db.t3.medium, db.t4g.medium or larger, or turn PerformanceInsights off")
			}
		}
		if out.PerformanceInsightsRetentionDays == 0 {
			out.PerformanceInsightsRetentionDays = 7
		}
		// RDS: 7, 731, or a multiple of 31 (months); the provider docs say the same.
		if d := out.PerformanceInsightsRetentionDays; d != 7 && d != 731 && (d%31 != 0 || d < 31 || d > 713) {
			return nil, bad("PerformanceInsightsRetentionDays", d, "use 7 (free), 731, or a multiple of 31 up to 713 (months)")
		}
	} else if out.PerformanceInsightsRetentionDays != 0 {
		return nil, bad("PerformanceInsightsRetentionDays", out.PerformanceInsightsRetentionDays, "set it only with PerformanceInsights on")
	}
	if out.MultiAZ {
		out.ApplyImmediately = true
	}
	if out.Replicas < 0 || out.Replicas > MaxReplicas {
		return nil, bad("Replicas", out.Replicas, fmt.Sprintf("use 0 to %d read replicas", MaxReplicas))
	}
	if out.DatabaseName == "" {
		out.DatabaseName = "app"
	}
	if !dbNamePattern.MatchString(out.DatabaseName) {
		return nil, bad("DatabaseName", out.DatabaseName, "start with a letter; letters, digits and _ only, up to 64")
	}
	if out.MasterUsername == "" {
		out.MasterUsername = "admin"
	}
	if !dbUserPattern.MatchString(out.MasterUsername) {
		return nil, bad("MasterUsername", out.MasterUsername, "start with a letter; letters, digits and _ only, up to 32")
	}
	if out.LogRetentionDays == 0 {
		out.LogRetentionDays = 30
	}
	if !slices.Contains(logRetentionDays, out.LogRetentionDays) {
		return nil, bad("LogRetentionDays", out.LogRetentionDays, fmt.Sprintf("use a retention CloudWatch accepts: %v", logRetentionDays))
	}
	if out.Identifier == "" {
		out.Identifier = defaultIdentifier(ctx.Project(), ctx.Stack(), name)
	}
	if len(out.Identifier) > maxIdentifierLen || !identifierPattern.MatchString(out.Identifier) {
		return nil, bad("Identifier", out.Identifier, fmt.Sprintf("use lowercase letters, digits and single hyphens, starting with a letter, up to %d characters", maxIdentifierLen))
	}
	return &out, nil
}

// defaultIdentifier derives an RDS identifier from the project, stack and component name:
// lowercase, single hyphens, starting with a letter, short enough for replica suffixes.
func defaultIdentifier(project, stack, name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(project + "-" + stack + "-" + name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case !strings.HasSuffix(b.String(), "-") && b.Len() > 0:
			b.WriteByte('-')
		}
	}
	id := b.String()
	if id == "" || id[0] < 'a' || id[0] > 'z' {
		id = "db-" + id
	}
	if len(id) > maxIdentifierLen {
		id = id[:maxIdentifierLen]
	}
	return strings.TrimRight(id, "-")
}

// freeStorageThreshold is half of RDS's storage-autoscaling trigger (10% free), in bytes:
// below it autoscaling has hit its ceiling or is not keeping up.
func freeStorageThreshold(allocatedGb int) float64 {
	return float64(allocatedGb) * 0.05 * (1 << 30)
}

// classMemoryGiB estimates an instance class's memory from its size, for the connections
// alarm: 4 GiB per "large" step for general-purpose and burstable classes, twice that for
// memory-optimised (r, x) ones. Unknown sizes count as 1 GiB (an early alarm, not none).
func classMemoryGiB(class string) float64 {
	parts := strings.Split(class, ".")
	if len(parts) != 3 {
		return 1
	}
	sizes := map[string]float64{"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16}
	mem, ok := sizes[parts[2]]
	if !ok && strings.HasSuffix(parts[2], "xlarge") {
		if n, err := strconv.Atoi(strings.TrimSuffix(parts[2], "xlarge")); err == nil && n > 0 {
			mem, ok = float64(16*n), true
		}
	}
	if !ok {
		return 1
	}
	if strings.HasPrefix(parts[1], "r") || strings.HasPrefix(parts[1], "x") {
		mem *= 2
	}
	return mem
}

// connectionsThreshold is 80% of RDS MySQL's default max_connections
// ({DBInstanceClassMemory/12582880}) for class.
func connectionsThreshold(class string) float64 {
	maxConn := classMemoryGiB(class) * (1 << 30) / 12582880
	return float64(int(maxConn * 0.8))
}
