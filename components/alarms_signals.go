package components

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Thresholds of the aggregate-level alarms. Counts are per minute: the load balancer
// publishes its error counts only for minutes that have some, so missing data is not a
// breach.
const (
	// lb5xxPerMinute is how many 5XX answers a minute, for 3 of 5 minutes, make an alarm:
	// a handful is a deploy or a restarting server, ten a minute for three minutes is users
	// seeing errors.
	lb5xxPerMinute = 10
	// lbP99Seconds is the p99 response time of the targets above which users feel the site
	// slow (the app answers cached reads in milliseconds; 1 s is the seed's "slow responses").
	lbP99Seconds = 1.0
)

// Watch creates the load balancer's alarms on topic: 5XX answers of the load balancer itself
// (no healthy target, a target's connection failing) and of its targets, the p99 of the
// targets' response time, and rejected connections (the load balancer at its connection
// limit). page marks the alarms that must wake someone (the public load balancer, whose
// errors users see; the internal one's locate the cause and wait for tomorrow).
// Alarms: <lb>-elb-5xx, <lb>-target-5xx, <lb>-p99, <lb>-rejected.
func (l *LoadBalancer) Watch(topic pulumi.StringInput, page bool) error {
	dims := pulumi.StringMap{"LoadBalancer": l.ArnSuffix}
	for _, al := range []Alarm{
		{Name: "elb-5xx", Description: l.name + ": the load balancer answered 5XX itself (no healthy target, or a target's connection failed) more than 10 times a minute for 3 of 5 minutes",
			Metric: "HTTPCode_ELB_5XX_Count", Statistic: "Sum", Comparison: "GreaterThanThreshold", Threshold: lb5xxPerMinute,
			PeriodSeconds: 60, EvaluationPeriods: 5, DatapointsToAlarm: 3, MissingData: "notBreaching", Page: page},
		{Name: "target-5xx", Description: l.name + ": its targets answered 5XX more than 10 times a minute for 3 of 5 minutes",
			Metric: "HTTPCode_Target_5XX_Count", Statistic: "Sum", Comparison: "GreaterThanThreshold", Threshold: lb5xxPerMinute,
			PeriodSeconds: 60, EvaluationPeriods: 5, DatapointsToAlarm: 3, MissingData: "notBreaching", Page: page},
		{Name: "p99", Description: l.name + ": p99 of the targets' response time above 1 s for 3 of 5 minutes: the slowest requests are slow; look at the tier's CPU, the database and the cache",
			Metric: "TargetResponseTime", ExtendedStatistic: "p99", Comparison: "GreaterThanThreshold", Threshold: lbP99Seconds,
			PeriodSeconds: 60, EvaluationPeriods: 5, DatapointsToAlarm: 3, MissingData: "notBreaching", Page: page},
		{Name: "rejected", Description: l.name + ": the load balancer rejected connections (it reached its connection limit) in 5 minutes",
			Metric: "RejectedConnectionCount", Statistic: "Sum", Comparison: "GreaterThanThreshold", Threshold: 0,
			PeriodSeconds: 300, EvaluationPeriods: 1, MissingData: "notBreaching"},
	} {
		al.Namespace, al.Dimensions = "AWS/ApplicationELB", dims
		if err := newAlarm(l.ctx, l.name, topic, al, l.child); err != nil {
			return err
		}
	}
	return nil
}

// Watch creates <lb>-<target>-unhealthy on topic: a server of the group failing its health
// checks for 10 minutes, longer than the Auto Scaling group needs to replace it (unhealthy
// after 45 s, a new server in service within about 5 minutes), so the alarm means the
// replacements fail too. The dimensions are the target group and its load balancer: AWS
// publishes UnHealthyHostCount only per TargetGroup and LoadBalancer (and per AZ), never per
// target group alone, where an alarm would wait for data forever. page marks the public
// target, whose loss users see.
func (t *TargetGroup) Watch(topic pulumi.StringInput, page bool) error {
	l := t.LoadBalancer
	return newAlarm(l.ctx, t.name, topic, Alarm{
		Name: "unhealthy", Description: t.name + ": a server failing its health checks for 10 minutes: its replacements fail too; read the tier's logs",
		Namespace: "AWS/ApplicationELB", Metric: "UnHealthyHostCount",
		Dimensions: pulumi.StringMap{"TargetGroup": t.ArnSuffix, "LoadBalancer": l.ArnSuffix},
		Statistic:  "Maximum", Comparison: "GreaterThanThreshold", Threshold: 0,
		PeriodSeconds: 300, EvaluationPeriods: 2, MissingData: "missing", Page: page,
	}, l.child)
}

// HostMetricsNamespace is where the CloudWatch agent on every server publishes (contract 2,
// the ops side): memory, swap and the root disk, aggregated per Auto Scaling group.
const HostMetricsNamespace = "CWAgent"

// WatchHosts creates the host-level alarms of a server group on topic, from the CloudWatch
// agent's per-group aggregates (the Maximum over the group's servers, so one full server
// alarms): memory above 90%, swap above 50% and the root disk above 85%, each for 15 minutes.
// Amazon Linux 2023 has no swap by default, so swap reports nothing and missing data is not
// a breach. Alarms: <name>-memory, <name>-swap, <name>-disk, children of g.
func WatchHosts(ctx *pulumi.Context, name string, g *ServerGroup, topic pulumi.StringInput) error {
	dims := pulumi.StringMap{"AutoScalingGroupName": g.GroupName}
	for _, al := range []Alarm{
		{Name: "memory", Description: name + " servers: memory above 90% for 15 minutes on the fullest server: the OOM killer is next; grow the instance type",
			Metric: "mem_used_percent", Threshold: 90, MissingData: "missing"},
		{Name: "swap", Description: name + " servers: swap above 50% for 15 minutes: the server pages instead of serving; grow the instance type",
			Metric: "swap_used_percent", Threshold: 50, MissingData: "notBreaching"},
		{Name: "disk", Description: name + " servers: root disk above 85% for 15 minutes on the fullest server: logs are not rotating or shipping; read the CloudWatch agent's log",
			Metric: "disk_used_percent", Threshold: 85, MissingData: "missing"},
	} {
		al.Namespace, al.Dimensions, al.Statistic, al.Comparison = HostMetricsNamespace, dims, "Maximum", "GreaterThanThreshold"
		al.PeriodSeconds, al.EvaluationPeriods = 300, 3
		if err := newAlarm(ctx, name, topic, al, []pulumi.ResourceOption{pulumi.Parent(g)}); err != nil {
			return err
		}
	}
	return nil
}
