package stages

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
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
		Network:      net,
		InstanceType: b.cfg.Box.InstanceType,
		ImageID:      image,
		Release:      rel,
		Region:       b.cfg.Region,
		AdminCidrs:   b.cfg.AdminCidrs,
		DataVolumeGb: b.cfg.Box.DataVolumeGb,
		Database:     db,
		Env:          env,
		// The stage, not the box, owns the domain's record (siteRecord), so users++ updates
		// the same record rather than creating a second one of the same name.
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
	if b.cfg.Domain != "" {
		if err := b.siteRecord(siteTarget{ip: box.PublicIP}); err != nil {
			return nil, err
		}
		b.outputs["url"] = pulumi.String("http://" + b.cfg.Domain)
	}
	return box, nil
}

// pickInt returns a when cond holds, else b.
func pickInt(cond bool, a, b int) int {
	if cond {
		return a
	}
	return b
}

// siteTarget is what the domain's A record points at: the box's Elastic IP (single box,
// users+) or an alias to CloudFront (users++ on).
type siteTarget struct {
	ip               pulumi.StringOutput
	aliasName, alias pulumi.StringOutput // alias target's DNS name and hosted zone
}

// siteRecord creates the domain's A record under one logical name (nameSiteDNS) on every
// stage, so moving to users++ is an update of that record (records -> alias), never a
// CREATE of a second record of the same name and type: Route 53 refuses that CREATE, and the
// old record would go only at the end of the update. The provider updates a record whose
// name and type are unchanged with one UPSERT (terraform-provider-aws resourceRecordUpdate),
// so the domain switches from the box to CloudFront in one atomic step.
//
// The aliases carry over the names the record had before: a child "box" of the Box
// component (stages 0-1), and "cdn-dns" at users++.
func (b *builder) siteRecord(t siteTarget) error {
	urn := func(typ, name string) pulumi.URN {
		return pulumi.URN(fmt.Sprintf("urn:pulumi:%s::%s::%s::%s", b.ctx.Stack(), b.ctx.Project(), typ, name))
	}
	args := &route53.RecordArgs{
		ZoneId: pulumi.String(b.cfg.HostedZoneID),
		Name:   pulumi.String(b.cfg.Domain),
		Type:   pulumi.String("A"),
	}
	if t.aliasName != (pulumi.StringOutput{}) {
		args.Aliases = route53.RecordAliasArray{&route53.RecordAliasArgs{
			Name: t.aliasName, ZoneId: t.alias, EvaluateTargetHealth: pulumi.Bool(false),
		}}
	} else {
		args.Ttl, args.Records = pulumi.Int(300), pulumi.StringArray{t.ip}
	}
	_, err := route53.NewRecord(b.ctx, nameSiteDNS, args, pulumi.Aliases([]pulumi.Alias{
		{URN: urn("scaling-aws:compute:Box$aws:route53/record:Record", nameBox)},
		{URN: urn("aws:route53/record:Record", nameCDN+"-dns")},
	}))
	return err
}

// nameSiteDNS is the logical name of the domain's A record on every stage.
const nameSiteDNS = "site-dns"
