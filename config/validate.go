package config

import (
	"fmt"
	"math/big"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

var (
	// An EC2 size, such as small, 2xlarge or metal-24xl.
	sizeRE   = regexp.MustCompile(`^(nano|micro|small|medium|large|xlarge|[1-9][0-9]*xlarge|metal(-[0-9]+xl)?)$`)
	zoneIDRE = regexp.MustCompile(`^Z[A-Z0-9]{5,32}$`)
	labelRE  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	// atext of RFC 5322 (section 3.2.3): the characters of a dot-atom local part.
	localRE = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
)

// MaxAZs is the most availability zones the address plan lays out subnets for.
const MaxAZs = 3

// The SSH allow-list is judged by the addresses it covers, not entry by entry: two /1s are
// the whole internet although neither is 0.0.0.0/0. MaxAdminIPv4 is a /22's worth (an
// office /24 and a few single addresses, with room to spare); MaxAdminIPv6 is a /56's worth
// (what an ISP delegates to one site).
const (
	MaxAdminIPv4 = 1 << 10
	MaxAdminIPv6 = "4722366482869645213696" // 2^72
)

// Limits of names, from the DNS (RFC 1035: 253 characters, 63 per label), ACM (the
// certificate's first name, its common name, at most 64: RFC 5280) and SMTP (RFC 5321).
const (
	maxDNSName    = 253
	maxDNSLabel   = 63
	maxCertName   = 64
	maxEmail      = 254
	maxEmailLocal = 64
)

// Validate checks every field and returns all problems at once (an Errors), or nil.
func (c *Config) Validate() error {
	var errs Errors
	bad := c.validateFields(&errs)
	ok := func(key string) bool { return !bad[key] && c.checked(key) }
	if c.Stage < 0 || c.Stage >= stageCount {
		errs.add("stage", strconv.Itoa(int(c.Stage)), "use one of %s", stageList())
	}
	if ok("environment") && c.Environment != Dev && c.Environment != Prod {
		errs.add("environment", string(c.Environment), "use dev or prod")
	}
	switch {
	case !ok("aws:region"):
	case c.Region == "":
		errs = append(errs, &Error{Key: "aws:region", Value: "", Fix: "set it: pulumi config set aws:region us-east-1"})
	case !slices.Contains(regions, c.Region):
		fix := "is not an AWS region; use a region code such as us-east-1 or eu-west-1 (aws ec2 describe-regions lists yours; a region opened after this program was written is one line in config/sets.go)"
		if s := closest(c.Region, regions); s != "" {
			fix = fmt.Sprintf("is not an AWS region; did you mean %s? (a region opened after this program was written is one line in config/sets.go)", s)
		}
		errs = append(errs, &Error{Key: "aws:region", Value: c.Region, Fix: fix})
	}
	c.validateNetwork(&errs, ok)
	if c.Domain != "" && ok("domain") {
		if fix := domainProblem(c.Domain, true); fix != "" {
			errs.add("domain", c.Domain, "%s", fix)
		}
	}
	switch {
	case c.Domain != "" && c.HostedZoneID == "":
		errs.add("hostedZoneId", "", "set the Route 53 hosted zone id that serves %s (aws route53 list-hosted-zones-by-name --dns-name %s)", c.Domain, c.Domain)
	case c.Domain == "" && c.HostedZoneID != "":
		errs.add("domain", "", "set the domain served by hosted zone %s, or unset hostedZoneId", c.HostedZoneID)
	case c.HostedZoneID != "" && ok("hostedZoneId") && !zoneIDRE.MatchString(c.HostedZoneID):
		errs.add("hostedZoneId", c.HostedZoneID, "use the zone id as Route 53 shows it, such as Z0123456789ABCDEFGHIJ")
	}
	if c.Environment == Prod && c.Stage >= UsersPlus2 && c.Domain == "" {
		errs.add("domain", "", "prod serves stage %s over TLS from the viewer to the load balancer, which needs a certificate for a domain; set domain and hostedZoneId (dev may go without: see docs/security.md, PLAIN-HTTP-ORIGIN)", c.Stage)
	}
	if c.AlarmEmail != "" && ok("alarmEmail") {
		if fix := emailProblem(c.AlarmEmail); fix != "" {
			errs.add("alarmEmail", c.AlarmEmail, "%s", fix)
		}
	}
	if ok("box.instanceType") {
		checkInstanceType(&errs, "box.instanceType", c.Box.InstanceType)
	}
	c.validateTier(&errs, ok, "web", c.Web)
	c.validateTier(&errs, ok, "readApi", c.ReadAPI)
	c.validateTier(&errs, ok, "writeApi", c.WriteAPI)
	c.validateScaling(&errs, ok)
	c.validateDB(&errs, ok)
	c.validateCache(&errs, ok)
	c.validateDataTier(&errs, ok)
	if ok("worker.instanceType") {
		checkInstanceType(&errs, "worker.instanceType", c.Worker.InstanceType)
	}
	if ok("worker.min") && ok("worker.max") && c.Worker.Min > c.Worker.Max {
		errs.add("worker.min", strconv.Itoa(c.Worker.Min), "min must not exceed max (%d)", c.Worker.Max)
	}
	if ok("worker.min") && ok("worker.latencySeconds") && c.Worker.Min == 0 && c.Worker.LatencySeconds < WorkerColdStartSeconds {
		errs.add("worker.min", "0", "an empty fleet starts its first job after a cold start of %d s, over worker.latencySeconds = %d; keep min at 1 or more, or raise latencySeconds to %d", WorkerColdStartSeconds, c.Worker.LatencySeconds, WorkerColdStartSeconds)
	}
	if ok("readApi.instanceType") && ok("worker.instanceType") && Arch(c.ReadAPI.InstanceType) != Arch(c.Worker.InstanceType) {
		errs.add("worker.instanceType", c.Worker.InstanceType, "the workers run the API servers' app build; use the CPU architecture of readApi.instanceType %s (%s)", c.ReadAPI.InstanceType, Arch(c.ReadAPI.InstanceType))
	}

	c.validateMonitoring(&errs, ok)
	if ok("readApi.instanceType") && ok("writeApi.instanceType") && Arch(c.ReadAPI.InstanceType) != Arch(c.WriteAPI.InstanceType) {
		errs.add("writeApi.instanceType", c.WriteAPI.InstanceType, "the read and write API servers run one app build; use the CPU architecture of readApi.instanceType %s (%s)", c.ReadAPI.InstanceType, Arch(c.ReadAPI.InstanceType))
	}
	return errs.err()
}

// validateFields checks what the table says of every field: numbers in their range, and
// text free of control characters and look-alike letters. It returns the keys found bad,
// so that later checks do not report them twice.
func (c *Config) validateFields(errs *Errors) map[string]bool {
	bad := map[string]bool{}
	for i := range fields {
		f := &fields[i]
		if !c.checked(f.key) {
			continue
		}
		switch {
		case f.num != nil:
			n := *f.num(c)
			if (len(f.values) > 0 && !slices.Contains(f.values, n)) || (len(f.values) == 0 && (n < f.min || n > f.max)) {
				fix := "use " + rangeText(f)
				if f.why != "" {
					fix += " (" + f.why + ")"
				}
				errs.add(f.key, strconv.Itoa(n), "%s", fix)
				bad[f.key] = true
			}
		case f.str != nil && !f.secret:
			if fix := textProblem(f.key, *f.str(c)); fix != "" {
				errs.add(f.key, *f.str(c), "%s", fix)
				bad[f.key] = true
			}
		case f.list != nil:
			for i, s := range *f.list(c) {
				if fix := textProblem(f.key, s); fix != "" {
					errs.add(fmt.Sprintf("%s[%d]", f.key, i), s, "%s", fix)
					bad[f.key] = true
				}
			}
		}
	}
	return bad
}

// textProblem finds characters no setting may hold: control characters and anything
// outside printable ASCII, naming the code point (a Cyrillic "е" in "prod" looks right).
func textProblem(key, v string) string {
	for i, r := range v {
		pos := utf8.RuneCountInString(v[:i]) + 1
		switch {
		case r == utf8.RuneError:
			return fmt.Sprintf("is not valid UTF-8 at character %d; type the value again", pos)
		case r < 0x20 || r == 0x7f:
			return fmt.Sprintf("contains the control character U+%04X at character %d (an escape sequence or a pasted tab or newline); remove it", r, pos)
		case r > 0x7e:
			hint := ""
			if a, ok := lookalikes[r]; ok {
				hint = fmt.Sprintf(", which looks like %q but is not ASCII", a)
			}
			fix := fmt.Sprintf("contains U+%04X (%q) at character %d%s; settings are ASCII: type it again on an ASCII keyboard layout", r, r, pos, hint)
			if key == "domain" {
				fix += " (an internationalized domain is written in its xn-- form)"
			}
			return fix
		}
	}
	return ""
}

// domainProblem checks a DNS name against the DNS's and ACM's length limits and label
// syntax; cert adds ACM's 64-character limit on a certificate's first name.
func domainProblem(d string, cert bool) string {
	if strings.HasSuffix(d, ".") {
		return fmt.Sprintf("drop the trailing dot: write %s (Route 53 and ACM take names without the root dot)", strings.TrimRight(d, "."))
	}
	lower := strings.ToLower(d)
	if len(d) > maxDNSName {
		return fmt.Sprintf("is %d characters; a DNS name has at most %d", len(d), maxDNSName)
	}
	labels := strings.Split(lower, ".")
	if len(labels) < 2 {
		return "use a full DNS name such as app.example.com"
	}
	for _, l := range labels {
		switch {
		case l == "":
			return "has an empty label (two dots in a row, or a leading dot); use a DNS name such as app.example.com"
		case len(l) > maxDNSLabel:
			return fmt.Sprintf("its label %q is %d characters; a DNS label has at most %d", l[:10]+"...", len(l), maxDNSLabel)
		case !labelRE.MatchString(l):
			return fmt.Sprintf("its label %q may hold only lowercase letters, digits and inner hyphens; use a DNS name such as app.example.com", l)
		}
	}
	if _, err := strconv.Atoi(labels[len(labels)-1]); err == nil {
		return "ends in a number: use a DNS name, not an address"
	}
	if lower != d {
		return fmt.Sprintf("use lowercase: %s", lower)
	}
	if cert && len(d) > maxCertName {
		return fmt.Sprintf("is %d characters; from users++ it is the name of the site's ACM certificate, which ACM limits to %d (the common name, RFC 5280): use a shorter domain, so that moving up a stage needs no new one", len(d), maxCertName)
	}
	return ""
}

// emailProblem checks an address's syntax as RFC 5322's dot-atom form (no quoted local
// parts, comments or escapes) with a DNS domain, within RFC 5321's lengths.
func emailProblem(e string) string {
	const example = "use an email address such as ops@example.com"
	local, domain, ok := strings.Cut(e, "@")
	switch {
	case !ok || strings.Contains(domain, "@"):
		return example + " (exactly one @)"
	case len(e) > maxEmail:
		return fmt.Sprintf("is %d characters; an address has at most %d", len(e), maxEmail)
	case local == "" || len(local) > maxEmailLocal:
		return fmt.Sprintf("%s (the part before @ has 1 to %d characters)", example, maxEmailLocal)
	case !localRE.MatchString(local):
		return example + " (before @: letters, digits and !#$%&'*+/=?^_`{|}~- separated by single dots; no spaces, quotes, backslashes or escapes)"
	}
	if fix := domainProblem(strings.ToLower(domain), false); fix != "" {
		return "its domain " + domain + " " + strings.TrimPrefix(fix, "use ")
	}
	return ""
}

// checkInstanceType checks an EC2 instance type: a family this program knows and a size.
func checkInstanceType(errs *Errors, key, t string) {
	family, size, ok := strings.Cut(t, ".")
	_, known := ec2Families[family]
	switch {
	case !ok || !sizeRE.MatchString(size):
		errs.add(key, t, "use an EC2 instance type, family.size, such as t3.small or m7g.large")
	case !known:
		errs.add(key, t, "%s is not an EC2 instance family this program runs servers on; use one such as t3, m7i, c7i (x86) or t4g, m7g, c7g (Graviton) (a family AWS added since is one line in config/sets.go)", family)
	}
}

// Arch returns the Go architecture of an EC2 instance type: arm64 for Graviton families
// (t4g, m7g, c7gn...), amd64 for the others. A family missing from the table is judged by
// its name: a "g" right after the generation digit means Graviton.
func Arch(instanceType string) string {
	family := strings.SplitN(instanceType, ".", 2)[0]
	if a, ok := ec2Families[family]; ok {
		return a
	}
	i := strings.IndexAny(family, "0123456789")
	if i >= 0 && strings.HasPrefix(family[i+1:], "g") {
		return "arm64"
	}
	return "amd64"
}

func (c *Config) validateNetwork(errs *Errors, ok func(string) bool) {
	azs := strconv.Itoa(c.AZCount)
	switch {
	case !ok("azCount"):
	case c.Stage >= UsersPlus2 && c.AZCount < 2:
		errs.add("azCount", azs, "stage %s spreads servers and the load balancer over at least 2 availability zones; set azCount to 2 or 3", c.Stage)
	case c.Stage >= UsersPlus && c.AZCount < 2:
		errs.add("azCount", azs, "stage %s puts RDS in a subnet group, which AWS requires to span 2 availability zones; set azCount to 2 or 3", c.Stage)
	}
	if ok("vpcCidr") {
		if p, err := netip.ParsePrefix(c.VpcCidr); err != nil || !p.Addr().Is4() {
			errs.add("vpcCidr", c.VpcCidr, "use an IPv4 CIDR such as 10.0.0.0/16")
		} else if p.Bits() != 16 {
			errs.add("vpcCidr", c.VpcCidr, "use a /16: the address plan lays out every stage's subnets in a /16")
		} else if p.Masked() != p {
			errs.add("vpcCidr", c.VpcCidr, "use the network address %s", p.Masked())
		} else if !isPrivate(p) {
			errs.add("vpcCidr", c.VpcCidr, "use a private (RFC 1918) range: 10.x.0.0/16, 172.16-31.0.0/16 or 192.168.0.0/16")
		}
	}
	switch {
	case !ok("natStrategy"):
	case c.Nat == NatNone:
		if c.Stage >= UsersPlus2 {
			errs.add("natStrategy", string(c.Nat), "stage %s runs servers in private subnets that need egress; use single or per-az", c.Stage)
		}
	case c.Nat == NatSingle:
	case c.Nat == NatPerAZ:
		if c.AZCount < 2 {
			errs.add("natStrategy", string(c.Nat), "per-az needs at least 2 availability zones, got %d; use single or raise azCount", c.AZCount)
		}
	default:
		errs.add("natStrategy", string(c.Nat), "use none, single or per-az")
	}
	switch {
	case !ok("adminCidrs"):
	case c.Stage >= NoSSHFrom && len(c.AdminCidrs) > 0:
		errs.add("adminCidrs", strings.Join(c.AdminCidrs, ","), "stage %s opens SSH nowhere: reach a server with Session Manager (aws ssm start-session --target <instance-id>, every session logged); unset it: pulumi config rm scaling-aws:adminCidrs", c.Stage)
	default:
		c.validateAdminCidrs(errs)
	}
}

// NoSSHFrom is the first stage without SSH: from users++++ servers are reached with Session
// Manager only, so config refuses adminCidrs there (rule OPS-1 fails any port-22 ingress).
// Only the single box (stages 0 and 1) opens SSH to adminCidrs; users++ and users+++ have no
// box and open nothing for it.
const NoSSHFrom = UsersPlus4

func (c *Config) validateAdminCidrs(errs *Errors) {
	var prefixes []netip.Prefix
	valid := true
	for i, s := range c.AdminCidrs {
		key := fmt.Sprintf("adminCidrs[%d]", i)
		p, err := netip.ParsePrefix(s)
		switch {
		case err != nil:
			errs.add(key, s, "use a CIDR such as 203.0.113.7/32")
			valid = false
			continue
		case p.Masked() != p:
			errs.add(key, s, "use the network address %s", p.Masked())
			valid = false
			continue
		case p.Bits() == 0:
			errs.add(key, s, "SSH is never open to the whole internet; list your own addresses, such as 203.0.113.7/32")
			valid = false
			continue
		}
		for j, q := range prefixes {
			if q.Overlaps(p) {
				errs.add(key, s, "it overlaps adminCidrs[%d] = %s; keep one of them", j, q)
				valid = false
			}
		}
		prefixes = append(prefixes, p)
	}
	if !valid {
		return
	}
	v4, v6 := CIDRCoverage(prefixes)
	limit6, _ := new(big.Int).SetString(MaxAdminIPv6, 10)
	list := strings.Join(c.AdminCidrs, ",")
	if v4.Cmp(big.NewInt(MaxAdminIPv4)) > 0 {
		errs.add("adminCidrs", list, "together they open SSH to %s IPv4 addresses; the allow-list covers at most %d (a /22's worth: docs/security.md): list your own addresses, such as 203.0.113.7/32", v4, MaxAdminIPv4)
	}
	if v6.Cmp(limit6) > 0 {
		errs.add("adminCidrs", list, "together they open SSH to %s IPv6 addresses; the allow-list covers at most a /56's worth (docs/security.md): list your own prefix, such as 2001:db8:0:100::/56 or narrower", v6)
	}
}

// CIDRCoverage returns how many IPv4 and IPv6 addresses prefixes cover together, each
// address counted once (a prefix inside another adds nothing). Rules judging an allow-list
// by its reach (two /1s are the whole internet) use it too.
func CIDRCoverage(prefixes []netip.Prefix) (ipv4, ipv6 *big.Int) {
	ps := make([]netip.Prefix, 0, len(prefixes))
	for _, p := range prefixes {
		if p.IsValid() {
			ps = append(ps, p.Masked())
		}
	}
	// Widest first: a prefix is skipped when one already counted contains it (two CIDR
	// prefixes are either nested or disjoint).
	sort.Slice(ps, func(i, j int) bool { return ps[i].Bits() < ps[j].Bits() })
	ipv4, ipv6 = new(big.Int), new(big.Int)
	var counted []netip.Prefix
	for _, p := range ps {
		if slices.ContainsFunc(counted, func(q netip.Prefix) bool { return q.Overlaps(p) }) {
			continue
		}
		counted = append(counted, p)
		if p.Addr().Is4() {
			ipv4.Add(ipv4, new(big.Int).Lsh(big.NewInt(1), uint(32-p.Bits())))
		} else {
			ipv6.Add(ipv6, new(big.Int).Lsh(big.NewInt(1), uint(128-p.Bits())))
		}
	}
	return ipv4, ipv6
}

func isPrivate(p netip.Prefix) bool {
	for _, r := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} {
		if netip.MustParsePrefix(r).Contains(p.Addr()) {
			return true
		}
	}
	return false
}

func (c *Config) validateTier(errs *Errors, ok func(string) bool, key string, t Tier) {
	if ok(key + ".instanceType") {
		checkInstanceType(errs, key+".instanceType", t.InstanceType)
	}
	if !ok(key+".min") || !ok(key+".max") || !ok(key+".desired") {
		return
	}
	if t.Min > t.Max {
		errs.add(key+".min", strconv.Itoa(t.Min), "min must not exceed max (%d)", t.Max)
	} else if t.Desired < t.Min || t.Desired > t.Max {
		errs.add(key+".desired", strconv.Itoa(t.Desired), "desired must lie between min (%d) and max (%d)", t.Min, t.Max)
	}
}

func (c *Config) validateDB(errs *Errors, ok func(string) bool) {
	d := c.DB
	if ok("db.instanceClass") {
		checkDBClass(errs, "db.instanceClass", d.InstanceClass)
	}
	if c.DBPassword != "" && ok("dbPassword") {
		if fix := passwordProblem(c.DBPassword); fix != "" {
			// The value is a secret: the message never echoes it.
			errs.add("dbPassword", secretShown, "%s; use 16 to 41 printable ASCII characters without / \" @ or spaces (RDS for MySQL accepts 8 to 41 of them; this stack asks for 16 or more, as the one it generates has 32), set with pulumi config set --secret", fix)
		}
	}
	if ok("db.engineVersion") && !slices.Contains(MySQLVersions, d.EngineVersion) {
		fix := "use a MySQL version RDS offers, as major.minor: 8.0 or 8.4"
		if strings.HasPrefix(d.EngineVersion, "8.0.") || strings.HasPrefix(d.EngineVersion, "8.4.") {
			fix = fmt.Sprintf("give major.minor only: %s (RDS picks the minor release and upgrades it automatically; the parameter group follows major.minor)", d.EngineVersion[:3])
		}
		errs.add("db.engineVersion", d.EngineVersion, "%s", fix)
	}
	if ok("db.allocatedStorageGb") && ok("db.maxAllocatedStorageGb") && d.MaxAllocatedStorageGb != 0 {
		if floor := MinStorageCeiling(d.AllocatedStorageGb); d.MaxAllocatedStorageGb < floor {
			errs.add("db.maxAllocatedStorageGb", strconv.Itoa(d.MaxAllocatedStorageGb), "use at least %d, 1.1 x allocatedStorageGb (%d): RDS refuses a lower autoscaling ceiling (\"Invalid max storage size\"); or 0 to turn storage autoscaling off", floor, d.AllocatedStorageGb)
		}
	}
}

// checkDBClass refuses what is not an RDS for MySQL instance class.
func checkDBClass(errs *Errors, key, class string) {
	family, size, _ := strings.Cut(strings.TrimPrefix(class, "db."), ".")
	if !strings.HasPrefix(class, "db.") || !slices.Contains(rdsMySQLFamilies, family) || !sizeRE.MatchString(size) {
		errs.add(key, class, "use an RDS for MySQL instance class such as db.t4g.micro or db.m6g.large (families: db.%s)", strings.Join(rdsMySQLFamilies, ", db."))
	}
}

// MinStorageCeiling is the lowest storage autoscaling ceiling RDS accepts for an
// allocation: 10% above it, rounded up (RDS User Guide, "Managing capacity automatically
// with Amazon RDS storage autoscaling").
func MinStorageCeiling(allocatedGb int) int { return (11*allocatedGb + 9) / 10 }

// passwordProblem says what keeps p out of RDS for MySQL's password alphabet (printable
// ASCII except / " @ and space) or this stack's length, without revealing p.
func passwordProblem(p string) string {
	for i, r := range p {
		pos := utf8.RuneCountInString(p[:i]) + 1
		switch {
		case r < 0x20 || r == 0x7f:
			return fmt.Sprintf("it contains the control character U+%04X at character %d", r, pos)
		case r > 0x7e:
			return fmt.Sprintf("it contains the non-ASCII character U+%04X at character %d", r, pos)
		case r == ' ' || r == '/' || r == '"' || r == '@':
			return fmt.Sprintf("it contains %q at character %d, which RDS refuses", r, pos)
		}
	}
	if len(p) < 16 || len(p) > 41 {
		return fmt.Sprintf("it has %d characters", len(p))
	}
	return ""
}

var (
	// cacheFamilyRE is an ElastiCache node family: cache.t4g, cache.m7g, cache.r7g...
	cacheFamilyRE = regexp.MustCompile(`^cache\.[a-z]+[0-9][a-z]*$`)
	// cacheTokenRE is ElastiCache's AUTH alphabet: 16 to 128 printable ASCII characters, the
	// only specials ! & # $ ^ < > - (docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html).
	cacheTokenRE = regexp.MustCompile(`^[A-Za-z0-9!&#$^<>-]{16,128}$`)
)

// ValkeyVersions are the Valkey major.minor versions ElastiCache offers.
var ValkeyVersions = []string{"7.2", "8.0", "8.1"}

// validateCache holds the replica and cache checks that involve other settings (the table bounds the
// numbers).
func (c *Config) validateCache(errs *Errors, ok func(string) bool) {
	if ok("db.replicas") && c.DB.Replicas > 0 && c.Stage < UsersPlus3 {
		errs.add("db.replicas", strconv.Itoa(c.DB.Replicas), "read replicas arrive at stage users+++ (this stack is at %s); unset db.replicas or move the stack up", c.Stage)
	}
	if ok("db.replicaInstanceClass") {
		family, size, _ := strings.Cut(strings.TrimPrefix(c.DB.ReplicaInstanceClass, "db."), ".")
		if !strings.HasPrefix(c.DB.ReplicaInstanceClass, "db.") || !slices.Contains(rdsMySQLFamilies, family) || !sizeRE.MatchString(size) {
			errs.add("db.replicaInstanceClass", c.DB.ReplicaInstanceClass, "use an RDS for MySQL instance class such as db.t4g.micro or db.m6g.large (families: db.%s)", strings.Join(rdsMySQLFamilies, ", db."))
		}
	}
	k := c.Cache
	family, size, _ := strings.Cut(strings.TrimPrefix(k.NodeType, "cache."), ".")
	if ok("cache.nodeType") && (!cacheFamilyRE.MatchString("cache."+family) || !strings.HasPrefix(k.NodeType, "cache.") || !sizeRE.MatchString(size)) {
		errs.add("cache.nodeType", k.NodeType, "use an ElastiCache node type such as cache.t4g.micro or cache.m7g.large")
	}
	if ok("cache.engineVersion") && !slices.Contains(ValkeyVersions, k.EngineVersion) {
		errs.add("cache.engineVersion", k.EngineVersion, "use a Valkey version ElastiCache offers: %s", strings.Join(ValkeyVersions, ", "))
	}
	if ok("cache.replicas") && k.Replicas == 0 && c.Environment == Prod {
		errs.add("cache.replicas", "0", "prod keeps sessions through a node failure: use at least 1 replica (Multi-AZ with automatic failover)")
	}
	if t := c.CacheAuthToken; t != "" && ok("cacheAuthToken") && !cacheTokenRE.MatchString(t) {
		// The value is a secret: the message never echoes it.
		errs.add("cacheAuthToken", secretShown, "use 16 to 128 letters, digits or ! & # $ ^ < > - (ElastiCache's AUTH rules), set with pulumi config set --secret")
	}
}
