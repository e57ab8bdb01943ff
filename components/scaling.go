package components

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Scaling is what scales a ServerGroup between MinSize and MaxSize: target-tracking
// policies on load, step scaling on latency and a business-hours schedule. Every trigger is
// off at its zero value; at least one target-tracking trigger is required, because only
// target tracking scales a group back in.
//
// Several target-tracking policies on one group act together as AWS documents for multiple
// dynamic scaling policies: the group scales out when any policy asks for more servers (to
// the largest capacity any asks for) and scales in only when every policy agrees, so a group
// is sized for its most loaded dimension ("Multiple dynamic scaling policies", EC2 Auto
// Scaling User Guide; cited from that page as known, the offline corpus here did not hold it).
type Scaling struct {
	// CPUTargetPercent tracks the group's average CPU (predefined ASGAverageCPUUtilization).
	CPUTargetPercent float64
	// RequestsPerTargetPerMinute tracks the load balancer's requests per server per minute
	// (predefined ALBRequestCountPerTarget) on the group's first target group; its resource
	// label is app/<lb>/<id>/targetgroup/<tg>/<id>, the two ARN suffixes joined.
	RequestsPerTargetPerMinute float64
	// NetworkOutBytesPerMinute tracks the average bytes a server sends per minute
	// (predefined ASGAverageNetworkOut; per minute because the launch template turns on
	// detailed monitoring).
	NetworkOutBytesPerMinute float64
	// InflightRequests tracks the app's requests in flight per server: the CloudWatch
	// agent's StatsD gauge CWAgent/app_inflight_requests by AutoScalingGroupName, statistic
	// Average (docs/app.md). It grows with the arrival rate times the response time
	// (Little's law) and halves when the servers double, as AWS asks of a target-tracking
	// metric; it rises before CPU for an app that mostly waits on MySQL and Redis.
	InflightRequests float64
	// LatencyP99Seconds, when set, adds servers when the first target group's p99
	// TargetResponseTime stays above it for 3 minutes: step scaling on a CloudWatch alarm,
	// one server up to twice the threshold, two beyond. Latency is not a target-tracking
	// metric: it does not change in proportion to the group's size (it stays flat until the
	// servers saturate, then climbs steeply, and a slow database makes it climb whatever the
	// size), so target tracking would oscillate on it. This policy only scales out; the
	// target-tracking triggers scale back in.
	LatencyP99Seconds float64
	// Schedule, when set, raises the group's floor during business hours.
	Schedule *ScalingSchedule
}

// ScalingSchedule raises a group's floor (its minimum size) for business hours: at Start
// the minimum becomes BusinessHoursMinSize and at End it goes back to the group's MinSize.
// The actions set only the minimum: when a new minimum exceeds the desired capacity, EC2
// Auto Scaling raises the desired capacity to it (UpdateAutoScalingGroup), and lowering the
// minimum removes no server (the load policies scale in as traffic falls). The maximum and
// the desired capacity are left alone (-1: the provider's default is 0, which would empty
// the group).
type ScalingSchedule struct {
	// TimeZone is the IANA time zone the recurrences are read in (daylight saving time
	// included). Required: without one, AWS reads them in UTC and business hours drift by an
	// hour twice a year.
	TimeZone string
	// Start and End are the window's cron recurrences (minute hour * * days). Required.
	Start, End string
	// BusinessHoursMinSize is the floor from Start to End; above MinSize, at most MaxSize.
	BusinessHoursMinSize int
}

// scalingArgError checks a.Scaling against the group's size and target groups.
func (a *ServerGroupArgs) scalingArgError(name string) error {
	const c = "server group"
	s := a.Scaling
	if a.CPUTargetPercent != 0 {
		return argError(c, name, "CPUTargetPercent", a.CPUTargetPercent, "with Scaling, set the CPU target in Scaling.CPUTargetPercent")
	}
	if a.MaxSize <= a.MinSize {
		return argError(c, name, "MaxSize", a.MaxSize, fmt.Sprintf("a group with Scaling scales between MinSize and MaxSize: use a MaxSize above MinSize (%d)", a.MinSize))
	}
	for field, v := range map[string]float64{
		"CPUTargetPercent": s.CPUTargetPercent, "RequestsPerTargetPerMinute": s.RequestsPerTargetPerMinute,
		"NetworkOutBytesPerMinute": s.NetworkOutBytesPerMinute, "InflightRequests": s.InflightRequests, "LatencyP99Seconds": s.LatencyP99Seconds,
	} {
		if v < 0 {
			return argError(c, name, "Scaling."+field, v, "use a positive target, or 0 to turn it off")
		}
	}
	if s.CPUTargetPercent >= 100 {
		return argError(c, name, "Scaling.CPUTargetPercent", s.CPUTargetPercent, "use a percentage below 100")
	}
	if s.CPUTargetPercent == 0 && s.RequestsPerTargetPerMinute == 0 && s.NetworkOutBytesPerMinute == 0 && s.InflightRequests == 0 {
		return argError(c, name, "Scaling", "no target-tracking trigger", "set at least one of CPUTargetPercent, RequestsPerTargetPerMinute, NetworkOutBytesPerMinute or InflightRequests: only target tracking scales the group back in")
	}
	if (s.RequestsPerTargetPerMinute > 0 || s.LatencyP99Seconds > 0) && len(a.TargetGroups) == 0 {
		return argError(c, name, "Scaling", "requests or latency", "request and latency triggers read the group's target group: pass TargetGroups")
	}
	if sch := s.Schedule; sch != nil {
		switch {
		case sch.TimeZone == "":
			return argError(c, name, "Scaling.Schedule.TimeZone", `""`, "name an IANA time zone: without one AWS reads the recurrences in UTC")
		case sch.Start == "" || sch.End == "":
			return argError(c, name, "Scaling.Schedule", "no recurrence", "give Start and End as cron recurrences (minute hour * * days)")
		case sch.BusinessHoursMinSize <= a.MinSize || sch.BusinessHoursMinSize > a.MaxSize:
			return argError(c, name, "Scaling.Schedule.BusinessHoursMinSize", sch.BusinessHoursMinSize, fmt.Sprintf("use a floor above MinSize (%d) and at most MaxSize (%d)", a.MinSize, a.MaxSize))
		}
	}
	return nil
}

// ignoredSizes are the group's inputs that a deploy must leave as autoscaling set them:
// the desired capacity once the group can scale (the policies choose it), and the minimum
// when a schedule moves it (else a `pulumi up --refresh` in business hours would put the
// off-hours floor back). Pulumi then keeps the live values; the config's sizes apply when the
// group is created, and the schedule's through its actions.
func (a *ServerGroupArgs) ignoredSizes() []string {
	var out []string
	if a.MaxSize > a.MinSize {
		out = append(out, "desiredCapacity")
	}
	if a.Scaling != nil && a.Scaling.Schedule != nil {
		out = append(out, "minSize")
	}
	return out
}

// addScaling creates the group's scaling policies, the latency alarm and the scheduled
// actions. Without Scaling it keeps the one CPU policy every group has had since users++.
func addScaling(ctx *pulumi.Context, name string, a *ServerGroupArgs, asg *autoscaling.Group, child []pulumi.ResourceOption) error {
	tracking := func(suffix string, target float64, metric *autoscaling.PolicyTargetTrackingConfigurationArgs) error {
		if target == 0 {
			return nil
		}
		metric.TargetValue = pulumi.Float64(target)
		// No estimatedInstanceWarmup: the group's DefaultInstanceWarmup (the boot budget)
		// applies to every policy, as AWS recommends over per-policy warm-ups.
		_, err := autoscaling.NewPolicy(ctx, childName(name, suffix), &autoscaling.PolicyArgs{
			AutoscalingGroupName:        asg.Name,
			PolicyType:                  pulumi.String("TargetTrackingScaling"),
			TargetTrackingConfiguration: metric,
		}, child...)
		return err
	}
	predefined := func(typ string, label pulumi.StringInput) *autoscaling.PolicyTargetTrackingConfigurationArgs {
		return &autoscaling.PolicyTargetTrackingConfigurationArgs{
			PredefinedMetricSpecification: &autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs{
				PredefinedMetricType: pulumi.String(typ),
				ResourceLabel:        label,
			},
		}
	}
	s := a.Scaling
	if s == nil {
		if a.Worker {
			return nil // the queue scales a worker group (Queue.ScaleWorkers)
		}
		return tracking("cpu", a.CPUTargetPercent, predefined("ASGAverageCPUUtilization", nil))
	}
	var tg *TargetGroup
	if len(a.TargetGroups) > 0 {
		tg = a.TargetGroups[0]
	}
	if err := tracking("cpu", s.CPUTargetPercent, predefined("ASGAverageCPUUtilization", nil)); err != nil {
		return err
	}
	if s.RequestsPerTargetPerMinute > 0 {
		label := pulumi.Sprintf("%s/%s", tg.LoadBalancer.ArnSuffix, tg.ArnSuffix)
		if err := tracking("requests", s.RequestsPerTargetPerMinute, predefined("ALBRequestCountPerTarget", label)); err != nil {
			return err
		}
	}
	if err := tracking("network-out", s.NetworkOutBytesPerMinute, predefined("ASGAverageNetworkOut", nil)); err != nil {
		return err
	}
	if err := tracking("inflight", s.InflightRequests, &autoscaling.PolicyTargetTrackingConfigurationArgs{
		CustomizedMetricSpecification: &autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationArgs{
			Namespace:  pulumi.String(InflightMetricNamespace),
			MetricName: pulumi.String(InflightMetricName),
			Statistic:  pulumi.String("Average"),
			MetricDimensions: autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricDimensionArray{
				&autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricDimensionArgs{
					Name: pulumi.String("AutoScalingGroupName"), Value: asg.Name,
				},
			},
		},
	}); err != nil {
		return err
	}
	if s.LatencyP99Seconds > 0 {
		if err := latencyScaling(ctx, name, s.LatencyP99Seconds, tg, asg, child); err != nil {
			return err
		}
	}
	if sch := s.Schedule; sch != nil {
		for _, w := range []struct {
			suffix, recurrence string
			min                int
		}{{"business-hours-start", sch.Start, sch.BusinessHoursMinSize}, {"business-hours-end", sch.End, a.MinSize}} {
			if _, err := autoscaling.NewSchedule(ctx, childName(name, w.suffix), &autoscaling.ScheduleArgs{
				AutoscalingGroupName: asg.Name,
				ScheduledActionName:  pulumi.String(w.suffix),
				Recurrence:           pulumi.String(w.recurrence),
				TimeZone:             pulumi.String(sch.TimeZone),
				MinSize:              pulumi.Int(w.min),
				// -1 leaves them unchanged; the provider's default, 0, would set them to 0.
				MaxSize:         pulumi.Int(-1),
				DesiredCapacity: pulumi.Int(-1),
			}, child...); err != nil {
				return err
			}
		}
	}
	return nil
}

// The app's custom scaling metric: the CloudWatch agent publishes the app's StatsD gauge
// app_inflight_requests under CWAgent with the AutoScalingGroupName dimension.
const (
	InflightMetricNamespace = "CWAgent"
	InflightMetricName      = "app_inflight_requests"
)

// Latency step scaling: the alarm's shape. Three 1-minute periods in a row ride out a
// single slow minute; p99 is the users' tail (an average hides a slow tenth of the users),
// and with few requests (at night) CloudWatch keeps the alarm's state instead of judging a
// percentile from a handful of samples (evaluateLowSampleCountPercentiles "ignore").
const (
	latencyPeriodSeconds = 60
	latencyPeriods       = 3
)

// latencyScaling adds a step-scaling policy and the alarm that runs it: p99
// TargetResponseTime of tg above threshold seconds adds one server, above twice the
// threshold two. Its only action is the policy: a scale-out is not a page (the stack's
// alarms on 5xx and unhealthy hosts page).
func latencyScaling(ctx *pulumi.Context, name string, threshold float64, tg *TargetGroup, asg *autoscaling.Group, child []pulumi.ResourceOption) error {
	bound := strconv.FormatFloat(threshold, 'f', -1, 64)
	policy, err := autoscaling.NewPolicy(ctx, childName(name, "latency"), &autoscaling.PolicyArgs{
		AutoscalingGroupName: asg.Name,
		PolicyType:           pulumi.String("StepScaling"),
		AdjustmentType:       pulumi.String("ChangeInCapacity"),
		// Steps are relative to the alarm's threshold.
		StepAdjustments: autoscaling.PolicyStepAdjustmentArray{
			&autoscaling.PolicyStepAdjustmentArgs{MetricIntervalLowerBound: pulumi.String("0"), MetricIntervalUpperBound: pulumi.String(bound), ScalingAdjustment: pulumi.Int(1)},
			&autoscaling.PolicyStepAdjustmentArgs{MetricIntervalLowerBound: pulumi.String(bound), ScalingAdjustment: pulumi.Int(2)},
		},
	}, child...)
	if err != nil {
		return err
	}
	alarm := childName(name, "latency-high")
	_, err = cloudwatch.NewMetricAlarm(ctx, alarm, &cloudwatch.MetricAlarmArgs{
		Name:                              pulumi.String(AlarmName(ctx, alarm)), // composite rules name alarms
		AlarmDescription:                  pulumi.Sprintf("%s servers: p99 response time above %s s for %d minutes: add servers", name, bound, latencyPeriods),
		Namespace:                         pulumi.String("AWS/ApplicationELB"),
		MetricName:                        pulumi.String("TargetResponseTime"),
		Dimensions:                        pulumi.StringMap{"LoadBalancer": tg.LoadBalancer.ArnSuffix, "TargetGroup": tg.ArnSuffix},
		ExtendedStatistic:                 pulumi.String("p99"),
		EvaluateLowSampleCountPercentiles: pulumi.String("ignore"),
		ComparisonOperator:                pulumi.String("GreaterThanThreshold"),
		Threshold:                         pulumi.Float64(threshold),
		Period:                            pulumi.Int(latencyPeriodSeconds),
		EvaluationPeriods:                 pulumi.Int(latencyPeriods),
		DatapointsToAlarm:                 pulumi.Int(latencyPeriods),
		// No requests, no latency: an idle target group is not slow.
		TreatMissingData: pulumi.String("notBreaching"),
		AlarmActions:     pulumi.Array{policy.Arn},
		Tags:             tags(alarm),
	}, child...)
	return err
}
