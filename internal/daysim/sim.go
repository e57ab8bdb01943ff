package daysim

import (
	"fmt"
	"math"
	"time"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// Tier is what the model needs to know about one server tier beyond its group's policies:
// plain values the caller fills from the capacity and cost models.
type Tier struct {
	// Name is the server group's logical name in the graph: "web", "read-api", "write-api".
	Name string
	// Capacity is the requests per second one instance carries at 100 % CPU; above it
	// the tier is over capacity (requests queue and time out). Required, above 0.
	Capacity float64
	// HourlyUSD is one instance's on-demand price per hour (with its volume), 0 or more.
	HourlyUSD float64
	// ReadShare and WriteShare are the fractions of the day's reads and writes that reach
	// this tier, 0 to 1 (web 1 and 1: it relays everything; read-api 1 and 0; write-api 0
	// and 1; below 1 where a cache or the CDN answers first).
	ReadShare, WriteShare float64
	// ResponseBytes is the mean response size in bytes, for the network-out trigger (the
	// seed: 1 KB). Required, above 0, when the group has a network-out policy.
	ResponseBytes float64
	// ServiceMillis is a request's mean response time at low load in milliseconds, for
	// latency and requests in flight (docs/benchmarks.md measures a p50 of 6.2 ms for an
	// uncached read). Required, above 0, when the group has an in-flight or latency policy.
	ServiceMillis float64
}

// Minute is one tier's state during one minute of the day.
type Minute struct {
	// Load is the tier's offered requests per second.
	Load float64
	// Running is the instances billed (warming up or in service); InService those
	// carrying load.
	Running, InService int
	// Desired, Min and Max are the group's sizes at the end of the minute (after the
	// minute's scheduled actions and scaling decisions).
	Desired, Min, Max int
	// Utilisation is the load per in-service instance over Capacity (above 1: over
	// capacity; +Inf with load and no instance in service).
	Utilisation float64
	// P99Millis is the modelled p99 response time (0 with no load).
	P99Millis float64
	// OverCapacity is true when Load exceeds InService x Capacity.
	OverCapacity bool
}

// TierResult is one tier's day.
type TierResult struct {
	// Tier is the tier as given.
	Tier Tier
	// Group is the group and policies read from the graph.
	Group Group
	// Minutes are the day's minutes, Minutes of them.
	Minutes []Minute
	// InstanceHours is the running instances summed over the day, in hours.
	InstanceHours float64
	// CostUSD is InstanceHours x HourlyUSD.
	CostUSD float64
	// PeakInstances is the most instances running in any minute.
	PeakInstances int
	// FixedPeakCostUSD is the cost of PeakInstances running all day (24 h x HourlyUSD).
	FixedPeakCostUSD float64
	// OverCapacityMinutes counts the minutes with load above the in-service capacity.
	OverCapacityMinutes int
	// PeakLoad is the largest Load of the day, requests per second.
	PeakLoad float64
}

// Result is a simulated day.
type Result struct {
	// Start is the day's first minute (its Location is the day's clock).
	Start time.Time
	// Tiers are the tiers' days, in the order given.
	Tiers []TierResult
	// InstanceHours, CostUSD, FixedPeakCostUSD and OverCapacityMinutes are the tiers'
	// sums (a minute with several tiers over capacity counts once per tier).
	InstanceHours, CostUSD, FixedPeakCostUSD float64
	OverCapacityMinutes                      int
}

// Tier returns the day of the tier named name, or nil.
func (r *Result) Tier(name string) *TierResult {
	for i := range r.Tiers {
		if r.Tiers[i].Tier.Name == name {
			return &r.Tiers[i]
		}
	}
	return nil
}

// Target-tracking alarms as AWS creates them for a policy (EC2 Auto Scaling User Guide,
// "Target tracking scaling policies": AWS creates and manages two alarms per policy and
// scales in more gradually than out; the alarms it creates are, on 1-minute metrics, the
// high alarm "3 datapoints within 3 minutes" above the target and the low alarm "15
// datapoints within 15 minutes" below 90 % of it, the low threshold being "usually more
// than 10 % lower" than the target in the Application Auto Scaling guide's wording).
const (
	highAlarmMinutes = 3
	lowAlarmMinutes  = 15
	lowAlarmFraction = 0.9
)

// utilisationCap bounds the utilisation used for latency: at or above 1 a queue grows
// without bound; 0.99 reads as 100x the service time, above every trigger's target, so the
// decision it leads to (scale out) is the same.
const utilisationCap = 0.99

// ln100 turns a mean response time into its p99 for an exponential distribution (an M/M/1
// queue's response time): P(T > t) = exp(-t/mean) = 0.01 at t = ln(100) mean.
var ln100 = math.Log(100)

// Run simulates day against the scaling of tiers' groups recorded in g. It fails, naming
// what is missing and what to do, when a tier's group, a policy it cannot model or a
// value it needs is missing, before simulating anything.
func Run(g *graph.Graph, tiers []Tier, day Day) (*Result, error) {
	if g == nil {
		return nil, fmt.Errorf("daysim: no graph: pass the recorded users++++ graph")
	}
	if len(tiers) == 0 {
		return nil, fmt.Errorf("daysim: no tiers: give at least one Tier (web, read-api, write-api)")
	}
	if err := day.validate(); err != nil {
		return nil, err
	}
	groups := make([]*Group, len(tiers))
	seen := map[string]bool{}
	for i, t := range tiers {
		if seen[t.Name] {
			return nil, fmt.Errorf("daysim: tier %q is given twice: give each server group once", t.Name)
		}
		seen[t.Name] = true
		gr, err := readGroup(g, t.Name)
		if err != nil {
			return nil, err
		}
		if err := t.validate(gr); err != nil {
			return nil, err
		}
		groups[i] = gr
	}
	res := &Result{Start: day.Start}
	for i, t := range tiers {
		tr := simulate(t, groups[i], day)
		res.Tiers = append(res.Tiers, tr)
		res.InstanceHours += tr.InstanceHours
		res.CostUSD += tr.CostUSD
		res.FixedPeakCostUSD += tr.FixedPeakCostUSD
		res.OverCapacityMinutes += tr.OverCapacityMinutes
	}
	return res, nil
}

// validate checks a tier's values against what its group's policies need.
func (t Tier) validate(gr *Group) error {
	bad := func(field string, v float64, fix string) error {
		return fmt.Errorf("daysim: tier %s: %s = %v is invalid: %s", t.Name, field, v, fix)
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if !(t.Capacity > 0) || !finite(t.Capacity) {
		return bad("Capacity", t.Capacity, "give the requests per second one instance carries at 100 % CPU, above 0")
	}
	if !(t.HourlyUSD >= 0) || !finite(t.HourlyUSD) {
		return bad("HourlyUSD", t.HourlyUSD, "give one instance's hourly price, 0 or more")
	}
	for _, s := range []struct {
		f string
		v float64
	}{{"ReadShare", t.ReadShare}, {"WriteShare", t.WriteShare}} {
		if !(s.v >= 0 && s.v <= 1) {
			return bad(s.f, s.v, "give the fraction of the day's requests reaching the tier, 0 to 1")
		}
	}
	for _, p := range gr.Policies {
		switch p.Metric {
		case MetricNetworkOut:
			if !(t.ResponseBytes > 0) || !finite(t.ResponseBytes) {
				return bad("ResponseBytes", t.ResponseBytes, fmt.Sprintf("policy %s tracks network out: give the mean response size in bytes, above 0", p.Name))
			}
		case MetricInflight, MetricLatencyP99, MetricLatencyMean:
			if !(t.ServiceMillis > 0) || !finite(t.ServiceMillis) {
				return bad("ServiceMillis", t.ServiceMillis, fmt.Sprintf("policy %s tracks %s: give a request's response time at low load in ms, above 0", p.Name, p.Metric))
			}
		}
	}
	return nil
}

// group is a group's state while it is simulated.
type group struct {
	min, max, desired int
	readyAt           []int // per running instance, the minute it starts serving, oldest first
	high, low         []int // per policy, consecutive minutes above the target / below the low threshold
	breaches          [][]bool
}

// metrics are one minute's per-instance metrics in the policies' units.
type metrics struct {
	cpu, requests, networkOut, inflight, p99, mean float64
}

func (m metrics) of(k Metric) float64 {
	switch k {
	case MetricCPU:
		return m.cpu
	case MetricRequests:
		return m.requests
	case MetricNetworkOut:
		return m.networkOut
	case MetricInflight:
		return m.inflight
	case MetricLatencyP99:
		return m.p99
	default:
		return m.mean
	}
}

// simulate runs one tier's day.
func simulate(t Tier, gr *Group, day Day) TierResult {
	warm := int(math.Ceil(gr.WarmupSeconds / 60))
	st := &group{min: gr.MinSize, max: gr.MaxSize, desired: gr.DesiredCapacity}
	for range st.desired {
		st.readyAt = append(st.readyAt, math.MinInt32) // in service since long ago
	}
	st.high = make([]int, len(gr.Policies))
	st.low = make([]int, len(gr.Policies))
	st.breaches = make([][]bool, len(gr.Policies))
	if !day.FromRecorded {
		// The day before, from the recorded sizes, leaves the group as it is at midnight.
		prev := day
		prev.Start = day.Start.AddDate(0, 0, -1)
		st.run(t, gr, prev, warm, nil)
		for i := range st.readyAt {
			st.readyAt[i] -= Minutes
		}
	}
	out := TierResult{Tier: t, Group: *gr, Minutes: make([]Minute, Minutes)}
	st.run(t, gr, day, warm, out.Minutes)
	for _, m := range out.Minutes {
		out.InstanceHours += float64(m.Running) / 60
		out.PeakInstances = max(out.PeakInstances, m.Running)
		out.PeakLoad = math.Max(out.PeakLoad, m.Load)
		if m.OverCapacity {
			out.OverCapacityMinutes++
		}
	}
	out.CostUSD = out.InstanceHours * t.HourlyUSD
	out.FixedPeakCostUSD = float64(out.PeakInstances) * 24 * t.HourlyUSD
	return out
}

// run steps the group through day's minutes, recording each in rec when it is not nil.
func (st *group) run(t Tier, gr *Group, day Day, warm int, rec []Minute) {
	for i := range Minutes {
		// 1. Scheduled actions at this minute, in their own time zones.
		now := day.minute(i)
		for _, a := range gr.Schedules {
			if !a.sched.Next(now.Add(-time.Second)).Equal(now) {
				continue
			}
			if a.MinSize >= 0 {
				st.min = a.MinSize
			}
			if a.MaxSize >= 0 {
				st.max = a.MaxSize
			}
			if a.DesiredCapacity >= 0 {
				st.desired = a.DesiredCapacity
			}
			// UpdateAutoScalingGroup: a minimum above the desired capacity raises it, a
			// maximum below it lowers it.
			st.desired = min(max(st.desired, st.min), st.max)
		}
		// 2. Launch or terminate (the newest first) to the desired capacity.
		for len(st.readyAt) < st.desired {
			st.readyAt = append(st.readyAt, i+warm)
		}
		if len(st.readyAt) > st.desired {
			st.readyAt = st.readyAt[:st.desired]
		}
		inService := 0
		for _, r := range st.readyAt {
			if r <= i {
				inService++
			}
		}
		// 3. The load and the metrics of the instances in service.
		load := day.Reads[i]*t.ReadShare + day.Writes[i]*t.WriteShare
		m := Minute{Load: load, Running: len(st.readyAt), InService: inService}
		var mt metrics
		if inService > 0 {
			rate := load / float64(inService)
			rho := rate / t.Capacity
			served := math.Min(rate, t.Capacity)
			mean := t.ServiceMillis / 1000 / (1 - math.Min(rho, utilisationCap))
			mt = metrics{
				cpu:        served / t.Capacity * 100,
				requests:   rate * 60,
				networkOut: served * t.ResponseBytes * 60,
				inflight:   rate * mean,
				mean:       mean,
				p99:        ln100 * mean,
			}
			m.Utilisation = rho
			if load > 0 {
				m.P99Millis = mt.p99 * 1000
			}
		} else if load > 0 {
			m.Utilisation = math.Inf(1)
		}
		m.OverCapacity = load > float64(inService)*t.Capacity
		// 4. Scaling decisions on this minute's datapoints (no datapoint without an
		// instance in service: the alarms keep their state).
		if inService > 0 {
			st.decide(gr, mt, inService, len(st.readyAt) > inService)
		}
		m.Desired, m.Min, m.Max = st.desired, st.min, st.max
		if rec != nil {
			rec[i] = m
		}
	}
}

// decide applies the policies to one minute's metrics: n instances report them, and
// warming is true while a launched instance has not finished its warm-up.
func (st *group) decide(gr *Group, mt metrics, n int, warming bool) {
	out := 0                        // the largest capacity a firing scale-out asks for
	in, agree, voters := 0, true, 0 // the largest capacity the low alarms ask for, whether all fire, and how many vote
	for k, p := range gr.Policies {
		v := mt.of(p.Metric)
		if p.Step {
			b := append(st.breaches[k], v > p.Threshold)
			if len(b) > p.Periods {
				b = b[len(b)-p.Periods:]
			}
			st.breaches[k] = b
			hits := 0
			for _, x := range b {
				if x {
					hits++
				}
			}
			if hits >= p.Datapoints {
				// In ALARM: the step the breach falls in, added to the instances past
				// warm-up (EC2 Auto Scaling User Guide, "Step and simple scaling
				// policies": while instances warm up, a further breach adds only what
				// exceeds the warming capacity), once a minute ("Except for Auto Scaling
				// actions, the actions happen only on state transitions", CloudWatch User
				// Guide, "Alarm actions"; an alarm "invokes an Auto Scaling action once each
				// minute when the alarm remains in a new state", AWS re:Post knowledge
				// center, "autoscaling-policy-cloudwatch-alarm").
				for _, s := range p.Steps {
					if x := v - p.Threshold; x >= s.Lower && x < s.Upper {
						out = max(out, n+s.Adjustment)
					}
				}
			}
			continue
		}
		ask := int(math.Ceil(float64(n) * v / p.Target))
		if v > p.Target {
			st.high[k]++
		} else {
			st.high[k] = 0
		}
		if v < lowAlarmFraction*p.Target {
			st.low[k]++
		} else {
			st.low[k] = 0
		}
		if st.high[k] >= highAlarmMinutes {
			out = max(out, ask)
		}
		if p.DisableScaleIn {
			continue // it takes no part in scaling in (its scale-in is another method's)
		}
		voters++
		agree = agree && st.low[k] >= lowAlarmMinutes
		in = max(in, ask)
	}
	switch {
	case out > st.desired:
		// Scale out when any policy asks, to the largest capacity asked ("Multiple
		// dynamic scaling policies", EC2 Auto Scaling User Guide).
		st.desired = min(out, st.max)
	case voters > 0 && agree && !warming && in < st.desired:
		// Scale in only when every policy agrees, and not while instances warm up
		// ("Set the default instance warmup": dynamic scale-in waits for them), to the
		// largest capacity any asks for, so no metric goes above its target.
		st.desired = max(in, st.min)
	}
}
