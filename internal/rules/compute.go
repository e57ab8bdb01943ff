package rules

import (
	"strings"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// isBox reports whether an instance is the single box: one of its security groups is
// tagged role=box.
func (e *Env) isBox(r *graph.Resource) bool {
	for _, g := range e.Refs(r, "vpcSecurityGroupIds", tSG) {
		if tag(g, TagRole) == RoleBox {
			return true
		}
	}
	return false
}

func hasInstances(e *Env) bool { return e.Has(tInstance, tLaunchTemplate) }

func instancesAndTemplates(e *Env) []*graph.Resource { return e.Of(tInstance, tLaunchTemplate) }

func computeRules() []Rule {
	const computeApplies = "every aws:ec2/instance:Instance and aws:ec2/launchTemplate:LaunchTemplate"
	rules := []Rule{{
		ID:        "CMP-1",
		Title:     "IMDSv2 required with hop limit 1",
		Refs:      []string{"CKV_AWS_79", "CKV_AWS_341", "SH EC2.8", "SH AutoScaling.3"},
		Applies:   computeApplies,
		AppliesTo: hasInstances,
		Select:    instancesAndTemplates,
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if r.String("metadataOptions.httpTokens") != "required" {
				out = append(out, v("metadataOptions.httpTokens must be \"required\" (IMDSv2), got %q", r.String("metadataOptions.httpTokens")))
			}
			if n, ok := r.Number("metadataOptions.httpPutResponseHopLimit"); !ok || n != 1 {
				out = append(out, v("metadataOptions.httpPutResponseHopLimit must be set to 1"))
			}
			return out
		},
	}, {
		ID:        "CMP-2",
		Title:     "every EBS volume encrypted",
		Refs:      []string{"CKV_AWS_8", "CKV_AWS_3", "SH EC2.7"},
		Applies:   computeApplies + " (root and every block device) and every aws:ebs/volume:Volume",
		AppliesTo: func(e *Env) bool { return e.Has(tInstance, tLaunchTemplate, tVolume) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tInstance, tLaunchTemplate, tVolume) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			switch r.Type {
			case tVolume:
				if !boolIs(r, "encrypted", true) {
					out = append(out, v("encrypted must be true"))
				}
			case tInstance:
				if !boolIs(r, "rootBlockDevice.encrypted", true) {
					out = append(out, v("rootBlockDevice.encrypted must be true"))
				}
				for i, d := range list(r, "ebsBlockDevices") {
					if m, _ := d.(map[string]any); !mbool(m, "encrypted") {
						out = append(out, v("ebsBlockDevices[%d].encrypted must be true", i))
					}
				}
			case tLaunchTemplate:
				bdm := list(r, "blockDeviceMappings")
				if len(bdm) == 0 {
					out = append(out, v("blockDeviceMappings must declare the root volume with ebs.encrypted \"true\" (the AMI's default is not trusted)"))
				}
				for i, d := range bdm {
					m, _ := d.(map[string]any)
					ebs, _ := m["ebs"].(map[string]any)
					if ebs != nil && !mbool(ebs, "encrypted") {
						out = append(out, v("blockDeviceMappings[%d].ebs.encrypted must be \"true\"", i))
					}
				}
			}
			return out
		},
	}, {
		ID:        "CMP-3",
		Title:     "no public IP on instances (the single box only through BoxMaxStage)",
		Refs:      []string{"CKV_AWS_88", "SH EC2.9", "SH AutoScaling.5"},
		Applies:   computeApplies + "; an instance in a role=box group is exempt through stage BoxMaxStage",
		AppliesTo: hasInstances,
		Select:    instancesAndTemplates,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if r.Type == tInstance && e.isBox(r) && e.Ctx.Stage <= BoxMaxStage {
				return nil
			}
			var out []Violation
			if boolIs(r, "associatePublicIpAddress", true) {
				out = append(out, v("associatePublicIpAddress must not be true"))
			}
			for i, n := range list(r, "networkInterfaces") {
				if m, _ := n.(map[string]any); mbool(m, "associatePublicIpAddress") {
					out = append(out, v("networkInterfaces[%d].associatePublicIpAddress must not be \"true\"", i))
				}
			}
			return out
		},
	}, {
		ID:        "CMP-4",
		Title:     "instances run with an instance profile (never static keys)",
		Refs:      []string{"SH EC2.8", "CKV2_AWS_41"},
		Applies:   computeApplies,
		AppliesTo: hasInstances,
		Select:    instancesAndTemplates,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if r.Type == tInstance && r.String("iamInstanceProfile") != "" {
				return nil
			}
			if r.Type == tLaunchTemplate && (r.String("iamInstanceProfile.name") != "" || r.String("iamInstanceProfile.arn") != "") {
				return nil
			}
			return []Violation{v("iamInstanceProfile must be set")}
		},
	}, {
		ID:        "ASG-1",
		Title:     "Auto Scaling groups use a launch template over private subnets in >= 2 AZs",
		Refs:      []string{"SH AutoScaling.2", "SH AutoScaling.9", "REL10-BP01"},
		Applies:   "every aws:autoscaling/group:Group",
		AppliesTo: func(e *Env) bool { return e.Has(tASG) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tASG) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if object(r, "launchTemplate") == nil && object(r, "mixedInstancesPolicy.launchTemplate") == nil {
				out = append(out, v("launchTemplate must be set (launch configurations are deprecated)"))
			}
			if r.String("launchConfiguration") != "" {
				out = append(out, v("launchConfiguration must not be used"))
			}
			ids := strings_(r.Inputs["vpcZoneIdentifiers"])
			if len(ids) < 2 {
				out = append(out, v("vpcZoneIdentifiers must list subnets in at least two AZs, got %d", len(ids)))
			}
			azs := map[string]bool{}
			for _, s := range e.RefsOf(r, ids, tSubnet) {
				azs[subnetAZ(s)] = true
				if tag(s, TagTier) == "public" {
					out = append(out, v("subnet %s is public; server groups live in private subnets", s.Name))
				}
			}
			if len(ids) >= 2 && len(azs) == 1 {
				out = append(out, v("all its subnets are in one AZ (%s)", sortedKeys(azs)[0]))
			}
			return out
		},
	}, {
		ID:        "ASG-2",
		Title:     "Auto Scaling group sizes: min <= desired <= max, max >= 1",
		Refs:      []string{"REL07-BP01"},
		Applies:   "every aws:autoscaling/group:Group",
		AppliesTo: func(e *Env) bool { return e.Has(tASG) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tASG) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			mn, ok1 := r.Number("minSize")
			mx, ok2 := r.Number("maxSize")
			if !ok1 || !ok2 {
				return []Violation{v("minSize and maxSize must be set")}
			}
			if d, ok := r.Number("desiredCapacity"); ok && (d < mn || d > mx) {
				return []Violation{v("desiredCapacity %g is outside minSize %g .. maxSize %g", d, mn, mx)}
			}
			if mn > mx || mx < 1 {
				return []Violation{v("minSize %g and maxSize %g must satisfy min <= max and max >= 1", mn, mx)}
			}
			return nil
		},
	}, {
		ID:    "ASG-3",
		Title: "Auto Scaling groups behind target groups use ELB health checks with a grace period",
		Refs:  []string{"SH AutoScaling.1", "REL07-BP01"},
		Applies: "every aws:autoscaling/group:Group; one tagged role=worker (queue workers, no load balancer) needs only the grace period, " +
			"every other must list targetGroupArns (or trafficSources) and use healthCheckType ELB",
		AppliesTo: func(e *Env) bool { return e.Has(tASG) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tASG) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if n, ok := r.Number("healthCheckGracePeriod"); !ok || n <= 0 {
				out = append(out, v("healthCheckGracePeriod must be set above 0"))
			}
			if tag(r, TagRole) == RoleWorker {
				return out
			}
			if len(list(r, "targetGroupArns")) == 0 && len(list(r, "trafficSources")) == 0 {
				out = append(out, v("targetGroupArns must register the group with a target group (or tag it %s=%s)", TagRole, RoleWorker))
			}
			if r.String("healthCheckType") != "ELB" {
				out = append(out, v("healthCheckType must be \"ELB\", got %q", r.String("healthCheckType")))
			}
			return out
		},
	}, {
		ID:        "ASG-4",
		Title:     "every Auto Scaling group has a scaling policy",
		Refs:      []string{"REL07-BP01"},
		Applies:   "every aws:autoscaling/group:Group; an aws:autoscaling/policy:Policy must name it in autoscalingGroupName",
		AppliesTo: func(e *Env) bool { return e.Has(tASG) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tASG) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			if len(e.Companions(r, tASGPolicy, "autoscalingGroupName")) == 0 {
				return []Violation{v("no aws:autoscaling/policy:Policy names this group")}
			}
			return nil
		},
	}}
	return append(rules, scalingRules()...)
}

// tASGSchedule is a scheduled scaling action.
const tASGSchedule = "aws:autoscaling/schedule:Schedule"

// scheduleSizes are the sizes a scheduled action sets; the provider sends 0 for one left
// unset (its default), -1 leaves it unchanged.
var scheduleSizes = []string{"minSize", "maxSize", "desiredCapacity"}

// scales reports whether a group can change its size (maxSize above minSize).
func scales(r *graph.Resource) bool {
	mn, ok1 := r.Number("minSize")
	mx, ok2 := r.Number("maxSize")
	return ok1 && ok2 && mx > mn
}

// ignores reports whether a resource's ignoreChanges lists key.
func ignores(r *graph.Resource, key string) bool {
	for _, k := range r.IgnoreChanges {
		if k == key {
			return true
		}
	}
	return false
}

// scalingRules are the autoscaling rules of users++++ (issue 11) and the instance refresh's.
func scalingRules() []Rule {
	return []Rule{{
		ID:    "ASG-5",
		Title: "from users++++ every Auto Scaling group scales: maxSize > minSize and a target-tracking policy",
		Refs:  []string{"REL07-BP01", "SH AutoScaling.1"},
		Applies: "from stage 4 (users++++: autoscaling), every aws:autoscaling/group:Group; an aws:autoscaling/policy:Policy of policyType " +
			"TargetTrackingScaling must name it (only target tracking scales a group back in; step scaling and schedules alone never shrink it)",
		AppliesTo: func(e *Env) bool { return e.Ctx.Stage >= StageUsers4P && e.Has(tASG) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tASG) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if !scales(r) {
				mn, _ := r.Number("minSize")
				mx, _ := r.Number("maxSize")
				out = append(out, v("maxSize %g must exceed minSize %g: a fixed-size group does not scale", mx, mn))
			}
			tracking := 0
			for _, p := range e.Companions(r, tASGPolicy, "autoscalingGroupName") {
				if p.String("policyType") == "TargetTrackingScaling" {
					tracking++
				}
			}
			if tracking == 0 {
				out = append(out, v("no TargetTrackingScaling aws:autoscaling/policy:Policy names this group"))
			}
			return out
		},
	}, {
		ID:    "ASG-6",
		Title: "a deploy never resets what autoscaling sets: scaled sizes are in ignoreChanges",
		Refs:  []string{"ANCHORS c4", "hashicorp/terraform-provider-aws#23648"},
		Applies: "every aws:autoscaling/group:Group with maxSize > minSize (its desiredCapacity must be unset or in ignoreChanges) " +
			"and every one an aws:autoscaling/schedule:Schedule names (each size the schedule sets, >= 0, must be in ignoreChanges)",
		AppliesTo: func(e *Env) bool { return len(scalingGroups(e)) > 0 },
		Select:    scalingGroups,
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if _, set := r.Inputs["desiredCapacity"]; set && scales(r) && !ignores(r, "desiredCapacity") {
				out = append(out, v("desiredCapacity is set and not in ignoreChanges: every `pulumi up` would reset the capacity the scaling policies chose"))
			}
			for _, s := range e.Companions(r, tASGSchedule, "autoscalingGroupName") {
				for _, k := range scheduleSizes {
					if n, ok := s.Number(k); ok && n >= 0 && !ignores(r, k) {
						out = append(out, v("schedule %s sets %s, which is not in ignoreChanges: a `pulumi up` after it ran would put the config's value back", s.Name, k))
					}
				}
			}
			return out
		},
	}, {
		ID:        "ASG-7",
		Title:     "instance refresh rolls with at least 90% of the capacity healthy",
		Refs:      []string{"REL07-BP01", "REL08-BP04"},
		Applies:   "every aws:autoscaling/group:Group: instanceRefresh with strategy Rolling and preferences.minHealthyPercentage set, 90 to 100 (unset is not trusted)",
		AppliesTo: func(e *Env) bool { return e.Has(tASG) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tASG) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if r.String("instanceRefresh.strategy") != "Rolling" {
				out = append(out, v("instanceRefresh.strategy must be \"Rolling\" (a launch template change then replaces servers in batches), got %q", r.String("instanceRefresh.strategy")))
			}
			if n, ok := r.Number("instanceRefresh.preferences.minHealthyPercentage"); !ok || n < 90 || n > 100 {
				out = append(out, v("instanceRefresh.preferences.minHealthyPercentage must be set to 90..100 so a deploy keeps the capacity serving"))
			}
			return out
		},
	}, {
		ID:    "ASG-8",
		Title: "scheduled actions name a time zone, a recurrence and every size",
		Refs:  []string{"EC2 Auto Scaling PutScheduledUpdateGroupAction", "pulumi-aws autoscaling.Schedule"},
		Applies: "every aws:autoscaling/schedule:Schedule: timeZone set (cron recurrences are UTC by default, so business hours would drift an hour " +
			"with daylight saving time), recurrence set, and minSize, maxSize and desiredCapacity each set (-1 leaves one unchanged; the provider " +
			"sends 0 for an unset one, which empties the group), the minSize at most the group's maxSize",
		AppliesTo: func(e *Env) bool { return e.Has(tASGSchedule) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tASGSchedule) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if r.String("timeZone") == "" {
				out = append(out, v("timeZone must name an IANA time zone (without it the recurrence runs in UTC)"))
			}
			if r.String("recurrence") == "" {
				out = append(out, v("recurrence must be set: a one-off action does not follow business hours"))
			}
			for _, k := range scheduleSizes {
				if _, ok := r.Number(k); !ok {
					out = append(out, v("%s must be set (-1 to leave it unchanged): the provider's default 0 scales the group to nothing", k))
				}
			}
			mn, ok := r.Number("minSize")
			for _, g := range e.Refs(r, "autoscalingGroupName", tASG) {
				if mx, ok2 := g.Number("maxSize"); ok && ok2 && mn > mx {
					out = append(out, v("minSize %g exceeds the group's maxSize %g: AWS fails the action", mn, mx))
				}
			}
			return out
		},
	}}
}

// scalingGroups are the groups whose sizes autoscaling changes: those that can scale and
// those a schedule names.
func scalingGroups(e *Env) []*graph.Resource {
	var out []*graph.Resource
	for _, g := range e.Of(tASG) {
		if scales(g) || len(e.Companions(g, tASGSchedule, "autoscalingGroupName")) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// tls13 reports whether an ELB security policy is a TLS 1.3 policy.
func tls13(p string) bool {
	return strings.HasPrefix(p, "ELBSecurityPolicy-TLS13-")
}
