package components

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// SecurityGroup is a security group that starts closed, in and out (the provider removes
// AWS's default allow-all egress rule), and is opened one named rule at a time. Rules are
// separate resources (vpc.SecurityGroupIngressRule/EgressRule), so a component or a stage can
// add one later without touching the others, as CDK's connections API does.
type SecurityGroup struct {
	// ID is the group's id, for wiring into instances, load balancers and databases.
	ID pulumi.IDOutput

	ctx  *pulumi.Context
	name string
	opts []pulumi.ResourceOption
}

// Port is a TCP port a rule opens.
type Port int

// GroupRole labels what a security group guards. It is the group's "role" tag and, for
// the data tiers, its "tier" tag: the security rules key on both (a data-tier group may have
// no CIDR source; only the box and public load balancers may face the internet).
type GroupRole string

// Group roles.
const (
	RoleBox       GroupRole = "box"       // the single box (stages 0-1): 80/443 from the internet
	RolePublicLB  GroupRole = "public-lb" // internet-facing load balancer: 443, 80 as a redirect
	RoleInternal  GroupRole = "internal"  // servers and internal load balancers
	RoleData      GroupRole = "data"      // RDS: no CIDR sources
	RoleCache     GroupRole = "cache"     // ElastiCache: no CIDR sources
	RoleEndpoints GroupRole = "endpoints" // interface endpoints
)

// newSecurityGroup creates an empty group named name in vpcID, parented by opts.
func newSecurityGroup(ctx *pulumi.Context, name, description string, role GroupRole, vpcID pulumi.StringInput, opts []pulumi.ResourceOption) (*SecurityGroup, error) {
	t := pulumi.StringMap{"Name": pulumi.String(name), "role": pulumi.String(string(role))}
	if role == RoleData || role == RoleCache {
		t["tier"] = pulumi.String(string(role))
	}
	sg, err := ec2.NewSecurityGroup(ctx, name, &ec2.SecurityGroupArgs{
		VpcId:       vpcID,
		Description: pulumi.String(description),
		// Rules live in their own resources; a change to one never rewrites the group.
		RevokeRulesOnDelete: pulumi.Bool(true),
		Tags:                t,
	}, opts...)
	if err != nil {
		return nil, err
	}
	return &SecurityGroup{ID: sg.ID(), ctx: ctx, name: name, opts: opts}, nil
}

// peerOf is the other side of a rule: a group, a CIDR, or a managed prefix list.
type peerOf struct {
	group      *SecurityGroup
	cidr       string
	prefixList pulumi.StringInput
}

// describe says who the peer is, for rule descriptions.
func (p peerOf) describe() string {
	switch {
	case p.group != nil:
		return p.group.name
	case p.cidr != "":
		return p.cidr
	}
	return "prefix list"
}

// rule creates one ingress (or egress) rule named name on TCP port with peer p.
func (g *SecurityGroup) rule(ingress bool, name, desc string, port Port, p peerOf) error {
	var group, prefix, cidr4, cidr6 pulumi.StringPtrInput
	if p.group != nil {
		group = p.group.ID.ToStringOutput().ToStringPtrOutput()
	}
	if p.prefixList != nil {
		prefix = p.prefixList.ToStringOutput().ToStringPtrOutput()
	}
	if p.cidr != "" && isIPv6(p.cidr) {
		cidr6 = pulumi.String(p.cidr)
	} else if p.cidr != "" {
		cidr4 = pulumi.String(p.cidr)
	}
	if ingress {
		_, err := vpc.NewSecurityGroupIngressRule(g.ctx, name, &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId: g.ID, ReferencedSecurityGroupId: group, PrefixListId: prefix, CidrIpv4: cidr4, CidrIpv6: cidr6,
			IpProtocol: pulumi.String("tcp"), FromPort: pulumi.Int(int(port)), ToPort: pulumi.Int(int(port)),
			Description: pulumi.String(desc + " from " + p.describe()),
		}, g.opts...)
		return err
	}
	_, err := vpc.NewSecurityGroupEgressRule(g.ctx, name, &vpc.SecurityGroupEgressRuleArgs{
		SecurityGroupId: g.ID, ReferencedSecurityGroupId: group, PrefixListId: prefix, CidrIpv4: cidr4, CidrIpv6: cidr6,
		IpProtocol: pulumi.String("tcp"), FromPort: pulumi.Int(int(port)), ToPort: pulumi.Int(int(port)),
		Description: pulumi.String(desc + " to " + p.describe()),
	}, g.opts...)
	return err
}

// AllowFrom opens TCP port to members of peer: tiers chain by group reference, not CIDR.
// The rule is named <group>-from-<peer>-<port>, unique per link; rule describes it.
func (g *SecurityGroup) AllowFrom(rule string, peer *SecurityGroup, port Port) error {
	return g.rule(true, childName(g.name, "from", peer.name, fmt.Sprint(port)), rule, port, peerOf{group: peer})
}

// AllowFromCidr opens TCP port to an IPv4 or IPv6 CIDR (the internet, or allow-listed admins).
func (g *SecurityGroup) AllowFromCidr(rule, cidr string, port Port) error {
	return g.rule(true, childName(g.name, "in", rule), rule, port, peerOf{cidr: cidr})
}

// AllowFromPrefixList opens TCP port to a managed prefix list (CloudFront's origin-facing one).
func (g *SecurityGroup) AllowFromPrefixList(rule string, prefixListID pulumi.StringInput, port Port) error {
	return g.rule(true, childName(g.name, "in", rule), rule, port, peerOf{prefixList: prefixListID})
}

// AllowTo lets members reach TCP port on members of peer. Egress is limited to what a tier
// needs, so every outbound path is one of these rules, named <group>-to-<peer>-<port>.
func (g *SecurityGroup) AllowTo(rule string, peer *SecurityGroup, port Port) error {
	return g.rule(false, childName(g.name, "to", peer.name, fmt.Sprint(port)), rule, port, peerOf{group: peer})
}

// AllowToPrefixList lets members reach TCP port on a managed prefix list (the S3 gateway
// endpoint's, for packages and the app artifact).
func (g *SecurityGroup) AllowToPrefixList(rule string, prefixListID pulumi.StringInput, port Port) error {
	return g.rule(false, childName(g.name, "out", rule), rule, port, peerOf{prefixList: prefixListID})
}

// AllowToCidr lets members reach TCP port on a CIDR (0.0.0.0/0 for servers behind NAT that
// call AWS APIs and package mirrors).
func (g *SecurityGroup) AllowToCidr(rule, cidr string, port Port) error {
	return g.rule(false, childName(g.name, "out", rule), rule, port, peerOf{cidr: cidr})
}

// Connect opens port on to from from in both groups: egress on from, ingress on to.
func Connect(rule string, from, to *SecurityGroup, port Port) error {
	if err := from.AllowTo(rule, to, port); err != nil {
		return fmt.Errorf("%s egress: %w", rule, err)
	}
	if err := to.AllowFrom(rule, from, port); err != nil {
		return fmt.Errorf("%s ingress: %w", rule, err)
	}
	return nil
}

func isIPv6(cidr string) bool {
	for _, r := range cidr {
		if r == ':' {
			return true
		}
	}
	return false
}
