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

// Tier sizes one group of servers: its instance type and its Auto Scaling group bounds.
// Before users++++ a group has a fixed size: Desired (min = max = desired).
type Tier struct {
	InstanceType string `json:"instanceType"`
	Min          int    `json:"min"`
	Max          int    `json:"max"`
	Desired      int    `json:"desired"`
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
	// endpoints instead; SSH is closed).
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
	// Box sizes the single box.
	Box Box
	// Web sizes the web (reverse proxy) tier from users++. Default: t3.small, 2 servers.
	Web Tier
	// ReadAPI sizes the read-API tier from users++. Default: t3.small, 2 servers.
	ReadAPI Tier
	// WriteAPI sizes the write-API tier from users++. Default: t3.small, 2 servers.
	WriteAPI Tier
	// DB sizes the managed MySQL from users+.
	DB Database
	// Cache sizes the memory cache from users+++.
	Cache Cache
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
// range and its default. Exactly one of str, num and list is set (or parse, for a key
// with its own syntax).
type field struct {
	// key is the key without the namespace ("azCount"), "object.field" for a field of an
	// object key ("db.replicas"), or a fully qualified key of another namespace ("aws:region").
	key string
	// str, num and list bind the field to the Config it fills.
	str  func(*Config) *string
	num  func(*Config) *int
	list func(*Config) *[]string
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
	{key: "logRetentionDays", num: func(c *Config) *int { return &c.LogRetentionDays }, values: logRetentionDays,
		why: "the retentions CloudWatch Logs accepts",
		def: func(c *Config) { c.LogRetentionDays = pick(c.Protect(), 365, 30) }},
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
	tierType("readApi", func(c *Config) *Tier { return &c.ReadAPI }),
	tierDesired("readApi", func(c *Config) *Tier { return &c.ReadAPI }),
	tierMin("readApi", func(c *Config) *Tier { return &c.ReadAPI }),
	tierMax("readApi", func(c *Config) *Tier { return &c.ReadAPI }),
	tierType("writeApi", func(c *Config) *Tier { return &c.WriteAPI }),
	tierDesired("writeApi", func(c *Config) *Tier { return &c.WriteAPI }),
	tierMin("writeApi", func(c *Config) *Tier { return &c.WriteAPI }),
	tierMax("writeApi", func(c *Config) *Tier { return &c.WriteAPI }),

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
		why: "a serving tier needs at least 1 server", def: func(c *Config) { t(c).Min = t(c).Desired }}
}

func tierMax(key string, t func(*Config) *Tier) field {
	return field{key: key + ".max", num: func(c *Config) *int { return &t(c).Max }, min: 1, max: MaxTierSize,
		why: "raise the account's EC2 quota and MaxTierSize together", def: func(c *Config) { t(c).Max = t(c).Desired }}
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
