package stages

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/scaling-aws/scaling-aws/components"
)

// usersPlus4 is stage 4, "Users++++": users+++ unchanged under the same names (the same
// groups and launch templates, the same data tier), plus what lets a small shop run it
// without watching it:
//   - autoscaling per tier on a business-hours schedule and on load;
//   - monitoring and alerting at the host, aggregate and log level, an external check of the
//     public URL, composite alarms that page only when users are hurt, and a dashboard;
//   - automated operations: Session Manager instead of SSH, Patch Manager, and State Manager
//     keeping the servers' configuration converged.
//
// The seed: "our traffic spikes during regular business hours in the U.S. and drop
// significantly when users leave the office [...] we want to automate as much of the
// operations as possible."
func usersPlus4(b *builder) error {
	return tiered(b, &stageExtras{tiers: []components.Tier{components.TierCache}, data: cacheAndReplicas, operate: operateUsersPlus4, appEnv: usersPlus4Env})
}

// operateUsersPlus4 adds users++++'s operations over the users+++ composition, one step per
// concern, each in its own file.
func operateUsersPlus4(b *builder, p *tierParts) error {
	for _, step := range usersPlus4Steps {
		if err := step(b, p); err != nil {
			return err
		}
	}
	// Last, once every step has made its alarms: the composite alarms and the dashboard
	// are made from all of them (stages/monitoring.go).
	return summarizeUsersPlus4(b, p)
}

// usersPlus4Steps are the steps of operateUsersPlus4, in order.
var usersPlus4Steps = []func(*builder, *tierParts) error{analyseLogs}

// usersPlus4Env are what users++++ adds to the API servers' environment, one function per
// concern.
var usersPlus4Env = []func(*builder, string) (map[string]pulumi.StringInput, error){
	statsdEnv,
}
