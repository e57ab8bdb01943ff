package daysim

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSeedDayAveragesTheSeedWithAQuietNightAPlateauAndA3xSpike(t *testing.T) {
	shape := SeedShape()
	require.Len(t, shape, Minutes)
	sum, peak, peakAt := 0.0, 0.0, 0
	for i, v := range shape {
		sum += v
		if v > peak {
			peak, peakAt = v, i
		}
	}
	assert.InDelta(t, 1, sum/Minutes, 1e-12, "the shape's mean is the average")
	assert.InDelta(t, SeedPeakFactor, peak, 1e-12, "the peak is 3x the average")
	assert.Equal(t, 13*60, peakAt, "the spike tops at 13:00")
	assert.InDelta(t, 0.2, shape[3*60], 0.02, "03:00: a quiet night, about a fifth of the average")
	assert.InDelta(t, 2.0, shape[11*60], 0.05, "11:00: the business-hours plateau, about 2x the average")
	assert.Less(t, shape[12*60+40], 2.1, "the spike is short: 20 minutes before it the plateau")

	d, err := SeedDay(1)
	require.NoError(t, err)
	var reads, writes float64
	for i := range Minutes {
		reads += d.Reads[i]
		writes += d.Writes[i]
	}
	assert.InDelta(t, 40000, reads/Minutes, 1e-6, "100 billion reads a month: 40,000/s on average")
	assert.InDelta(t, 400, writes/Minutes, 1e-8, "1 billion writes a month: 400/s on average")
	assert.Equal(t, time.Wednesday, d.Start.Weekday(), "a weekday")
	assert.Equal(t, "America/New_York", d.Start.Location().String())
	assert.Equal(t, 24*time.Hour, d.Start.AddDate(0, 0, 1).Sub(d.Start), "no daylight-saving change: 1440 minutes")

	half, err := SeedDay(0.5)
	require.NoError(t, err)
	assert.InDelta(t, d.Reads[700]/2, half.Reads[700], 1e-9, "the scale multiplies the load")
	for _, bad := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		_, err := SeedDay(bad)
		assert.ErrorContains(t, err, "use a positive factor", "scale %v", bad)
	}
}

// A step doubling the load on a 2-instance tier: CPU 50 % -> 100 % at 10:00. The high
// alarm fires on the third breaching minute (10:02), the group launches 2 at 10:03, and
// they serve after the 240 s warm-up, at 10:07: 4 at 50 %, stable.
func TestStepLoadDoublesTheTierAfterAlarmAndWarmup(t *testing.T) {
	g := buildGraph(testGroup{name: "web", min: 1, max: 10, desired: 2, policies: []map[string]any{tracking("ASGAverageCPUUtilization", 50)}})
	r := run(t, g, stepAt(flatDay(t, 1000), 600, 2000), tier("web"))
	w := r.Tiers[0]
	assert.Equal(t, 2, at(w, 9, 59).Running, "50 %: not above the target, not below 90 % of it")
	assert.Equal(t, 2, at(w, 10, 1).Desired, "two breaching minutes: no alarm yet")
	assert.Equal(t, 4, at(w, 10, 2).Desired, "the third breaching minute: ceil(2 x 100 / 50)")
	assert.Equal(t, 2, at(w, 10, 2).Running)
	assert.Equal(t, 4, at(w, 10, 3).Running, "launched the next minute")
	assert.Equal(t, 2, at(w, 10, 6).InService, "warming up for 240 s")
	assert.Equal(t, 4, at(w, 10, 7).InService)
	assert.Equal(t, 4, at(w, 23, 59).Running, "50 % on 4: stable")
	assert.Equal(t, 0, w.OverCapacityMinutes, "2000 req/s on 2 x 1000 is at, not over, capacity")
	assert.Equal(t, 4, w.PeakInstances)
	// 2 instances for 603 minutes, 4 for 837.
	assert.InDelta(t, (2*603+4*837)/60.0, w.InstanceHours, 1e-9)
	assert.InDelta(t, w.InstanceHours, w.CostUSD, 1e-9, "1 USD an hour")
	assert.InDelta(t, 4*24, w.FixedPeakCostUSD, 1e-9)
}

// The max caps the scale-out and the minutes over capacity are counted.
func TestMaxCapsTheTierAndCountsMinutesOverCapacity(t *testing.T) {
	g := buildGraph(testGroup{name: "web", min: 1, max: 3, desired: 2, policies: []map[string]any{tracking("ASGAverageCPUUtilization", 50)}})
	r := run(t, g, stepAt(flatDay(t, 1000), 600, 4000), tier("web"))
	w := r.Tiers[0]
	assert.Equal(t, 3, at(w, 10, 2).Desired, "asks ceil(2 x 100 / 50) = 4, capped at max 3")
	assert.Equal(t, 3, at(w, 23, 0).Running, "stays at max")
	assert.True(t, at(w, 10, 0).OverCapacity)
	assert.False(t, at(w, 9, 59).OverCapacity)
	// From 10:00 to midnight 4000 req/s exceed 2 then 3 instances x 1000.
	assert.Equal(t, Minutes-600, w.OverCapacityMinutes)
	assert.Equal(t, Minutes-600, r.OverCapacityMinutes)
}

// A schedule raises the floor at 08:00 local (the group launches at once) and lowers it
// at 18:00, when the low alarm, firing all day, takes the group back to what the load needs.
func TestScheduleRaisesTheFloorAt0800Local(t *testing.T) {
	for _, tc := range []struct{ tz, up, down string }{
		{"America/New_York", "0 8 * * 1-5", "0 18 * * 1-5"},
		{"Europe/Berlin", "0 14 * * 1-5", "0 0 * * 4"}, // 08:00 New York (EDT) is 14:00 in Berlin (CEST); Thursday 00:00 Berlin is 18:00 Wednesday in New York
	} {
		g := buildGraph(testGroup{name: "web", min: 1, max: 10, desired: 1,
			policies:  []map[string]any{tracking("ASGAverageCPUUtilization", 50)},
			schedules: []map[string]any{schedule(tc.up, tc.tz, 4), schedule(tc.down, tc.tz, 1)}})
		r := run(t, g, flatDay(t, 100), tier("web"))
		w := r.Tiers[0]
		assert.Equal(t, 1, at(w, 7, 59).Running, tc.tz)
		assert.Equal(t, 4, at(w, 8, 0).Min, tc.tz)
		assert.Equal(t, 4, at(w, 8, 0).Running, "%s: a minimum above the desired capacity raises it", tc.tz)
		assert.Equal(t, 1, at(w, 8, 3).InService, tc.tz)
		assert.Equal(t, 4, at(w, 8, 4).InService, tc.tz)
		assert.Equal(t, 4, at(w, 17, 59).Running, tc.tz)
		assert.Equal(t, 1, at(w, 18, 0).Min, tc.tz)
		assert.Equal(t, 1, at(w, 18, 0).Desired, "%s: 100 req/s needs 1", tc.tz)
		assert.InDelta(t, (1*480+4*601+1*359)/60.0, w.InstanceHours, 1e-9, "%s: the three go at 18:01", tc.tz)
	}

	// On a Saturday the weekday schedule does nothing.
	g := buildGraph(testGroup{name: "web", min: 1, max: 10, desired: 1,
		policies:  []map[string]any{tracking("ASGAverageCPUUtilization", 50)},
		schedules: []map[string]any{schedule("0 8 * * 1-5", "America/New_York", 4)}})
	d := flatDay(t, 100)
	d.Start = d.Start.AddDate(0, 0, 3)
	require.Equal(t, time.Saturday, d.Start.Weekday())
	assert.Equal(t, 1, run(t, g, d, tier("web")).Tiers[0].PeakInstances)
}

// Scale-in waits for 15 minutes below 90 % of the target, then goes to the capacity the
// metric asks for.
func TestScaleInWaitsFor15MinutesBelowTheTarget(t *testing.T) {
	g := buildGraph(testGroup{name: "web", min: 1, max: 10, desired: 4, policies: []map[string]any{tracking("ASGAverageCPUUtilization", 50)}})
	r := run(t, g, stepAt(flatDay(t, 2000), 600, 1000), tier("web"))
	w := r.Tiers[0]
	assert.Equal(t, 4, at(w, 10, 13).Desired, "14 minutes at 25 %: the low alarm is not firing yet")
	assert.Equal(t, 2, at(w, 10, 14).Desired, "the 15th: ceil(4 x 25 / 50)")
	assert.Equal(t, 4, at(w, 10, 14).Running)
	assert.Equal(t, 2, at(w, 10, 15).Running, "terminated the next minute")
	assert.Equal(t, 2, at(w, 23, 59).Running, "50 % on 2: stable")
}

// Scale-in also waits for instances warming up.
func TestScaleInWaitsForWarmingInstances(t *testing.T) {
	g := buildGraph(testGroup{name: "web", min: 1, max: 10, desired: 1,
		policies: []map[string]any{tracking("ASGAverageCPUUtilization", 50)}, inputs: map[string]any{"defaultInstanceWarmup": 1800.0}})
	// 900 req/s on 1 (90 %) from midnight: out at 00:02 to ceil(1 x 90 / 50) = 2, launched
	// at 00:03, ready at 00:33. At 00:05 the load falls to 100: the low alarm fires from
	// 00:19 (15 minutes below 45 %), but scale-in waits until no instance is warming up.
	w := run(t, g, stepAt(flatDay(t, 900), 5, 100), tier("web")).Tiers[0]
	assert.Equal(t, 2, at(w, 0, 2).Desired)
	assert.Equal(t, 1, at(w, 0, 32).InService, "30 minutes of warm-up")
	assert.Equal(t, 2, at(w, 0, 32).Desired, "the low alarm fires from 00:19, but an instance is warming up")
	assert.Equal(t, 2, at(w, 0, 33).InService)
	assert.Equal(t, 1, at(w, 0, 33).Desired, "warm-up over: scale in")
}

// Two policies: the group takes the larger capacity out, and scales in only when both agree.
func TestTwoPoliciesTakeTheLargerCapacityAndBothMustAgreeToScaleIn(t *testing.T) {
	two := []map[string]any{tracking("ASGAverageCPUUtilization", 50), tracking("ALBRequestCountPerTarget", 10000)}
	g := buildGraph(testGroup{name: "web", min: 1, max: 20, desired: 2, policies: two})
	w := run(t, g, stepAt(flatDay(t, 300), 600, 2000), tier("web")).Tiers[0]
	// 300 req/s on 2: CPU 15 % (below 45 %) but 9,000 requests a minute per server, not
	// below 90 % of 10,000: no scale-in.
	assert.Equal(t, 2, at(w, 9, 59).Running, "the request policy does not agree to scale in")
	// 2000 on 2: CPU asks ceil(2 x 100/50) = 4, requests ceil(2 x 60000/10000) = 12.
	assert.Equal(t, 12, at(w, 10, 2).Desired, "the larger capacity")

	one := buildGraph(testGroup{name: "web", min: 1, max: 20, desired: 2, policies: two[:1]})
	assert.Equal(t, 1, run(t, one, flatDay(t, 300), tier("web")).Tiers[0].Minutes[15].Running, "the CPU policy alone scales in after 15 minutes")
}

// A policy with disableScaleIn never scales in and does not hold the others back.
func TestDisableScaleInLeavesScaleInToTheOtherPolicies(t *testing.T) {
	noIn := tracking("ALBRequestCountPerTarget", 10000)
	noIn["targetTrackingConfiguration"].(map[string]any)["disableScaleIn"] = true
	alone := buildGraph(testGroup{name: "web", min: 1, max: 20, desired: 4, policies: []map[string]any{noIn}})
	assert.Equal(t, 4, run(t, alone, flatDay(t, 100), tier("web")).Tiers[0].Minutes[Minutes-1].Running, "nothing scales in")
	both := buildGraph(testGroup{name: "web", min: 1, max: 20, desired: 4, policies: []map[string]any{tracking("ASGAverageCPUUtilization", 50), noIn}})
	// 300 req/s on 4: CPU 7.5 %, and the request policy does not vote: the CPU policy
	// scales in after 15 minutes to ceil(4 x 7.5 / 50) = 1.
	assert.Equal(t, 1, run(t, both, flatDay(t, 300), tier("web")).Tiers[0].Minutes[15].Desired)
}

// A lower target gives more instance-hours on the seed's day shape.
func TestALowerTargetGivesMoreInstanceHours(t *testing.T) {
	d, err := SeedDay(0.1) // 4,000 reads/s on average
	require.NoError(t, err)
	hours := func(target float64) float64 {
		g := buildGraph(testGroup{name: "read-api", min: 2, max: 40, desired: 2, policies: []map[string]any{tracking("ASGAverageCPUUtilization", target)}})
		return run(t, g, d, Tier{Name: "read-api", Capacity: 1970, HourlyUSD: 0.0272, ReadShare: 1}).Tiers[0].InstanceHours
	}
	h60, h30 := hours(60), hours(30)
	assert.Greater(t, h30, h60*1.5, "half the target: nearly twice the servers")
	assert.Less(t, h30, h60*2.5)
}

// Step scaling on p99 latency: +1 while the breach is under 0.1 s, counted from the
// instances past warm-up, so the alarm firing during the warm-up adds nothing more.
func TestLatencyStepScalingAddsOneStepAndWaitsForTheWarmup(t *testing.T) {
	g := buildGraph(testGroup{name: "read-api", min: 2, max: 10, desired: 2,
		policies: []map[string]any{
			tracking("ASGAverageCPUUtilization", 90),
			{"name": "read-api-latency", "policyType": "StepScaling", "adjustmentType": "ChangeInCapacity", "stepAdjustments": []any{
				map[string]any{"metricIntervalLowerBound": "0", "metricIntervalUpperBound": "0.1", "scalingAdjustment": 1.0},
				map[string]any{"metricIntervalLowerBound": "0.1", "scalingAdjustment": 2.0}}},
		},
		alarms: []map[string]any{{"policy": "read-api-latency", "namespace": "AWS/ApplicationELB", "metricName": "TargetResponseTime",
			"extendedStatistic": "p99", "comparisonOperator": "GreaterThanThreshold", "threshold": 0.1, "period": 60.0, "evaluationPeriods": 3.0, "datapointsToAlarm": 3.0}}})
	// 1200 req/s on 2: utilisation 0.6, p99 = ln(100) x 10 ms / 0.4 = 115 ms (CPU 60 %,
	// under its 90 % target).
	w := run(t, g, stepAt(flatDay(t, 1000), 600, 1200), tier("read-api")).Tiers[0]
	assert.InDelta(t, math.Log(100)*10/0.4, at(w, 10, 0).P99Millis, 1e-9)
	assert.Equal(t, 2, at(w, 10, 1).Desired)
	assert.Equal(t, 3, at(w, 10, 2).Desired, "3 minutes above 100 ms: the first step, +1")
	assert.Equal(t, 3, at(w, 10, 6).Desired, "the alarm still fires during the warm-up: 2 ready + 1 is no more")
	assert.Equal(t, 3, at(w, 10, 7).InService)
	assert.Less(t, at(w, 10, 7).P99Millis, 100.0, "3 servers: 77 ms")

	// With 2000 req/s (utilisation 1: the queue's 0.99 cap) the breach is 4.6 s: +2.
	w = run(t, g, stepAt(flatDay(t, 1000), 600, 2000), tier("read-api")).Tiers[0]
	assert.Equal(t, 4, at(w, 10, 2).Desired, "CPU 100 % asks ceil(2 x 100/90) = 3; the second step, +2, asks 4")
}

// The in-flight policy tracks arrival rate x response time.
func TestInflightPolicyFollowsLittlesLaw(t *testing.T) {
	g := buildGraph(testGroup{name: "read-api", min: 1, max: 10, desired: 1, policies: []map[string]any{inflight(5)}})
	// 500 req/s on 1 of 1000: mean 10 ms / 0.5 = 20 ms, 10 in flight: twice the target.
	// ceil(1 x 10 / 5) = 2; on 2: 250 req/s, 13.3 ms, 3.3 in flight.
	w := run(t, g, flatDay(t, 500), tier("read-api")).Tiers[0]
	assert.Equal(t, 2, at(w, 0, 2).Desired)
	assert.Equal(t, 2, at(w, 23, 59).Running)
}

// Without FromRecorded the day starts where the day before left the group at midnight.
func TestTheDayStartsWhereTheDayBeforeLeftTheGroup(t *testing.T) {
	g := buildGraph(testGroup{name: "web", min: 1, max: 10, desired: 5, policies: []map[string]any{tracking("ASGAverageCPUUtilization", 50)}})
	d := flatDay(t, 100)
	d.FromRecorded = false
	w := run(t, g, d, tier("web")).Tiers[0]
	assert.Equal(t, 1, w.Minutes[0].Running, "the day before scaled the recorded 5 in to 1")
	assert.Equal(t, 1, w.PeakInstances)
	d.FromRecorded = true
	assert.Equal(t, 5, run(t, g, d, tier("web")).Tiers[0].Minutes[0].Running)
}

func TestWarmupComesFromTheGroupThenThePoliciesThenTheCooldown(t *testing.T) {
	pol := tracking("ASGAverageCPUUtilization", 50)
	withWarmup := tracking("ASGAverageCPUUtilization", 50)
	withWarmup["estimatedInstanceWarmup"] = 120.0
	for _, tc := range []struct {
		name   string
		group  testGroup
		expect float64
	}{
		{"default instance warmup", testGroup{policies: []map[string]any{withWarmup}}, 240},
		{"policy warm-up", testGroup{noWarmup: true, policies: []map[string]any{withWarmup}}, 120},
		{"default cooldown", testGroup{noWarmup: true, policies: []map[string]any{pol}, inputs: map[string]any{"defaultCooldown": 180.0}}, 180},
		{"AWS's default cooldown", testGroup{noWarmup: true, policies: []map[string]any{pol}}, 300},
	} {
		tc.group.name, tc.group.min, tc.group.max, tc.group.desired = "web", 1, 2, 1
		gr, err := readGroup(buildGraph(tc.group), "web")
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.expect, gr.WarmupSeconds, tc.name)
	}
}

func TestGroupSizesFromTheGraph(t *testing.T) {
	pol := []map[string]any{tracking("ASGAverageCPUUtilization", 50)}
	g := buildGraph(testGroup{name: "web", min: 2, max: 6, desired: 3, policies: pol})
	delete(g.Resources[0].Inputs, "desiredCapacity")
	gr, err := readGroup(g, "web")
	require.NoError(t, err)
	assert.Equal(t, [3]int{2, 6, 2}, [3]int{gr.MinSize, gr.MaxSize, gr.DesiredCapacity}, "no desired capacity: AWS starts at the minimum")
	delete(g.Resources[0].Inputs, "maxSize")
	_, err = readGroup(g, "web")
	assert.ErrorContains(t, err, "group web: maxSize is missing, not a size")
	_, err = readGroup(buildGraph(testGroup{name: "web", min: 3, max: 2, desired: 2, policies: pol}), "web")
	assert.ErrorContains(t, err, "maxSize 2 is below minSize 3")

	r := run(t, buildGraph(testGroup{name: "web", min: 2, max: 6, desired: 3, policies: pol}), flatDay(t, 100), tier("web"))
	require.NotNil(t, r.Tier("web"))
	assert.Equal(t, 3, r.Tier("web").Minutes[0].Running, "from the recorded desired capacity")
	assert.Nil(t, r.Tier("read-api"))
}

func TestPoliciesAndSchedulesBelongToTheirGroup(t *testing.T) {
	g := buildGraph(
		testGroup{name: "web", min: 1, max: 4, desired: 2, policies: []map[string]any{tracking("ASGAverageCPUUtilization", 60)},
			schedules: []map[string]any{schedule("30 7 * * 1-5", "America/New_York", 3)}},
		testGroup{name: "read-api", min: 1, max: 6, desired: 3, linkByNameNotDependsOn: true,
			policies: []map[string]any{tracking("ALBRequestCountPerTarget", 30000), inflight(10)}},
	)
	web, err := readGroup(g, "web")
	require.NoError(t, err)
	assert.Len(t, web.Policies, 1)
	assert.Len(t, web.Schedules, 1)
	assert.Equal(t, "CPU 60 %, min 3 at `30 7 * * 1-5`", web.Triggers())
	read, err := readGroup(g, "read-api")
	require.NoError(t, err)
	require.Len(t, read.Policies, 2, "linked through the group's name input")
	assert.Equal(t, []Metric{MetricRequests, MetricInflight}, []Metric{read.Policies[0].Metric, read.Policies[1].Metric})
	assert.Empty(t, read.Schedules)
}

func TestBadInputFailsNamingWhatAndTheFix(t *testing.T) {
	good := testGroup{name: "web", min: 1, max: 4, desired: 2, policies: []map[string]any{tracking("ASGAverageCPUUtilization", 60)}}
	d := flatDay(t, 100)
	for _, tc := range []struct {
		name  string
		group testGroup
		tier  Tier
		day   *Day
		want  string
	}{
		{"no such group", good, tier("read-api"), nil, `no aws:autoscaling/group:Group named "read-api" (it has web)`},
		{"no policy", testGroup{name: "web", min: 1, max: 4, desired: 2}, tier("web"), nil, "group web has no target-tracking policy"},
		{"capacity", good, Tier{Name: "web", ReadShare: 1}, nil, "tier web: Capacity = 0 is invalid"},
		{"share", good, Tier{Name: "web", Capacity: 1, ReadShare: 2}, nil, "ReadShare = 2 is invalid"},
		{"service time", testGroup{name: "web", min: 1, max: 4, desired: 2, policies: []map[string]any{inflight(10)}}, Tier{Name: "web", Capacity: 1}, nil, "ServiceMillis = 0 is invalid: policy web-policy-a tracks inflight"},
		{"response size", testGroup{name: "web", min: 1, max: 4, desired: 2, policies: []map[string]any{tracking("ASGAverageNetworkOut", 1e6)}}, Tier{Name: "web", Capacity: 1}, nil, "ResponseBytes = 0 is invalid"},
		{"metric", testGroup{name: "web", min: 1, max: 4, desired: 2, policies: []map[string]any{tracking("ASGAverageNetworkIn", 1e6)}}, tier("web"), nil, "predefined metric ASGAverageNetworkIn is not modelled"},
		{"recurrence", testGroup{name: "web", min: 1, max: 4, desired: 2, policies: good.policies, schedules: []map[string]any{schedule("61 7 * * *", "UTC", 2)}}, tier("web"), nil, `recurrence "61 7 * * *"`},
		{"time zone", testGroup{name: "web", min: 1, max: 4, desired: 2, policies: good.policies, schedules: []map[string]any{schedule("0 7 * * *", "Mars/Olympus", 2)}}, tier("web"), nil, `time zone "Mars/Olympus"`},
		{"step without alarm", testGroup{name: "web", min: 1, max: 4, desired: 2, policies: append([]map[string]any{good.policies[0]}, map[string]any{"policyType": "StepScaling", "adjustmentType": "ChangeInCapacity",
			"stepAdjustments": []any{map[string]any{"metricIntervalLowerBound": "0", "scalingAdjustment": 1.0}}})}, tier("web"), nil, "no aws:cloudwatch/metricAlarm:MetricAlarm in the graph runs this step policy"},
		{"day length", good, tier("web"), &Day{Start: d.Start, Reads: []float64{1}, Writes: d.Writes}, "Day.Reads has 1 values"},
		{"negative load", good, tier("web"), &Day{Start: d.Start, Reads: stepAt(flatDay(t, 1), 5, -1).Reads, Writes: d.Writes}, "Day.Reads[5] = -1"},
	} {
		day := d
		if tc.day != nil {
			day = *tc.day
		}
		_, err := Run(buildGraph(tc.group), []Tier{tc.tier}, day)
		assert.ErrorContains(t, err, tc.want, tc.name)
	}
	_, err := Run(buildGraph(good), []Tier{tier("web"), tier("web")}, d)
	assert.ErrorContains(t, err, `tier "web" is given twice`)
}

func TestMarkdownAndSVGReportTheDay(t *testing.T) {
	g := buildGraph(
		testGroup{name: "web", min: 2, max: 12, desired: 3, policies: []map[string]any{tracking("ASGAverageCPUUtilization", 60), tracking("ALBRequestCountPerTarget", 120000)},
			schedules: []map[string]any{schedule("30 7 * * 1-5", "America/New_York", 3), schedule("0 19 * * 1-5", "America/New_York", 2)}},
		testGroup{name: "write-api", min: 2, max: 6, desired: 3, policies: []map[string]any{tracking("ASGAverageCPUUtilization", 60), inflight(10)}},
	)
	d, err := SeedDay(0.05)
	require.NoError(t, err)
	r := run(t, g, d,
		Tier{Name: "web", Capacity: 8560, HourlyUSD: 0.0218, ReadShare: 1, WriteShare: 1, ResponseBytes: 1000, ServiceMillis: 1},
		Tier{Name: "write-api", Capacity: 830, HourlyUSD: 0.0218, WriteShare: 1, ServiceMillis: 6.2})
	md := r.Markdown()
	assert.Contains(t, md, "Wednesday 17 June 2026, America/New_York")
	assert.Contains(t, md, "| web | 2–12 | CPU 60 %, 120000 req/min per server, min 3 at `30 7 * * 1-5`, min 2 at `0 19 * * 1-5` |")
	assert.Contains(t, md, "| total |")
	assert.Equal(t, 5, strings.Count(md, "\n|"), "header, rule, two tiers, total")
	assert.InDelta(t, r.Tiers[0].CostUSD+r.Tiers[1].CostUSD, r.CostUSD, 1e-9)

	svg, err := SVG(r)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(svg, []byte("<?xml")))
	for _, s := range []string{"write-api", "load (requests/s)", "instances running", ">09:00<", ">24:00<"} {
		assert.Contains(t, string(svg), s)
	}
	again, err := SVG(r)
	require.NoError(t, err)
	assert.Equal(t, svg, again, "the same result draws the same bytes")
	for _, change := range []func(m *Minute){
		func(m *Minute) { m.Running = 0 },
		func(m *Minute) { m.Load *= 2 },
	} {
		c := *r
		c.Tiers = append([]TierResult(nil), r.Tiers...)
		c.Tiers[1].Minutes = append([]Minute(nil), r.Tiers[1].Minutes...)
		change(&c.Tiers[1].Minutes[700])
		other, err := SVG(&c)
		require.NoError(t, err)
		assert.NotEqual(t, svg, other, "the chart draws every tier's load and instances")
	}
	_, err = SVG(&Result{})
	assert.Error(t, err)
}
