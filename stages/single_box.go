package stages

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/scaling-aws/scaling-aws/components"
	"github.com/scaling-aws/scaling-aws/config"
)

// singleBox is stage 0, "1-2 users": one web server with MySQL on the same box, an Elastic
// IP, a DNS record when a domain is given, SSH only from allow-listed addresses, no outbound
// connections but to S3 (packages and the app) and CloudWatch (metrics and logs), and basic
// monitoring with auto-recovery.
//
// The seed: "With only 1-2 users, you only need a basic setup."
func singleBox(b *builder) error {
	net, alarms, rel, err := b.foundation([]components.Tier{components.TierPublic}, boxEndpoints, b.cfg.Box.InstanceType)
	if err != nil {
		return err
	}
	_, err = b.box(net, alarms, rel, nil, nil)
	return err
}

// boxEndpoints are the AWS services the box reaches privately: CloudWatch metrics (memory and
// disk, from the CloudWatch agent) and CloudWatch Logs (the app's logs).
var boxEndpoints = []string{"monitoring", "logs"}

// box creates the single box; db moves its database off the box (users+), env adds app
// settings.
func (b *builder) box(net *components.Network, alarms *components.Alarms, rel *components.AppRelease, db *components.BoxDatabase, env map[string]pulumi.StringInput) (*components.Box, error) {
	image, err := b.image(b.cfg.Box.InstanceType)
	if err != nil {
		return nil, err
	}
	box, err := components.NewBox(b.ctx, nameBox, &components.BoxArgs{
		Network:          net,
		InstanceType:     b.cfg.Box.InstanceType,
		ImageID:          image,
		Release:          rel,
		Region:           b.cfg.Region,
		AdminCidrs:       b.cfg.AdminCidrs,
		DataVolumeGb:     b.cfg.Box.DataVolumeGb,
		Database:         db,
		Env:              env,
		Domain:           b.cfg.Domain,
		HostedZoneID:     b.cfg.HostedZoneID,
		AlarmTopicArn:    alarms.TopicArn,
		LogRetentionDays: b.cfg.LogRetentionDays,
		Protect:          b.cfg.Protect(),
		Key:              b.dataKey(),
		// A week of daily restore points in dev, a month in prod (docs/runbook-restore-box.md).
		SnapshotRetentionCount: pickInt(b.cfg.Environment == config.Prod, 30, 7),
	})
	if err != nil {
		return nil, err
	}
	b.outputs["url"] = box.URL
	b.outputs["boxPublicIp"] = box.PublicIP
	b.outputs["boxInstanceId"] = box.InstanceID
	return box, nil
}

// pickInt returns a when cond holds, else b.
func pickInt(cond bool, a, b int) int {
	if cond {
		return a
	}
	return b
}
