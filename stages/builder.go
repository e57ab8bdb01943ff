package stages

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
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

// arch returns the Go architecture of an EC2 instance type: Graviton families (a "g" after
// the generation digit, such as t4g, m7g, c7gn) are arm64, the rest amd64.
func arch(instanceType string) string {
	family := strings.SplitN(instanceType, ".", 2)[0]
	i := strings.IndexAny(family, "0123456789")
	if i >= 0 && strings.HasPrefix(family[i+1:], "g") {
		return "arm64"
	}
	return "amd64"
}

// image looks up the current Amazon Linux 2023 image for the instance type's architecture
// from AWS's public SSM parameter, rather than hard-coding an AMI id per region.
func (b *builder) image(instanceType string) (pulumi.StringInput, error) {
	a := map[string]string{"amd64": "x86_64", "arm64": "arm64"}[arch(instanceType)]
	p, err := ssm.LookupParameter(b.ctx, &ssm.LookupParameterArgs{
		Name: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-" + a,
	})
	if err != nil {
		return nil, fmt.Errorf("look up the Amazon Linux 2023 image: %w", err)
	}
	return pulumi.String(p.Value), nil
}

// alarms creates the stack's alarm topic.
func (b *builder) alarms() (*components.Alarms, error) {
	a, err := components.NewAlarms(b.ctx, nameAlarms, &components.AlarmsArgs{Email: b.cfg.AlarmEmail})
	if err != nil {
		return nil, err
	}
	b.outputs["alarmTopicArn"] = a.TopicArn
	return a, nil
}

// release uploads the app built for the instance type's architecture.
func (b *builder) release(instanceType string) (*components.AppRelease, error) {
	r, err := b.opts.Release(arch(instanceType))
	if err != nil {
		return nil, err
	}
	rel, err := components.NewAppRelease(b.ctx, nameRelease, &components.AppReleaseArgs{Version: r.Version, Arch: r.Arch, Binary: r.Asset})
	if err != nil {
		return nil, err
	}
	b.outputs["appVersion"] = pulumi.String(r.Version)
	return rel, nil
}
