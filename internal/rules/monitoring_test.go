package rules_test

import (
	"testing"

	"github.com/scaling-aws/scaling-aws/internal/rules"
)

// TestCacheMemberAlarmsWatchTheirGroup: ElastiCache publishes a cluster-mode-disabled
// group's metrics per member cluster (<group id>-001...), and an alarm there may not depend
// on the group (the component names members from the id, a plain string). MON-3 counts such
// alarms for their group, and only for their group.
func TestCacheMemberAlarmsWatchTheirGroup(t *testing.T) {
	for _, tc := range []struct {
		member string
		ok     bool
	}{
		{"scaling-aws-prod-cache-001", true},
		{"scaling-aws-prod-cache-002", true},
		{"scaling-aws-prod-cache-extra-001", false}, // another group's member
		{"scaling-aws-prod-cache-1", false},         // not a member name (three digits)
	} {
		f := compliant()
		f.r("cache").Inputs["replicationGroupId"] = "scaling-aws-prod-cache"
		for _, met := range []string{"EngineCPUUtilization", "DatabaseMemoryUsagePercentage", "ReplicationLag"} {
			a := f.r("cache-" + met)
			a.Inputs["dimensions"] = map[string]any{"CacheClusterId": tc.member}
			a.Dependencies = []string{f.r("alarms").URN}
		}
		rep := rules.Check(f.g, rules.Context{Environment: rules.Prod, Stage: rules.StageUsers4P})
		res, _ := rep.Result("MON-3")
		if res.Failed() == tc.ok {
			t.Errorf("alarms on %s: MON-3 failed=%v, want %v: %v", tc.member, res.Failed(), !tc.ok, res.Violations)
		}
	}
}
