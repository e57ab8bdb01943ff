package components

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ReaderNameArgs configures a ReaderName.
type ReaderNameArgs struct {
	// Network is the VPC the private zone answers in. Required.
	Network *Network
	// ZoneName is the private hosted zone's name. Default: <project>.internal because it
	// is private to the VPC and cannot collide with a public name the project owns.
	ZoneName string
	// RecordName is the reader's name inside the zone. Default: reader.db.
	RecordName string
	// Targets are the DNS names the reader spreads over (the replicas' addresses), in
	// replica order; target n (from 1) is the record set "replica-<n>", so adding a replica
	// never renames the others. At least one. Required.
	Targets []pulumi.StringInput
	// TTLSeconds is the records' TTL. Default: 5 because a replica that is removed or
	// replaced should leave clients' caches within seconds.
	TTLSeconds int
	// Protect guards the zone in prod (pulumi protect): clients name it. Default: false.
	Protect bool
}

// ReaderName is one DNS name for every read replica, for clients other than the read-API
// servers (reports, ad hoc queries, a future service): a private Route 53 hosted zone
// associated with the VPC and one weighted CNAME record set per replica, all of equal
// weight, so each lookup answers one replica at random. RDS for MySQL has no reader
// endpoint, CNAME records cannot use multivalue answers, and Route 53 health checks cannot
// reach private addresses, so a client of this name retries another lookup when a replica
// is down; the read-API servers do better, with every address and lag ejection (DB_REPLICAS).
// docs/decisions.md says why not RDS Proxy or an NLB.
//
// AWS resources: route53.Zone (private), route53.Record per target.
// Costs money: the hosted zone (0.50 USD a month) and queries (private zones' are cheap).
type ReaderName struct {
	pulumi.ResourceState

	// FQDN is the reader's full name, such as reader.db.scaling-aws.internal.
	FQDN string
	// ZoneID is the private zone's id.
	ZoneID pulumi.StringOutput
}

var dnsLabelsRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// NewReaderName creates a ReaderName.
func NewReaderName(ctx *pulumi.Context, name string, args *ReaderNameArgs, opts ...pulumi.ResourceOption) (*ReaderName, error) {
	bad := func(field string, value any, fix string) error {
		return argError("reader name", name, field, value, fix)
	}
	if args == nil {
		return nil, bad("args", nil, "pass ReaderNameArgs")
	}
	a := *args
	if a.Network == nil {
		return nil, bad("Network", nil, "pass the stack's network; the zone answers only inside it")
	}
	if len(a.Targets) == 0 {
		return nil, bad("Targets", 0, "give at least one replica address")
	}
	if a.ZoneName == "" {
		a.ZoneName = ctx.Project() + ".internal"
	}
	if a.RecordName == "" {
		a.RecordName = "reader.db"
	}
	if !dnsLabelsRE.MatchString(a.ZoneName) {
		return nil, bad("ZoneName", a.ZoneName, "use lowercase DNS labels, such as scaling-aws.internal")
	}
	if !dnsLabelsRE.MatchString(a.RecordName) {
		return nil, bad("RecordName", a.RecordName, "use lowercase DNS labels, such as reader.db")
	}
	if a.TTLSeconds == 0 {
		a.TTLSeconds = 5
	}
	if a.TTLSeconds < 1 || a.TTLSeconds > 300 {
		return nil, bad("TTLSeconds", a.TTLSeconds, "use 1 to 300 seconds: a longer TTL keeps clients on a removed replica")
	}
	r := &ReaderName{FQDN: a.RecordName + "." + a.ZoneName}
	child, err := register(ctx, "database:ReaderName", name, r, opts)
	if err != nil {
		return nil, err
	}
	zone, err := route53.NewZone(ctx, name, &route53.ZoneArgs{
		Name:    pulumi.String(a.ZoneName),
		Comment: pulumi.Sprintf("%s: private names of the stack's data tier", name),
		Vpcs:    route53.ZoneVpcArray{&route53.ZoneVpcArgs{VpcId: a.Network.VpcID}},
		Tags:    tags(name),
	}, with(child, pulumi.Protect(a.Protect))...)
	if err != nil {
		return nil, err
	}
	r.ZoneID = zone.ZoneId
	for i, t := range a.Targets {
		set := "replica-" + strconv.Itoa(i+1)
		if _, err := route53.NewRecord(ctx, childName(name, set), &route53.RecordArgs{
			ZoneId:        zone.ZoneId,
			Name:          pulumi.String(r.FQDN),
			Type:          pulumi.String("CNAME"),
			Ttl:           pulumi.Int(a.TTLSeconds),
			Records:       pulumi.StringArray{t},
			SetIdentifier: pulumi.String(set),
			// Equal weights: each lookup picks one replica at random.
			WeightedRoutingPolicies: route53.RecordWeightedRoutingPolicyArray{&route53.RecordWeightedRoutingPolicyArgs{Weight: pulumi.Int(1)}},
		}, child...); err != nil {
			return nil, fmt.Errorf("reader name %q: record %s: %w", name, set, err)
		}
	}
	return r, ctx.RegisterResourceOutputs(r, pulumi.Map{"fqdn": pulumi.String(r.FQDN), "zoneId": r.ZoneID})
}
