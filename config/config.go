// Package config is the typed, validated configuration of a scaling-aws stack.
//
// It is read once (by main.go, or by the offline preview from Pulumi.<stack>.yaml), its
// defaults are applied in one place (withDefaults) and it is validated before any resource is
// registered. Components never read configuration: stages turn a Config into component args.
package config

import (
	"encoding/json"
	"fmt"
	"strconv"
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
	// EngineVersion pins MySQL's major.minor; minor upgrades are applied automatically.
	// Default: 8.0.
	EngineVersion string `json:"engineVersion"`
	// AllocatedStorageGb is the initial gp3 storage. Default: 20.
	AllocatedStorageGb int `json:"allocatedStorageGb"`
	// MaxAllocatedStorageGb lets RDS grow storage on its own up to this size. Default: 100.
	MaxAllocatedStorageGb int `json:"maxAllocatedStorageGb"`
	// BackupRetentionDays keeps automated backups (7 to 35). Default: 7 in dev, 14 in prod.
	BackupRetentionDays int `json:"backupRetentionDays"`
	// Replicas is how many read replicas follow the primary (0 to 15), from users+++.
	// Default: 0 before users+++; at users+++ 1 in dev (reads split for real, at the
	// cheapest) and 2 in prod (one replica down still leaves a reader, and reads spread over
	// two AZs).
	Replicas *int `json:"replicas"`
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
	Replicas *int `json:"replicas"`
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
	// AdminCidrs may reach SSH (22) on the single box. Default: none (use SSM or EC2
	// Instance Connect endpoints instead; SSH is closed).
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
	// DBPassword is the RDS master password, from a secret config value
	// (pulumi config set --secret scaling-aws:dbPassword ...). It is never printed.
	// Default: the database component generates one at creation and keeps it; prod stacks
	// should set it (see docs/database.md).
	DBPassword string
}

// Protect reports whether stateful resources are protected against deletion (prod only).
func (c *Config) Protect() bool { return c.Environment == Prod }

// Source returns the raw value of a fully qualified config key ("scaling-aws:stage",
// "aws:region") and whether it is set.
type Source func(key string) (string, bool)

// Load reads every key from src, applies defaults and validates the result. The error lists
// every problem found, each naming the key, the value and the fix.
func Load(src Source) (*Config, error) {
	var errs Errors
	c := &Config{}
	get := func(key string) (string, bool) { return src(Namespace + ":" + key) }
	str := func(key string, dst *string) {
		if v, ok := get(key); ok {
			*dst = strings.TrimSpace(v)
		}
	}
	num := func(key string, dst *int) {
		if v, ok := get(key); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				errs.add(key, v, "must be a whole number")
				return
			}
			*dst = n
		}
	}
	object := func(key string, dst any) {
		if v, ok := get(key); ok {
			dec := json.NewDecoder(strings.NewReader(v))
			dec.DisallowUnknownFields()
			if err := dec.Decode(dst); err != nil {
				errs.add(key, v, "must be an object of the documented fields (%v)", err)
			}
		}
	}

	if v, ok := get("stage"); ok {
		s, err := ParseStage(v)
		if err != nil {
			errs = append(errs, err.(*Error))
		}
		c.Stage = s
	}
	if v, ok := get("environment"); ok {
		c.Environment = Environment(strings.TrimSpace(v))
	}
	if v, ok := src("aws:region"); ok {
		c.Region = strings.TrimSpace(v)
	}
	num("azCount", &c.AZCount)
	str("vpcCidr", &c.VpcCidr)
	if v, ok := get("natStrategy"); ok {
		c.Nat = NatStrategy(strings.TrimSpace(v))
	}
	if v, ok := get("adminCidrs"); ok {
		if err := json.Unmarshal([]byte(v), &c.AdminCidrs); err != nil {
			errs.add("adminCidrs", v, `must be a list of CIDRs, such as ["203.0.113.7/32"]`)
		}
	}
	str("domain", &c.Domain)
	str("hostedZoneId", &c.HostedZoneID)
	str("alarmEmail", &c.AlarmEmail)
	if v, ok := get("dbPassword"); ok {
		c.DBPassword = v
	}
	num("logRetentionDays", &c.LogRetentionDays)
	object("box", &c.Box)
	object("web", &c.Web)
	object("readApi", &c.ReadAPI)
	object("writeApi", &c.WriteAPI)
	object("db", &c.DB)
	object("cache", &c.Cache)
	if v, ok := get("cacheAuthToken"); ok {
		c.CacheAuthToken = v
	}
	if len(errs) > 0 {
		return nil, errs
	}
	c.withDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// withDefaults fills every unset field. It is the only place defaults live.
func (c *Config) withDefaults() {
	if c.Environment == "" {
		c.Environment = Dev
	}
	prod := c.Environment == Prod
	if c.AZCount == 0 {
		c.AZCount = 2
	}
	if c.VpcCidr == "" {
		c.VpcCidr = "10.0.0.0/16"
	}
	if c.Nat == "" {
		switch {
		case c.Stage < UsersPlus2:
			c.Nat = NatNone
		case prod:
			c.Nat = NatPerAZ
		default:
			c.Nat = NatSingle
		}
	}
	if c.LogRetentionDays == 0 {
		c.LogRetentionDays = pick(prod, 365, 30)
	}
	if c.Box.InstanceType == "" {
		c.Box.InstanceType = "t3.small"
	}
	if c.Box.DataVolumeGb == 0 {
		c.Box.DataVolumeGb = 20
	}
	// users+++ adds servers ("more web and app servers"): in prod 3 web, 4 read-API (reads
	// are 100 to 1) and 3 write-API servers, so an AZ loss leaves two of each; in dev one
	// more read-API server, so reads are balanced over more than a pair.
	sizes := [3]int{2, 2, 2}
	if c.Stage >= UsersPlus3 {
		sizes = [3]int{pick(prod, 3, 2), pick(prod, 4, 3), pick(prod, 3, 2)}
	}
	for i, t := range []*Tier{&c.Web, &c.ReadAPI, &c.WriteAPI} {
		tierDefaults(t, "t3.small", sizes[i])
	}
	if c.DB.InstanceClass == "" {
		c.DB.InstanceClass = pickS(prod, "db.m6g.large", "db.t4g.micro")
	}
	if c.DB.EngineVersion == "" {
		c.DB.EngineVersion = "8.0"
	}
	if c.DB.AllocatedStorageGb == 0 {
		c.DB.AllocatedStorageGb = 20
	}
	if c.DB.MaxAllocatedStorageGb == 0 {
		c.DB.MaxAllocatedStorageGb = max(100, c.DB.AllocatedStorageGb)
	}
	if c.DB.BackupRetentionDays == 0 {
		c.DB.BackupRetentionDays = pick(prod, 14, 7)
	}
	if c.DB.Replicas == nil {
		n := 0
		if c.Stage >= UsersPlus3 {
			n = pick(prod, 2, 1)
		}
		c.DB.Replicas = &n
	}
	if c.DB.ReplicaInstanceClass == "" {
		c.DB.ReplicaInstanceClass = c.DB.InstanceClass
	}
	if c.DB.BufferPoolPercent == 0 {
		c.DB.BufferPoolPercent = 75
	}
	if c.Cache.NodeType == "" {
		c.Cache.NodeType = pickS(prod, "cache.m7g.large", "cache.t4g.micro")
	}
	if c.Cache.EngineVersion == "" {
		c.Cache.EngineVersion = "8.0"
	}
	if c.Cache.Replicas == nil {
		one := 1
		c.Cache.Replicas = &one
	}
	if c.Cache.SnapshotRetentionDays == 0 {
		c.Cache.SnapshotRetentionDays = pick(prod, 7, 1)
	}
}

// tierDefaults sizes a tier left unset; a tier given only Desired gets min = max = desired.
func tierDefaults(t *Tier, instanceType string, size int) {
	if t.InstanceType == "" {
		t.InstanceType = instanceType
	}
	if t.Desired == 0 {
		t.Desired = max(size, t.Min)
	}
	if t.Min == 0 {
		t.Min = t.Desired
	}
	if t.Max == 0 {
		t.Max = t.Desired
	}
}

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
