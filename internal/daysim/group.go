package daysim

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/robfig/cron/v3"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// Type tokens read from the graph.
const (
	typeGroup    = "aws:autoscaling/group:Group"
	typePolicy   = "aws:autoscaling/policy:Policy"
	typeSchedule = "aws:autoscaling/schedule:Schedule"
	typeAlarm    = "aws:cloudwatch/metricAlarm:MetricAlarm"
)

// Metric is what a scaling policy tracks, in the policy's own unit.
type Metric string

// The metrics the model derives from the load (package doc, step 3).
const (
	// MetricCPU is ASGAverageCPUUtilization, percent.
	MetricCPU Metric = "cpu"
	// MetricRequests is ALBRequestCountPerTarget, requests per target per minute.
	MetricRequests Metric = "requests"
	// MetricNetworkOut is ASGAverageNetworkOut, bytes per instance per minute (detailed
	// monitoring).
	MetricNetworkOut Metric = "network-out"
	// MetricInflight is the app's CWAgent app_inflight_requests, requests in flight per
	// instance (Average).
	MetricInflight Metric = "inflight"
	// MetricLatencyP99 is the target group's TargetResponseTime p99, seconds.
	MetricLatencyP99 Metric = "latency-p99"
	// MetricLatencyMean is the target group's TargetResponseTime Average, seconds.
	MetricLatencyMean Metric = "latency-mean"
)

// Step is one step adjustment of a step-scaling policy: the adjustment applies when the
// breach (metric minus the alarm's threshold) is at least Lower and below Upper.
type Step struct {
	Lower, Upper float64 // -Inf and +Inf when the bound is absent
	Adjustment   int
}

// Policy is a scaling policy of a group as read from the graph.
type Policy struct {
	// Name is the policy's logical name.
	Name string
	// Step is true for step scaling (on an alarm), false for target tracking.
	Step bool
	// Metric is the tracked (target tracking) or alarmed (step) metric.
	Metric Metric
	// Target is the target-tracking target value, in the metric's unit.
	Target float64
	// DisableScaleIn is the target-tracking policy's disableScaleIn.
	DisableScaleIn bool
	// Threshold, Periods and Datapoints are the step policy's alarm: the metric above
	// Threshold in Datapoints of the last Periods one-minute periods puts it in ALARM.
	Threshold           float64
	Periods, Datapoints int
	// Steps are the step policy's adjustments.
	Steps []Step
}

// Action is a scheduled action of a group as read from the graph; -1 leaves a size
// unchanged.
type Action struct {
	// Name is the scheduled action's logical name.
	Name string
	// Recurrence and TimeZone are the action's cron recurrence and IANA time zone ("" is UTC).
	Recurrence, TimeZone string
	// MinSize, MaxSize and DesiredCapacity are the sizes it sets.
	MinSize, MaxSize, DesiredCapacity int
	sched                             cron.Schedule
}

// Group is a tier's Auto Scaling group as read from the graph.
type Group struct {
	// Name is the group's logical name (the tier's name).
	Name string
	// MinSize, MaxSize and DesiredCapacity are the recorded sizes.
	MinSize, MaxSize, DesiredCapacity int
	// WarmupSeconds is the time from launch until an instance serves and reports metrics
	// (package doc, step 2, says where it comes from).
	WarmupSeconds float64
	// Policies and Schedules are the group's, in registration order.
	Policies  []Policy
	Schedules []Action
}

// defaultCooldownSeconds is AWS's default cooldown (300 s), the warm-up target tracking
// and step scaling use when neither a default instance warmup nor a policy warm-up is set
// ("Set the default instance warmup for an Auto Scaling group", EC2 Auto Scaling User Guide).
const defaultCooldownSeconds = 300

// readGroup reads the group named name and everything that scales it.
func readGroup(g *graph.Graph, name string) (*Group, error) {
	r := g.ByName(typeGroup, name)
	if r == nil {
		var names []string
		for _, x := range g.ByType(typeGroup) {
			names = append(names, x.Name)
		}
		return nil, fmt.Errorf("daysim: the graph has no %s named %q (it has %s): simulate a users++++ stack, or name a tier after one of its server groups", typeGroup, name, listOrNone(names))
	}
	out := &Group{Name: name}
	for _, f := range []struct {
		key string
		to  *int
	}{{"minSize", &out.MinSize}, {"maxSize", &out.MaxSize}, {"desiredCapacity", &out.DesiredCapacity}} {
		v, ok := r.Number(f.key)
		if !ok && f.key == "desiredCapacity" {
			v, ok = float64(out.MinSize), true // AWS starts a group without one at its minimum
		}
		if !ok || v < 0 || v != math.Trunc(v) {
			return nil, fmt.Errorf("daysim: group %s: %s is %s, not a size: the graph must record the group's sizes", name, f.key, inputText(r, f.key))
		}
		*f.to = int(v)
	}
	if out.MaxSize < out.MinSize {
		return nil, fmt.Errorf("daysim: group %s: maxSize %d is below minSize %d", name, out.MaxSize, out.MinSize)
	}
	out.DesiredCapacity = min(max(out.DesiredCapacity, out.MinSize), out.MaxSize)

	belongs := func(x *graph.Resource) bool {
		for _, d := range x.Dependencies {
			if d == r.URN {
				return true
			}
		}
		gn := r.String("name")
		return gn != "" && x.String("autoscalingGroupName") == gn
	}
	policyWarmup := 0.0
	for _, p := range g.ByType(typePolicy) {
		if !belongs(p) {
			continue
		}
		pol, err := readPolicy(g, name, p)
		if err != nil {
			return nil, err
		}
		if w, ok := p.Number("estimatedInstanceWarmup"); ok {
			policyWarmup = math.Max(policyWarmup, w)
		}
		out.Policies = append(out.Policies, pol)
	}
	tracking := false
	for _, p := range out.Policies {
		tracking = tracking || !p.Step
	}
	if !tracking {
		return nil, fmt.Errorf("daysim: group %s has no target-tracking policy in the graph: simulate a users++++ stack (below it the groups have a fixed size)", name)
	}
	for _, s := range g.ByType(typeSchedule) {
		if !belongs(s) {
			continue
		}
		a, err := readAction(name, s)
		if err != nil {
			return nil, err
		}
		out.Schedules = append(out.Schedules, a)
	}

	// Warm-up: the group's default instance warmup applies to every policy; without it a
	// policy's estimated warm-up, and without that the group's default cooldown (EC2 Auto
	// Scaling User Guide, "Set the default instance warmup for an Auto Scaling group").
	switch w, ok := r.Number("defaultInstanceWarmup"); {
	case ok && w >= 0:
		out.WarmupSeconds = w
	case policyWarmup > 0:
		out.WarmupSeconds = policyWarmup
	default:
		out.WarmupSeconds = defaultCooldownSeconds
		if c, ok := r.Number("defaultCooldown"); ok && c >= 0 {
			out.WarmupSeconds = c
		}
	}
	return out, nil
}

// readPolicy reads one scaling policy of group.
func readPolicy(g *graph.Graph, group string, p *graph.Resource) (Policy, error) {
	pol := Policy{Name: p.Name}
	bad := func(what string, args ...any) error {
		return fmt.Errorf("daysim: group %s, policy %s: %s", group, p.Name, fmt.Sprintf(what, args...))
	}
	switch typ := p.String("policyType"); typ {
	case "TargetTrackingScaling":
		tv, ok := p.Number("targetTrackingConfiguration.targetValue")
		if !ok || !(tv > 0) {
			return pol, bad("targetTrackingConfiguration.targetValue is %s: a target-tracking policy needs a target above 0", inputText(p, "targetTrackingConfiguration.targetValue"))
		}
		pol.Target = tv
		pol.DisableScaleIn = p.Bool("targetTrackingConfiguration.disableScaleIn")
		if pm := p.String("targetTrackingConfiguration.predefinedMetricSpecification.predefinedMetricType"); pm != "" {
			switch pm {
			case "ASGAverageCPUUtilization":
				pol.Metric = MetricCPU
			case "ALBRequestCountPerTarget":
				pol.Metric = MetricRequests
			case "ASGAverageNetworkOut":
				pol.Metric = MetricNetworkOut
			default:
				return pol, bad("predefined metric %s is not modelled (the model derives ASGAverageCPUUtilization, ALBRequestCountPerTarget and ASGAverageNetworkOut from the load)", pm)
			}
			return pol, nil
		}
		ns := p.String("targetTrackingConfiguration.customizedMetricSpecification.namespace")
		mn := p.String("targetTrackingConfiguration.customizedMetricSpecification.metricName")
		st := p.String("targetTrackingConfiguration.customizedMetricSpecification.statistic")
		if ns == "CWAgent" && mn == "app_inflight_requests" && st == "Average" {
			pol.Metric = MetricInflight
			return pol, nil
		}
		return pol, bad("customized metric %s/%s (%s) is not modelled (the model derives the app's CWAgent/app_inflight_requests Average from the load)", ns, mn, st)
	case "StepScaling":
		pol.Step = true
		if at := p.String("adjustmentType"); at != "ChangeInCapacity" {
			return pol, bad("adjustmentType %q is not modelled: the model applies ChangeInCapacity steps", at)
		}
		steps, _ := p.Lookup("stepAdjustments")
		list, _ := steps.([]any)
		for i := range list {
			pre := fmt.Sprintf("stepAdjustments.%d.", i)
			lo, err := bound(p, pre+"metricIntervalLowerBound", math.Inf(-1))
			if err != nil {
				return pol, bad("%v", err)
			}
			hi, err := bound(p, pre+"metricIntervalUpperBound", math.Inf(1))
			if err != nil {
				return pol, bad("%v", err)
			}
			adj, ok := p.Number(pre + "scalingAdjustment")
			if !ok {
				return pol, bad("%sscalingAdjustment is missing", pre)
			}
			if adj < 0 {
				return pol, bad("step %d removes instances (%v): the model applies scale-out steps only (the project's step policies add servers)", i, adj)
			}
			pol.Steps = append(pol.Steps, Step{Lower: lo, Upper: hi, Adjustment: int(adj)})
		}
		if len(pol.Steps) == 0 {
			return pol, bad("a step-scaling policy without stepAdjustments")
		}
		return pol, readAlarm(g, group, p, &pol)
	default:
		return pol, bad("policyType %q is not modelled: the model applies TargetTrackingScaling and StepScaling", typ)
	}
}

// bound reads a step bound, given as a string (the provider's type) or a number.
func bound(p *graph.Resource, path string, absent float64) (float64, error) {
	v, ok := p.Lookup(path)
	if !ok || v == nil {
		return absent, nil
	}
	switch b := v.(type) {
	case float64:
		return b, nil
	case string:
		if b == "" {
			return absent, nil
		}
		f, err := strconv.ParseFloat(b, 64)
		if err != nil {
			return 0, fmt.Errorf("%s %q is not a number", path, b)
		}
		return f, nil
	}
	return 0, fmt.Errorf("%s is %v, not a number", path, v)
}

// readAlarm finds the alarm that runs step policy p (it depends on the policy) and reads
// its metric and evaluation.
func readAlarm(g *graph.Graph, group string, p *graph.Resource, pol *Policy) error {
	var alarm *graph.Resource
	for _, a := range g.ByType(typeAlarm) {
		for _, d := range a.Dependencies {
			if d == p.URN {
				alarm = a
			}
		}
	}
	if alarm == nil {
		return fmt.Errorf("daysim: group %s, policy %s: no %s in the graph runs this step policy (none depends on it)", group, p.Name, typeAlarm)
	}
	bad := func(what string, args ...any) error {
		return fmt.Errorf("daysim: group %s, policy %s, alarm %s: %s", group, p.Name, alarm.Name, fmt.Sprintf(what, args...))
	}
	if ns, mn := alarm.String("namespace"), alarm.String("metricName"); ns != "AWS/ApplicationELB" || mn != "TargetResponseTime" {
		return bad("metric %s/%s is not modelled (the model derives the target group's TargetResponseTime)", ns, mn)
	}
	switch st, ext := alarm.String("statistic"), alarm.String("extendedStatistic"); {
	case ext == "p99":
		pol.Metric = MetricLatencyP99
	case ext == "" && st == "Average":
		pol.Metric = MetricLatencyMean
	default:
		return bad("statistic %q%q is not modelled (p99 or Average)", st, ext)
	}
	if op := alarm.String("comparisonOperator"); op != "GreaterThanThreshold" && op != "GreaterThanOrEqualToThreshold" {
		return bad("comparisonOperator %s is not modelled: the model's step policies scale out on a high alarm", op)
	}
	th, ok := alarm.Number("threshold")
	if !ok {
		return bad("threshold is missing")
	}
	pol.Threshold = th
	if per, ok := alarm.Number("period"); ok && per != 60 {
		return bad("period %v s is not modelled: the model steps one minute (use 60)", per)
	}
	n, ok := alarm.Number("evaluationPeriods")
	if !ok || n < 1 {
		return bad("evaluationPeriods is %s", inputText(alarm, "evaluationPeriods"))
	}
	pol.Periods, pol.Datapoints = int(n), int(n)
	if m, ok := alarm.Number("datapointsToAlarm"); ok && m >= 1 && m <= n {
		pol.Datapoints = int(m)
	}
	return nil
}

// readAction reads a scheduled action and parses its recurrence.
func readAction(group string, s *graph.Resource) (Action, error) {
	a := Action{Name: s.Name, Recurrence: s.String("recurrence"), TimeZone: s.String("timeZone")}
	bad := func(what string, args ...any) error {
		return fmt.Errorf("daysim: group %s, scheduled action %s: %s", group, s.Name, fmt.Sprintf(what, args...))
	}
	if a.Recurrence == "" {
		return a, bad("no recurrence: the model replays recurring actions (a one-off startTime is not modelled)")
	}
	spec := a.Recurrence
	if a.TimeZone != "" {
		spec = "CRON_TZ=" + a.TimeZone + " " + spec
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return a, bad("recurrence %q in time zone %q: %v", a.Recurrence, a.TimeZone, err)
	}
	a.sched = sched
	for _, f := range []struct {
		key string
		to  *int
	}{{"minSize", &a.MinSize}, {"maxSize", &a.MaxSize}, {"desiredCapacity", &a.DesiredCapacity}} {
		v, ok := s.Number(f.key)
		if !ok {
			v = -1 // unset: unchanged
		}
		if v < -1 || v != math.Trunc(v) {
			return a, bad("%s is %v: use a size, or -1 for unchanged", f.key, v)
		}
		*f.to = int(v)
	}
	return a, nil
}

func inputText(r *graph.Resource, path string) string {
	v, ok := r.Lookup(path)
	if !ok {
		return "missing"
	}
	return fmt.Sprint(v)
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
