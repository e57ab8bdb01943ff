package components

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestScalingArgs: Scaling is refused, naming the field, when the group could not scale,
// could never scale back in, or a trigger lacks what it reads; and the sizes a deploy must
// leave alone follow what scales them.
func TestScalingArgs(t *testing.T) {
	tg := &TargetGroup{}
	ok := func() *ServerGroupArgs {
		return &ServerGroupArgs{MinSize: 2, MaxSize: 6, DesiredCapacity: 3, TargetGroups: []*TargetGroup{tg}, Scaling: &Scaling{
			CPUTargetPercent: 60, RequestsPerTargetPerMinute: 1000, LatencyP99Seconds: 0.1,
			Schedule: &ScalingSchedule{TimeZone: "America/New_York", Start: "30 7 * * 1-5", End: "0 19 * * 1-5", BusinessHoursMinSize: 4},
		}}
	}
	require.NoError(t, ok().scalingArgError("g"))
	assert.Equal(t, []string{"desiredCapacity", "minSize"}, ok().ignoredSizes())

	for want, mutate := range map[string]func(a *ServerGroupArgs){
		"MaxSize":                               func(a *ServerGroupArgs) { a.MaxSize = 2 },
		"Scaling.CPUTargetPercent = 120":        func(a *ServerGroupArgs) { a.Scaling.CPUTargetPercent = 120 },
		"CPUTargetPercent = 50":                 func(a *ServerGroupArgs) { a.CPUTargetPercent = 50 },
		"Scaling.InflightRequests":              func(a *ServerGroupArgs) { a.Scaling.InflightRequests = -1 },
		"no target-tracking trigger":            func(a *ServerGroupArgs) { a.Scaling.CPUTargetPercent, a.Scaling.RequestsPerTargetPerMinute = 0, 0 },
		"pass TargetGroups":                     func(a *ServerGroupArgs) { a.TargetGroups = nil },
		"Scaling.Schedule.TimeZone":             func(a *ServerGroupArgs) { a.Scaling.Schedule.TimeZone = "" },
		"no recurrence":                         func(a *ServerGroupArgs) { a.Scaling.Schedule.End = "" },
		"Scaling.Schedule.BusinessHoursMinSize": func(a *ServerGroupArgs) { a.Scaling.Schedule.BusinessHoursMinSize = 7 },
	} {
		a := ok()
		mutate(a)
		err := a.scalingArgError("g")
		require.Error(t, err, want)
		assert.Contains(t, err.Error(), want)
	}

	noSchedule := ok()
	noSchedule.Scaling.Schedule = nil
	assert.Equal(t, []string{"desiredCapacity"}, noSchedule.ignoredSizes(), "without a schedule min stays managed")
	fixed := &ServerGroupArgs{MinSize: 2, MaxSize: 2, DesiredCapacity: 2}
	assert.Empty(t, fixed.ignoredSizes(), "a fixed-size group keeps its size managed")
}
