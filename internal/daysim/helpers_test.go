package daysim

import (
	"testing"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// The tests build small graphs by hand, shaped as the offline engine records a users++++
// server group (children of the group depend on its URN; numbers are float64 as in JSON).

const urnPrefix = "urn:pulumi:test::scaling-aws::scaling-aws:compute:ServerGroup$"

type testGroup struct {
	name                   string
	min, max, desired      float64
	inputs                 map[string]any // extra group inputs (defaultInstanceWarmup, ...)
	policies               []map[string]any
	schedules              []map[string]any
	alarms                 []map[string]any // step policies' alarms; "policy" names the policy
	noWarmup               bool
	linkByNameNotDependsOn bool
}

func buildGraph(groups ...testGroup) *graph.Graph {
	g := &graph.Graph{Schema: graph.SchemaVersion, Project: "scaling-aws", Stack: "test"}
	for _, tg := range groups {
		gurn := urnPrefix + typeGroup + "::" + tg.name
		in := map[string]any{"minSize": tg.min, "maxSize": tg.max, "desiredCapacity": tg.desired}
		if !tg.noWarmup {
			in["defaultInstanceWarmup"] = 240.0
		}
		if tg.linkByNameNotDependsOn {
			in["name"] = tg.name + "-asg"
		}
		for k, v := range tg.inputs {
			in[k] = v
		}
		g.Resources = append(g.Resources, &graph.Resource{URN: gurn, Type: typeGroup, Name: tg.name, Custom: true, Inputs: in})
		child := func(typ, name string, inputs map[string]any) *graph.Resource {
			r := &graph.Resource{URN: urnPrefix + typ + "::" + name, Type: typ, Name: name, Custom: true, Inputs: inputs}
			if tg.linkByNameNotDependsOn {
				inputs["autoscalingGroupName"] = tg.name + "-asg"
			} else {
				inputs["autoscalingGroupName"] = tg.name + "-0123abc"
				r.Dependencies = []string{gurn}
			}
			return r
		}
		for i, p := range tg.policies {
			name, _ := p["name"].(string)
			if name == "" {
				name = tg.name + "-policy-" + string(rune('a'+i))
			}
			in := map[string]any{}
			for k, v := range p {
				if k != "name" {
					in[k] = v
				}
			}
			g.Resources = append(g.Resources, child(typePolicy, name, in))
		}
		for i, s := range tg.schedules {
			in := map[string]any{}
			for k, v := range s {
				in[k] = v
			}
			g.Resources = append(g.Resources, child(typeSchedule, tg.name+"-schedule-"+string(rune('a'+i)), in))
		}
		for _, a := range tg.alarms {
			pol := a["policy"].(string)
			in := map[string]any{}
			for k, v := range a {
				if k != "policy" {
					in[k] = v
				}
			}
			g.Resources = append(g.Resources, &graph.Resource{URN: urnPrefix + typeAlarm + "::" + pol + "-high", Type: typeAlarm, Name: pol + "-high",
				Custom: true, Inputs: in, Dependencies: []string{urnPrefix + typePolicy + "::" + pol}})
		}
	}
	return g
}

// tracking is a target-tracking policy's inputs on a predefined metric.
func tracking(metric string, target float64) map[string]any {
	return map[string]any{"policyType": "TargetTrackingScaling", "targetTrackingConfiguration": map[string]any{
		"predefinedMetricSpecification": map[string]any{"predefinedMetricType": metric}, "targetValue": target}}
}

// inflight is the app's in-flight target-tracking policy.
func inflight(target float64) map[string]any {
	return map[string]any{"policyType": "TargetTrackingScaling", "targetTrackingConfiguration": map[string]any{
		"customizedMetricSpecification": map[string]any{"namespace": "CWAgent", "metricName": "app_inflight_requests", "statistic": "Average",
			"metricDimensions": []any{map[string]any{"name": "AutoScalingGroupName", "value": "x"}}},
		"targetValue": target}}
}

// schedule is a scheduled action setting only the minimum.
func schedule(recurrence, tz string, minSize float64) map[string]any {
	return map[string]any{"recurrence": recurrence, "timeZone": tz, "minSize": minSize, "maxSize": -1.0, "desiredCapacity": -1.0}
}

// flatDay is a day of constant reads, from recorded sizes, on the seed's date.
func flatDay(t *testing.T, reads float64) Day {
	t.Helper()
	d, err := SeedDay(1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range d.Reads {
		d.Reads[i], d.Writes[i] = reads, 0
	}
	d.FromRecorded = true
	return d
}

// stepAt sets the day's reads to v from minute i on.
func stepAt(d Day, i int, v float64) Day {
	for k := i; k < Minutes; k++ {
		d.Reads[k] = v
	}
	return d
}

// tier is a read tier of capacity 1000 req/s per instance at 1 USD an hour.
func tier(name string) Tier {
	return Tier{Name: name, Capacity: 1000, HourlyUSD: 1, ReadShare: 1, ResponseBytes: 1000, ServiceMillis: 10}
}

func run(t *testing.T, g *graph.Graph, d Day, tiers ...Tier) *Result {
	t.Helper()
	r, err := Run(g, tiers, d)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// at returns a tier's minute at local clock hh:mm of the seed day.
func at(tr TierResult, hh, mm int) Minute { return tr.Minutes[hh*60+mm] }
