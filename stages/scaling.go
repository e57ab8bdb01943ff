package stages

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/scaling-aws/scaling-aws/components"
	"github.com/scaling-aws/scaling-aws/config"
)

// Autoscaling at users++++: every server group (web, read API, write API) is the users+++
// group under the same name, now scaling between its tier's min and max on the tier's
// triggers and the stack's business-hours schedule (config/scaling.go has the defaults and
// their reasons, docs/stages/users-plus-4.md how to tune them, docs/decisions.md why
// desired capacity and scheduled sizes belong to autoscaling).

// StatsDAddr is the CloudWatch agent's StatsD listener on every server (contract 3): the
// app sends its in-flight gauge there, which the agent publishes as
// CWAgent/app_inflight_requests, the API tiers' custom scaling metric.
const StatsDAddr = "127.0.0.1:8125"

// statsdEnv gives the API servers STATSD_ADDR, so the app publishes the metric its
// in-flight scaling policy tracks.
func statsdEnv(_ *builder, _ string) (map[string]pulumi.StringInput, error) {
	return map[string]pulumi.StringInput{"STATSD_ADDR": pulumi.String(StatsDAddr)}, nil
}

// megabitPerSecondInBytesPerMinute converts a config's Mbit/s into the bytes per minute
// ASGAverageNetworkOut counts (detailed monitoring: one datapoint a minute).
const megabitPerSecondInBytesPerMinute = 1e6 / 8 * 60

// tierScaling turns a tier's config into its server group's triggers; a tier with no
// business-hours floor has no schedule.
func tierScaling(t config.Tier, s config.Schedule) *components.Scaling {
	out := &components.Scaling{
		CPUTargetPercent:           float64(t.CPUTargetPercent),
		RequestsPerTargetPerMinute: float64(t.RequestsPerTargetPerMinute),
		NetworkOutBytesPerMinute:   float64(t.NetworkOutMbps) * megabitPerSecondInBytesPerMinute,
		InflightRequests:           float64(t.InflightRequestsTarget),
		LatencyP99Seconds:          float64(t.LatencyP99Ms) / 1000,
	}
	if t.BusinessHoursMin > 0 {
		up, down := s.Recurrences()
		out.Schedule = &components.ScalingSchedule{TimeZone: s.TimeZone, Start: up, End: down, BusinessHoursMinSize: t.BusinessHoursMin}
	}
	return out
}
