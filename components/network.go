package components

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NatStrategy says how private (non-isolated) subnets reach the internet.
type NatStrategy string

// NAT strategies, from cheapest to most available. A NAT gateway costs about 32 USD a month
// plus 0.045 USD per GB processed.
const (
	// NatNone creates no NAT gateway: private subnets reach AWS only through endpoints.
	NatNone NatStrategy = "none"
	// NatSingle creates one NAT gateway in the first AZ for every AZ: an outage of that AZ cuts
	// egress everywhere, and other AZs pay cross-AZ transfer.
	NatSingle NatStrategy = "single"
	// NatPerAZ creates one NAT gateway per AZ; each AZ's private route table uses its own.
	NatPerAZ NatStrategy = "per-az"
)

// NetworkArgs configures a Network.
type NetworkArgs struct {
	// CidrBlock is the VPC's /16. Required.
	CidrBlock string
	// AvailabilityZones are the AZ names to use, in order; the position of an AZ is its block
	// in the address plan, so this order must never change for a live stack. 1 to 4. Required.
	AvailabilityZones []string
	// Tiers are the subnet tiers that exist now; each gets one subnet per AZ at its planned
	// CIDR. Default: public only.
	Tiers []Tier
	// Nat is the NAT strategy for private tiers. Default: NatNone.
	Nat NatStrategy
	// FlowLogRetentionDays keeps VPC flow logs in CloudWatch Logs. Default: 30.
	FlowLogRetentionDays int
	// Region is the AWS region, for endpoint service names. Required.
	Region string
	// InterfaceEndpoints are AWS services reached through interface endpoints (such as
	// "monitoring", "logs", "secretsmanager"), so servers reach them without the internet.
	// Each costs about 7.3 USD a month per AZ. Default: none.
	InterfaceEndpoints []string
	// EndpointTier is the tier whose subnets hold interface endpoint network interfaces.
	// Default: public, the one tier every stage has: growing a network then only adds an
	// endpoint's subnets in new AZs and never swaps its subnet within an AZ (public-a for
	// app-a), which an endpoint may not do in one step (one subnet per AZ:
	// DuplicateSubnetsInSameZone, while ModifyVpcEndpoint adds and removes in one call).
	// The interfaces take only private addresses; the endpoints' security group admits
	// the VPC on 443.
	EndpointTier Tier
	// EndpointAZs is how many AZs carry interface endpoints. Default: all AZs.
	EndpointAZs int
	// DynamoDB adds a DynamoDB gateway endpoint on every route table, as S3 has: free, and
	// table traffic never leaves the VPC for DynamoDB's public endpoint. Default: false.
	DynamoDB bool
}

// Network is a VPC with the fixed address plan: subnets keyed by tier and AZ, an internet
// gateway and public route table, one private route table per AZ for private tiers (routed to
// NAT per the strategy) and one isolated route table per AZ for data tiers (no route out),
// flow logs to CloudWatch Logs, the default security group adopted with no rules, an S3
// gateway endpoint on every route table, and optional interface endpoints.
//
// Costs money: NAT gateways (per strategy), interface endpoints, flow-log ingestion.
type Network struct {
	pulumi.ResourceState

	// VpcID is the VPC's id.
	VpcID pulumi.IDOutput
	// CidrBlock is the VPC's CIDR.
	CidrBlock string
	// AvailabilityZones are the AZs used, in address-plan order.
	AvailabilityZones []string
	// S3PrefixListID is the S3 gateway endpoint's prefix list, for egress rules to S3.
	S3PrefixListID pulumi.StringOutput
	// DynamoDBPrefixListID is the DynamoDB gateway endpoint's prefix list (with DynamoDB).
	DynamoDBPrefixListID pulumi.StringOutput
	// Endpoints is the security group of the interface endpoints (nil without endpoints).
	Endpoints *SecurityGroup

	name    string
	subnets map[Tier][]*ec2.Subnet
}

// NewNetwork creates a Network.
func NewNetwork(ctx *pulumi.Context, name string, args *NetworkArgs, opts ...pulumi.ResourceOption) (*Network, error) {
	a, vpcCidr, err := args.withDefaults(name)
	if err != nil {
		return nil, err
	}
	n := &Network{name: name, CidrBlock: a.CidrBlock, AvailabilityZones: a.AvailabilityZones, subnets: map[Tier][]*ec2.Subnet{}}
	child, err := register(ctx, "network:Network", name, n, opts)
	if err != nil {
		return nil, err
	}

	vpc, err := ec2.NewVpc(ctx, name, &ec2.VpcArgs{
		CidrBlock:          pulumi.String(a.CidrBlock),
		EnableDnsHostnames: pulumi.Bool(true), // interface endpoints and RDS names need both
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               tags(name),
	}, child...)
	if err != nil {
		return nil, err
	}
	n.VpcID = vpc.ID()

	// Adopting the default group with no rules closes it: nothing can be launched into an
	// open group by mistake (CIS 5.4, SH EC2.2).
	if _, err := ec2.NewDefaultSecurityGroup(ctx, childName(name, "default-sg"), &ec2.DefaultSecurityGroupArgs{
		VpcId: vpc.ID(),
		Tags:  tags(childName(name, "default-sg-closed")),
	}, child...); err != nil {
		return nil, err
	}

	igw, err := ec2.NewInternetGateway(ctx, childName(name, "igw"), &ec2.InternetGatewayArgs{VpcId: vpc.ID(), Tags: tags(childName(name, "igw"))}, child...)
	if err != nil {
		return nil, err
	}

	for _, tier := range a.Tiers {
		for i, az := range a.AvailabilityZones {
			cidr, err := SubnetCIDR(vpcCidr, tier, i)
			if err != nil {
				return nil, err
			}
			sn := childName(name, string(tier), az)
			s, err := ec2.NewSubnet(ctx, sn, &ec2.SubnetArgs{
				VpcId:            vpc.ID(),
				CidrBlock:        pulumi.String(cidr.String()),
				AvailabilityZone: pulumi.String(az),
				// Never map public IPs, even in public subnets: only what is given an Elastic
				// IP or sits behind a load balancer is reachable (CKV_AWS_130, SH EC2.15).
				MapPublicIpOnLaunch: pulumi.Bool(false),
				Tags:                pulumi.StringMap{"Name": pulumi.String(sn), "tier": pulumi.String(string(tier))},
			}, child...)
			if err != nil {
				return nil, err
			}
			n.subnets[tier] = append(n.subnets[tier], s)
		}
	}

	var routeTableIDs pulumi.StringArray
	publicRT, err := ec2.NewRouteTable(ctx, childName(name, "public"), &ec2.RouteTableArgs{
		VpcId: vpc.ID(),
		Routes: ec2.RouteTableRouteArray{
			&ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), GatewayId: igw.ID()},
		},
		Tags: tags(childName(name, "public")),
	}, child...)
	if err != nil {
		return nil, err
	}
	routeTableIDs = append(routeTableIDs, publicRT.ID())

	nats, err := n.natGateways(ctx, a, child)
	if err != nil {
		return nil, err
	}
	for i, az := range a.AvailabilityZones {
		privateRT, isolatedRT := pulumi.IDOutput{}, pulumi.IDOutput{}
		for _, tier := range a.Tiers {
			var rt pulumi.IDOutput
			switch {
			case tier.Public():
				rt = publicRT.ID()
			case tier.Isolated():
				if isolatedRT == (pulumi.IDOutput{}) {
					r, err := ec2.NewRouteTable(ctx, childName(name, "isolated", az), &ec2.RouteTableArgs{VpcId: vpc.ID(), Tags: tags(childName(name, "isolated", az))}, child...)
					if err != nil {
						return nil, err
					}
					isolatedRT = r.ID()
					routeTableIDs = append(routeTableIDs, r.ID())
				}
				rt = isolatedRT
			default:
				if privateRT == (pulumi.IDOutput{}) {
					var routes ec2.RouteTableRouteArray
					if len(nats) > 0 {
						nat := nats[min(i, len(nats)-1)] // per-AZ: its own; single: the one
						routes = append(routes, &ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), NatGatewayId: nat.ID()})
					}
					r, err := ec2.NewRouteTable(ctx, childName(name, "private", az), &ec2.RouteTableArgs{VpcId: vpc.ID(), Routes: routes, Tags: tags(childName(name, "private", az))}, child...)
					if err != nil {
						return nil, err
					}
					privateRT = r.ID()
					routeTableIDs = append(routeTableIDs, r.ID())
				}
				rt = privateRT
			}
			if _, err := ec2.NewRouteTableAssociation(ctx, childName(name, string(tier), az), &ec2.RouteTableAssociationArgs{
				SubnetId:     n.subnets[tier][i].ID(),
				RouteTableId: rt,
			}, child...); err != nil {
				return nil, err
			}
		}
	}

	// The S3 gateway endpoint is free, keeps S3 traffic (packages, artifacts, user files) off
	// NAT, and gives egress rules a prefix list to name instead of 0.0.0.0/0.
	gateway := func(service string) (*ec2.VpcEndpoint, error) {
		return ec2.NewVpcEndpoint(ctx, childName(name, service), &ec2.VpcEndpointArgs{
			VpcId:           vpc.ID(),
			ServiceName:     pulumi.Sprintf("com.amazonaws.%s.%s", a.Region, service),
			VpcEndpointType: pulumi.String("Gateway"),
			RouteTableIds:   routeTableIDs,
			Tags:            tags(childName(name, service)),
		}, child...)
	}
	s3ep, err := gateway("s3")
	if err != nil {
		return nil, err
	}
	n.S3PrefixListID = s3ep.PrefixListId
	if a.DynamoDB {
		ddb, err := gateway("dynamodb")
		if err != nil {
			return nil, err
		}
		n.DynamoDBPrefixListID = ddb.PrefixListId
	}

	if err := n.interfaceEndpoints(ctx, a, vpc, child); err != nil {
		return nil, err
	}
	if err := n.flowLogs(ctx, a, vpc, child); err != nil {
		return nil, err
	}

	return n, ctx.RegisterResourceOutputs(n, pulumi.Map{"vpcId": vpc.ID()})
}

func (a *NetworkArgs) withDefaults(name string) (*NetworkArgs, netip.Prefix, error) {
	if a == nil {
		return nil, netip.Prefix{}, argError("network", name, "args", nil, "pass NetworkArgs")
	}
	out := *a
	vpcCidr, err := netip.ParsePrefix(out.CidrBlock)
	if err != nil || vpcCidr.Bits() != 16 {
		return nil, netip.Prefix{}, argError("network", name, "CidrBlock", out.CidrBlock, "use an IPv4 /16 such as 10.0.0.0/16")
	}
	if n := len(out.AvailabilityZones); n < 1 || n > MaxPlannedAZs {
		return nil, netip.Prefix{}, argError("network", name, "AvailabilityZones", out.AvailabilityZones, fmt.Sprintf("give 1 to %d AZ names", MaxPlannedAZs))
	}
	if out.Region == "" {
		return nil, netip.Prefix{}, argError("network", name, "Region", `""`, "give the AWS region")
	}
	if len(out.Tiers) == 0 {
		out.Tiers = []Tier{TierPublic}
	}
	if !slices.Contains(out.Tiers, TierPublic) {
		return nil, netip.Prefix{}, argError("network", name, "Tiers", out.Tiers, "include public: the internet gateway, NAT and load balancers live there")
	}
	// Tiers are laid out in plan order whatever order the caller gives.
	var ordered []Tier
	for _, t := range AllTiers {
		if slices.Contains(out.Tiers, t) {
			ordered = append(ordered, t)
		}
	}
	for _, t := range out.Tiers {
		if !slices.Contains(AllTiers, t) {
			return nil, netip.Prefix{}, argError("network", name, "Tiers", t, fmt.Sprintf("use tiers of the plan: %v", AllTiers))
		}
	}
	out.Tiers = ordered
	switch out.Nat {
	case "":
		out.Nat = NatNone
	case NatNone, NatSingle, NatPerAZ:
	default:
		return nil, netip.Prefix{}, argError("network", name, "Nat", out.Nat, "use none, single or per-az")
	}
	if out.FlowLogRetentionDays == 0 {
		out.FlowLogRetentionDays = 30
	}
	if out.EndpointTier == "" {
		out.EndpointTier = TierPublic
	}
	if !slices.Contains(out.Tiers, out.EndpointTier) {
		return nil, netip.Prefix{}, argError("network", name, "EndpointTier", out.EndpointTier, "use a tier that exists in Tiers")
	}
	if out.EndpointAZs == 0 || out.EndpointAZs > len(out.AvailabilityZones) {
		out.EndpointAZs = len(out.AvailabilityZones)
	}
	return &out, vpcCidr, nil
}

func (n *Network) natGateways(ctx *pulumi.Context, a *NetworkArgs, child []pulumi.ResourceOption) ([]*ec2.NatGateway, error) {
	count := 0
	switch a.Nat {
	case NatSingle:
		count = 1
	case NatPerAZ:
		count = len(a.AvailabilityZones)
	}
	var nats []*ec2.NatGateway
	for i := 0; i < count; i++ {
		az := a.AvailabilityZones[i]
		eip, err := ec2.NewEip(ctx, childName(n.name, "nat", az), &ec2.EipArgs{Domain: pulumi.String("vpc"), Tags: tags(childName(n.name, "nat", az))}, child...)
		if err != nil {
			return nil, err
		}
		nat, err := ec2.NewNatGateway(ctx, childName(n.name, "nat", az), &ec2.NatGatewayArgs{
			AllocationId: eip.ID(),
			SubnetId:     n.subnets[TierPublic][i].ID(),
			Tags:         tags(childName(n.name, "nat", az)),
		}, child...)
		if err != nil {
			return nil, err
		}
		nats = append(nats, nat)
	}
	return nats, nil
}

func (n *Network) interfaceEndpoints(ctx *pulumi.Context, a *NetworkArgs, vpc *ec2.Vpc, child []pulumi.ResourceOption) error {
	if len(a.InterfaceEndpoints) == 0 {
		return nil
	}
	sg, err := newSecurityGroup(ctx, childName(n.name, "endpoints"), "AWS interface endpoints: HTTPS from inside the VPC", RoleEndpoints, vpc.ID(), child)
	if err != nil {
		return err
	}
	// Endpoints answer anything in the VPC on 443; they are AWS APIs, still authenticated by
	// IAM, so a CIDR source here does not widen what a caller may do.
	if err := sg.AllowFromCidr("https", a.CidrBlock, 443); err != nil {
		return err
	}
	n.Endpoints = sg
	subnets := n.SubnetIDs(a.EndpointTier)[:a.EndpointAZs]
	for _, svc := range a.InterfaceEndpoints {
		if _, err := ec2.NewVpcEndpoint(ctx, childName(n.name, svc), &ec2.VpcEndpointArgs{
			VpcId:             vpc.ID(),
			ServiceName:       pulumi.Sprintf("com.amazonaws.%s.%s", a.Region, svc),
			VpcEndpointType:   pulumi.String("Interface"),
			PrivateDnsEnabled: pulumi.Bool(true),
			SubnetIds:         subnets,
			SecurityGroupIds:  pulumi.StringArray{sg.ID},
			Tags:              tags(childName(n.name, svc)),
		}, child...); err != nil {
			return err
		}
	}
	return nil
}

func (n *Network) flowLogs(ctx *pulumi.Context, a *NetworkArgs, vpc *ec2.Vpc, child []pulumi.ResourceOption) error {
	group, err := cloudwatch.NewLogGroup(ctx, childName(n.name, "flow-logs"), &cloudwatch.LogGroupArgs{
		NamePrefix:      pulumi.Sprintf("/scaling-aws/%s/flow-logs-", n.name),
		RetentionInDays: pulumi.Int(a.FlowLogRetentionDays),
		Tags:            tags(childName(n.name, "flow-logs")),
	}, child...)
	if err != nil {
		return err
	}
	role, err := iam.NewRole(ctx, childName(n.name, "flow-logs"), &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(assumeRolePolicy("vpc-flow-logs.amazonaws.com")),
		Description:      pulumi.String("VPC flow logs delivery to CloudWatch Logs"),
		Tags:             tags(childName(n.name, "flow-logs")),
	}, child...)
	if err != nil {
		return err
	}
	if _, err := iam.NewRolePolicy(ctx, childName(n.name, "flow-logs"), &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: policyDocument(statement{
			Actions:   []string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"},
			Resources: pulumi.StringArray{pulumi.Sprintf("%s:*", group.Arn)},
		}),
	}, child...); err != nil {
		return err
	}
	_, err = ec2.NewFlowLog(ctx, childName(n.name, "flow-logs"), &ec2.FlowLogArgs{
		VpcId:              vpc.ID(),
		TrafficType:        pulumi.String("ALL"),
		LogDestinationType: pulumi.String("cloud-watch-logs"),
		LogDestination:     group.Arn,
		IamRoleArn:         role.Arn,
		Tags:               tags(childName(n.name, "flow-logs")),
	}, child...)
	return err
}

// SubnetIDs returns the ids of a tier's subnets in AZ order (empty if the tier is absent).
func (n *Network) SubnetIDs(tier Tier) pulumi.StringArray {
	var ids pulumi.StringArray
	for _, s := range n.subnets[tier] {
		ids = append(ids, s.ID())
	}
	return ids
}

// HasTier reports whether the tier has subnets.
func (n *Network) HasTier(tier Tier) bool { return len(n.subnets[tier]) > 0 }

// NewSecurityGroup creates a closed security group in this network, named name (callers pass
// a child name of their own component) and parented by opts.
func (n *Network) NewSecurityGroup(ctx *pulumi.Context, name, description string, role GroupRole, opts []pulumi.ResourceOption) (*SecurityGroup, error) {
	return newSecurityGroup(ctx, name, description, role, n.VpcID, opts)
}
