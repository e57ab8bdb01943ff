package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	regionRE = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$`)
	// An EC2 type is family (with a generation digit) dot size, such as t3.small or m7g.2xlarge.
	sizeRE         = `(nano|micro|small|medium|large|xlarge|[1-9][0-9]*xlarge|metal(-[0-9]+xl)?)`
	instanceTypeRE = regexp.MustCompile(`^[a-z]+[0-9][a-z0-9-]*\.` + sizeRE + `$`)
	dbClassRE      = regexp.MustCompile(`^db\.[a-z]+[0-9][a-z0-9-]*\.` + sizeRE + `$`)
	domainRE       = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	zoneIDRE       = regexp.MustCompile(`^Z[A-Z0-9]{5,32}$`)
	mysqlVersionRE = regexp.MustCompile(`^8\.(0|4)(\.[0-9]+)?$`)
	cacheNodeRE    = regexp.MustCompile(`^cache\.[a-z]+[0-9][a-z]*\.` + sizeRE + `$`)
	valkeyRE       = regexp.MustCompile(`^(7\.2|8\.0|8\.1)$`)
	// cacheTokenRE is ElastiCache's AUTH alphabet: 16 to 128 printable ASCII characters, the
	// only specials ! & # $ ^ < > - (docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html).
	cacheTokenRE = regexp.MustCompile(`^[A-Za-z0-9!&#$^<>-]{16,128}$`)
	emailRE      = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

// logRetentionDays are the values CloudWatch Logs accepts for a log group's retention.
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// MaxAZs is the most availability zones the address plan lays out subnets for.
const MaxAZs = 3

// Validate checks every field and returns all problems at once (an Errors), or nil.
func (c *Config) Validate() error {
	var errs Errors
	if c.Stage < 0 || c.Stage >= stageCount {
		errs.add("stage", strconv.Itoa(int(c.Stage)), "use one of %s", stageList())
	}
	if c.Environment != Dev && c.Environment != Prod {
		errs.add("environment", string(c.Environment), "use dev or prod")
	}
	if c.Region == "" {
		errs = append(errs, &Error{Key: "aws:region", Value: "", Fix: "set it: pulumi config set aws:region us-east-1"})
	} else if !regionRE.MatchString(c.Region) {
		errs = append(errs, &Error{Key: "aws:region", Value: c.Region, Fix: "use an AWS region code such as us-east-1"})
	}
	c.validateNetwork(&errs)
	if c.Domain != "" && !domainRE.MatchString(c.Domain) {
		errs.add("domain", c.Domain, "use a lowercase DNS name such as app.example.com")
	}
	switch {
	case c.Domain != "" && c.HostedZoneID == "":
		errs.add("hostedZoneId", "", "set the Route 53 hosted zone id that serves %s (aws route53 list-hosted-zones-by-name --dns-name %s)", c.Domain, c.Domain)
	case c.Domain == "" && c.HostedZoneID != "":
		errs.add("domain", "", "set the domain served by hosted zone %s, or unset hostedZoneId", c.HostedZoneID)
	case c.HostedZoneID != "" && !zoneIDRE.MatchString(c.HostedZoneID):
		errs.add("hostedZoneId", c.HostedZoneID, "use the zone id as Route 53 shows it, such as Z0123456789ABCDEFGHIJ")
	}
	if c.Environment == Prod && c.Stage >= UsersPlus2 && c.Domain == "" {
		errs.add("domain", "", "prod serves stage %s over TLS from the viewer to the load balancer, which needs a certificate for a domain; set domain and hostedZoneId (dev may go without: see docs/security.md, PLAIN-HTTP-ORIGIN)", c.Stage)
	}
	if c.AlarmEmail != "" && !emailRE.MatchString(c.AlarmEmail) {
		errs.add("alarmEmail", c.AlarmEmail, "use an email address such as ops@example.com")
	}
	if !slices.Contains(logRetentionDays, c.LogRetentionDays) {
		errs.add("logRetentionDays", strconv.Itoa(c.LogRetentionDays), "use a value CloudWatch Logs accepts: %v", logRetentionDays)
	}
	if !instanceTypeRE.MatchString(c.Box.InstanceType) {
		errs.add("box.instanceType", c.Box.InstanceType, "use an EC2 instance type such as t3.small or m7g.large")
	}
	if c.Box.DataVolumeGb < 8 || c.Box.DataVolumeGb > 16384 {
		errs.add("box.dataVolumeGb", strconv.Itoa(c.Box.DataVolumeGb), "use 8 to 16384")
	}
	c.validateTier(&errs, "web", c.Web)
	c.validateTier(&errs, "readApi", c.ReadAPI)
	c.validateTier(&errs, "writeApi", c.WriteAPI)
	c.validateDB(&errs)
	c.validateCache(&errs)
	if Arch(c.ReadAPI.InstanceType) != Arch(c.WriteAPI.InstanceType) {
		errs.add("writeApi.instanceType", c.WriteAPI.InstanceType, "the read and write API servers run one app build; use the CPU architecture of readApi.instanceType %s (%s)", c.ReadAPI.InstanceType, Arch(c.ReadAPI.InstanceType))
	}
	return errs.err()
}

// Arch returns the Go architecture of an EC2 instance type: Graviton families (a "g" right
// after the generation digit, such as t4g, m7g, c7gn) are arm64, the rest amd64.
func Arch(instanceType string) string {
	family := strings.SplitN(instanceType, ".", 2)[0]
	i := strings.IndexAny(family, "0123456789")
	if i >= 0 && strings.HasPrefix(family[i+1:], "g") {
		return "arm64"
	}
	return "amd64"
}

func (c *Config) validateNetwork(errs *Errors) {
	azs := strconv.Itoa(c.AZCount)
	switch {
	case c.AZCount < 1 || c.AZCount > MaxAZs:
		errs.add("azCount", azs, "use 1 to %d", MaxAZs)
	case c.Stage >= UsersPlus2 && c.AZCount < 2:
		errs.add("azCount", azs, "stage %s spreads servers and the load balancer over at least 2 availability zones; set azCount to 2 or 3", c.Stage)
	case c.Stage >= UsersPlus && c.AZCount < 2:
		errs.add("azCount", azs, "stage %s puts RDS in a subnet group, which AWS requires to span 2 availability zones; set azCount to 2 or 3", c.Stage)
	}
	if p, err := netip.ParsePrefix(c.VpcCidr); err != nil || !p.Addr().Is4() {
		errs.add("vpcCidr", c.VpcCidr, "use an IPv4 CIDR such as 10.0.0.0/16")
	} else if p.Bits() != 16 {
		errs.add("vpcCidr", c.VpcCidr, "use a /16: the address plan lays out every stage's subnets in a /16")
	} else if p.Masked() != p {
		errs.add("vpcCidr", c.VpcCidr, "use the network address %s", p.Masked())
	} else if !isPrivate(p) {
		errs.add("vpcCidr", c.VpcCidr, "use a private (RFC 1918) range: 10.x.0.0/16, 172.16-31.0.0/16 or 192.168.0.0/16")
	}
	switch c.Nat {
	case NatNone:
		if c.Stage >= UsersPlus2 {
			errs.add("natStrategy", string(c.Nat), "stage %s runs servers in private subnets that need egress; use single or per-az", c.Stage)
		}
	case NatSingle:
	case NatPerAZ:
		if c.AZCount < 2 {
			errs.add("natStrategy", string(c.Nat), "per-az needs at least 2 availability zones, got %d; use single or raise azCount", c.AZCount)
		}
	default:
		errs.add("natStrategy", string(c.Nat), "use none, single or per-az")
	}
	var prefixes []netip.Prefix
	for i, s := range c.AdminCidrs {
		key := fmt.Sprintf("adminCidrs[%d]", i)
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		switch {
		case err != nil:
			errs.add(key, s, "use a CIDR such as 203.0.113.7/32")
			continue
		case p.Masked() != p:
			errs.add(key, s, "use the network address %s", p.Masked())
			continue
		case p.Bits() == 0:
			errs.add(key, s, "SSH is never open to the whole internet; list your own addresses, such as 203.0.113.7/32")
			continue
		}
		for j, q := range prefixes {
			if q.Overlaps(p) {
				errs.add(key, s, "it overlaps adminCidrs[%d] = %s; keep one of them", j, q)
			}
		}
		prefixes = append(prefixes, p)
	}
}

func isPrivate(p netip.Prefix) bool {
	for _, r := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} {
		if netip.MustParsePrefix(r).Contains(p.Addr()) {
			return true
		}
	}
	return false
}

func (c *Config) validateTier(errs *Errors, key string, t Tier) {
	if !instanceTypeRE.MatchString(t.InstanceType) {
		errs.add(key+".instanceType", t.InstanceType, "use an EC2 instance type such as t3.small or m7g.large")
	}
	if t.Min < 1 {
		errs.add(key+".min", strconv.Itoa(t.Min), "a serving tier needs at least 1 server")
	}
	if t.Max > 100 {
		errs.add(key+".max", strconv.Itoa(t.Max), "use at most 100; raise the account's EC2 quota and this limit together")
	}
	if t.Min > t.Max {
		errs.add(key+".min", strconv.Itoa(t.Min), "min must not exceed max (%d)", t.Max)
	} else if t.Desired < t.Min || t.Desired > t.Max {
		errs.add(key+".desired", strconv.Itoa(t.Desired), "desired must lie between min (%d) and max (%d)", t.Min, t.Max)
	}
}

func (c *Config) validateDB(errs *Errors) {
	d := c.DB
	if !dbClassRE.MatchString(d.InstanceClass) {
		errs.add("db.instanceClass", d.InstanceClass, "use an RDS instance class such as db.t4g.micro or db.m6g.large")
	}
	if p := c.DBPassword; p != "" && (len(p) < 16 || len(p) > 41 || strings.ContainsAny(p, "/'\"@ ")) {
		// The value is a secret: the message never echoes it.
		errs.add("dbPassword", "[secret]", "use 16 to 41 printable characters without / ' \" @ or spaces (RDS's rules), set with pulumi config set --secret")
	}
	if !mysqlVersionRE.MatchString(d.EngineVersion) {
		errs.add("db.engineVersion", d.EngineVersion, "use a MySQL version RDS offers, such as 8.0 or 8.4")
	}
	if d.AllocatedStorageGb < 20 || d.AllocatedStorageGb > 65536 {
		errs.add("db.allocatedStorageGb", strconv.Itoa(d.AllocatedStorageGb), "use 20 to 65536 (gp3 minimum is 20)")
	}
	if d.MaxAllocatedStorageGb < d.AllocatedStorageGb {
		errs.add("db.maxAllocatedStorageGb", strconv.Itoa(d.MaxAllocatedStorageGb), "must be at least allocatedStorageGb (%d)", d.AllocatedStorageGb)
	}
	if d.BackupRetentionDays < 7 || d.BackupRetentionDays > 35 {
		errs.add("db.backupRetentionDays", strconv.Itoa(d.BackupRetentionDays), "use 7 to 35 days")
	}
	if d.Replicas != nil {
		switch n := *d.Replicas; {
		case n < 0 || n > 15:
			errs.add("db.replicas", strconv.Itoa(n), "use 0 to 15 read replicas (RDS for MySQL's limit per source)")
		case n > 0 && c.Stage < UsersPlus3:
			errs.add("db.replicas", strconv.Itoa(n), "read replicas arrive at stage users+++ (this stack is at %s); unset db.replicas or move the stack up", c.Stage)
		}
	}
	if !dbClassRE.MatchString(d.ReplicaInstanceClass) {
		errs.add("db.replicaInstanceClass", d.ReplicaInstanceClass, "use an RDS instance class such as db.t4g.micro or db.m6g.large")
	}
	if d.BufferPoolPercent < 10 || d.BufferPoolPercent > 90 {
		errs.add("db.bufferPoolPercent", strconv.Itoa(d.BufferPoolPercent), "use 10 to 90 percent of the instance's memory (RDS's default is 75)")
	}
}

func (c *Config) validateCache(errs *Errors) {
	k := c.Cache
	if !cacheNodeRE.MatchString(k.NodeType) {
		errs.add("cache.nodeType", k.NodeType, "use an ElastiCache node type such as cache.t4g.micro or cache.m7g.large")
	}
	if !valkeyRE.MatchString(k.EngineVersion) {
		errs.add("cache.engineVersion", k.EngineVersion, "use a Valkey version ElastiCache offers: 7.2, 8.0 or 8.1")
	}
	if k.Replicas != nil {
		switch n := *k.Replicas; {
		case n < 0 || n > 5:
			errs.add("cache.replicas", strconv.Itoa(n), "use 0 to 5 replicas per shard (ElastiCache's limit)")
		case n == 0 && c.Environment == Prod:
			errs.add("cache.replicas", "0", "prod keeps sessions through a node failure: use at least 1 replica (Multi-AZ with automatic failover)")
		}
	}
	if k.SnapshotRetentionDays < 1 || k.SnapshotRetentionDays > 35 {
		errs.add("cache.snapshotRetentionDays", strconv.Itoa(k.SnapshotRetentionDays), "use 1 to 35 days")
	}
	if t := c.CacheAuthToken; t != "" && !cacheTokenRE.MatchString(t) {
		// The value is a secret: the message never echoes it.
		errs.add("cacheAuthToken", "[secret]", "use 16 to 128 letters, digits or ! & # $ ^ < > - (ElastiCache's AUTH rules), set with pulumi config set --secret")
	}
}
