// Package config is the typed, validated configuration of a scaling-aws stack.
//
// It is read once (by main.go, or by the offline preview from Pulumi.<stack>.yaml), its
// defaults are applied in one place and it is validated before any resource is registered.
// Components never read configuration: stages turn a Config into component args.
//
// # One table of settings
//
// Every setting is one row of the fields table below: its key ("azCount", or "db.replicas"
// for a field of an object key), the Config field it fills, its accepted range and its
// default. Load reads exactly the keys of that table:
//
//   - a key of the scaling-aws namespace that is not in the table is refused, with the
//     closest known key as the fix; unknown keys of other namespaces (aws:regoin) are warned
//     about (Config.Warnings), since other plugins read them;
//   - a key that is set is parsed strictly (whole numbers, strict JSON objects with
//     case-sensitive fields and no duplicates) and validated as given: an explicit 0 or ""
//     is never silently replaced by the default;
//   - a default applies only to a key that is not set.
//
// Adding a setting is therefore:
//
//  1. a field in Config (or in its object struct: Box, Tier, Database), with a doc comment
//     giving its default and the reason for it;
//  2. one row in fields: key, binding, range (min/max or the allowed values) and default;
//     an object key (such as "cache") exists as soon as one row names "cache.<field>";
//  3. any check that involves other settings in Validate;
//  4. a row in README.md's config reference.
package config

import (
	"fmt"
	"strings"
)

// Namespace is the Pulumi project name, under which every key of this program lives.
const Namespace = "scaling-aws"

// Environment selects the cost and safety profile of a stack.
type Environment string

// The two environments. Prod turns on everything that protects data (Pulumi protect,
// deletion protection, final snapshots, longer retention) and one NAT gateway per AZ.
const (
	Dev  Environment = "dev"
	Prod Environment = "prod"
)

// NatStrategy says how private subnets reach the internet.
type NatStrategy string

// NAT strategies, trading cost against availability (one NAT gateway costs about
// 32 USD a month plus 0.045 USD per GB processed).
const (
	// NatNone: no NAT gateway. Private subnets reach AWS only through VPC endpoints.
	// Cheapest; enough while no private instance needs the internet (stages 0 and 1).
	NatNone NatStrategy = "none"
	// NatSingle: one NAT gateway in the first AZ for every private subnet. An AZ outage
	// there cuts egress for all AZs, and other AZs pay cross-AZ transfer. Dev default.
	NatSingle NatStrategy = "single"
	// NatPerAZ: one NAT gateway per AZ, each private route table uses its own AZ's.
	// Survives an AZ loss; costs one gateway per AZ. Prod default.
	NatPerAZ NatStrategy = "per-az"
)

// Tier sizes one group of servers: its instance type and its Auto Scaling group bounds, and
// from users++++ what scales it (config/scaling.go has the defaults and their reasons).
// Before users++++ a group has a fixed size: Desired (min = max = desired).
type Tier struct {
	InstanceType string `json:"instanceType"`
	// Min is the group's floor; from users++++ with a schedule, its floor off business hours.
	Min int `json:"min"`
	// Max is the group's ceiling: the most servers any trigger may start.
	Max int `json:"max"`
	// Desired is the size the group is created with; from users++++ autoscaling owns it.
	Desired int `json:"desired"`
	// BusinessHoursMin is the floor during business hours (Schedule), from users++++; 0: no
	// schedule for this tier. Default: the users+++ size (3/4/3 in prod, 2/3/2 in dev).
	BusinessHoursMin int `json:"businessHoursMin"`
	// CPUTargetPercent is the target-tracking policy's average CPU; 0 turns it off (from
	// users++++ only). Default: 60.
	CPUTargetPercent int `json:"cpuTargetPercent"`
	// RequestsPerTargetPerMinute is the load balancer requests per server per minute target
	// tracking keeps; 0: off. Default from users++++: web 120000, readApi 30000, writeApi 12000.
	RequestsPerTargetPerMinute int `json:"requestsPerTargetPerMinute"`
	// NetworkOutMbps is the average outbound traffic per server target tracking keeps; 0: off.
	// Default from users++++: web 60, the API tiers 0.
	NetworkOutMbps int `json:"networkOutMbps"`
	// InflightRequestsTarget is the app's in-flight requests per server (CWAgent
	// app_inflight_requests) target tracking keeps, API tiers only; 0: off. Default from
	// users++++: 10 on readApi and writeApi.
	InflightRequestsTarget int `json:"inflightRequestsTarget"`
	// LatencyP99Ms is the target group's p99 response time above which step scaling adds
	// servers; 0: off. Default from users++++: readApi 100, web and writeApi 0.
	LatencyP99Ms int `json:"latencyP99Ms"`
}

// Schedule is the business-hours window of the scheduled scaling actions (users++++): each
// tier with a BusinessHoursMin has its floor raised at ScaleUpAt and lowered back to its Min
// at ScaleDownAt, on Days, in TimeZone.
type Schedule struct {
	// TimeZone is an IANA time zone name; the actions follow its daylight saving time.
	// Default: America/New_York (the seed: "regular business hours in the U.S.").
	TimeZone string `json:"timeZone"`
	// Days are the days the window opens, a range or list of MON..SUN. Default: MON-FRI.
	Days string `json:"days"`
	// ScaleUpAt is when the business-hours floor takes effect, HH:MM. Default: 07:30, so
	// servers (240 s to boot and pass health checks) serve before the 8:00 arrivals.
	ScaleUpAt string `json:"scaleUpAt"`
	// ScaleDownAt is when the floor drops back to Min, HH:MM. Default: 19:00, after the
	// seed's "users leave the office"; load policies then scale in as traffic falls.
	ScaleDownAt string `json:"scaleDownAt"`
}

// Box sizes the single box of stage 0 (and the web server of users+).
type Box struct {
	// InstanceType is the box's size; vertical scaling is a change of this value.
	// Default: t3.small (2 vCPU, 2 GiB: the web server and MariaDB fit in memory).
	InstanceType string `json:"instanceType"`
	// DataVolumeGb sizes the encrypted EBS volume holding MySQL's data. It can only grow.
	// Default: 20.
	DataVolumeGb int `json:"dataVolumeGb"`
}

// Database sizes the managed MySQL (RDS) from users+ on.
type Database struct {
	// InstanceClass is the RDS instance class. Default: db.t4g.micro in dev, db.m6g.large in prod.
	InstanceClass string `json:"instanceClass"`
	// EngineVersion is MySQL's major.minor, 8.0 or 8.4; RDS picks the minor release and
	// upgrades it automatically. Default: 8.0.
	EngineVersion string `json:"engineVersion"`
	// AllocatedStorageGb is the initial gp3 storage, 20 to 65536. Default: 20.
	AllocatedStorageGb int `json:"allocatedStorageGb"`
	// MaxAllocatedStorageGb lets RDS grow storage on its own up to this size (storage
	// autoscaling). RDS refuses a ceiling under 1.1 x AllocatedStorageGb ("Invalid max
	// storage size"); 0 turns autoscaling off. Default: 5 x AllocatedStorageGb (100 for the
	// default 20), at most 65536, because a full disk stops writes and AWS advises a ceiling
	// at least 26% above the allocation; 0 when even 65536 is under 1.1 x the allocation.
	MaxAllocatedStorageGb int `json:"maxAllocatedStorageGb"`
	// BackupRetentionDays keeps automated backups (7 to 35). Default: 7 in dev, 14 in prod.
	BackupRetentionDays int `json:"backupRetentionDays"`
	// Replicas is how many read replicas follow the primary (0 to 15), from users+++.
	// Default: 0 before users+++; at users+++ 1 in dev (reads split for real, at the
	// cheapest) and 2 in prod (one replica down still leaves a reader, and reads spread over
	// two AZs).
	Replicas int `json:"replicas"`
	// ReplicaInstanceClass sizes every replica. Default: instanceClass, because a replica
	// smaller than its source falls behind under the source's write load.
	ReplicaInstanceClass string `json:"replicaInstanceClass"`
	// BufferPoolPercent is InnoDB's buffer pool as a share of the instance's memory (10 to
	// 90): the seed's "first, try to configure the MySQL Database cache". Default: 75,
	// RDS's own default, made explicit; applied at the next reboot.
	BufferPoolPercent int `json:"bufferPoolPercent"`
	// Shards is how many databases hold the content (posts, photos), sharded by user, from
	// users+++++ (1 to 16). Shard 0 is this database, unchanged; shard i is db-shard-<i>,
	// sized as this one, with as many replicas. Default: 1, exactly the one database of
	// users++++ (the sizing in docs/stages/users-plus-5.md finds the seed's writes fit one
	// primary; add shards when the write load outgrows it, docs/database.md "Sharding").
	Shards int `json:"shards"`
}

// Cache sizes the memory cache (ElastiCache for Valkey) from users+++.
type Cache struct {
	// NodeType sizes every node. Default: cache.t4g.micro in dev (0.5 GiB, the cheapest
	// node with Multi-AZ), cache.m7g.large in prod (6.4 GiB, network to match).
	NodeType string `json:"nodeType"`
	// EngineVersion pins Valkey's major.minor (7.2, 8.0 or 8.1); minor upgrades are
	// automatic. Default: 8.0.
	EngineVersion string `json:"engineVersion"`
	// Replicas is how many replicas follow the primary in its shard (0 to 5). Default: 1
	// (Multi-AZ with automatic failover). 0 is refused in prod and, in dev, is the named
	// waiver SINGLE-NODE-CACHE (stages.Waivers).
	Replicas int `json:"replicas"`
	// SnapshotRetentionDays keeps daily snapshots (1 to 35). Default: 1 in dev, 7 in prod.
	SnapshotRetentionDays int `json:"snapshotRetentionDays"`
}

// Worker sizes the thumbnail workers from users+++++: an Auto Scaling group scaled on the
// queue's backlog per worker.
type Worker struct {
	// InstanceType is every worker's size; it runs the API servers' build, so it has their
	// CPU architecture. Default: t3.small (2 vCPUs for the 4 jobs a worker runs at once).
	InstanceType string `json:"instanceType"`
	// Min and Max bound the fleet (min 0 to 100, max 1 to 100). Default: 1 and 2 in dev, 2
	// and 10 in prod (two AZs' worth at rest; ten workers drain about 20 photos a second).
	// Min 0 lets an idle fleet scale in to no worker, and the first job then waits a cold
	// start (WorkerColdStartSeconds), so it needs LatencySeconds of at least that.
	Min int `json:"min"`
	Max int `json:"max"`
	// LatencySeconds is how long a photo may wait for its thumbnail to start (10 to 3600):
	// with JobMillis it sets the backlog each worker may hold. Default: 30.
	LatencySeconds int `json:"latencySeconds"`
	// JobMillis is the time one worker instance takes per job when busy, measured (50 to
	// 600000): a typical 12-megapixel photo takes about 1 s of one core, and a t3.small runs
	// two at a time on its two vCPUs, so 500. Re-measure it for another instance type
	// (docs/stages/users-plus-5.md). Default: 500.
	JobMillis int `json:"jobMillis"`
}

// WorkerColdStartSeconds is how long the first job waits when the worker fleet is empty:
// one minute for the wake alarm to see it (components.Queue.WakeWorkers) and a worker's
// boot budget (components.DefaultHealthCheckGraceSeconds, 240 s).
const WorkerColdStartSeconds = 300

// Config is the whole validated configuration of one stack.
type Config struct {
	// Stage is the stage deployed. Default: single-box.
	Stage Stage
	// Environment is dev or prod. Default: dev.
	Environment Environment
	// Region is the AWS region, read from aws:region. Required.
	Region string
	// AZCount is how many availability zones the network spans (1 to 3).
	// Default: 2 (users+ needs 2 for the RDS subnet group, users++ for the load balancer).
	AZCount int
	// VpcCidr is the VPC's /16. Default: 10.0.0.0/16.
	VpcCidr string
	// Nat is how private subnets reach the internet.
	// Default: none up to users+, then single in dev and per-az in prod.
	Nat NatStrategy
	// AdminCidrs may reach SSH (22) on the single box, together at most MaxAdminIPv4
	// IPv4 and MaxAdminIPv6 IPv6 addresses. Default: none (use SSM or EC2 Instance Connect
	// endpoints instead; SSH is closed). Refused from NoSSHFrom (users++++) on.
	AdminCidrs []string
	// Domain is an optional DNS name for the site, such as "example.com". Default: none;
	// the stack is reached by its IP or load balancer name.
	Domain string
	// HostedZoneID is the Route 53 hosted zone of Domain. Required when Domain is set.
	HostedZoneID string
	// AlarmEmail, when set, is subscribed to the stack's alarm topic. Default: none.
	AlarmEmail string
	// LogRetentionDays keeps flow logs and app logs. Default: 30 in dev, 365 in prod.
	LogRetentionDays int
	// WebAccessLogPercent is the share of requests the web tier's nginx writes to its
	// access log (and so to CloudWatch Logs) from users++, chosen at random, beside every 4xx
	// and 5xx, which are always written; the request-time alarm averages the random sample.
	// Default: 100 in dev (every request, to debug with); 1 in prod, where one line for each
	// of the seed's 100 billion requests a month would cost about 11,800 USD of log
	// ingestion, and 1% is still some 400 lines a second at its load. CloudFront's access
	// logs hold every request.
	WebAccessLogPercent int
	// CloudTrail gives the stack its own multi-region CloudTrail trail from users++++
	// (docs/decisions.md, "A trail per stack"). Default: true, because an account without a
	// trail has no record of who changed what; set false where an organization trail (or
	// another stack of the same account) already records the account's management events:
	// a second trail pays 2 USD per 100,000 events for a copy.
	CloudTrail bool
	// Box sizes the single box.
	Box Box
	// Web sizes the web (reverse proxy) tier from users++. Default: t3.small, 2 servers.
	Web Tier
	// ReadAPI sizes the read-API tier from users++. Default: t3.small, 2 servers.
	ReadAPI Tier
	// WriteAPI sizes the write-API tier from users++. Default: t3.small, 2 servers.
	WriteAPI Tier
	// Schedule is the business-hours window of scheduled scaling, from users++++.
	Schedule Schedule
	// DB sizes the managed MySQL from users+.
	DB Database
	// Cache sizes the memory cache from users+++.
	Cache Cache
	// Worker sizes the thumbnail workers from users+++++.
	Worker Worker
	// RetentionDays is how long a post stays in MySQL, from users+++++: the archive job
	// moves older rows to the object store (Parquet) and the warehouse, then deletes them
	// (1 to 3650). Default: 90, because at the seed's 400 writes/s of 1 KB the primary then
	// holds about 3 TB of posts, a twentieth of RDS's 64 TiB ceiling, and a restore or a
	// replica's first sync stays within hours; the warehouse keeps everything older.
	RetentionDays int
	// Warehouse sizes the data warehouse (Redshift Serverless) from users+++++.
	Warehouse Warehouse
	// IdentityDB, when its instanceClass is set, federates users and sessions into a
	// database of their own from users+++++ (config/datatier.go).
	IdentityDB IdentityDatabase
	// Counters bills the view counters' DynamoDB table of users+++++ (config/datatier.go).
	Counters Counters
	// CacheAuthToken is the cache's AUTH token, from a secret config value
	// (pulumi config set --secret scaling-aws:cacheAuthToken ...). It is never printed.
	// Default: the cache component generates one at creation and keeps it.
	CacheAuthToken string
	// AlertEndpoint is an incident tool's HTTPS endpoint (PagerDuty's or Opsgenie's
	// CloudWatch integration URL, which carries its integration key), from a secret config
	// value. From users++++ it is subscribed to the page topic, which only the composite
	// page-now alarm notifies. Default: none, pages reach AlarmEmail only.
	AlertEndpoint string
	// SentryDSN is the Sentry DSN the app reports errors to, from a secret config value.
	// From users++++ the stack keeps it in a Secrets Manager secret the API servers read
	// (SENTRY_DSN_SECRET_ARN). Default: none, the app reports to no Sentry.
	SentryDSN string
	// DBPassword is the RDS master password, from a secret config value
	// (pulumi config set --secret scaling-aws:dbPassword ...). It is never printed.
	// Default: the database component generates one at creation and keeps it; prod stacks
	// should set it (see docs/database.md).
	DBPassword string

	// Warnings are what Load noticed without refusing it: unknown keys of other namespaces,
	// values it could not check (secure values the offline preview cannot decrypt). The
	// program logs them (ctx.Log.Warn); the offline preview prints them.
	Warnings []string

	// unchecked holds the keys whose values Validate must not judge (see Source.Undecrypted).
	unchecked map[string]bool
	// set holds the keys given a value ("azCount", "db.backupRetentionDays"): defaults
	// apply to the others only.
	set map[string]bool
}

// field is one row of the settings table: a key, the Config field it fills, its accepted
// range and its default. Exactly one of str, num, list and flag is set (or parse, for a
// key with its own syntax).
type field struct {
	// key is the key without the namespace ("azCount"), "object.field" for a field of an
	// object key ("db.replicas"), or a fully qualified key of another namespace ("aws:region").
	key string
	// str, num, list and flag bind the field to the Config it fills (flag: a JSON boolean
	// in an object, "true" or "false" as a key of its own).
	str  func(*Config) *string
	num  func(*Config) *int
	list func(*Config) *[]string
	flag func(*Config) *bool
	// parse reads a key with its own syntax (stage names); it returns the fix on error.
	parse func(c *Config, v string) (fix string)
	// min and max bound a number (inclusive); values, when set, lists the only ones accepted.
	min, max int
	values   []int
	// why is appended to the range's fix: the reason for a bound stricter than AWS's.
	why string
	// optional marks a string whose empty value means "none" (domain, alarmEmail).
	optional bool
	// secret values are never echoed in messages nor trimmed.
	secret bool
	// def sets the default when the key is not set; nil: the zero value is the default.
	def func(c *Config)
}

// fields is the one table of every setting, in the order defaults are applied (a default
// may read the fields above it: environment comes first).
var fields = []field{
	{key: "stage", parse: func(c *Config, v string) string {
		if fix := textProblem("stage", v); fix != "" {
			return fix
		}
		s, err := ParseStage(v)
		if err != nil {
			return err.(*Error).Fix
		}
		c.Stage = s
		return ""
	}},
	{key: "environment", str: func(c *Config) *string { return (*string)(&c.Environment) },
		def: func(c *Config) { c.Environment = Dev }},
	{key: "aws:region", str: func(c *Config) *string { return &c.Region }},
	{key: "azCount", num: func(c *Config) *int { return &c.AZCount }, min: 1, max: MaxAZs,
		def: func(c *Config) { c.AZCount = 2 }},
	{key: "vpcCidr", str: func(c *Config) *string { return &c.VpcCidr },
		def: func(c *Config) { c.VpcCidr = "10.0.0.0/16" }},
	{key: "natStrategy", str: func(c *Config) *string { return (*string)(&c.Nat) },
		def: func(c *Config) {
			switch {
			case c.Stage < UsersPlus2:
				c.Nat = NatNone
			case c.Protect():
				c.Nat = NatPerAZ
			default:
				c.Nat = NatSingle
			}
		}},
	{key: "adminCidrs", list: func(c *Config) *[]string { return &c.AdminCidrs }},
	{key: "domain", str: func(c *Config) *string { return &c.Domain }, optional: true},
	{key: "hostedZoneId", str: func(c *Config) *string { return &c.HostedZoneID }, optional: true},
	{key: "alarmEmail", str: func(c *Config) *string { return &c.AlarmEmail }, optional: true},
	{key: "webAccessLogPercent", num: func(c *Config) *int { return &c.WebAccessLogPercent }, min: 1, max: 100,
		why: "a percentage of requests; every 4xx and 5xx is logged whatever it is",
		def: func(c *Config) { c.WebAccessLogPercent = pick(c.Protect(), 1, 100) }},
	{key: "logRetentionDays", num: func(c *Config) *int { return &c.LogRetentionDays }, values: logRetentionDays,
		why: "the retentions CloudWatch Logs accepts",
		def: func(c *Config) { c.LogRetentionDays = pick(c.Protect(), 365, 30) }},
	{key: "cloudTrail", flag: func(c *Config) *bool { return &c.CloudTrail }, def: func(c *Config) { c.CloudTrail = true }},
	{key: "dbPassword", str: func(c *Config) *string { return &c.DBPassword }, optional: true, secret: true},

	{key: "box.instanceType", str: func(c *Config) *string { return &c.Box.InstanceType },
		def: func(c *Config) { c.Box.InstanceType = "t3.small" }},
	{key: "box.dataVolumeGb", num: func(c *Config) *int { return &c.Box.DataVolumeGb }, min: 8, max: 16384,
		why: "gp3 volumes hold up to 16384 GiB; under 8 the MySQL data and binary logs do not fit",
		def: func(c *Config) { c.Box.DataVolumeGb = 20 }},

	tierType("web", func(c *Config) *Tier { return &c.Web }),
	tierDesired("web", func(c *Config) *Tier { return &c.Web }),
	tierMin("web", func(c *Config) *Tier { return &c.Web }),
	tierMax("web", func(c *Config) *Tier { return &c.Web }),
	tierBusinessHoursMin("web", func(c *Config) *Tier { return &c.Web }),
	tierCPUTarget("web", func(c *Config) *Tier { return &c.Web }),
	tierRequestsTarget("web", func(c *Config) *Tier { return &c.Web }),
	tierNetworkTarget("web", func(c *Config) *Tier { return &c.Web }),
	tierInflightTarget("web", func(c *Config) *Tier { return &c.Web }),
	tierLatency("web", func(c *Config) *Tier { return &c.Web }),
	tierType("readApi", func(c *Config) *Tier { return &c.ReadAPI }),
	tierDesired("readApi", func(c *Config) *Tier { return &c.ReadAPI }),
	tierMin("readApi", func(c *Config) *Tier { return &c.ReadAPI }),
	tierMax("readApi", func(c *Config) *Tier { return &c.ReadAPI }),
	tierBusinessHoursMin("readApi", func(c *Config) *Tier { return &c.ReadAPI }),
	tierCPUTarget("readApi", func(c *Config) *Tier { return &c.ReadAPI }),
	tierRequestsTarget("readApi", func(c *Config) *Tier { return &c.ReadAPI }),
	tierNetworkTarget("readApi", func(c *Config) *Tier { return &c.ReadAPI }),
	tierInflightTarget("readApi", func(c *Config) *Tier { return &c.ReadAPI }),
	tierLatency("readApi", func(c *Config) *Tier { return &c.ReadAPI }),
	tierType("writeApi", func(c *Config) *Tier { return &c.WriteAPI }),
	tierDesired("writeApi", func(c *Config) *Tier { return &c.WriteAPI }),
	tierMin("writeApi", func(c *Config) *Tier { return &c.WriteAPI }),
	tierMax("writeApi", func(c *Config) *Tier { return &c.WriteAPI }),
	tierBusinessHoursMin("writeApi", func(c *Config) *Tier { return &c.WriteAPI }),
	tierCPUTarget("writeApi", func(c *Config) *Tier { return &c.WriteAPI }),
	tierRequestsTarget("writeApi", func(c *Config) *Tier { return &c.WriteAPI }),
	tierNetworkTarget("writeApi", func(c *Config) *Tier { return &c.WriteAPI }),
	tierInflightTarget("writeApi", func(c *Config) *Tier { return &c.WriteAPI }),
	tierLatency("writeApi", func(c *Config) *Tier { return &c.WriteAPI }),

	{key: "schedule.timeZone", str: func(c *Config) *string { return &c.Schedule.TimeZone },
		def: func(c *Config) { c.Schedule.TimeZone = DefaultTimeZone }},
	{key: "schedule.days", str: func(c *Config) *string { return &c.Schedule.Days },
		def: func(c *Config) { c.Schedule.Days = "MON-FRI" }},
	{key: "schedule.scaleUpAt", str: func(c *Config) *string { return &c.Schedule.ScaleUpAt },
		def: func(c *Config) { c.Schedule.ScaleUpAt = "07:30" }},
	{key: "schedule.scaleDownAt", str: func(c *Config) *string { return &c.Schedule.ScaleDownAt },
		def: func(c *Config) { c.Schedule.ScaleDownAt = "19:00" }},

	{key: "db.instanceClass", str: func(c *Config) *string { return &c.DB.InstanceClass },
		def: func(c *Config) { c.DB.InstanceClass = pickS(c.Protect(), "db.m6g.large", "db.t4g.micro") }},
	{key: "db.engineVersion", str: func(c *Config) *string { return &c.DB.EngineVersion },
		def: func(c *Config) { c.DB.EngineVersion = "8.0" }},
	{key: "db.allocatedStorageGb", num: func(c *Config) *int { return &c.DB.AllocatedStorageGb }, min: 20, max: MaxStorageGb,
		why: "gp3 limits for RDS for MySQL", def: func(c *Config) { c.DB.AllocatedStorageGb = 20 }},
	{key: "db.maxAllocatedStorageGb", num: func(c *Config) *int { return &c.DB.MaxAllocatedStorageGb }, min: 0, max: MaxStorageGb,
		why: "0 turns storage autoscaling off; RDS for MySQL gp3 stops at 65536",
		def: func(c *Config) {
			if MinStorageCeiling(c.DB.AllocatedStorageGb) > MaxStorageGb {
				c.DB.MaxAllocatedStorageGb = 0 // no room left to grow into: off
				return
			}
			c.DB.MaxAllocatedStorageGb = min(5*c.DB.AllocatedStorageGb, MaxStorageGb)
		}},
	{key: "db.backupRetentionDays", num: func(c *Config) *int { return &c.DB.BackupRetentionDays }, min: 7, max: 35,
		why: "RDS also accepts 0 (automated backups and point-in-time recovery off) and 1 to 6, but docs/security.md requires at least 7 days (SH RDS.11): backups are the database's only undo",
		def: func(c *Config) { c.DB.BackupRetentionDays = pick(c.Protect(), 14, 7) }},
	{key: "db.replicas", num: func(c *Config) *int { return &c.DB.Replicas }, min: 0, max: 15,
		why: "RDS for MySQL's limit of read replicas per source",
		def: func(c *Config) {
			if c.Stage >= UsersPlus3 {
				c.DB.Replicas = pick(c.Protect(), 2, 1)
			}
		}},
	{key: "db.replicaInstanceClass", str: func(c *Config) *string { return &c.DB.ReplicaInstanceClass },
		def: func(c *Config) { c.DB.ReplicaInstanceClass = c.DB.InstanceClass }},
	{key: "db.bufferPoolPercent", num: func(c *Config) *int { return &c.DB.BufferPoolPercent }, min: 10, max: 90,
		why: "of the instance's memory; RDS's default is 75, and above 90 MySQL's other buffers and the OS run out of memory",
		def: func(c *Config) { c.DB.BufferPoolPercent = 75 }},

	{key: "cache.nodeType", str: func(c *Config) *string { return &c.Cache.NodeType },
		def: func(c *Config) { c.Cache.NodeType = pickS(c.Protect(), "cache.m7g.large", "cache.t4g.micro") }},
	{key: "cache.engineVersion", str: func(c *Config) *string { return &c.Cache.EngineVersion },
		def: func(c *Config) { c.Cache.EngineVersion = "8.0" }},
	{key: "cache.replicas", num: func(c *Config) *int { return &c.Cache.Replicas }, min: 0, max: 5,
		why: "ElastiCache's limit of replicas per shard",
		def: func(c *Config) { c.Cache.Replicas = 1 }},
	{key: "cache.snapshotRetentionDays", num: func(c *Config) *int { return &c.Cache.SnapshotRetentionDays }, min: 1, max: 35,
		why: "ElastiCache keeps automatic snapshots up to 35 days; 0 would keep none",
		def: func(c *Config) { c.Cache.SnapshotRetentionDays = pick(c.Protect(), 7, 1) }},
	{key: "cacheAuthToken", str: func(c *Config) *string { return &c.CacheAuthToken }, optional: true, secret: true},

	{key: "worker.instanceType", str: func(c *Config) *string { return &c.Worker.InstanceType },
		def: func(c *Config) { c.Worker.InstanceType = tierDefaultType }},
	{key: "worker.min", num: func(c *Config) *int { return &c.Worker.Min }, min: 0, max: MaxTierSize,
		why: "0 lets the fleet scale in to no worker when the queue is empty (then latencySeconds must cover a cold start)",
		def: func(c *Config) { c.Worker.Min = pick(c.Protect(), 2, 1) }},
	{key: "worker.max", num: func(c *Config) *int { return &c.Worker.Max }, min: 1, max: MaxTierSize,
		why: "raise the account's EC2 quota and MaxTierSize together",
		def: func(c *Config) { c.Worker.Max = max(pick(c.Protect(), 10, 2), c.Worker.Min) }},
	{key: "worker.latencySeconds", num: func(c *Config) *int { return &c.Worker.LatencySeconds }, min: 10, max: 3600,
		why: "under 10 s the target is below what one minute of scaling metrics can see; over an hour a photo is as good as lost",
		def: func(c *Config) { c.Worker.LatencySeconds = 30 }},
	{key: "worker.jobMillis", num: func(c *Config) *int { return &c.Worker.JobMillis }, min: 50, max: 600000,
		why: "a measured time per job per worker instance, from 50 ms to 10 minutes",
		def: func(c *Config) { c.Worker.JobMillis = 500 }},

	{key: "retentionDays", num: func(c *Config) *int { return &c.RetentionDays }, min: 1, max: 3650,
		why: "at least a day stays in MySQL; over ten years is no retention window",
		def: func(c *Config) { c.RetentionDays = 90 }},
	{key: "warehouse.enabled", flag: func(c *Config) *bool { return &c.Warehouse.Enabled },
		def: func(c *Config) { c.Warehouse.Enabled = c.AZCount >= WarehouseMinAZs }},
	{key: "warehouse.baseCapacityRpu", num: func(c *Config) *int { return &c.Warehouse.BaseCapacityRPU }, values: WarehouseCapacities,
		why: "the base capacities Redshift Serverless accepts: 4, or a multiple of 8 from 8 to 512",
		def: func(c *Config) { c.Warehouse.BaseCapacityRPU = 8 }},
	{key: "warehouse.maxCapacityRpu", num: func(c *Config) *int { return &c.Warehouse.MaxCapacityRPU }, values: WarehouseCapacities,
		why: "a capacity Redshift Serverless accepts: 4, or a multiple of 8 from 8 to 512",
		def: func(c *Config) { c.Warehouse.MaxCapacityRPU = max(32, c.Warehouse.BaseCapacityRPU) }},
	{key: "db.shards", num: func(c *Config) *int { return &c.DB.Shards }, min: 1, max: MaxShards,
		why: "each shard is a primary with its replicas; 16 shards carry 16 times one primary's writes, and the app's 1024 buckets split evenly over up to 16",
		def: func(c *Config) { c.DB.Shards = 1 }},
	{key: "identityDb.instanceClass", str: func(c *Config) *string { return &c.IdentityDB.InstanceClass }, optional: true},
	{key: "identityDb.serve", flag: func(c *Config) *bool { return &c.IdentityDB.Serve }},
	{key: "counters.billing", str: func(c *Config) *string { return &c.Counters.Billing },
		def: func(c *Config) { c.Counters.Billing = CountersOnDemand }},
	{key: "counters.minRead", num: func(c *Config) *int { return &c.Counters.MinRead }, min: 1, max: CountersMaxUnits,
		why: "DynamoDB's default quota per table is 40,000 units per second",
		def: func(c *Config) { c.Counters.MinRead = 5 }},
	{key: "counters.maxRead", num: func(c *Config) *int { return &c.Counters.MaxRead }, min: 1, max: CountersMaxUnits,
		why: "DynamoDB's default quota per table is 40,000 units per second",
		def: func(c *Config) { c.Counters.MaxRead = CountersMaxUnits }},
	{key: "counters.minWrite", num: func(c *Config) *int { return &c.Counters.MinWrite }, min: 1, max: CountersMaxUnits,
		why: "DynamoDB's default quota per table is 40,000 units per second",
		def: func(c *Config) { c.Counters.MinWrite = 5 }},
	{key: "counters.maxWrite", num: func(c *Config) *int { return &c.Counters.MaxWrite }, min: 1, max: CountersMaxUnits,
		why: "DynamoDB's default quota per table is 40,000 units per second",
		def: func(c *Config) { c.Counters.MaxWrite = CountersMaxUnits }},
	{key: "counters.targetPercent", num: func(c *Config) *int { return &c.Counters.TargetPercent }, min: 20, max: 90,
		why: "Application Auto Scaling's bounds for DynamoDB's target utilization",
		def: func(c *Config) { c.Counters.TargetPercent = 70 }},
	{key: "identityDb.replicas", num: func(c *Config) *int { return &c.IdentityDB.Replicas }, min: 0, max: 15,
		why: "RDS for MySQL's limit of read replicas per source",
		def: func(c *Config) { c.IdentityDB.Replicas = c.DB.Replicas }},

	{key: "alertEndpoint", str: func(c *Config) *string { return &c.AlertEndpoint }, optional: true, secret: true},
	{key: "sentryDsn", str: func(c *Config) *string { return &c.SentryDSN }, optional: true, secret: true},
}

// Serving tiers share one shape; their defaults are t3.small and 2 servers, and a tier
// given only some bounds gets the others from them (only desired: min = max = desired).
const (
	tierDefaultType = "t3.small"
	tierDefaultSize = 2
	// MaxTierSize bounds every tier's max: raise the account's EC2 quota and this together.
	MaxTierSize = 100
)

// tierDefaultSizeAt is a tier's default size at the stack's stage. users+++ adds servers
// ("more web and app servers"): in prod 3 web, 4 read-API (reads are 100 to 1) and 3
// write-API servers, so an AZ loss leaves two of each; in dev one more read-API server, so
// reads are balanced over more than a pair.
func tierDefaultSizeAt(c *Config, key string) int {
	if c.Stage < UsersPlus3 {
		return tierDefaultSize
	}
	if key == "readApi" {
		return pick(c.Protect(), 4, 3)
	}
	return pick(c.Protect(), 3, 2)
}

func tierType(key string, t func(*Config) *Tier) field {
	return field{key: key + ".instanceType", str: func(c *Config) *string { return &t(c).InstanceType },
		def: func(c *Config) { t(c).InstanceType = tierDefaultType }}
}

func tierDesired(key string, t func(*Config) *Tier) field {
	return field{key: key + ".desired", num: func(c *Config) *int { return &t(c).Desired }, min: 1, max: MaxTierSize,
		def: func(c *Config) {
			tt := t(c)
			tt.Desired = max(tierDefaultSizeAt(c, key), tt.Min) // unset min is 0
			if c.isSet(key + ".max") {
				tt.Desired = min(tt.Desired, tt.Max)
			}
		}}
}

func tierMin(key string, t func(*Config) *Tier) field {
	return field{key: key + ".min", num: func(c *Config) *int { return &t(c).Min }, min: 1, max: MaxTierSize,
		why: "a serving tier needs at least 1 server", def: func(c *Config) { t(c).Min = tierDefaultMin(c, t(c)) }}
}

func tierMax(key string, t func(*Config) *Tier) field {
	return field{key: key + ".max", num: func(c *Config) *int { return &t(c).Max }, min: 1, max: MaxTierSize,
		why: "raise the account's EC2 quota and MaxTierSize together", def: func(c *Config) { t(c).Max = tierDefaultMax(c, key, t(c)) }}
}

// MaxStorageGb is the largest gp3 storage RDS for MySQL allocates, in GiB.
const MaxStorageGb = 65536

// Protect reports whether stateful resources are protected against deletion (prod only).
func (c *Config) Protect() bool { return c.Environment == Prod }

// isSet reports whether key was given a value while loading (defaults read it).
func (c *Config) isSet(key string) bool { return c.set[key] }

// checked reports whether Validate may judge key's value (false for values Load could
// not read, such as secure values offline).
func (c *Config) checked(key string) bool { return !c.unchecked[key] }

func pick(cond bool, a, b int) int {
	if cond {
		return a
	}
	return b
}

func pickS(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// String summarises the config for logs and the preview header (no secrets are held here).
func (c *Config) String() string {
	return fmt.Sprintf("stage %s, %s, %s, %d AZs, NAT %s", c.Stage, c.Environment, c.Region, c.AZCount, c.Nat)
}

// fieldByKey returns the row of key, or nil.
func fieldByKey(key string) *field {
	for i := range fields {
		if fields[i].key == key {
			return &fields[i]
		}
	}
	return nil
}

// objectNames lists the object keys (box, web, db...) in table order, and topNames every
// top-level key of the namespace (scalars and objects).
func objectNames() []string {
	var out []string
	for _, f := range fields {
		if obj, _, ok := strings.Cut(f.key, "."); ok && !strings.Contains(f.key, ":") && !contains(out, obj) {
			out = append(out, obj)
		}
	}
	return out
}

func topNames() []string {
	var out []string
	for _, f := range fields {
		if strings.Contains(f.key, ":") {
			continue
		}
		top, _, _ := strings.Cut(f.key, ".")
		if !contains(out, top) {
			out = append(out, top)
		}
	}
	return out
}

// memberNames lists the fields of object key obj ("instanceType", "dataVolumeGb").
func memberNames(obj string) []string {
	var out []string
	for _, f := range fields {
		if o, m, ok := strings.Cut(f.key, "."); ok && o == obj {
			out = append(out, m)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
