package components

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// SiteCheckArgs configures a SiteCheck.
type SiteCheckArgs struct {
	// Domain is the public name users reach, checked over HTTPS with SNI: the site's domain,
	// or CloudFront's own name (d123.cloudfront.net) for a stack without one. Required.
	Domain pulumi.StringInput
	// Path is what the checkers request. Default: "/readyz", the app's readiness, which
	// crosses CloudFront, both load balancers, nginx and the read API to the database and
	// the cache: what a user's request needs (the load balancers poll /healthz instead, so
	// a database outage does not replace every server).
	Path string
	// AlarmTopicArn receives the alarm; it must be a topic in us-east-1 (Provider's region).
	// Required.
	AlarmTopicArn pulumi.StringInput
	// Provider is a provider for us-east-1 when the stack is elsewhere: Route 53 publishes
	// health check metrics only in us-east-1, so the alarm must live there (an alarm in
	// another region waits for data forever). Default: nil, the stack is in us-east-1.
	Provider pulumi.ProviderResource
}

// SiteCheck is the check of the site from outside the VPC: a Route 53 health check over
// HTTPS from Route 53's checkers in several regions every 30 seconds, measuring latency
// (connection, TLS handshake and time to first byte, graphed on the dashboard), and an alarm
// when Route 53 finds the site unhealthy (fewer than 18% of the checkers reach it) for two
// minutes. The alarm is a page: users cannot reach the site.
//
// AWS resources: route53.HealthCheck, cloudwatch.MetricAlarm (in us-east-1).
// Costs money: the health check (about 0.75 USD a month for a non-AWS-hosted endpoint, plus
// 1 USD each for HTTPS and latency measurement, list prices), the alarm.
type SiteCheck struct {
	pulumi.ResourceState

	// HealthCheckID is the health check's id (the HealthCheckId metric dimension).
	HealthCheckID pulumi.IDOutput
	// AlarmName is the alarm's CloudWatch name.
	AlarmName string
}

// NewSiteCheck creates a SiteCheck.
func NewSiteCheck(ctx *pulumi.Context, name string, args *SiteCheckArgs, opts ...pulumi.ResourceOption) (*SiteCheck, error) {
	if args == nil || args.Domain == nil {
		return nil, argError("site check", name, "Domain", nil, "pass the public name users reach")
	}
	if args.AlarmTopicArn == nil {
		return nil, argError("site check", name, "AlarmTopicArn", nil, "pass a topic in us-east-1: every alarm needs an action")
	}
	path := args.Path
	if path == "" {
		path = "/readyz"
	}
	if path[0] != '/' {
		return nil, argError("site check", name, "Path", path, "start the path with /")
	}
	s := &SiteCheck{}
	child, err := register(ctx, "monitoring:SiteCheck", name, s, opts)
	if err != nil {
		return nil, err
	}
	// Route 53 is global: the health check needs no particular region.
	hc, err := route53.NewHealthCheck(ctx, name, &route53.HealthCheckArgs{
		Type:         pulumi.String("HTTPS"),
		Fqdn:         args.Domain,
		Port:         pulumi.Int(443),
		ResourcePath: pulumi.String(path),
		EnableSni:    pulumi.Bool(true),
		// 30 s is the standard interval (10 s costs more); 3 failures in a row mark a
		// checker's view unhealthy, so a blip does not.
		RequestInterval:  pulumi.Int(30),
		FailureThreshold: pulumi.Int(3),
		// MeasureLatency can only be chosen at creation (Route 53 refuses to change it).
		MeasureLatency: pulumi.Bool(true),
		Tags:           tags(name),
	}, child...)
	if err != nil {
		return nil, err
	}
	s.HealthCheckID = hc.ID()
	alarmOpts := child
	if args.Provider != nil {
		alarmOpts = with(child, pulumi.Provider(args.Provider))
	}
	if err := newAlarm(ctx, name, args.AlarmTopicArn, Alarm{
		Name: "down", Description: name + ": Route 53's checkers cannot load the site (HTTPS " + path + ") for 2 minutes: users cannot reach it",
		Namespace: "AWS/Route53", Metric: "HealthCheckStatus", Dimensions: pulumi.StringMap{"HealthCheckId": hc.ID()},
		Statistic: "Minimum", Comparison: "LessThanThreshold", Threshold: 1,
		PeriodSeconds: 60, EvaluationPeriods: 2,
		// No status at all means Route 53 stopped reporting on the check: treat as down.
		MissingData: "breaching", Page: true,
	}, alarmOpts); err != nil {
		return nil, err
	}
	s.AlarmName = AlarmName(ctx, childName(name, "down"))
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{"healthCheckId": hc.ID()})
}
