package stages

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/scaling-aws/scaling-aws/components"
	"github.com/scaling-aws/scaling-aws/config"
)

// Logical names of the components. They are identity: a stateful component keeps its name
// from the stage where it appears to the last stage, so moving up is an update. Renaming one
// needs pulumi.Aliases.
const (
	nameNetwork = "network"
	nameBox     = "box"
	nameRelease = "release"
	nameAlarms  = "alarms"
)

// builder holds what every stage composes from: the context, the config and the outputs.
// Its methods create each component once, under its fixed name.
type builder struct {
	ctx     *pulumi.Context
	cfg     *config.Config
	opts    Options
	outputs pulumi.Map
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
