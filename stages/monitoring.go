package stages

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/scaling-aws/scaling-aws/components"
)

// Logical names of users++++'s monitoring (kept here rather than in builder.go's block).
const (
	nameSiteCheck = "site"
	nameDashboard = "dashboard"
	nameSentryDSN = "sentry-dsn"
	// pageTopic and pageTopicEdge suffix the alarm component's page topics: alarms-page in
	// the stack's region, alarms-page-us-east-1 beside Route 53's metrics for a stack
	// elsewhere.
	pageTopic     = "page"
	pageTopicEdge = "page-us-east-1"
)

func init() {
	usersPlus4Steps = append(usersPlus4Steps, monitorUsersPlus4)
	usersPlus4Env = append(usersPlus4Env, sentryEnv)
}

// monitoringState is what users++++'s monitoring keeps between its env function, its step
// and the summary that runs after every step.
type monitoringState struct {
	// sentry is the Sentry DSN's secret (nil without sentryDsn).
	sentry *components.ConfigSecret
	// page is the page topic in the stack's region.
	page pulumi.StringOutput
	// site is the external check.
	site *components.SiteCheck
}

// monitorUsersPlus4 adds users++++'s alarms over the users+++ composition:
//   - aggregate level: both load balancers (5XX of the balancer and of its targets, p99
//     response time, rejected connections) and the three target groups (unhealthy hosts);
//     the database's and the cache's alarms are theirs since users+ and users+++;
//   - host level: memory, swap and disk of every tier from the CloudWatch agent;
//   - the site from outside: a Route 53 health check of the public URL, its alarm in
//     us-east-1 (docs/decisions.md, "the external check");
//   - the page topic (e-mail and alertEndpoint), and the read grant of the Sentry secret.
//
// The public side pages (users see it); the internal side locates the cause and waits.
func monitorUsersPlus4(b *builder, p *tierParts) error {
	topic := p.alarms.TopicArn
	for _, err := range []error{
		p.public.Watch(topic, true),
		p.internal.Watch(topic, false),
		p.webTarget.Watch(topic, true),
		p.readTarget.Watch(topic, false),
		p.writeTarget.Watch(topic, false),
		components.WatchHosts(b.ctx, nameWeb, p.web, topic),
		components.WatchHosts(b.ctx, nameReadAPI, p.read, topic),
		components.WatchHosts(b.ctx, nameWriteAPI, p.write, topic),
	} {
		if err != nil {
			return err
		}
	}
	endpoint := b.alertEndpoint()
	page, err := p.alarms.Page(components.PageArgs{Name: pageTopic, Key: b.key, Endpoint: endpoint})
	if err != nil {
		return err
	}
	b.mon.page = page
	b.outputs["pageTopicArn"] = page

	// Route 53 publishes health check metrics in us-east-1 only: a stack there alarms on its
	// own topic (and the composite page alarm watches the check); elsewhere the alarm and a
	// page topic of its own live in us-east-1, beyond the composite's reach (composites see
	// one region), so the check pages directly.
	siteTopic := topic
	if p.certs.usEast1 != nil {
		key, err := b.usEast1Key(p.certs)
		if err != nil {
			return err
		}
		if siteTopic, err = p.alarms.Page(components.PageArgs{Name: pageTopicEdge, Key: key, Endpoint: endpoint, Provider: p.certs.usEast1}); err != nil {
			return err
		}
		b.outputs["pageTopicUsEast1Arn"] = siteTopic
	}
	// Without a domain users reach CloudFront's own name, which serves HTTPS with
	// CloudFront's certificate.
	domain := p.cdn.DomainName
	if b.cfg.Domain != "" {
		domain = pulumi.String(b.cfg.Domain).ToStringOutput()
	}
	site, err := components.NewSiteCheck(b.ctx, nameSiteCheck, &components.SiteCheckArgs{
		Domain: domain, AlarmTopicArn: siteTopic, Provider: p.certs.usEast1,
	})
	if err != nil {
		return err
	}
	b.mon.site = site

	if s := b.mon.sentry; s != nil {
		groups := []*components.ServerGroup{p.read, p.write}
		if p.worker != nil {
			groups = append(groups, p.worker) // a failed thumbnail job is reported too
		}
		for _, g := range groups {
			if err := s.GrantRead(g.Role); err != nil {
				return err
			}
		}
	}
	return nil
}

// summarizeUsersPlus4 runs after every users++++ step: the composite alarms over every alarm
// the stack made (whoever made it), and the dashboard with one graph per alarm, drawn from
// the alarm's own arguments, plus the traffic of every tier.
func summarizeUsersPlus4(b *builder, p *tierParts) error {
	s, err := p.alarms.Summarize(b.mon.page)
	if err != nil {
		return err
	}
	sections := []components.DashboardSection{
		{Title: "The site from outside (Route 53 checkers, CloudFront)", Owners: []pulumi.Resource{b.mon.site}, Signals: []components.Signal{
			{Title: "time to first byte from the checkers (ms)", Namespace: "AWS/Route53", Metric: "TimeToFirstByte",
				Dimensions: pulumi.StringMap{"HealthCheckId": b.mon.site.HealthCheckID}, Statistic: "Average", PeriodSeconds: 60},
			{Title: "CloudFront requests", Namespace: "AWS/CloudFront", Metric: "Requests",
				Dimensions: pulumi.StringMap{"DistributionId": p.cdn.ID, "Region": pulumi.String("Global")}, Statistic: "Sum", PeriodSeconds: 60},
			{Title: "CloudFront 5xx error rate (%)", Namespace: "AWS/CloudFront", Metric: "5xxErrorRate",
				Dimensions: pulumi.StringMap{"DistributionId": p.cdn.ID, "Region": pulumi.String("Global")}, Statistic: "Average", PeriodSeconds: 60},
		}},
		lbSection("Public load balancer", p.public),
		tierSection("Web servers (nginx)", p.web, false),
		lbSection("App load balancer", p.internal),
		tierSection("Read API servers", p.read, true),
		tierSection("Write API servers", p.write, true),
		{Title: "MySQL (RDS)", Owners: []pulumi.Resource{p.db}},
	}
	if c := p.data.cache; c != nil {
		sections = append(sections, components.DashboardSection{Title: "Cache (ElastiCache)", Owners: []pulumi.Resource{c}})
	}
	d, err := components.NewDashboard(b.ctx, nameDashboard, &components.DashboardArgs{
		Alarms: p.alarms, Region: b.cfg.Region, Sections: sections,
		Status: []pulumi.StringInput{s.PageNow.Arn, s.LookTomorrow.Arn},
	})
	if err != nil {
		return err
	}
	b.outputs["dashboardName"] = d.DashboardName
	b.outputs["pageNowAlarm"] = pulumi.String(s.PageNowName)
	return nil
}

// lbSection is a load balancer's row: its alarms and its traffic.
func lbSection(title string, l *components.LoadBalancer) components.DashboardSection {
	return components.DashboardSection{Title: title, Owners: []pulumi.Resource{l}, Signals: []components.Signal{
		{Title: "requests", Namespace: "AWS/ApplicationELB", Metric: "RequestCount",
			Dimensions: pulumi.StringMap{"LoadBalancer": l.ArnSuffix}, Statistic: "Sum", PeriodSeconds: 60},
	}}
}

// tierSection is a server tier's row: its alarms (CPU, memory, swap, disk), the servers in
// service and, on the API tiers, the requests in flight (the app's StatsD gauge, contract 3).
func tierSection(title string, g *components.ServerGroup, api bool) components.DashboardSection {
	dims := pulumi.StringMap{"AutoScalingGroupName": g.GroupName}
	s := components.DashboardSection{Title: title, Owners: []pulumi.Resource{g}, Signals: []components.Signal{
		{Title: "servers in service", Namespace: "AWS/AutoScaling", Metric: "GroupInServiceInstances",
			Dimensions: dims, Statistic: "Average", PeriodSeconds: 60},
	}}
	if api {
		s.Signals = append(s.Signals, components.Signal{Title: "requests in flight per server", Namespace: components.HostMetricsNamespace,
			Metric: "app_inflight_requests", Dimensions: dims, Statistic: "Average", PeriodSeconds: 60})
	}
	return s
}

// alertEndpoint is the incident endpoint as a secret input, or nil without one.
func (b *builder) alertEndpoint() pulumi.StringInput {
	if b.cfg.AlertEndpoint == "" {
		return nil
	}
	return pulumi.ToSecret(pulumi.String(b.cfg.AlertEndpoint)).(pulumi.StringOutput)
}

// usEast1Key is a key in us-east-1 for the page topic there: the edge key when the stack has
// one (prod), else one created now under the same name (a dev stack outside us-east-1: an
// alarm topic needs a customer-managed key in every environment, rule MON-4).
func (b *builder) usEast1Key(certs *stageCerts) (*components.Key, error) {
	if certs.usEast1 == nil {
		return b.key, nil
	}
	if b.edge != nil {
		return b.edge, nil
	}
	account, err := b.accountID()
	if err != nil {
		return nil, err
	}
	k, err := components.NewKey(b.ctx, nameKey+"-edge", &components.KeyArgs{
		AccountID: account, Region: "us-east-1", Protect: b.cfg.Protect(),
	}, pulumi.Provider(certs.usEast1))
	b.edge = k
	return k, err
}

// sentryEnv is the API servers' error reporting (contract 4): with sentryDsn set, the DSN's
// secret (created on the first call) and the stack's environment; without it, nothing, and
// the app reports to no Sentry.
func sentryEnv(b *builder, role string) (map[string]pulumi.StringInput, error) {
	if b.cfg.SentryDSN == "" {
		return nil, nil
	}
	if b.mon.sentry == nil {
		s, err := components.NewConfigSecret(b.ctx, nameSentryDSN, &components.ConfigSecretArgs{
			Value:       pulumi.ToSecret(pulumi.String(b.cfg.SentryDSN)).(pulumi.StringOutput),
			Description: fmt.Sprintf("%s %s: the Sentry DSN the app servers report errors to", b.ctx.Project(), b.ctx.Stack()),
			Key:         b.dataKey(),
		})
		if err != nil {
			return nil, err
		}
		b.mon.sentry = s
	}
	return map[string]pulumi.StringInput{
		"SENTRY_DSN_SECRET_ARN": b.mon.sentry.Arn,
		"SENTRY_ENVIRONMENT":    pulumi.String(string(b.cfg.Environment)),
	}, nil
}
