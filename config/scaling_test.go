package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCronDays: day settings become cron's numeric day-of-week field; what cron would
// misread is refused with a fix.
func TestCronDays(t *testing.T) {
	for in, want := range map[string]string{"MON-FRI": "1-5", "mon-sat": "1-6", "SAT,SUN": "6,0", "WED": "3", "SUN-SAT": "0-6"} {
		got, fix := CronDays(in)
		assert.Empty(t, fix, in)
		assert.Equal(t, want, got, in)
	}
	for in, fix := range map[string]string{"FRI-MON": "backwards", "MON,MON": "twice", "MONDAY": "MON-FRI", "1-5": "MON-FRI", "": "MON-FRI", "*": "MON-FRI"} {
		_, got := CronDays(in)
		assert.Contains(t, got, fix, in)
	}
	up, down := Schedule{Days: "MON-FRI", ScaleUpAt: "07:30", ScaleDownAt: "19:05"}.Recurrences()
	assert.Equal(t, "30 7 * * 1-5", up)
	assert.Equal(t, "5 19 * * 1-5", down)
	assert.Empty(t, scheduleTimeZoneProblem("Asia/Kolkata"))
	assert.NotEmpty(t, scheduleTimeZoneProblem("america/new_york"), "names are case-sensitive")
}
