package tests

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/components"
	"github.com/scaling-aws/scaling-aws/config"
	"github.com/scaling-aws/scaling-aws/internal/diff"
	"github.com/scaling-aws/scaling-aws/internal/graph"
	"github.com/scaling-aws/scaling-aws/internal/rules"
	"github.com/scaling-aws/scaling-aws/stages"
)

const (
	tGroup    = "aws:autoscaling/group:Group"
	tPolicy   = "aws:autoscaling/policy:Policy"
	tSchedule = "aws:autoscaling/schedule:Schedule"
	tAlarmR   = "aws:cloudwatch/metricAlarm:MetricAlarm"
)

// serverTiers are the server groups' logical names and their config keys.
var serverTiers = []struct{ name, key, target string }{
	{"web", "web", "public-lb-web"}, {"read-api", "readApi", "app-lb-read"}, {"write-api", "writeApi", "app-lb-write"},
}

// tierOf returns a tier's config.
func tierOf(c *config.Config, key string) config.Tier {
	return map[string]config.Tier{"web": c.Web, "readApi": c.ReadAPI, "writeApi": c.WriteAPI}[key]
}

// companions returns the resources of typ that depend on r (a policy on its group).
func companions(g *graph.Graph, r *graph.Resource, typ string) map[string]*graph.Resource {
	out := map[string]*graph.Resource{}
	for _, c := range g.ByType(typ) {
		if slices.Contains(c.Dependencies, r.URN) {
			out[c.Name] = c
		}
	}
	return out
}

func num(t *testing.T, r *graph.Resource, path string) float64 {
	t.Helper()
	n, ok := r.Number(path)
	require.True(t, ok, "%s %s", r.Name, path)
	return n
}

var labelRE = regexp.MustCompile(`^app/[^/]+/[0-9a-f]+/targetgroup/([^/]+)/[0-9a-f]+$`)

// TestEveryTierScalesOnItsTriggers: at users++++ in dev and prod every server group scales
// between its config's min and max, with the triggers its tier defaults to, each policy
// naming its own group and the right metric, and the business-hours schedule in New York
// time.
func TestEveryTierScalesOnItsTriggers(t *testing.T) {
	want := map[string][]string{
		"web":       {"cpu", "requests", "network-out"},
		"read-api":  {"cpu", "requests", "inflight", "latency"},
		"write-api": {"cpu", "requests", "inflight"},
	}
	for _, env := range []string{"dev", "prod"} {
		s := evaluate(t, env, config.UsersPlus4, nil)
		for _, tier := range serverTiers {
			tc := tierOf(s.cfg, tier.key)
			g := s.g.ByName(tGroup, tier.name)
			require.NotNil(t, g)
			assert.Equal(t, float64(tc.Min), num(t, g, "minSize"), "%s %s", env, tier.name)
			assert.Equal(t, float64(tc.Max), num(t, g, "maxSize"), "%s %s", env, tier.name)
			assert.Greater(t, tc.Max, tc.Min)
			assert.Equal(t, float64(components.DefaultHealthCheckGraceSeconds), num(t, g, "defaultInstanceWarmup"), "warm-up: the boot budget")
			assert.Equal(t, num(t, g, "defaultInstanceWarmup"), num(t, g, "defaultCooldown"))
			assert.Equal(t, []string{"desiredCapacity", "minSize"}, g.IgnoreChanges, "%s %s: autoscaling and the schedule own them", env, tier.name)

			policies := companions(s.g, g, tPolicy)
			var names []string
			for _, p := range policies {
				names = append(names, strings.TrimPrefix(p.Name, tier.name+"-"))
				group := p.String("autoscalingGroupName")
				assert.True(t, strings.HasPrefix(group, tier.name+"-"), "%s names its own group, got %s", p.Name, group)
			}
			assert.ElementsMatch(t, want[tier.name], names, "%s %s policies", env, tier.name)

			cpu := policies[tier.name+"-cpu"]
			assert.Equal(t, "ASGAverageCPUUtilization", cpu.String("targetTrackingConfiguration.predefinedMetricSpecification.predefinedMetricType"))
			assert.Equal(t, 60.0, num(t, cpu, "targetTrackingConfiguration.targetValue"))

			req := policies[tier.name+"-requests"]
			assert.Equal(t, "ALBRequestCountPerTarget", req.String("targetTrackingConfiguration.predefinedMetricSpecification.predefinedMetricType"))
			label := labelRE.FindStringSubmatch(req.String("targetTrackingConfiguration.predefinedMetricSpecification.resourceLabel"))
			require.NotNil(t, label, "resource label app/<lb>/<id>/targetgroup/<tg>/<id>")
			assert.True(t, strings.HasPrefix(label[1], tier.target+"-"), "%s counts its own target group's requests, got %s", tier.name, label[1])
			assert.Equal(t, float64(tc.RequestsPerTargetPerMinute), num(t, req, "targetTrackingConfiguration.targetValue"))

			if p := policies[tier.name+"-network-out"]; p != nil {
				assert.Equal(t, "ASGAverageNetworkOut", p.String("targetTrackingConfiguration.predefinedMetricSpecification.predefinedMetricType"))
				assert.Equal(t, 60*1e6/8*60, num(t, p, "targetTrackingConfiguration.targetValue"), "60 Mbit/s in bytes per minute")
			}
			if p := policies[tier.name+"-inflight"]; p != nil {
				spec := "targetTrackingConfiguration.customizedMetricSpecification."
				assert.Equal(t, "CWAgent", p.String(spec+"namespace"))
				assert.Equal(t, "app_inflight_requests", p.String(spec+"metricName"))
				assert.Equal(t, "Average", p.String(spec+"statistic"), "the average over the servers: in-flight requests per server")
				assert.Equal(t, "AutoScalingGroupName", p.String(spec+"metricDimensions.0.name"))
				assert.Equal(t, p.String("autoscalingGroupName"), p.String(spec+"metricDimensions.0.value"), "the metric of its own group")
				assert.Equal(t, 10.0, num(t, p, "targetTrackingConfiguration.targetValue"))
				assert.Equal(t, stages.StatsDAddr, bootEnv(t, s, tier.name)["STATSD_ADDR"], "the app publishes the metric")
			}
			if p := policies[tier.name+"-latency"]; p != nil {
				assert.Equal(t, "StepScaling", p.String("policyType"))
				alarms := companions(s.g, p, tAlarmR)
				require.Len(t, alarms, 1, "one alarm runs the latency policy")
				for _, a := range alarms {
					assert.Equal(t, "TargetResponseTime", a.String("metricName"))
					assert.Equal(t, "p99", a.String("extendedStatistic"))
					assert.Equal(t, "ignore", a.String("evaluateLowSampleCountPercentiles"))
					assert.Equal(t, 0.1, num(t, a, "threshold"))
					assert.True(t, strings.HasPrefix(a.String("dimensions.TargetGroup"), "targetgroup/"+tier.target+"-"))
					require.Len(t, a.Inputs["alarmActions"], 1, "its action is the policy, not the pager")
					assert.Contains(t, a.Inputs["alarmActions"].([]any)[0], ":scalingPolicy:")
				}
			}

			sched := companions(s.g, g, tSchedule)
			require.Len(t, sched, 2, "%s %s: business hours start and end", env, tier.name)
			start, end := sched[tier.name+"-business-hours-start"], sched[tier.name+"-business-hours-end"]
			require.NotNil(t, start)
			require.NotNil(t, end)
			for _, a := range []*graph.Resource{start, end} {
				assert.Equal(t, "America/New_York", a.String("timeZone"))
				assert.Equal(t, -1.0, num(t, a, "maxSize"), "the schedule leaves the ceiling alone")
				assert.Equal(t, -1.0, num(t, a, "desiredCapacity"), "and the desired capacity")
			}
			assert.Equal(t, "30 7 * * 1-5", start.String("recurrence"))
			assert.Equal(t, "0 19 * * 1-5", end.String("recurrence"))
			assert.Equal(t, float64(tc.BusinessHoursMin), num(t, start, "minSize"))
			assert.Equal(t, float64(tc.Min), num(t, end, "minSize"))
		}
		assert.NotContains(t, bootEnv(t, s, "web"), "STATSD_ADDR", "nginx sends no StatsD")
	}
}

// TestScalingDefaultsPerEnvironment pins the defaults docs/stages/users-plus-4.md documents.
func TestScalingDefaultsPerEnvironment(t *testing.T) {
	for env, want := range map[string][][4]int{ // min, max, desired, businessHoursMin
		"dev":  {{1, 4, 2, 2}, {1, 6, 3, 3}, {1, 4, 2, 2}},
		"prod": {{2, 12, 3, 3}, {2, 16, 4, 4}, {2, 6, 3, 3}},
	} {
		kv, _ := stackConfig(t, env, config.UsersPlus4, nil)
		c, err := config.Load(config.MapSource(kv))
		require.NoError(t, err)
		for i, tier := range serverTiers {
			tc := tierOf(c, tier.key)
			assert.Equal(t, want[i], [4]int{tc.Min, tc.Max, tc.Desired, tc.BusinessHoursMin}, "%s %s", env, tier.key)
		}
	}
}

// effective returns the inputs `pulumi up` sends for r given the state it left before: an
// input in ignoreChanges keeps its value from the state (Pulumi's ignoreChanges).
func effective(state, r *graph.Resource) map[string]any {
	out := map[string]any{}
	for k, v := range r.Inputs {
		out[k] = v
	}
	for _, k := range r.IgnoreChanges {
		if v, ok := state.Inputs[k]; ok {
			out[k] = v
		}
	}
	return out
}

// TestDeployNeverResetsWhatAutoscalingChose: a group's live state has the desired capacity
// the policies chose and the floor the morning schedule set; the next `pulumi up` (even with
// a refresh, which reads both back into the state) sends them unchanged, and a config change
// of the sizes reaches AWS through the schedule, not by resetting the group. The control:
// without ignoreChanges the same deploy puts both back.
func TestDeployNeverResetsWhatAutoscalingChose(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		before := evaluate(t, env, config.UsersPlus4, nil)
		// The next deploy tunes the floors: the off-hours one down to 1, the business-hours one
		// up to 4.
		tuned := evaluate(t, env, config.UsersPlus4, map[string]string{"scaling-aws:web": `{"min":1,"businessHoursMin":4}`})
		g0 := before.g.ByName(tGroup, "web")
		live := *g0
		live.Inputs = effective(g0, g0)
		live.Inputs["desiredCapacity"] = num(t, g0, "maxSize") // scaled out to the ceiling
		live.Inputs["minSize"] = float64(before.cfg.Web.BusinessHoursMin)

		g1 := tuned.g.ByName(tGroup, "web")
		sent := effective(&live, g1)
		assert.Equal(t, live.Inputs["desiredCapacity"], sent["desiredCapacity"], "%s: the deploy keeps the scaled-out capacity", env)
		assert.Equal(t, live.Inputs["minSize"], sent["minSize"], "%s: the deploy keeps the business-hours floor", env)
		start := tuned.g.ByName(tSchedule, "web-business-hours-start")
		end := tuned.g.ByName(tSchedule, "web-business-hours-end")
		assert.Equal(t, 4.0, num(t, start, "minSize"), "the tuned floor applies at the next business-hours start")
		assert.Equal(t, 1.0, num(t, end, "minSize"), "the tuned min at the next business-hours end")

		g1.IgnoreChanges = nil
		reset := effective(&live, g1)
		assert.NotEqual(t, live.Inputs["desiredCapacity"], reset["desiredCapacity"], "control: without ignoreChanges the deploy resets the capacity")
		assert.NotEqual(t, live.Inputs["minSize"], reset["minSize"], "control: and the floor")
	}
	// A tier without a schedule keeps its min managed: only desired capacity is autoscaling's.
	s := evaluate(t, "dev", config.UsersPlus4, map[string]string{"scaling-aws:writeApi": `{"businessHoursMin":0}`})
	assert.Equal(t, []string{"desiredCapacity"}, s.g.ByName(tGroup, "write-api").IgnoreChanges)
	assert.Empty(t, companions(s.g, s.g.ByName(tGroup, "write-api"), tSchedule))
}

// TestMoveToUsersPlus4TurnsKnobs: users+++ -> users++++ keeps every group and launch
// template under its URN, updates the groups in place (sizes, cooldown), replaces nothing,
// and drops no capacity: with ignoreChanges the move keeps the users+++ desired capacity and
// floor and only raises the ceiling.
func TestMoveToUsersPlus4TurnsKnobs(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		a, b := evaluate(t, env, config.UsersPlus3, nil), evaluate(t, env, config.UsersPlus4, nil)
		changes := map[string]diff.Change{}
		for _, c := range diff.Compare(a.g, b.g) {
			changes[c.Resource.URN] = c
			assert.False(t, c.Kind == diff.Replace && diff.Stateful(c.Resource), "%s: %s replaced", env, c.Resource.URN)
		}
		for _, tier := range serverTiers {
			g0, g1 := a.g.ByName(tGroup, tier.name), b.g.ByName(tGroup, tier.name)
			require.NotNil(t, g0)
			require.NotNil(t, g1)
			assert.Equal(t, g0.URN, g1.URN)
			lt0, lt1 := a.g.ByName("aws:ec2/launchTemplate:LaunchTemplate", tier.name), b.g.ByName("aws:ec2/launchTemplate:LaunchTemplate", tier.name)
			assert.Equal(t, lt0.URN, lt1.URN, "the same launch template: a new version at most")
			c := changes[g1.URN]
			assert.Equal(t, diff.Update, c.Kind, "%s %s is updated in place", env, tier.name)
			for _, k := range c.Keys {
				assert.Contains(t, []string{"minSize", "maxSize", "desiredCapacity", "defaultCooldown", "launchTemplate"}, k, "%s %s changes only knobs", env, tier.name)
			}
			sent := effective(g0, g1)
			assert.Equal(t, g0.Inputs["desiredCapacity"], sent["desiredCapacity"], "%s %s: the move keeps the capacity", env, tier.name)
			assert.Equal(t, g0.Inputs["minSize"], sent["minSize"], "%s %s: and the floor until the schedule moves it", env, tier.name)
			assert.Greater(t, sent["maxSize"].(float64), g0.Inputs["maxSize"].(float64), "%s %s: the ceiling rises", env, tier.name)
			assert.Equal(t, companions(a.g, g0, tPolicy)[tier.name+"-cpu"].URN, companions(b.g, g1, tPolicy)[tier.name+"-cpu"].URN, "the CPU policy keeps its URN")
		}
	}
}

// TestScalingTuning: the config's triggers and schedule change the result.
func TestScalingTuning(t *testing.T) {
	s := evaluate(t, "dev", config.UsersPlus4, map[string]string{
		"scaling-aws:web":      `{"cpuTargetPercent":0,"networkOutMbps":0,"requestsPerTargetPerMinute":5000,"businessHoursMin":0}`,
		"scaling-aws:readApi":  `{"latencyP99Ms":250,"inflightRequestsTarget":0}`,
		"scaling-aws:schedule": `{"timeZone":"Europe/Berlin","days":"MON-SAT","scaleUpAt":"06:00","scaleDownAt":"22:15"}`,
	})
	web := s.g.ByName(tGroup, "web")
	policies := companions(s.g, web, tPolicy)
	require.Len(t, policies, 1, "only the requests policy is left on web")
	assert.Equal(t, 5000.0, num(t, policies["web-requests"], "targetTrackingConfiguration.targetValue"))
	assert.Empty(t, companions(s.g, web, tSchedule), "no schedule on web")

	read := s.g.ByName(tGroup, "read-api")
	rp := companions(s.g, read, tPolicy)
	assert.NotContains(t, rp, "read-api-inflight")
	for _, a := range companions(s.g, rp["read-api-latency"], tAlarmR) {
		assert.Equal(t, 0.25, num(t, a, "threshold"))
	}
	start := s.g.ByName(tSchedule, "read-api-business-hours-start")
	assert.Equal(t, "Europe/Berlin", start.String("timeZone"))
	assert.Equal(t, "0 6 * * 1-6", start.String("recurrence"))
	assert.Equal(t, "15 22 * * 1-6", s.g.ByName(tSchedule, "read-api-business-hours-end").String("recurrence"))
}

// TestBadScalingConfigIsRefused: bad autoscaling values fail with the key, the value and a
// fix, before anything is registered.
func TestBadScalingConfigIsRefused(t *testing.T) {
	for _, c := range []struct {
		stage    config.Stage
		key, raw string
		errKey   string
		fix      string
	}{
		{config.UsersPlus4, "schedule", `{"timeZone":"Mars/Olympus_Mons"}`, "schedule.timeZone", "IANA"},
		{config.UsersPlus4, "schedule", `{"timeZone":"Local"}`, "schedule.timeZone", "IANA"},
		{config.UsersPlus4, "schedule", `{"days":"MON-FUN"}`, "schedule.days", "MON-FRI"},
		{config.UsersPlus4, "schedule", `{"days":"FRI-MON"}`, "schedule.days", "backwards"},
		{config.UsersPlus4, "schedule", `{"scaleUpAt":"7:30"}`, "schedule.scaleUpAt", "HH:MM"},
		{config.UsersPlus4, "schedule", `{"scaleDownAt":"07:00"}`, "schedule.scaleDownAt", "after scaleUpAt"},
		{config.UsersPlus4, "web", `{"min":3,"max":3,"businessHoursMin":0}`, "web.max", "above min"},
		{config.UsersPlus4, "web", `{"businessHoursMin":40}`, "web.businessHoursMin", "at most max"},
		{config.UsersPlus4, "web", `{"inflightRequestsTarget":5}`, "web.inflightRequestsTarget", "nginx"},
		{config.UsersPlus4, "readApi", `{"cpuTargetPercent":0,"requestsPerTargetPerMinute":0,"inflightRequestsTarget":0}`, "readApi.cpuTargetPercent", "target-tracking"},
		{config.UsersPlus4, "writeApi", `{"cpuTargetPercent":95}`, "writeApi.cpuTargetPercent", "0 to 90"},
		{config.UsersPlus4, "writeApi", `{"latencyP99Ms":-1}`, "writeApi.latencyP99Ms", "0 to 60000"},
		{config.UsersPlus3, "readApi", `{"latencyP99Ms":200}`, "readApi.latencyP99Ms", "users++++"},
		{config.UsersPlus3, "schedule", `{"timeZone":"UTC"}`, "schedule.timeZone", "users++++"},
		{config.UsersPlus3, "web", `{"cpuTargetPercent":0}`, "web.cpuTargetPercent", "CPU policy"},
	} {
		kv, _ := stackConfig(t, "dev", c.stage, map[string]string{"scaling-aws:" + c.key: c.raw})
		_, err := config.Load(config.MapSource(kv))
		require.Error(t, err, c.raw)
		var found *config.Error
		for _, e := range err.(config.Errors) {
			if e.Key == c.errKey {
				found = e
			}
		}
		require.NotNil(t, found, "%s: %v", c.raw, err)
		assert.Contains(t, found.Fix, c.fix, c.raw)
		assert.NotEmpty(t, found.Value+found.Fix)
	}
}

// TestScalingRulesPassAtUsersPlus4: rules ASG-5 to ASG-8 apply to the users++++ graph in dev
// and prod, examine every group and schedule, and pass (internal/rules shows each failing).
func TestScalingRulesPassAtUsersPlus4(t *testing.T) {
	ids := []string{"ASG-4", "ASG-5", "ASG-6", "ASG-7", "ASG-8"}
	for _, env := range []string{"dev", "prod"} {
		s := evaluate(t, env, config.UsersPlus4, nil)
		rep := rules.Check(s.g, rules.Context{Environment: env, Stage: int(config.UsersPlus4), Force: ids})
		for _, id := range ids {
			res, ok := rep.Result(id)
			require.True(t, ok, id)
			assert.Positive(t, res.Examined, "%s %s", env, id)
			assert.Empty(t, res.Violations, "%s %s", env, id)
		}
		res, _ := rep.Result("ASG-8")
		assert.Equal(t, 6, res.Examined, "two actions per tier")
	}
	// At users+++ the groups are fixed: ASG-5 does not apply, and ASG-6 finds nothing to own.
	s := evaluate(t, "dev", config.UsersPlus3, nil)
	rep := rules.Check(s.g, rules.Context{Environment: "dev", Stage: int(config.UsersPlus3)})
	for _, id := range []string{"ASG-5", "ASG-6", "ASG-8"} {
		res, _ := rep.Result(id)
		assert.False(t, res.Applied, id)
	}
	res, _ := rep.Result("ASG-7")
	assert.True(t, res.Applied && !res.Failed(), "instance refresh keeps 100%% healthy from users++")
}
