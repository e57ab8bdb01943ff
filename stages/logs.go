package stages

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/scaling-aws/scaling-aws/components"
	"github.com/scaling-aws/scaling-aws/config"
)

// Logical names of users++++'s log and audit components (identity, like builder.go's).
const (
	nameTrail       = "trail"
	nameLogAnalysis = "log-analysis"
)

// AccountTrail names the exception a stack asks for with cloudTrail = false from users++++:
// it has no trail of its own (rule TRAIL-1), because a trail outside it (an organization
// trail, or another stack's in the same account) already records the account's management
// events, and a second copy is billed per event.
const AccountTrail = "ACCOUNT-TRAIL"

// trailName is the stack's CloudTrail trail name, or "" when the stack has no trail (before
// users++++, or with cloudTrail = false). The stack key's policy names the trail, so the key
// is created knowing it.
func (b *builder) trailName() string {
	if b.cfg.Stage < config.UsersPlus4 || !b.cfg.CloudTrail {
		return ""
	}
	return components.TrailName(b.ctx.Project(), b.ctx.Stack())
}

// analyseLogs is users++++'s log and audit step: a CloudTrail trail recording who did what in
// the account (unless cloudTrail = false), and the log analysis of every server tier: metric
// filters on the tier's log group, each alarmed on the stack's topic (app ERROR lines on the
// API tiers, 5xx, request time and nginx errors on the web tier), and the saved Logs Insights
// queries an on-call engineer runs first.
//
// The seed: "Monitoring and alerting [...] Logs" and "Error Reporting".
func analyseLogs(b *builder, p *tierParts) error {
	var trailGroup pulumi.StringInput
	if name := b.trailName(); name != "" {
		account, err := b.accountID()
		if err != nil {
			return err
		}
		trail, err := components.NewTrail(b.ctx, nameTrail, &components.TrailArgs{
			AccountID: account,
			Region:    b.cfg.Region,
			Name:      name,
			Key:       b.key, // the stack key exists in every environment, and its policy names this trail
			LogBucket: p.logs,
			BucketKey: b.dataKey(),
			// The CloudWatch Logs copy serves alarms and queries for as long as the servers'
			// logs are kept; the files in S3 are the record, kept at least a year.
			LogGroupKey:       b.dataKey(),
			LogRetentionDays:  b.cfg.LogRetentionDays,
			FileRetentionDays: max(365, b.cfg.LogRetentionDays),
			Protect:           b.cfg.Protect(),
		})
		if err != nil {
			return err
		}
		trailGroup = trail.LogGroupName
		b.outputs["trailArn"] = trail.Arn
		b.outputs["trailBucket"] = trail.BucketName
	}
	tiers := []components.LogTier{
		{Name: nameWeb, LogGroupName: p.web.LogGroupName, Nginx: true},
		{Name: nameReadAPI, LogGroupName: p.read.LogGroupName, App: true},
		{Name: nameWriteAPI, LogGroupName: p.write.LogGroupName, App: true},
	}
	if p.worker != nil {
		tiers = append(tiers, components.LogTier{Name: nameWorker, LogGroupName: p.worker.LogGroupName, App: true})
	}
	_, err := components.NewLogAnalysis(b.ctx, nameLogAnalysis, &components.LogAnalysisArgs{
		Tiers:             tiers,
		AlarmTopicArn:     p.alarms.TopicArn,
		TrailLogGroupName: trailGroup,
	})
	return err
}
